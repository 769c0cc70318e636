"""Realistic strings and numbers by property name and by `format`, from Faker's providers.

`asm_mock.contract.generate` asks here first and keeps a value only when it fits the schema.
Faker is pinned exactly (its output is part of every generated answer) and is reseeded from the
caller's `random.Random` before every value, so a value depends only on that generator's state:
the same on every machine and run, whatever was generated before. Faker is imported on the first
value (~0.3 s), never at start-up, and kept one per thread so concurrent generators never share
its random state.
"""

from __future__ import annotations

import functools
import itertools
import random
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "CURRENCY_DECIMALS",
    "FORMATS",
    "Candidate",
    "Draw",
    "Person",
    "amount",
    "candidates_for",
    "formatted_money",
    "is_amount",
    "pick_currency",
    "name_tokens",
]

# ISO 4217 minor units of the currencies shops price in; any other code is treated as 2 decimals.
CURRENCY_DECIMALS: dict[str, int] = {
    **dict.fromkeys(
        "USD EUR GBP CHF CAD AUD NZD CNY HKD SGD INR SEK NOK DKK PLN CZK HUF RON BRL MXN ZAR "
        "TRY AED SAR ILS THB MYR PHP".split(),
        2,
    ),
    **dict.fromkeys("JPY KRW VND CLP ISK".split(), 0),
    **dict.fromkeys("KWD BHD JOD OMR TND".split(), 3),
}
# Listed twice: the currencies most shops use come up most often.
_COMMON_CURRENCIES = ("USD", "EUR", "GBP", "USD", "EUR", "GBP", *CURRENCY_DECIMALS)
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
_SITES = ("electronics-spa", "apparel-uk-spa", "powertools-spa")
_AGENTS = ("asagent", "asagentsalesmanager", "cs.agent.emma", "cs.agent.liam")
_REGEXES = (r"^[A-Z]{2}[0-9]{4}$", r"^\d{5}(-\d{4})?$", r"^[a-z0-9._-]+$", r"^(EUR|USD|GBP)$")
_LOCAL = threading.local()


def _faker(seed: int) -> Any:
    fake = getattr(_LOCAL, "faker", None)
    if fake is None:
        from faker import Faker  # ~0.3 s: only once a value is generated

        fake = _LOCAL.faker = Faker("en_US")
    fake.seed_instance(seed)
    return fake


@functools.cache
def _name_pools() -> tuple[tuple[list[str], list[float]], tuple[list[str], list[float]]]:
    """Faker's en_US first and last names with their cumulative frequencies (its own
    `first_name()` re-adds ~7,000 weights per call)."""
    from faker.providers.person.en_US import Provider

    def pool(weights: Any) -> tuple[list[str], list[float]]:
        return list(weights), list(itertools.accumulate(weights.values()))

    return pool(Provider.first_names), pool(Provider.last_names)


class Person:
    """The person an object is about, drawn when one of its values first needs a name, so
    its `name`, `firstName` and `email` agree."""

    __slots__ = ("_names", "_seed")

    def __init__(self, seed: int) -> None:
        self._seed, self._names = seed, ("", "")

    @property
    def names(self) -> tuple[str, str]:
        if not self._names[0]:
            rng = random.Random(self._seed)
            (firsts, first_weights), (lasts, last_weights) = _name_pools()
            first = rng.choices(firsts, cum_weights=first_weights)[0]
            self._names = (first, rng.choices(lasts, cum_weights=last_weights)[0])
        return self._names


