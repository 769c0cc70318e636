"""asm_mock.contract.generate: realistic values valid against the contract's schemas, seeded."""

from __future__ import annotations

import math
import re
import time
import uuid
from datetime import datetime
from typing import Any

import jsonschema_rs
import pytest
import yaml
from faker.providers.address.en_US import Provider as AddressProvider
from jsonschema import Draft202012Validator

from asm_mock.contract.generate import UnsatisfiableSchema, generate
from asm_mock.resources import contract_path

DOCUMENT: dict[str, Any] = yaml.safe_load(contract_path().read_text())
SCHEMAS: dict[str, Any] = DOCUMENT["components"]["schemas"]
SEEDS = range(50)
FORMATS = Draft202012Validator.FORMAT_CHECKER
EIGHT_DIGITS = re.compile(r"[0-9]{8}")
EMAIL = re.compile(r"[a-z]+\.[a-z]+@[a-z.]+\.[a-z]+")
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
COUNTRIES = set(AddressProvider.countries)  # Faker's country names, the generator's source
MONEY = re.compile(r"\$[0-9]{1,3}(,[0-9]{3})*\.[0-9]{2}")


def response_schemas() -> dict[str, Any]:
    found = {}
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:  # path-level parameters, summary, servers
                continue
            for status, response in operation["responses"].items():
                if "$ref" in response:
                    response = DOCUMENT["components"]["responses"][response["$ref"].split("/")[-1]]
                media = response.get("content", {}).get("application/json")
                if media is not None:
                    found[f"{method.upper()} {path} {status}"] = media["schema"]
    return found


RESPONSES = response_schemas()


def validator(schema: Any) -> Draft202012Validator:
    """Validates against `schema` with the document's components alongside, so $refs resolve."""
    return Draft202012Validator(
        {**schema, "components": DOCUMENT["components"]}, format_checker=FORMATS
    )


def component(name: str, seed: int) -> Any:
    return generate(SCHEMAS[name], seed=seed, root=DOCUMENT)


def assert_valid(schema: dict[str, Any], seeds: range = SEEDS) -> list[Any]:
    Draft202012Validator.check_schema(schema)
    check = Draft202012Validator(schema, format_checker=FORMATS)
    values = [generate(schema, seed=seed) for seed in seeds]
    for value in values:
        check.validate(value)
    return values


def test_the_format_checker_really_checks_the_formats_we_generate() -> None:
    assert {"date-time", "date", "email", "uuid"} <= set(FORMATS.checkers)
    assert len(RESPONSES) >= 30


@pytest.mark.parametrize("where", sorted(RESPONSES))
def test_every_response_schema_of_the_contract_gets_valid_values(where: str) -> None:
    schema = RESPONSES[where]
    check = validator(schema)
    for seed in SEEDS:
        check.validate(generate(schema, seed=seed, root=DOCUMENT))


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_component_schema_gets_valid_values(name: str) -> None:
    check = validator({"$ref": f"#/components/schemas/{name}"})
    for seed in SEEDS:
        check.validate(component(name, seed))


def test_the_same_seed_gives_the_same_value_and_other_seeds_other_values() -> None:
    for name in SCHEMAS:
        assert component(name, 7) == component(name, 7)
    differ = sum(
        component("Customer360Data", s) != component("Customer360Data", s + 100) for s in range(20)
    )
    assert differ >= 18
    differ = sum(
        component("AssistedSession", s) != component("AssistedSession", s + 100) for s in range(20)
    )
    assert differ >= 18


def test_an_assisted_session_looks_like_sap() -> None:
    for seed in range(20):
        session = component("AssistedSession", seed)
        assert uuid.UUID(session["sessionId"]).version == 4
        assert uuid.UUID(session["customerId"]).version == 4
        assert EIGHT_DIGITS.fullmatch(session["cartId"])
        assert re.fullmatch(r"(as|cs\.)[a-z.]+", session["agentId"])
        assert session["baseSite"] in {"electronics-spa", "apparel-uk-spa", "powertools-spa"}
        assert datetime.fromisoformat(session["createdAt"]).utcoffset() is not None
        assert session["status"] in {"ACTIVE", "ENDED"}


