"""The generated world is realistic and coherent, and search works on it, without HTTP."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from dataclasses import replace
from decimal import Decimal

import pytest

from asm_mock.domain.customer360 import customer_360
from asm_mock.domain.errors import NotFoundError, UnknownIdentifierError, ValidationError
from asm_mock.domain.fixtures import Fixtures
from asm_mock.domain.generate import build_world
from asm_mock.domain.records import (
    CURRENT_WORLD,
    CustomerRecords,
    IdKind,
    RecordProblem,
    Records,
    Rule,
    Where,
)
from asm_mock.domain.search import MAX_PAGE_SIZE, search_customers
from asm_mock.domain.world import REFERENCE_TIME, World

EIGHT_DIGITS = re.compile(r"^[0-9]{8}$")


@pytest.fixture(scope="module")
def big(shipped_fixtures: Fixtures) -> World:
    return build_world(seed=11, customers=600, fixtures=shipped_fixtures)


def test_customers_look_like_sap_customers(big: World) -> None:
    for customer in big.customers:
        assert customer.uid == customer.uid.lower() and "@" in customer.uid
        assert uuid.UUID(customer.customer_id).version == 4
        assert customer.first_name and customer.last_name and customer.town
        assert customer.signed_up < REFERENCE_TIME
        assert set(customer.sites) <= set(big.sites)
    assert len({c.uid for c in big.customers}) == len(big.customers)
    assert len({c.customer_id for c in big.customers}) == len(big.customers)


def test_generated_customers_count_and_locale_follow_the_site(
    big: World, shipped_fixtures: Fixtures
) -> None:
    assert len(big.customers) == 600 + len(shipped_fixtures.customers)
    uk_homes = [c for c in big.customers if c.sites[0] == "apparel-uk-spa" and c.password is None]
    assert uk_homes and all(c.country == "United Kingdom" for c in uk_homes)


def test_codes_are_unique_eight_digit_and_statuses_are_sap_codes(big: World) -> None:
    codes = [c.code for c in big.carts] + [o.code for o in big.orders]
    assert all(EIGHT_DIGITS.match(code) for code in codes)
    assert len(set(codes)) == len(codes)
    assert all(EIGHT_DIGITS.match(t.id) for t in big.tickets)
    statuses = Counter(o.status for o in big.orders)
    assert {"COMPLETED", "CANCELLED"} <= set(statuses)
    assert {str(t.status) for t in big.tickets} <= {"Open", "In Process", "Closed"}


def test_history_belongs_to_the_customers_sites_and_time(big: World) -> None:
    by_uid = {c.uid: c for c in big.customers}
    for record in (*big.carts, *big.orders, *big.tickets):
        customer = by_uid[record.customer_uid]
        assert record.site in customer.sites
    for order in big.orders:
        assert by_uid[order.customer_uid].signed_up <= order.placed <= REFERENCE_TIME


def test_some_customers_have_history_and_some_have_none(big: World) -> None:
    with_orders = {o.customer_uid for o in big.orders}
    with_carts = {c.customer_uid for c in big.carts}
    assert 0.4 < len(with_orders) / len(big.customers) < 0.9
    assert 0.3 < len(with_carts) / len(big.customers) < 0.8


def test_prices_are_formatted_in_the_sites_currency(big: World) -> None:
    assert big.sites["electronics-spa"].format_price(Decimal("1234.5")) == "$1,234.50"
    assert big.sites["apparel-uk-spa"].format_price(Decimal("0.99")) == "£0.99"


def test_360_latest_activity_is_the_newest_record(big: World) -> None:
    site = big.sites["electronics-spa"]
    for customer in big.customers_on(site)[:150]:
        view = customer_360(big, site, customer, [])
        dates = [o.placed for o in big.orders_of(customer, site)]
        dates += [c.modified for c in big.carts_of(customer, site)]
        dates += [t.created for t in big.tickets_of(customer, site)]
        if dates:
            assert view.latest_activity is not None
            assert view.latest_activity.date == max(dates)
        else:
            assert view.latest_activity is None
        assert view.active_carts == big.carts_of(customer, site)


def test_world_look_ups_raise_sap_errors(big: World) -> None:
    with pytest.raises(UnknownIdentifierError):
        big.site("nope")
    site = big.sites["powertools-spa"]
    with pytest.raises(NotFoundError):
        big.customer_on_site("james.weber@example.com", site)
    assert big.customer_on_site("LINDA.WOLF@rustic-hw.com", site).last_name == "Wolf"


def test_search_is_case_insensitive_over_name_uid_and_id(big: World) -> None:
    site = big.sites["electronics-spa"]
    target = big.customers_on(site)[10]
    for needle in (target.name.upper(), target.uid.upper(), target.customer_id[:13].upper()):
        hits = search_customers(big, site, needle, page_size=MAX_PAGE_SIZE).entries
        assert target in hits


def test_search_paging_edges(big: World) -> None:
    site = big.sites["electronics-spa"]
    total = len(big.customers_on(site))
    last = search_customers(big, site, "", current_page=(total - 1) // 20)
    assert len(last.entries) == total - 20 * ((total - 1) // 20)
    assert last.total_pages == -(-total // 20)
    assert search_customers(big, site, "", current_page=last.total_pages).entries == ()
    for page_size in (0, -5, MAX_PAGE_SIZE + 1):
        with pytest.raises(ValidationError):
            search_customers(big, site, "", page_size=page_size)
    empty = search_customers(big, site, "zzzz-no-such-customer")
    assert (empty.total_results, empty.total_pages, empty.entries) == (0, 0, ())


# -- the records' invariants, as every source (fixtures, scenarios, admin state) meets them ----


def test_records_rebuild_the_world_they_were_given(world: World) -> None:
    records = Records()
    for i, agent in enumerate(world.agents.values()):
        records.add_agent(Where("", ("agents", i)), agent)
    for i, client in enumerate(world.clients.values()):
        records.add_client(Where("", ("clients", i)), client)
    for i, customer in enumerate(world.customers):
        given = CustomerRecords(
            customer,
            tuple(c for c in world.carts if c.customer_uid == customer.uid),
            tuple(o for o in world.orders if o.customer_uid == customer.uid),
            tuple(t for t in world.tickets if t.customer_uid == customer.uid),
        )
        records.add_customer(Where("", ("customers", i)), given)
    rebuilt = records.world(world.seed)
    assert rebuilt.customers == world.customers and rebuilt.agents == world.agents
    assert sorted(rebuilt.carts, key=str) == sorted(world.carts, key=str)


def test_records_holding_a_world_refuse_its_ids_and_name_where_a_rule_breaks(
    world: World,
) -> None:
    owner = world.customers[0]
    cart = next(c for c in world.carts if c.customer_uid == owner.uid)
    newcomer = replace(owner, uid="new.comer@example.com", customer_id=str(uuid.uuid4()))
    taken = CustomerRecords(newcomer, carts=(replace(cart, customer_uid=newcomer.uid),))
    with pytest.raises(RecordProblem) as caught:
        Records.holding(world).add_customer(Where("f.yaml", ("customers", 2)), taken)
    problem = caught.value
    assert (problem.rule, problem.ids, problem.value) == (
        Rule.DUPLICATE,
        IdKind.ORDER_CODE,
        cart.code,
    )
    assert problem.where == Where("f.yaml", ("customers", 2, "carts", 0, "code"))
    assert problem.first == Where(CURRENT_WORLD)

    elsewhere = next(s for s in world.sites if s not in newcomer.sites)
    foreign = replace(cart, code="00000001", customer_uid=newcomer.uid, site=elsewhere)
    with pytest.raises(RecordProblem) as caught:
        Records().add_customer(Where(""), CustomerRecords(newcomer, carts=(foreign,)))
    assert (caught.value.rule, caught.value.allowed) == (Rule.FOREIGN_SITE, newcomer.sites)
    assert caught.value.where.path == ("carts", 0, "site")

    shouting = replace(newcomer, uid="New.Comer@example.com")
    with pytest.raises(RecordProblem) as caught:
        Records().add_customer(Where(""), CustomerRecords(shouting))
    assert (caught.value.rule, caught.value.record) == (Rule.NOT_LOWERCASE, "customer")