@dataclass
class Draw:
    """What a realistic value is drawn from: the node's random numbers and its surroundings."""

    rng: Any  # random.Random
    now: datetime  # the world's reference time: dates are relative to it
    owner: Person | None = None  # the person of the object being generated
    currency: str | None = None  # of the nearest enclosing object that names one
    house: str = "USD"  # the currency a new currency code is: one per generated value
    amount: float | None = None  # the price beside a formatted price, which shows it

    @property
    def currency_code(self) -> str:
        return self.currency or "USD"

    @property
    def person(self) -> tuple[str, str]:
        if self.owner is None:
            self.owner = Person(self.rng.getrandbits(64))
        return self.owner.names

    @property
    def fake(self) -> Any:
        """Faker, reseeded from `rng` so each call draws fresh but reproducible values."""
        return _faker(self.rng.getrandbits(64))

    def instant(self, *, future: bool = False, years: float = 3) -> datetime:
        offset = timedelta(seconds=self.rng.randrange(int(years * 365 * 86400)))
        now = self.now if self.now.tzinfo else self.now.replace(tzinfo=UTC)
        return now + offset if future else now - offset

    def words(self, count: int) -> str:
        return " ".join(self.fake.words(count))


def _email(d: Draw) -> str:
    first, last = d.person
    return f"{first}.{last}@{d.rng.choice(('example.com', 'example.org'))}".lower()


def _phone(d: Draw) -> str:
    return str(d.fake.basic_phone_number())


def _e164(d: Draw) -> str:
    return f"+1{d.rng.randrange(2, 10)}{d.rng.randrange(10**9):09d}"


def _uuid(d: Draw) -> str:
    return str(uuid.UUID(int=d.rng.getrandbits(128), version=4))


def _digits8(d: Draw) -> str:
    return f"{d.rng.randrange(1, 100_000):08d}"


def _date_time(d: Draw, future: bool = False) -> str:
    return d.instant(future=future).isoformat(timespec="seconds")


def amount(d: Draw, as_string: bool) -> Any:
    """A price in `d.currency`, with that currency's number of decimals (JPY 0, EUR 2, KWD 3)."""
    decimals = CURRENCY_DECIMALS.get(d.currency_code, 2)
    scale = 100 if decimals == 0 else 1  # a yen price is a hundred times a euro price
    value = round(d.rng.uniform(4.99, 2499.0) * scale, decimals)
    if as_string:
        return f"{value:.{decimals}f}"
    return int(value) if decimals == 0 else value


def formatted_money(d: Draw) -> str:
    decimals = CURRENCY_DECIMALS.get(d.currency_code, 2)
    value = float(amount(d, as_string=True)) if d.amount is None else d.amount
    symbol = _SYMBOLS.get(d.currency_code, f"{d.currency_code} ")
    return f"{symbol}{value:,.{decimals}f}"


FORMATS: dict[str, Callable[[Draw], str]] = {
    "date-time": _date_time,
    "date": lambda d: d.instant().date().isoformat(),
    "time": lambda d: d.instant().timetz().isoformat(timespec="seconds"),
    "duration": lambda d: (
        f"P{d.rng.randrange(1, 30)}DT{d.rng.randrange(24)}H{d.rng.randrange(1, 60)}M"
    ),
    "email": _email,
    "idn-email": _email,
    "hostname": lambda d: str(d.fake.domain_name()),
    "idn-hostname": lambda d: str(d.fake.domain_name()),
    "ipv4": lambda d: str(d.fake.ipv4_public()),
    "ipv6": lambda d: str(d.fake.ipv6()),
    "uri": lambda d: f"https://{d.fake.domain_name()}/{d.fake.uri_path()}",
    "iri": lambda d: f"https://{d.fake.domain_name()}/{d.fake.uri_path()}",
    "uri-reference": lambda d: f"/{d.fake.uri_path()}",
    "iri-reference": lambda d: f"/{d.fake.uri_path()}",
    "url": lambda d: f"https://{d.fake.domain_name()}/{d.fake.uri_path()}",
    "uuid": _uuid,
    "regex": lambda d: d.rng.choice(_REGEXES),
    "json-pointer": lambda d: "/" + "/".join(d.fake.words(d.rng.randrange(1, 4))),
    "relative-json-pointer": lambda d: f"{d.rng.randrange(3)}/{d.fake.word()}",
    "uri-template": lambda d: f"https://{d.fake.domain_name()}/{d.fake.word()}/{{id}}{{?page}}",
}
_URI_FORMATS = frozenset({"uri", "iri", "uri-reference", "iri-reference", "url"})