def test_a_customer_search_page_has_realistic_entries_and_coherent_pagination() -> None:
    for seed in SEEDS:
        page = component("CustomerSearchPage", seed)
        entries, pagination = page["entries"], page["pagination"]
        for entry in entries:
            assert EMAIL.fullmatch(entry["uid"])
            assert re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", entry["name"])
            assert uuid.UUID(entry["customerId"]).version == 4
            assert EIGHT_DIGITS.fullmatch(entry["lastCartId"])
            assert isinstance(entry["hasOrder"], bool)
        size, total = pagination["pageSize"], pagination["totalResults"]
        assert pagination["totalPages"] == math.ceil(total / size)
        assert 0 <= pagination["currentPage"] < max(pagination["totalPages"], 1)
        on_this_page = min(size, total - pagination["currentPage"] * size)
        assert len(entries) == on_this_page


def test_a_customer_360_view_reads_like_sap() -> None:
    for seed in range(20):
        view = component("Customer360Data", seed)
        overview = view["overview"]
        first, last = overview["name"].lower().split()
        assert overview["email"].startswith(f"{first}.{last}@")
        datetime.fromisoformat(overview["signedUpDate"])
        assert overview["latestActivity"]["type"] in {"ORDER", "CART", "TICKET"}
        assert overview["address"]["country"] in COUNTRIES
        for order in view["recentOrders"]:
            assert EIGHT_DIGITS.fullmatch(order["code"]) and MONEY.fullmatch(order["total"])
            assert order["status"] in {"COMPLETED", "CREATED", "CANCELLED"}
        for cart in view["activeCarts"]:
            assert 1 <= cart["totalItems"] <= 12 and MONEY.fullmatch(cart["total"])
        for ticket in view["supportTickets"]:
            assert EIGHT_DIGITS.fullmatch(ticket["id"])
            assert ticket["status"] in {"Open", "In Process", "Closed"}


def test_agents_and_errors_read_like_sap() -> None:
    for seed in range(20):
        agent = component("Agent", seed)
        assert agent["groups"] == ["asagentgroup"]
        assert re.fullmatch(r"(as|cs\.)[a-z.]+", agent["uid"])
        for error in component("ErrorList", seed)["errors"]:
            assert error["type"].endswith("Error")
            assert error["subjectType"] in {"parameter", "body", "header"}


def test_const_enum_and_nullable_types() -> None:
    assert set(assert_valid({"const": {"kind": "ok"}})[0]) == {"kind"}
    assert set(assert_valid({"enum": ["A", "B", 3]})) == {"A", "B", 3}
    values = assert_valid({"type": ["string", "null"]}, range(100))
    assert None in values and any(isinstance(v, str) for v in values)


def test_objects_respect_required_and_additional_properties() -> None:
    schema = {
        "type": "object",
        "required": ["a", "extra"],
        "properties": {"a": {"type": "integer"}, "b": {"type": "boolean"}},
        "additionalProperties": {"type": "string"},
        "dependentRequired": {"b": ["c"]},
    }
    assert all({"a", "b", "c", "extra"} == set(v) for v in assert_valid(schema))
    closed = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "additionalProperties": False,
    }
    assert all(set(v) <= {"a"} for v in assert_valid(closed))
    assert all(len(v) >= 3 for v in assert_valid({"type": "object", "minProperties": 3}))


def test_array_sizes_uniqueness_and_tuples() -> None:
    lengths = {len(v) for v in assert_valid({"type": "array", "items": {"type": "integer"}})}
    assert lengths <= {1, 2, 3} and len(lengths) > 1
    assert {len(v) for v in assert_valid({"type": "array", "minItems": 4, "maxItems": 6})} <= {
        4,
        5,
        6,
    }
    assert assert_valid({"type": "array", "maxItems": 0}) == [[]] * 50
    unique = {"type": "array", "uniqueItems": True, "minItems": 3, "items": {"enum": [1, 2, 3]}}
    assert all(sorted(v) == [1, 2, 3] for v in assert_valid(unique))
    assert_valid({"prefixItems": [{"const": 1}, {"type": "string"}], "items": False, "minItems": 2})
    assert_valid({"type": "array", "contains": {"const": "x"}, "items": {"type": "string"}})


@pytest.mark.parametrize(
    "pattern",
    [
        r"^[0-9]{8}$",
        r"^[A-Z]{2}-\d{3,5}(-[a-z]+)?$",
        r"^(foo|bar)\.[a-f0-9]{4}$",
        r"[^ ]+@x\.org",
        r"^a.b*c+$",
    ],
)
def test_patterns(pattern: str) -> None:
    for value in assert_valid({"type": "string", "pattern": pattern}):
        assert re.search(pattern, value)


