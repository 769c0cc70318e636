"""The generated world is realistic and coherent, and search works on it, without HTTP."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from decimal import Decimal

import pytest

from asm_mock.domain.customer360 import customer_360
from asm_mock.domain.errors import NotFoundError, UnknownIdentifierError, ValidationError
from asm_mock.domain.fixtures import Fixtures
from asm_mock.domain.generate import build_world
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