@dataclass(frozen=True)
class Candidate:
    """One realistic value for a name: kept only when its JSON kind and format fit the schema."""

    kinds: frozenset[str]
    make: Callable[[Draw], Any]
    formats: frozenset[str] = field(default_factory=frozenset)  # the formats its values satisfy


def _text(make: Callable[[Draw], Any], *formats: str) -> Candidate:
    return Candidate(frozenset({"string"}), make, frozenset(formats))


def _integer(make: Callable[[Draw], Any]) -> Candidate:
    return Candidate(frozenset({"integer", "number"}), make)


def _number(make: Callable[[Draw], Any]) -> Candidate:
    return Candidate(frozenset({"number"}), make)


def _pick(*values: Any) -> Callable[[Draw], Any]:
    return lambda d: d.rng.choice(values)


def _sentence(d: Draw) -> str:
    return str(d.fake.sentence(nb_words=d.rng.randrange(4, 9), variable_nb_words=False))


def _title(d: Draw) -> str:
    return str(d.fake.sentence(nb_words=d.rng.randrange(3, 6), variable_nb_words=False)).rstrip(".")


_EMAIL = [_text(_email, "email", "idn-email")]
_UUID = [_text(_uuid, "uuid")]
_CODE = [_text(_digits8), *_UUID, _integer(lambda d: d.rng.randrange(1, 1_000_000))]
_STAMP = [_text(_date_time, "date-time"), _text(lambda d: d.instant().date().isoformat(), "date")]
_FUTURE = [
    _text(lambda d: _date_time(d, future=True), "date-time"),
    _text(lambda d: d.instant(future=True).date().isoformat(), "date"),
]
_AMOUNT = [_text(lambda d: amount(d, True)), _number(lambda d: amount(d, False))]


def _price_text(d: Draw) -> str:
    """Beside a currency code, a decimal string ("1234.50"); alone, a display price ("$1,234.50"),
    as SAP's order and cart totals are."""
    return amount(d, as_string=True) if d.currency else formatted_money(d)


_MONEY = [_text(_price_text), *_AMOUNT, _text(formatted_money)]
_COUNT = [_integer(lambda d: d.rng.randint(1, 12))]
_CURRENCY = [_text(lambda d: d.currency or d.house)]
_COUNTRY_CODE = [
    _text(lambda d: str(d.fake.country_code())),
    _text(lambda d: str(d.fake.country_code(representation="alpha-3"))),
]