def test_string_lengths_and_formats() -> None:
    assert all(
        5 <= len(v) <= 7 for v in assert_valid({"type": "string", "minLength": 5, "maxLength": 7})
    )
    assert all(
        len(v) == 40 for v in assert_valid({"type": "string", "minLength": 40, "maxLength": 40})
    )
    for value in assert_valid({"type": "string", "format": "uuid"}):
        assert uuid.UUID(value).version == 4
    assert all("@" in v for v in assert_valid({"type": "string", "format": "email"}))
    for value in assert_valid({"type": "string", "format": "date-time"}):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", value)
    assert all(
        re.fullmatch(r"\d{4}-\d\d-\d\d", v)
        for v in assert_valid({"format": "date", "type": "string"})
    )
    assert_valid({"type": "string", "format": "time"})
    assert_valid({"type": "string", "format": "ipv4"})


def test_numbers_respect_bounds_and_multiples() -> None:
    assert all(3 <= v <= 9 for v in assert_valid({"type": "integer", "minimum": 3, "maximum": 9}))
    assert (
        assert_valid({"type": "integer", "exclusiveMinimum": 4, "exclusiveMaximum": 6}) == [5] * 50
    )
    assert all(v % 7 == 0 for v in assert_valid({"type": "integer", "multipleOf": 7, "minimum": 1}))
    assert_valid({"type": "number", "minimum": 0.5, "maximum": 0.75})
    assert all(v < 0 for v in assert_valid({"type": "number", "exclusiveMaximum": 0}))
    assert_valid({"type": "number", "multipleOf": 0.25, "maximum": -10})
    assert_valid({"type": "number", "multipleOf": 0.1})
    assert_valid({"type": "integer", "multipleOf": 2.5})


def test_one_of_any_of_and_all_of() -> None:
    one_of = {"oneOf": [{"type": "string", "maxLength": 3}, {"type": "integer", "minimum": 10}]}
    assert {type(v) for v in assert_valid(one_of)} == {str, int}
    assert_valid({"type": "object", "anyOf": [{"required": ["a"]}, {"required": ["b"]}]})
    all_of = {
        "allOf": [
            {
                "type": "object",
                "required": ["a"],
                "properties": {"a": {"type": "integer", "minimum": 0}},
            },
            {"required": ["b"], "properties": {"a": {"maximum": 5}, "b": {"enum": ["x", "y"]}}},
        ]
    }
    assert all({"a", "b"} <= set(v) and 0 <= v["a"] <= 5 for v in assert_valid(all_of))


def test_recursive_refs_terminate() -> None:
    schema = {
        "$ref": "#/$defs/Node",
        "$defs": {
            "Node": {
                "type": "object",
                "required": ["value"],
                "properties": {
                    "value": {"type": "integer"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                    "next": {"$ref": "#/$defs/Node"},
                },
            }
        },
    }
    assert_valid(schema, range(5))
    # A required self-reference has no finite value: an optional property holding it is left out.
    endless = {
        "$defs": {
            "Loop": {
                "type": "object",
                "required": ["loop"],
                "properties": {"loop": {"$ref": "#/$defs/Loop"}},
            }
        }
    }
    endless.update({"type": "object", "properties": {"maybe": {"$ref": "#/$defs/Loop"}}})
    assert assert_valid(endless, range(3)) == [{}] * 3


def test_name_heuristics_never_break_the_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "email": {"type": "string", "maxLength": 5},
            "cartId": {"type": "string", "pattern": "^C[0-9]{3}$"},
            "status": {"type": "integer"},
            "groups": {"type": "array", "items": {"enum": ["agents"]}},
            "totalItems": {"type": "integer", "minimum": 50},
            "createdAt": {"type": "string"},
            "sessionId": {"type": "string", "format": "date"},
        },
    }
    for value in assert_valid(schema):
        assert re.fullmatch("C[0-9]{3}", value["cartId"]) and value["groups"][0] == "agents"
        datetime.fromisoformat(value["createdAt"])  # a timestamp by name, though any string is fine


