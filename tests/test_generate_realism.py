"""asm_mock.contract.generate: values look like what their names and formats say, and depend only
on (schema, seed, name) — the same in a fresh process with another PYTHONHASHSEED."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from faker.providers.currency import Provider as CurrencyProvider
from jsonschema import Draft202012Validator

from asm_mock.contract.generate import generate, seed_of
from asm_mock.domain.world import REFERENCE_TIME

SEEDS = range(50)
ISO_4217 = {code for code, _ in CurrencyProvider.currencies}  # Faker's list, an outside source
PHONE = re.compile(r"\+?[0-9(][0-9().\- ]{6,}[0-9]")
STRING: dict[str, Any] = {"type": "string"}


def values(schema: Any, name: str | None = None, **kwargs: Any) -> list[Any]:
    check = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    found = [generate(schema, seed=seed, name=name, **kwargs) for seed in SEEDS]
    for value in found:
        check.validate(value)
    return found


def digits(text: str) -> int:
    return sum(c.isdigit() for c in text)


@pytest.mark.parametrize("name", ["phone", "phoneNumber", "mobile", "billing_phone", "fax"])
def test_a_phone_looks_like_a_phone_number(name: str) -> None:
    for phone in values(STRING, name):
        assert PHONE.fullmatch(phone) and 10 <= digits(phone) <= 15, phone


def test_a_phone_with_a_pattern_keeps_the_pattern() -> None:
    e164 = {"type": "string", "pattern": r"^\+[1-9][0-9]{7,14}$"}
    for phone in values(e164, "phone"):
        assert re.fullmatch(r"\+[1-9][0-9]{7,14}", phone)


@pytest.mark.parametrize("name", ["email", "contactEmail", "uid", None])
def test_an_email_has_one_at_and_a_domain(name: str | None) -> None:
    schema = {"type": "string", "format": "email"} if name is None else STRING
    for email in values(schema, name):
        local, domain = email.split("@")  # exactly one @
        assert local and "." in domain and " " not in email


@pytest.mark.parametrize("name", ["createdAt", "modified", "signedUpDate", "timestamp", None])
def test_a_date_time_parses_and_is_before_the_reference_time(name: str | None) -> None:
    schema = {"type": "string", "format": "date-time"} if name is None else STRING
    for text in values(schema, name):
        instant = datetime.fromisoformat(text)
        assert instant.utcoffset() is not None
        assert REFERENCE_TIME - timedelta(days=3 * 366) <= instant <= REFERENCE_TIME


def test_dates_follow_the_reference_time_given() -> None:
    later = datetime(2031, 6, 1, tzinfo=UTC)
    schema = {"type": "string", "format": "date-time"}
    for text in values(schema, reference_time=later):
        assert later - timedelta(days=3 * 366) <= datetime.fromisoformat(text) <= later
    for text in values(STRING, "expiresAt", reference_time=later):
        assert datetime.fromisoformat(text) >= later  # an expiry is in the future
    for text in values({"type": "string", "format": "date"}, "birthDate"):
        assert 18 <= REFERENCE_TIME.year - int(text[:4]) <= 81


@pytest.mark.parametrize("name", ["currency", "currencyIso", "currencyCode"])
def test_a_currency_is_an_iso_4217_code(name: str) -> None:
    found = values(STRING, name)
    assert set(found) <= ISO_4217 and len(set(found)) > 3


@pytest.mark.parametrize(("currency", "decimals"), [("JPY", 0), ("EUR", 2), ("KWD", 3)])
@pytest.mark.parametrize("name", ["price", "amount", "total"])
def test_an_amount_has_its_currency_s_decimals(currency: str, decimals: int, name: str) -> None:
    priced = {
        "type": "object",
        "required": ["currencyIso", name],
        "properties": {"currencyIso": {"enum": [currency]}, name: {"type": "string"}},
    }
    for value in values(priced):
        whole, _, fraction = value[name].partition(".")
        assert whole.isdigit() and len(fraction) == decimals and float(value[name]) > 0
    as_number = {**priced, "properties": {**priced["properties"], name: {"type": "number"}}}
    for value in values(as_number):
        assert round(value[name], decimals) == value[name]
        assert isinstance(value[name], int) == (decimals == 0)


def test_a_nested_price_takes_the_currency_of_its_order() -> None:
    order = {
        "type": "object",
        "required": ["currency", "price"],
        "properties": {
            "currency": {"const": "JPY"},
            "price": {
                "type": "object",
                "required": ["value", "formattedValue"],
                "properties": {"value": {"type": "number"}, "formattedValue": STRING},
            },
        },
    }
    for value in values(order):
        price = value["price"]
        assert isinstance(price["value"], int)
        assert price["formattedValue"] == f"¥{price['value']:,}"  # shows the price beside it


def test_every_price_of_one_value_is_in_one_currency() -> None:
    price = {
        "type": "object",
        "required": ["currencyIso", "value"],
        "properties": {"currencyIso": STRING, "value": {"type": "number"}},
    }
    cart = {
        "type": "object",
        "required": ["entries", "totalPrice"],
        "properties": {
            "entries": {"type": "array", "minItems": 2, "items": price},
            "totalPrice": price,
        },
    }
    seen = set()
    for value in values(cart):
        currencies = {e["currencyIso"] for e in value["entries"]}
        assert currencies == {value["totalPrice"]["currencyIso"]}
        seen |= currencies
    assert len(seen) > 3 and seen <= ISO_4217


@pytest.mark.parametrize(
    ("name", "looks_like"),
    [
        ("website", r"https://[a-z0-9.-]+\.[a-z]+/.*"),
        ("firstName", r"[A-Z][a-z]+"),
        ("lastName", r"[A-Z][a-z]+"),
        ("name", r"[A-Z][a-z]+ [A-Z][a-z]+"),
        ("city", r"[A-Z][A-Za-z .'-]+"),
        ("countryCode", r"[A-Z]{2}"),
        ("postalCode", r"[0-9]{5}"),
        ("street", r"[0-9]+ [A-Z][A-Za-z0-9 .]+"),
        ("companyName", r"[A-Z][A-Za-z ,.&'-]+"),
        ("sessionId", r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"),
        ("orderCode", r"[0-9]{8}"),
        ("id", r"[0-9]{8}"),
        ("description", r"[A-Z][a-z]*( [A-Za-z]+){3,}\."),
        ("subject", r"[A-Z][a-z]*( [A-Za-z]+){2,}"),
    ],
)
def test_names_drive_realistic_strings(name: str, looks_like: str) -> None:
    for value in values(STRING, name):
        assert re.fullmatch(looks_like, value), (name, value)


def test_a_country_is_a_name_or_the_code_the_schema_asks_for() -> None:
    names = values(STRING, "country")
    assert all(len(n) > 3 for n in names)
    assert all(re.fullmatch("[A-Z]{2}", c) for c in values({**STRING, "maxLength": 2}, "country"))


def test_counts_and_booleans() -> None:
    counts = values({"type": "integer", "minimum": 0}, "quantity")
    assert all(1 <= c <= 12 for c in counts) and len(set(counts)) > 3
    flags = values({"type": "boolean"}, "hasOrder")
    assert set(flags) == {True, False}


def test_names_are_mixed_into_the_seed_and_siblings_stay_put() -> None:
    assert generate(STRING, seed=4, name="fax") != generate(STRING, seed=4, name="phone")
    grown: dict[str, Any] = {
        "type": "object",
        "properties": {"email": STRING, "createdAt": STRING},
    }
    before = [generate(grown, seed=s) for s in SEEDS]
    grown["properties"] = {"loyaltyTier": {"enum": ["GOLD", "SILVER"]}, **grown["properties"]}
    after = [generate(grown, seed=s) for s in SEEDS]
    assert [{k: v for k, v in a.items() if k != "loyaltyTier"} for a in after] == before


DETERMINISM = {
    "type": "object",
    "required": ["phone", "email", "code", "tags", "price", "currency", "city", "createdAt"],
    "properties": {
        "phone": STRING,
        "email": STRING,
        "code": {"type": "string", "pattern": r"^[^a-z0-9]{4}-\W\w{3}$"},
        "tags": {"type": "array", "minItems": 2, "items": {"type": "string", "minLength": 4}},
        "price": {"type": "number"},
        "currency": STRING,
        "city": STRING,
        "createdAt": STRING,
        "choice": {"oneOf": [{"type": "integer", "multipleOf": 2}, {"type": "integer"}]},
        **{
            f"as {f}": {"type": "string", "format": f}
            for f in ("hostname", "ipv4", "ipv6", "uri", "email", "date", "duration")
        },
        "country": STRING,
        "street": STRING,
        "company": STRING,
        "description": STRING,
    },
}


def test_the_same_seed_gives_the_same_value_in_fresh_processes() -> None:
    script = (
        "import json, sys\n"
        "from asm_mock.contract.generate import generate, seed_of\n"
        "schema = json.loads(sys.argv[1])\n"
        "seeds = [seed_of('world', 7, 'customer', s) for s in range(5)]\n"
        "print(json.dumps([generate(schema, seed=s, name='customer') for s in seeds]))\n"
    )
    runs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", script, json.dumps(DETERMINISM)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        runs.append(json.loads(done.stdout))
    seeds = [seed_of("world", 7, "customer", s) for s in range(5)]
    here = [generate(DETERMINISM, seed=s, name="customer") for s in seeds]
    assert runs[0] == runs[1] == json.loads(json.dumps(here))
    assert len({json.dumps(v) for v in here}) == 5


def test_a_name_path_gives_context() -> None:
    agents = values(STRING, "Agent/uid")
    assert all(re.fullmatch(r"(as|cs\.)[a-z.]+", uid) for uid in agents)
    assert all("@" in uid for uid in values(STRING, "customers/uid"))
    assert all(re.fullmatch("US-[A-Z]{2}", v) for v in values(STRING, "address/region/isocode"))
    # Context is the nearest enclosing names: an agent's customer is a customer.
    nested = {
        "$defs": {
            "Customer": {"type": "object", "required": ["uid"], "properties": {"uid": STRING}}
        },
        "type": "object",
        "required": ["customers"],
        "properties": {"customers": {"type": "array", "items": {"$ref": "#/$defs/Customer"}}},
    }
    for agent in values(nested, "Agent"):
        assert all("@" in customer["uid"] for customer in agent["customers"])