# SAP's own names, then where the same name means something else under some parents.
_EXACT: dict[str, list[Candidate]] = {
    "sessionid": _UUID,
    "customerid": _UUID,
    "agentid": [_text(_pick(*_AGENTS))],
    "basesite": [_text(_pick(*_SITES))],
    "basesiteid": [_text(_pick(*_SITES))],
    "uid": _EMAIL,
    "status": [_text(_pick("COMPLETED", "CREATED", "CANCELLED"))],
    "groups": [Candidate(frozenset({"array"}), lambda d: ["asagentgroup"])],
    "currentpage": [_integer(lambda d: d.rng.randint(0, 3))],
    "pagesize": [_integer(_pick(5, 10, 20))],
    "totalpages": [_integer(lambda d: d.rng.randint(1, 5))],
    "totalresults": [_integer(lambda d: d.rng.randint(0, 60))],
    "totalitems": _COUNT,
    "formattedvalue": [_text(formatted_money)],
    "name": [_text(lambda d: " ".join(d.person))],
    "firstname": [_text(lambda d: d.person[0])],
    "lastname": [_text(lambda d: d.person[1])],
    "age": [_integer(lambda d: d.rng.randint(18, 90))],
    "id": _CODE,
    "code": _CODE,
    "pk": [_text(lambda d: str(d.rng.randrange(8796093022208, 8796999999999)))],
}
_IN_CONTEXT: dict[tuple[str, str], list[Candidate]] = {
    ("error", "type"): [_text(_pick("ValidationError", "UnknownIdentifierError", "NotFoundError"))],
    ("error", "reason"): [_text(_pick("invalid", "missing", "unknownIdentifier", "notFound"))],
    ("error", "subject"): [_text(_pick("pageSize", "baseSite", "customerId", "sessionId"))],
    ("error", "subjecttype"): [_text(_pick("parameter", "body", "header"))],
    ("error", "message"): [_text(_pick("Customer not found", "Base site no-such-site unknown"))],
    ("ticket", "status"): [_text(_pick("Open", "In Process", "Closed"))],
    ("activit", "type"): [_text(_pick("ORDER", "CART", "TICKET"))],
    ("agent", "uid"): [_text(_pick(*_AGENTS))],
    ("agent", "name"): [_text(lambda d: " ".join(d.person))],
    ("country", "isocode"): _COUNTRY_CODE,
    ("currency", "isocode"): _CURRENCY,
    ("price", "value"): _AMOUNT,
    ("compan", "name"): [_text(lambda d: str(d.fake.company()))],
    ("store", "name"): [_text(lambda d: str(d.fake.company()))],
    ("product", "name"): [_text(_title)],
    ("country", "name"): [_text(lambda d: str(d.fake.country()))],
    ("region", "name"): [_text(lambda d: str(d.fake.state()))],
    ("region", "isocode"): [_text(lambda d: f"US-{d.fake.state_abbr()}")],
    ("categor", "name"): [_text(lambda d: d.words(d.rng.randint(1, 2)).title())],
}
# The last words of a name (camelCase, snake_case or kebab-case), longest first.
_ENDINGS: list[tuple[tuple[str, ...], list[Candidate]]] = [
    (
        ("phone", "phonenumber", "mobile", "telephone", "tel", "fax", "cell"),
        [
            _text(_phone),
            _text(_e164),
            _text(lambda d: f"{d.rng.randrange(10**9, 10**10)}"),
        ],
    ),
    (("email", "mail", "emailaddress"), _EMAIL),
    (("url", "uri", "link", "href", "website", "homepage"), [_text(FORMATS["uri"], *_URI_FORMATS)]),
    (("givenname", "forename"), _EXACT["firstname"]),
    (("surname", "familyname"), _EXACT["lastname"]),
    (("fullname", "displayname", "customername", "contactname"), _EXACT["name"]),
    (("username", "login", "nickname"), [_text(lambda d: str(d.fake.user_name()))]),
    (("city", "town", "locality"), [_text(lambda d: str(d.fake.city()))]),
    (("countrycode", "countryiso"), _COUNTRY_CODE),
    (("country", "countryname"), [_text(lambda d: str(d.fake.country())), *_COUNTRY_CODE]),
    (
        ("region", "province"),
        [
            _text(lambda d: str(d.fake.state())),
            _text(lambda d: str(d.fake.state_abbr())),
        ],
    ),
    (("postalcode", "postcode", "zip", "zipcode"), [_text(lambda d: str(d.fake.postcode()))]),
    (
        ("line1", "street", "streetname", "streetaddress", "address1"),
        [_text(lambda d: str(d.fake.street_address()))],
    ),
    (("line2", "address2"), [_text(lambda d: str(d.fake.secondary_address()))]),
    (("address",), [_text(lambda d: str(d.fake.address()).replace("\n", ", "))]),
    (
        ("company", "companyname", "organization", "organisation", "employer"),
        [_text(lambda d: str(d.fake.company()))],
    ),
    (("currency", "currencyiso", "currencycode"), _CURRENCY),
    (("formatted", "formattedvalue", "formattedprice", "formattedtotal"), _MONEY),
    (("price", "amount", "total", "subtotal", "cost", "balance", "tax", "discount"), _MONEY),
    (("uuid", "guid"), _UUID),
    (
        ("expires", "expiry", "expiresat", "validuntil", "until", "deadline", "due", "duedate"),
        _FUTURE,
    ),
    (
        ("birthdate", "dateofbirth", "dob", "birthday"),
        [
            _text(
                lambda d: (
                    d.now.date() - timedelta(days=d.rng.randint(18 * 365, 80 * 365))
                ).isoformat(),
                "date",
            )
        ],
    ),
    (
        (
            "at",
            "date",
            "time",
            "timestamp",
            "created",
            "modified",
            "updated",
            "placed",
            "since",
            "signedupdate",
        ),
        _STAMP,
    ),
    (
        (
            "description",
            "comment",
            "comments",
            "note",
            "notes",
            "text",
            "message",
            "summary",
            "details",
            "remark",
        ),
        [_text(_sentence)],
    ),
    (("subject", "title", "headline"), [_text(_title)]),
    (("count", "quantity", "qty", "items"), _COUNT),
    (("language", "lang"), [_text(_pick("en", "de", "fr", "es", "it", "ja"))]),
    (("locale",), [_text(_pick("en_US", "en_GB", "de_DE", "fr_FR", "ja_JP"))]),
    (("timezone",), [_text(lambda d: str(d.fake.timezone()))]),
    (("latitude", "lat"), [_number(lambda d: round(d.rng.uniform(-80, 80), 6))]),
    (("longitude", "lng", "lon"), [_number(lambda d: round(d.rng.uniform(-179, 179), 6))]),
    (("ip", "ipaddress"), [_text(FORMATS["ipv4"], "ipv4")]),
    (("color", "colour"), [_text(lambda d: str(d.fake.color_name()))]),
    (("sku", "ean", "gtin", "barcode"), [_text(lambda d: str(d.fake.ean13()))]),
    (("iban",), [_text(lambda d: str(d.fake.iban()))]),
    (("bic", "swift"), [_text(lambda d: str(d.fake.swift()))]),
    (("version",), [_text(lambda d: f"{d.rng.randrange(1, 5)}.{d.rng.randrange(20)}.0")]),
    (("mimetype", "contenttype", "mediatype"), [_text(lambda d: str(d.fake.mime_type()))]),
    (("filename",), [_text(lambda d: str(d.fake.file_name()))]),
    (("hostname", "domain"), [_text(FORMATS["hostname"], "hostname", "idn-hostname")]),
    (("percentage", "percent", "rate"), [_number(lambda d: round(d.rng.uniform(0, 100), 2))]),
    (("rating",), [_integer(lambda d: d.rng.randint(1, 5))]),
    (("id", "code", "number", "no", "ref", "reference"), _CODE),
]
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def pick_currency(rng: random.Random) -> str:
    return rng.choice(_COMMON_CURRENCIES)


def is_amount(name: str, parent: str) -> bool:
    """Whether `name` is a price (its formatted sibling shows it)."""
    found = candidates_for(name, parent)
    return found is _MONEY or found is _AMOUNT


def name_tokens(name: str) -> list[str]:
    """`billingPhoneNumber` -> ['billing', 'phone', 'number'] (also snake_case, kebab-case)."""
    return [t.lower() for t in _WORD.findall(name)]


@functools.lru_cache(maxsize=4096)
def candidates_for(name: str, parent: str) -> list[Candidate]:
    """Realistic candidates for property `name` inside `parent` (the enclosing property and
    component names, joined with '/')."""
    tokens = name_tokens(name)
    if not tokens:
        return []
    # Only the two nearest enclosing names: a customer inside an agent's answer is no agent.
    whole, where = "".join(tokens), "/".join(parent.lower().split("/")[-2:])
    for (inside, field_name), found in _IN_CONTEXT.items():
        if field_name == whole and inside in where:
            return found
    if whole in _EXACT:
        return _EXACT[whole]
    for size in range(min(len(tokens), 3), 0, -1):
        ending = "".join(tokens[-size:])
        for endings, found in _ENDINGS:
            if ending in endings:
                return found
    return []