def test_lookaheads_are_honoured_and_what_cannot_be_generated_is_left_out_or_refused() -> None:
    lookahead = {"type": "string", "pattern": "^(?=.*[0-9])[a-z0-9]{6}$"}
    for value in assert_valid(
        {"type": "object", "required": ["code"], "properties": {"code": lookahead}}
    ):
        assert re.search("[0-9]", value["code"])
    impossible = {"type": "string", "pattern": "^(?!x)x$"}
    assert (
        assert_valid({"type": "object", "properties": {"code": impossible}}, range(3)) == [{}] * 3
    )
    closed = {"type": "object", "required": ["code"], "properties": {"code": impossible}}
    with pytest.raises(UnsatisfiableSchema, match="#/properties/code") as refused:
        generate(closed, seed=1)
    assert refused.value.location == "#/properties/code" and "pattern" in refused.value.problem
    with pytest.raises(ValueError, match="local"):
        generate({"$ref": "https://example.com/schema.json"}, seed=1)
    with pytest.raises(ValueError, match="unresolvable"):
        generate({"$ref": "#/components/schemas/Nope"}, seed=1, root=DOCUMENT)
    assert generate({"type": "object", "properties": {"x": False}}, seed=1) == {}
    assert_valid({"type": "object", "required": ["x"], "properties": {"x": True}})


def test_unsatisfiable_schemas_name_their_location_and_never_hang() -> None:
    document = {
        "components": {
            "schemas": {
                "Order": {
                    "type": "object",
                    "required": ["lines"],
                    "properties": {
                        "lines": {
                            "type": "array",
                            "minItems": 1,
                            "items": {"$ref": "#/components/schemas/Line"},
                        }
                    },
                },
                "Line": {
                    "type": "object",
                    "required": ["quantity"],
                    "properties": {"quantity": {"type": "integer", "minimum": 5, "maximum": 4}},
                },
            }
        }
    }
    order = document["components"]["schemas"]["Order"]
    with pytest.raises(UnsatisfiableSchema, match="#/components/schemas/Line/properties/quantity"):
        generate(order, seed=1, root=document)
    for unsatisfiable in (
        False,
        {"allOf": [{"type": "string"}, {"type": "integer"}]},
        {"enum": [1, 2], "allOf": [{"enum": [3]}]},
        {"type": "array", "minItems": 3, "maxItems": 2},
        {"type": "array", "uniqueItems": True, "minItems": 3, "items": {"enum": [1, 2]}},
        {"type": "string", "minLength": 5, "maxLength": 2},
        {"oneOf": [{"type": "integer"}, {"type": "number"}], "multipleOf": 1},
        {"not": {}},
        {"const": None, "type": "string"},
        {"enum": [1, "one"], "type": "boolean"},
        {"type": "object", "maxProperties": 0, "required": ["a"]},
        {"required": ["a"], "properties": {"b": False}, "dependentRequired": {"a": ["b"]}},
        {"type": "array", "minItems": 1, "items": [{"type": "string"}]},  # draft 4's tuples
        {
            "$defs": {"a": {"required": ["a"], "properties": {"a": {"$ref": "#/$defs/a"}}}},
            "$ref": "#/$defs/a",
        },
    ):
        with pytest.raises(UnsatisfiableSchema, match="cannot generate a value for #"):
            generate(unsatisfiable, seed=3)


def test_deep_schemas_keep_their_optional_properties_and_recursion_still_ends() -> None:
    deep: dict[str, Any] = {"type": "object", "properties": {"leaf": {"type": "string"}}}
    for level in range(8):
        deep = {"type": "object", "properties": {f"level{level}": deep}}
    value = assert_valid(deep, range(3))[0]
    for level in reversed(range(8)):
        value = value[f"level{level}"]
    assert isinstance(value["leaf"], str)


def test_the_largest_contract_schema_takes_a_few_milliseconds() -> None:
    component("Customer360Data", 0)  # Faker's import and first instance are paid once
    started = time.perf_counter()
    for seed in range(50):
        component("Customer360Data", seed)
    assert (time.perf_counter() - started) / 50 < 0.025  # ~3 ms on one core; slack for CI


def test_odd_but_valid_schemas_still_get_values() -> None:
    optional_dependency = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": False},
        "dependentRequired": {"a": ["b"]},
    }
    assert assert_valid(optional_dependency, range(5)) == [{}] * 5  # `a` would need `b`
    assert {v for v in assert_valid({"enum": ["x", 1, None], "type": "string"})} == {"x"}
    # A pattern Python warns about (a POSIX class is a nested set to it) warns nobody here
    # (warnings are errors in this suite); jsonschema-rs judges it, as the server does.
    posix = {"type": "string", "pattern": "^[[:alpha:]]+$"}
    check = jsonschema_rs.validator_for(posix)
    for seed in range(5):
        check.validate(generate(posix, seed=seed))
