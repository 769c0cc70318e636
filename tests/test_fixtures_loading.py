"""load_fixtures: the shipped fixture files, merging, and every problem it must report."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from asm_mock.domain import fixtures as fixtures_module
from asm_mock.domain.errors import FixtureError
from asm_mock.domain.fixtures import (
    FIXTURE_SCHEMA,
    KNOWN_SITES,
    Fixtures,
    load_fixtures,
)
from asm_mock.domain.model import TicketStatus
from asm_mock.domain.records import CustomerRecords

SHIPPED = Path(__file__).resolve().parents[1] / "fixtures"


def _agent(uid: str = "agent.one", **overrides: Any) -> dict[str, Any]:
    return {
        "uid": uid,
        "name": "Agent One",
        "email": f"{uid}@example.com",
        "password": "pw",
        "groups": ["asagentgroup"],
        **overrides,
    }


def _client(client_id: str = "client", **overrides: Any) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "secret": "secret",
        "grants": ["client_credentials"],
        "scopes": ["basic"],
        **overrides,
    }


def _customer(uid: str = "jane.doe@example.com", **overrides: Any) -> dict[str, Any]:
    return {
        "uid": uid,
        "customer_id": "0b6c1b9e-4a5d-4f0e-9c1a-2d3e4f5a6b7c",
        "first_name": "Jane",
        "last_name": "Doe",
        "signed_up": "2021-03-04T10:00:00Z",
        "town": "Leeds",
        "country": "United Kingdom",
        "sites": ["electronics-spa"],
        **overrides,
    }


def _cart(code: str = "00090001", **overrides: Any) -> dict[str, Any]:
    return {
        "code": code,
        "site": "electronics-spa",
        "total_items": 2,
        "total": 19.99,
        "modified": "2024-05-06T07:08:09Z",
        **overrides,
    }


def _order(code: str = "00090002", **overrides: Any) -> dict[str, Any]:
    return {
        "code": code,
        "site": "electronics-spa",
        "status": "COMPLETED",
        "total": 10,
        "placed": "2024-05-06T07:08:09Z",
        **overrides,
    }


def _ticket(ticket_id: str = "00009000", **overrides: Any) -> dict[str, Any]:
    return {
        "id": ticket_id,
        "site": "electronics-spa",
        "subject": "Where is my parcel?",
        "category": "Enquiry",
        "status": "In Process",
        "created": "2024-05-06T07:08:09Z",
        **overrides,
    }


def _write(directory: Path, name: str, content: dict[str, Any] | str) -> Path:
    path = directory / name
    text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def _load_error(directory: Path) -> FixtureError:
    with pytest.raises(FixtureError) as caught:
        load_fixtures(directory)
    return caught.value


def _assert_reports(error: FixtureError, file: str, path: str, problem: str) -> None:
    assert (error.file, error.path) == (file, path)
    assert problem in error.problem
    message = str(error)
    assert file in message
    assert (path or "<root>") in message
    assert problem in message


# --- the shipped fixtures ------------------------------------------------------------------


def test_shipped_fixtures_contain_the_documented_agents_with_their_groups() -> None:
    agents = {agent.uid: agent for agent in load_fixtures(SHIPPED).agents}

    assert agents["asagent"].password == "pw4all"
    assert agents["asagent"].groups == ("asagentgroup",)
    assert agents["asagentsalesmanager"].password == "pw4all"
    assert agents["asagentsalesmanager"].groups == ("asagentgroup", "asagentsalesmanagergroup")
    assert len(agents) >= 4
    assert all("asagentgroup" in agent.groups for agent in agents.values())


def test_shipped_fixtures_contain_the_documented_oauth_clients() -> None:
    clients = {client.client_id: client for client in load_fixtures(SHIPPED).clients}

    android = clients["mobile_android"]
    assert android.secret == "secret"
    assert set(android.grants) == {"password", "refresh_token", "client_credentials"}
    assert android.scopes == ("basic",)
    assert android.acts_as is None

    asm = clients["asm"]
    assert asm.secret == "secret"
    assert "client_credentials" in asm.grants
    assert asm.scopes == ("basic", "assistedservicegroup")
    assert asm.acts_as == "asagent"


def test_shipped_keenreviewer_is_a_plain_customer_with_generated_history() -> None:
    fixtures = load_fixtures(SHIPPED)
    keen = _customer_by_uid(fixtures, "keenreviewer1@hybris.com")

    assert keen.customer.password == "pw4all"
    assert keen.customer.sites == ("electronics-spa",)
    assert (keen.carts, keen.orders, keen.tickets) == (None, None, None)
    assert keen.customer.uid not in {agent.uid for agent in fixtures.agents}


def test_shipped_customers_cover_explicit_and_empty_histories() -> None:
    fixtures = load_fixtures(SHIPPED)

    linda = _customer_by_uid(fixtures, "linda.wolf@rustic-hw.com")
    assert linda.orders is not None and linda.carts is not None
    assert sorted(order.status for order in linda.orders) == ["APPROVED", "PENDING_APPROVAL"]
    assert len(linda.carts) == 1
    assert linda.tickets == ()

    james = _customer_by_uid(fixtures, "james.weber@example.com")
    assert james.orders is not None and james.tickets is not None
    assert {order.site for order in james.orders} == {"electronics-spa", "apparel-uk-spa"}
    assert {ticket.status for ticket in james.tickets} == {TicketStatus.OPEN, TicketStatus.CLOSED}

    empty = _customer_by_uid(fixtures, "empty.customer@example.com")
    assert (empty.carts, empty.orders, empty.tickets) == ((), (), ())


def test_shipped_customers_use_valid_sites_and_aware_timestamps() -> None:
    for customer in load_fixtures(SHIPPED).customers:
        assert set(customer.customer.sites) <= KNOWN_SITES
        assert customer.customer.signed_up.tzinfo is not None
        for cart in customer.carts or ():
            assert 90000 <= int(cart.code) <= 90999
        for order in customer.orders or ():
            assert 90000 <= int(order.code) <= 90999


def _customer_by_uid(fixtures: Fixtures, uid: str) -> CustomerRecords:
    return next(given for given in fixtures.customers if given.customer.uid == uid)


def test_fixture_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(FIXTURE_SCHEMA)


# --- merging and building ------------------------------------------------------------------


def test_files_are_merged_in_file_name_order(tmp_path: Path) -> None:
    _write(tmp_path, "b.yaml", {"agents": [_agent("agent.b")], "customers": [_customer()]})
    _write(tmp_path, "a.yaml", {"agents": [_agent("agent.a")], "clients": [_client()]})

    fixtures = load_fixtures(tmp_path)

    assert [agent.uid for agent in fixtures.agents] == ["agent.a", "agent.b"]
    assert [client.client_id for client in fixtures.clients] == ["client"]
    assert [given.customer.uid for given in fixtures.customers] == ["jane.doe@example.com"]


def test_acts_as_may_name_an_agent_defined_in_a_later_file(tmp_path: Path) -> None:
    _write(tmp_path, "a_clients.yaml", {"clients": [_client(acts_as="zed")]})
    _write(tmp_path, "z_agents.yaml", {"agents": [_agent("zed")]})

    assert load_fixtures(tmp_path).clients[0].acts_as == "zed"


def test_subdirectories_and_other_extensions_are_ignored(tmp_path: Path) -> None:
    _write(tmp_path, "agents.yaml", {"agents": [_agent()]})
    (tmp_path / "scenarios").mkdir()
    _write(tmp_path / "scenarios", "broken.yaml", "this: [is not: valid")
    _write(tmp_path, "notes.yml", "also: [not valid")

    assert [agent.uid for agent in load_fixtures(tmp_path).agents] == ["agent.one"]


def test_omitted_lists_are_none_and_explicit_empty_lists_are_empty(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "customers.yaml",
        {
            "customers": [
                _customer("omitted@example.com"),
                _customer(
                    "empty@example.com",
                    customer_id="9d4f3b2a-1c0e-4b8a-a7f6-e5d4c3b2a190",
                    carts=[],
                    orders=[],
                    tickets=[],
                ),
            ]
        },
    )

    omitted, empty = load_fixtures(tmp_path).customers

    assert (omitted.carts, omitted.orders, omitted.tickets) == (None, None, None)
    assert (empty.carts, empty.orders, empty.tickets) == ((), (), ())


def test_history_is_built_into_typed_records(tmp_path: Path) -> None:
    customer = _customer(carts=[_cart()], orders=[_order()], tickets=[_ticket()])
    _write(tmp_path, "customers.yaml", {"customers": [customer]})

    (loaded,) = load_fixtures(tmp_path).customers

    assert loaded.carts is not None and loaded.orders is not None and loaded.tickets is not None
    assert loaded.carts[0].total == Decimal("19.99")
    assert loaded.carts[0].total_items == 2
    assert loaded.orders[0].total == Decimal("10.00")
    assert str(loaded.orders[0].total) == "10.00"
    assert loaded.tickets[0].status is TicketStatus.IN_PROCESS
    assert loaded.customer.password is None


def test_timestamps_may_be_quoted_strings_or_yaml_datetimes(tmp_path: Path) -> None:
    text = "\n".join(
        [
            "customers:",
            "  - uid: jane.doe@example.com",
            "    customer_id: 0b6c1b9e-4a5d-4f0e-9c1a-2d3e4f5a6b7c",
            "    first_name: Jane",
            "    last_name: Doe",
            "    signed_up: 2021-03-04T10:00:00Z",  # YAML makes this a datetime
            "    town: Leeds",
            "    country: United Kingdom",
            "    sites: [electronics-spa]",
            "    carts:",
            '      - {code: "00090001", site: electronics-spa, total_items: 1, total: 5,',
            '         modified: "2024-05-06T09:08:09+02:00"}',
        ]
    )
    _write(tmp_path, "customers.yaml", text)

    (customer,) = load_fixtures(tmp_path).customers

    assert customer.customer.signed_up == datetime(2021, 3, 4, 10, 0, tzinfo=UTC)
    assert customer.carts is not None
    assert customer.carts[0].modified == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def test_yaml_merge_keys_still_work(tmp_path: Path) -> None:
    text = "\n".join(
        [
            "agents:",
            "  - &base {uid: a.one, name: A, email: a@example.com, password: pw, groups: [g]}",
            "  - <<: *base",
            "    uid: a.two",
        ]
    )
    _write(tmp_path, "agents.yaml", text)

    assert [agent.uid for agent in load_fixtures(tmp_path).agents] == ["a.one", "a.two"]


# --- problems with a file as a whole ----------------------------------------------------------


def test_missing_directory_is_reported(tmp_path: Path) -> None:
    error = _load_error(tmp_path / "nowhere")

    assert "not found" in error.problem


def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_bytes(b"agents: \xff\xfe\n")

    _assert_reports(_load_error(tmp_path), "bad.yaml", "", "cannot read file")


def test_yaml_syntax_error_reports_line_and_column(tmp_path: Path) -> None:
    _write(tmp_path, "bad.yaml", "agents:\n  - uid: a\n    name: [unclosed\n")

    error = _load_error(tmp_path)

    _assert_reports(error, "bad.yaml", "", "invalid YAML at line")
    assert "column" in error.problem


def test_duplicate_yaml_key_is_reported_instead_of_silently_overwritten(tmp_path: Path) -> None:
    _write(tmp_path, "bad.yaml", "agents: []\nclients: []\nagents: []\n")

    _assert_reports(_load_error(tmp_path), "bad.yaml", "", "line 3, column 1: duplicate key")


@pytest.mark.parametrize(("text", "found"), [("- a\n- b\n", "a list"), ("", "an empty document")])
def test_document_that_is_not_a_mapping_is_reported(tmp_path: Path, text: str, found: str) -> None:
    _write(tmp_path, "bad.yaml", text)

    _assert_reports(_load_error(tmp_path), "bad.yaml", "", f"found {found}")


# --- schema violations ---------------------------------------------------------------------


def test_misspelt_field_is_reported_as_unexpected(tmp_path: Path) -> None:
    cart = _cart()
    cart["totl"] = cart.pop("total")
    _write(tmp_path, "bad.yaml", {"customers": [_customer(carts=[cart])]})

    error = _load_error(tmp_path)

    _assert_reports(error, "bad.yaml", "/customers/0/carts/0", "'totl' was unexpected")
    assert "did you mean 'total'?" in error.problem


def test_unknown_top_level_key_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, "bad.yaml", {"agent": [_agent()]})

    _assert_reports(_load_error(tmp_path), "bad.yaml", "", "'agent' was unexpected")


def test_missing_required_field_is_reported(tmp_path: Path) -> None:
    agent = _agent()
    del agent["password"]
    _write(tmp_path, "bad.yaml", {"agents": [agent]})

    _assert_reports(_load_error(tmp_path), "bad.yaml", "/agents/0", "'password' is a required")


def test_negative_total_is_reported(tmp_path: Path) -> None:
    customer = _customer(carts=[_cart(total=-1)])
    _write(tmp_path, "bad.yaml", {"customers": [_customer("x@example.com"), customer]})

    _assert_reports(_load_error(tmp_path), "bad.yaml", "/customers/1/carts/0/total", "minimum")


def test_code_that_is_not_eight_digits_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, "bad.yaml", {"customers": [_customer(orders=[_order("9001")])]})

    error = _load_error(tmp_path)

    _assert_reports(error, "bad.yaml", "/customers/0/orders/0/code", "not an 8-digit code")


def test_unquoted_code_read_as_octal_number_asks_for_quotes(tmp_path: Path) -> None:
    text = yaml.safe_dump({"customers": [_customer(tickets=[_ticket()])]}, sort_keys=False)
    assert "id: 00009000" in text
    _write(tmp_path, "bad.yaml", text.replace("id: 00009000", "id: 00001234"))

    error = _load_error(tmp_path)

    _assert_reports(error, "bad.yaml", "/customers/0/tickets/0/id", "quote the value")


def test_list_where_a_string_belongs_is_reported_without_quoting_hint(tmp_path: Path) -> None:
    _write(tmp_path, "bad.yaml", {"agents": [_agent(name=["Agent", "One"])]})

    error = _load_error(tmp_path)

    _assert_reports(error, "bad.yaml", "/agents/0/name", "is not of type 'string'")
    assert "quote" not in error.problem


def test_unhashable_yaml_key_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, "bad.yaml", "? [a, b]\n: value\n")

    _assert_reports(_load_error(tmp_path), "bad.yaml", "", "unhashable key")


def test_unknown_order_status_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, "bad.yaml", {"customers": [_customer(orders=[_order(status="SHIPPED")])]})

    error = _load_error(tmp_path)

    _assert_reports(error, "bad.yaml", "/customers/0/orders/0/status", "'SHIPPED' is not one of")


def test_unknown_grant_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, "bad.yaml", {"clients": [_client(grants=["implicit"])]})

    _assert_reports(_load_error(tmp_path), "bad.yaml", "/clients/0/grants/0", "'implicit'")


def test_customer_id_that_is_not_a_uuid_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, "bad.yaml", {"customers": [_customer(customer_id="12345")]})

    error = _load_error(tmp_path)

    _assert_reports(error, "bad.yaml", "/customers/0/customer_id", "'12345' does not match")


def test_agent_without_groups_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, "bad.yaml", {"agents": [_agent(groups=[])]})

    _assert_reports(_load_error(tmp_path), "bad.yaml", "/agents/0/groups", "should be non-empty")


def test_unquoted_datetime_without_timezone_is_rejected(tmp_path: Path) -> None:
    text = yaml.safe_dump({"customers": [_customer()]}, sort_keys=False)
    _write(tmp_path, "bad.yaml", text.replace("'2021-03-04T10:00:00Z'", "2021-03-04 10:00:00"))

    error = _load_error(tmp_path)

    _assert_reports(error, "bad.yaml", "/customers/0/signed_up", "with a timezone")


@pytest.mark.parametrize("value", ["2024-05-06T07:08:09", "2024-05-06", "yesterday"])
def test_quoted_timestamp_without_timezone_is_rejected(tmp_path: Path, value: str) -> None:
    _write(tmp_path, "bad.yaml", {"customers": [_customer(orders=[_order(placed=value)])]})

    error = _load_error(tmp_path)

    _assert_reports(error, "bad.yaml", "/customers/0/orders/0/placed", "with a timezone")


# --- problems across records and files -----------------------------------------------------


def test_duplicate_agent_uid_across_files_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", {"agents": [_agent("twin")]})
    _write(tmp_path, "b.yaml", {"agents": [_agent("other"), _agent("twin")]})

    error = _load_error(tmp_path)

    _assert_reports(error, "b.yaml", "/agents/1/uid", "duplicate agent uid 'twin'")
    assert "a.yaml /agents/0/uid" in error.problem


def test_duplicate_client_id_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, "bad.yaml", {"clients": [_client("asm"), _client("asm")]})

    _assert_reports(
        _load_error(tmp_path), "bad.yaml", "/clients/1/client_id", "duplicate client_id"
    )


def test_duplicate_customer_uid_is_reported(tmp_path: Path) -> None:
    second = _customer(customer_id="9d4f3b2a-1c0e-4b8a-a7f6-e5d4c3b2a190")
    _write(tmp_path, "bad.yaml", {"customers": [_customer(), second]})

    _assert_reports(_load_error(tmp_path), "bad.yaml", "/customers/1/uid", "duplicate customer uid")


def test_duplicate_customer_id_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, "bad.yaml", {"customers": [_customer("a@example.com"), _customer()]})

    error = _load_error(tmp_path)

    _assert_reports(error, "bad.yaml", "/customers/1/customer_id", "duplicate customer_id")


def test_customer_uid_equal_to_an_agent_uid_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", {"agents": [_agent("same@example.com")]})
    _write(tmp_path, "b.yaml", {"customers": [_customer("same@example.com")]})

    error = _load_error(tmp_path)

    _assert_reports(error, "b.yaml", "/customers/0/uid", "duplicate customer uid")
    assert "a.yaml /agents/0/uid" in error.problem


@pytest.mark.parametrize(
    ("section", "record", "path"),
    [
        ("customers", _customer("Jane.Doe@example.com"), "/customers/0/uid"),
        ("agents", _agent("AsAgent"), "/agents/0/uid"),
    ],
)
def test_uid_that_is_not_lowercase_is_reported(
    tmp_path: Path, section: str, record: dict[str, Any], path: str
) -> None:
    _write(tmp_path, "bad.yaml", {section: [record]})

    _assert_reports(_load_error(tmp_path), "bad.yaml", path, "must be lowercase")


def test_acts_as_naming_an_unknown_agent_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, "agents.yaml", {"agents": [_agent("asagent")]})
    _write(tmp_path, "bad.yaml", {"clients": [_client(acts_as="nobody")]})

    error = _load_error(tmp_path)

    _assert_reports(error, "bad.yaml", "/clients/0/acts_as", "unknown agent 'nobody'")


def test_unknown_customer_site_is_reported(tmp_path: Path) -> None:
    customer = _customer(sites=["electronics-spa", "electronics"])
    _write(tmp_path, "bad.yaml", {"customers": [customer]})

    error = _load_error(tmp_path)

    _assert_reports(error, "bad.yaml", "/customers/0/sites/1", "unknown base site 'electronics'")


@pytest.mark.parametrize(
    ("key", "record"),
    [
        ("carts", _cart(site="apparel-uk-spa")),
        ("orders", _order(site="apparel-uk-spa")),
        ("tickets", _ticket(site="apparel-uk-spa")),
    ],
)
def test_history_on_a_site_the_customer_does_not_use_is_reported(
    tmp_path: Path, key: str, record: dict[str, Any]
) -> None:
    customer = _customer()
    customer[key] = [record]
    _write(tmp_path, "bad.yaml", {"customers": [customer]})

    error = _load_error(tmp_path)

    _assert_reports(error, "bad.yaml", f"/customers/0/{key}/0/site", "not one of the customer's")


def test_duplicate_cart_code_across_customers_is_reported(tmp_path: Path) -> None:
    first = _customer("a@example.com", carts=[_cart("00090005")])
    second = _customer(
        "b@example.com",
        customer_id="9d4f3b2a-1c0e-4b8a-a7f6-e5d4c3b2a190",
        carts=[_cart("00090006"), _cart("00090005")],
    )
    _write(tmp_path, "bad.yaml", {"customers": [first, second]})

    error = _load_error(tmp_path)

    _assert_reports(error, "bad.yaml", "/customers/1/carts/1/code", "duplicate cart/order code")
    assert "/customers/0/carts/0/code" in error.problem


def test_order_code_reusing_a_cart_code_is_reported(tmp_path: Path) -> None:
    customer = _customer(carts=[_cart("00090007")], orders=[_order("00090007")])
    _write(tmp_path, "bad.yaml", {"customers": [customer]})

    error = _load_error(tmp_path)

    _assert_reports(error, "bad.yaml", "/customers/0/orders/0/code", "duplicate cart/order code")


def test_duplicate_ticket_id_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, "bad.yaml", {"customers": [_customer(tickets=[_ticket(), _ticket()])]})

    _assert_reports(_load_error(tmp_path), "bad.yaml", "/customers/0/tickets/1/id", "duplicate")


# --- the fast path: libyaml parses, jsonschema-rs judges, the Python engines explain ------------


def test_loading_the_packaged_fixtures_does_not_import_jsonschema() -> None:
    code = (
        "import sys\n"
        "from asm_mock.domain.fixtures import load_fixtures\n"
        "from asm_mock.resources import default_fixtures_dir\n"
        "assert load_fixtures(default_fixtures_dir()).customers\n"
        "loaded = [m for m in sys.modules if m == 'jsonschema' or m.startswith('jsonschema.')]\n"
        "assert not loaded, f'imported {loaded}'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# Each problem exactly as the jsonschema-only loader worded it (best_match, by_relevance with
# additionalProperties strong, _describe), recorded before jsonschema-rs took over judging.
_CUSTOMER_TEXT = yaml.safe_dump({"customers": [_customer(carts=[_cart()])]}, sort_keys=False)


@pytest.mark.parametrize(
    ("text", "path", "problem"),
    [
        (
            _CUSTOMER_TEXT.replace("total:", "totl:"),
            "/customers/0/carts/0",
            "Additional properties are not allowed ('totl' was unexpected); did you mean 'total'?",
        ),
        (
            "agents:\n  - {uid: '', name: A, email: nope, password: pw, groups: []}\n"
            "clients:\n  - {client_id: c, secret: s, grants: [implicit], scopes: [b], extra: 1}\n",
            "/clients/0",
            "Additional properties are not allowed ('extra' was unexpected)",
        ),
        (
            "agent: []\n",
            "",
            "Additional properties are not allowed ('agent' was unexpected); "
            "did you mean 'agents'?",
        ),
        (
            _CUSTOMER_TEXT.replace("'2021-03-04T10:00:00Z'", "2021-03-04 10:00:00"),
            "/customers/0/signed_up",
            "2021-03-04T10:00:00 is not an ISO 8601 date-time with a timezone "
            "(e.g. 2021-03-04T10:00:00Z)",
        ),
        (
            _CUSTOMER_TEXT.replace("'2021-03-04T10:00:00Z'", "~"),
            "/customers/0/signed_up",
            "None is not an ISO 8601 date-time with a timezone (e.g. 2021-03-04T10:00:00Z)",
        ),
        (
            _CUSTOMER_TEXT.replace("code: 00090001", "code: 00001234"),
            "/customers/0/carts/0/code",
            "668 is not a string; quote the value in the YAML file",
        ),
        (
            _CUSTOMER_TEXT.replace("uid: jane.doe@example.com", "uid: jane.example.com"),
            "/customers/0/uid",
            "'jane.example.com' is not a 'email'",
        ),
        (
            _CUSTOMER_TEXT.replace("total_items: 2", "total_items: 2.5"),
            "/customers/0/carts/0/total_items",
            "2.5 is not of type 'integer'",
        ),
        (
            "agents:\n  - {uid: a, name: A, email: a@b, password: pw, groups: [g, g]}\n",
            "/agents/0/groups",
            "['g', 'g'] has non-unique elements",
        ),
        (
            "agents:\n  - {uid: a, name: A, email: a@b, password: pw, groups: !!set {g: null}}\n",
            "/agents/0/groups",
            "{'g'} is not of type 'array'",
        ),
        (
            "agents: []\n2021-01-01: x\n",
            "",
            "Additional properties are not allowed (datetime.date(2021, 1, 1) was unexpected)",
        ),
        ("agents: &a [*a]\n", "/agents/0", "[[...]] is not of type 'object'"),
    ],
    ids=[
        "misspelt-key",
        "best-match-of-several",
        "unknown-top-level-key",
        "naive-datetime",
        "null-timestamp",
        "octal-code",
        "email-without-at",
        "fractional-count",
        "duplicate-group",
        "yaml-set",
        "date-key",
        "alias-cycle",
    ],
)
def test_invalid_file_reports_the_same_path_and_problem_as_before(
    tmp_path: Path, text: str, path: str, problem: str
) -> None:
    _write(tmp_path, "bad.yaml", text)

    error = _load_error(tmp_path)

    assert (error.file, error.path) == ("bad.yaml", path)
    assert error.problem == problem


@pytest.mark.parametrize(
    "email", ["jane.doe@example.com", "jane doe@example.com", "@", "x@localhost", "no-at-sign"]
)
def test_emails_are_judged_as_leniently_as_python_jsonschema_judges_them(
    tmp_path: Path, email: str
) -> None:
    # jsonschema-rs's own RFC 5321 check would refuse 'jane doe@example.com' and '@'.
    expected = Draft202012Validator.FORMAT_CHECKER.conforms(email, "email")
    _write(tmp_path, "agents.yaml", {"agents": [_agent(email=email)]})
    _write(tmp_path, "customers.yaml", {"customers": [_customer(email)]})

    if expected:
        fixtures = load_fixtures(tmp_path)
        assert (fixtures.agents[0].email, fixtures.customers[0].customer.uid) == (email, email)
    else:
        _assert_reports(_load_error(tmp_path), "agents.yaml", "/agents/0/email", "is not a 'email'")


@pytest.mark.parametrize(
    "value",
    [
        "2021-03-04T10:00:00Z",
        "2021-03-04 10:00:00+01:00",  # RFC 3339 (jsonschema-rs's date-time) wants the T
        "20210304T100000Z",  # ISO 8601 basic format, as datetime.fromisoformat reads it
        "2021-03-04T10:00:00.123456+05:30",
        "2021-03-04T10:00:00",
        "2021-03-04",
        "",
    ],
)
def test_timestamps_are_judged_as_python_jsonschema_judges_them(tmp_path: Path, value: str) -> None:
    checker = fixtures_module.explainer().format_checker  # the Python engine's own check
    expected = checker.conforms(value, "date-time with timezone")
    _write(tmp_path, "customers.yaml", {"customers": [_customer(signed_up=value)]})

    if expected:
        assert load_fixtures(tmp_path).customers[0].customer.signed_up.utcoffset() is not None
    else:
        error = _load_error(tmp_path)
        _assert_reports(error, "customers.yaml", "/customers/0/signed_up", "with a timezone")


@pytest.mark.parametrize(
    ("record", "path", "problem"),
    [
        (
            _customer(orders=[_order("00090002\n")]),
            "/customers/0/orders/0/code",
            "'00090002\\n' is not an 8-digit code such as '00090001'",
        ),
        (
            _customer(customer_id="0b6c1b9e-4a5d-4f0e-9c1a-2d3e4f5a6b7c\n"),
            "/customers/0/customer_id",
            "'0b6c1b9e-4a5d-4f0e-9c1a-2d3e4f5a6b7c\\n' does not match '^[0-9a-f]{8}-",
        ),
    ],
)
def test_pattern_refuses_a_trailing_newline_python_re_would_have_let_through(
    tmp_path: Path, record: dict[str, Any], path: str, problem: str
) -> None:
    # Python's `$` also matches before a final newline (a `|` block scalar ends with one); the
    # JSON Schema spec's ECMA-262 `$`, which jsonschema-rs follows, does not.
    _write(tmp_path, "bad.yaml", {"customers": [record]})

    _assert_reports(_load_error(tmp_path), "bad.yaml", path, problem)


def test_block_scalar_code_ending_in_a_newline_is_refused(tmp_path: Path) -> None:
    text = _CUSTOMER_TEXT.replace("code: 00090001", "code: |\n      00090001")
    assert yaml.safe_load(text)["customers"][0]["carts"][0]["code"] == "00090001\n"
    _write(tmp_path, "bad.yaml", text)

    _assert_reports(
        _load_error(tmp_path), "bad.yaml", "/customers/0/carts/0/code", "not an 8-digit code"
    )


requires_libyaml = pytest.mark.skipif(
    not yaml.__with_libyaml__, reason="PyYAML is built without libyaml"
)


@requires_libyaml
def test_libyaml_loader_refuses_duplicate_keys_at_their_line_and_column() -> None:
    loader = fixtures_module._FastStrictLoader
    assert issubclass(loader, yaml.CSafeLoader)

    with pytest.raises(yaml.constructor.ConstructorError) as caught:
        yaml.load("agents:\n  - uid: a\n    name: A\n    uid: b\n", Loader=loader)  # noqa: S506

    assert caught.value.problem == "duplicate key 'uid'"
    mark = caught.value.problem_mark
    assert mark is not None and (mark.line, mark.column) == (3, 4)


@requires_libyaml
def test_libyaml_loader_lets_keys_override_a_merge_key() -> None:
    text = "base: &b {uid: a, name: A}\nmerged:\n  <<: *b\n  uid: c\n"

    document = yaml.load(text, Loader=fixtures_module._FastStrictLoader)  # noqa: S506

    assert document["merged"] == {"uid": "c", "name": "A"}


@requires_libyaml
def test_fixture_files_are_parsed_by_libyaml_not_the_pure_python_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Refused(yaml.SafeLoader):
        def __init__(self, stream: str) -> None:
            raise AssertionError("the pure-Python parser read a valid file")

    monkeypatch.setattr(fixtures_module, "StrictLoader", Refused)

    assert load_fixtures(SHIPPED).customers


def test_yaml_syntax_error_keeps_the_pure_python_parsers_wording_and_position(
    tmp_path: Path,
) -> None:
    # libyaml would say "did not find expected ',' or ']'" at line 3, column 11.
    _write(tmp_path, "bad.yaml", "agents:\n  - uid: a\n    name: [unclosed\n")

    error = _load_error(tmp_path)

    assert (
        error.problem
        == "invalid YAML at line 4, column 1: expected ',' or ']', but got '<stream end>'"
    )


def test_file_with_tabs_is_read_by_the_pure_python_parser_as_before(tmp_path: Path) -> None:
    # libyaml takes this tab as a separator; PyYAML never did.
    _write(tmp_path, "bad.yaml", "agents: []\nclients:\t[]\n")

    error = _load_error(tmp_path)

    assert error.problem == (
        "invalid YAML at line 2, column 9: found character '\\t' that cannot start any token"
    )


@requires_libyaml
def test_question_mark_inside_a_flow_scalar_is_read_as_libyaml_reads_it(tmp_path: Path) -> None:
    # PyYAML's own scanner took any `?` in [...] for a key indicator and refused the file;
    # libyaml follows the spec (an indicator only before a space), so the file now loads.
    _write(
        tmp_path,
        "agents.yaml",
        "agents:\n  - {uid: a, name: A?, email: a@b, password: pw, groups: [g?]}\n",
    )

    (agent,) = load_fixtures(tmp_path).agents

    assert (agent.name, agent.groups) == ("A?", ("g?",))


@pytest.mark.parametrize("total", [".inf", "-.inf", ".nan"])
def test_a_non_finite_amount_is_a_fixture_error_not_a_crash(tmp_path: Path, total: str) -> None:
    document = yaml.safe_dump({"customers": [_customer(carts=[_cart()])]}, sort_keys=False)
    _write(tmp_path, "customers.yaml", document.replace("total: 19.99", f"total: {total}"))
    error = _load_error(tmp_path)
    assert error.file == "customers.yaml"
    assert error.path == "/customers/0/carts/0/total"


def test_an_impossible_date_is_a_fixture_error_not_a_crash(tmp_path: Path) -> None:
    document = yaml.safe_dump({"customers": [_customer()]}, sort_keys=False)
    _write(tmp_path, "customers.yaml", document.replace("'2021-03-04T10:00:00Z'", "2021-02-30"))
    error = _load_error(tmp_path)
    assert error.file == "customers.yaml"
    assert "day is out of range" in error.problem
