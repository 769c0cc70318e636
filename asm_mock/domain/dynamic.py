"""Generates a realistic JSON value that is valid against a JSON Schema, for `Prefer: dynamic=true`.

Like Prism's dynamic mode, the value comes from the contract's response schema itself, but it is
deterministic (one `random.Random(seed)`) and shaped by property names so that an AssistedSession
looks like SAP's (UUID `sessionId`, 8-digit `cartId`). A name-driven value is used only when it
fits the schema, so realism never costs validity. Faker is not used: its output changes between
releases and building it is slow; small word lists are enough here.
"""

from __future__ import annotations

import copy
import math
import random
import re
import string
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any
from urllib.parse import unquote

from asm_mock.domain.world import REFERENCE_TIME

__all__ = ["generate"]

_OPTIONAL_DEPTH = 6  # from this nesting on, optional properties and extra array items stop
_MAX_DEPTH = 64  # a required chain this deep is a recursive schema no finite value satisfies
_MISSING = object()

_FIRST = ("Alice", "Ben", "Chloe", "David", "Emma", "Felix", "Grace", "Hugo", "Isla", "Liam")
_LAST = ("Adams", "Brown", "Collins", "Evans", "Fischer", "Garcia", "Hughes", "Okafor", "Patel")
_TOWNS = ("London", "Manchester", "Leeds", "New York", "Chicago", "Austin", "Seattle", "Boston")
_COUNTRIES = ("United States", "United Kingdom", "Canada", "Germany")
_SITES = ("electronics-spa", "apparel-uk-spa", "powertools-spa")
_AGENTS = ("asagent", "asagentsalesmanager", "cs.agent.emma", "cs.agent.liam")
_SUBJECTS = ("Parcel arrived late", "Question about delivery times", "Wrong item received")
_SENTENCES = ("Placed an order for 3 items", "Added a camera to the cart", "Opened a ticket")
_WORDS = ("alpha", "basket", "cobalt", "delta", "ember", "falcon", "garnet", "harbor", "indigo")
_ALNUM = string.ascii_letters + string.digits
_TIMESTAMPS = {"created", "createdat", "modified", "updatedat", "placed", "signedupdate", "date"}
_PAGE_FIELDS = ("currentPage", "pageSize", "totalPages", "totalResults")


class _Unsatisfiable(ValueError):
    """No value was found for a (sub)schema; an optional property that raises it is left out."""


def _instant(r: random.Random) -> datetime:
    return REFERENCE_TIME - timedelta(seconds=r.randrange(3 * 365 * 86400))


_FORMATS: dict[str, Callable[[random.Random], str]] = {
    "date-time": lambda r: _instant(r).isoformat(timespec="seconds"),
    "date": lambda r: _instant(r).date().isoformat(),
    "time": lambda r: _instant(r).timetz().isoformat(timespec="seconds"),
    "email": lambda r: f"{r.choice(_FIRST)}.{r.choice(_LAST)}@example.com".lower(),
    "uuid": lambda r: str(uuid.UUID(int=r.getrandbits(128), version=4)),
    "uri": lambda r: f"https://www.example.com/{r.choice(_WORDS)}/{r.randrange(1000)}",
    "uri-reference": lambda r: f"/{r.choice(_WORDS)}/{r.randrange(1000)}",
    "hostname": lambda r: f"{r.choice(_WORDS)}.example.com",
    "ipv4": lambda r: f"192.0.2.{r.randrange(1, 255)}",
    "ipv6": lambda r: f"2001:db8::{r.randrange(1, 0xFFFF):x}",
}
_FORMATS["idn-email"], _FORMATS["url"] = _FORMATS["email"], _FORMATS["uri"]

Heuristic = Callable[["_Generator"], Any]


def _pick(*values: Any) -> Heuristic:
    return lambda g: g.rng.choice(values)


def _digits8(g: _Generator) -> str:
    return f"{g.rng.randrange(1, 100_000):08d}"


def _money(g: _Generator) -> str:
    return f"${g.rng.uniform(4.99, 2499.0):,.2f}"


# Lower-cased property name -> realistic value (section 4 "Value formats" of the SAP reference).
_BY_NAME: dict[str, Heuristic] = {
    "email": lambda g: f"{g.person[0]}.{g.person[1]}@example.com".lower(),
    "name": lambda g: " ".join(g.person),
    "firstname": lambda g: g.person[0],
    "lastname": lambda g: g.person[1],
    "customerid": lambda g: _FORMATS["uuid"](g.rng),
    "sessionid": lambda g: _FORMATS["uuid"](g.rng),
    "agentid": _pick(*_AGENTS),
    **dict.fromkeys(
        ("code", "id", "cartid", "lastcartid", "ordercode", "latestordercode"), _digits8
    ),
    "status": _pick("COMPLETED", "CREATED", "CANCELLED"),
    "total": _money,
    "formattedvalue": _money,
    "totalitems": lambda g: g.rng.randint(1, 12),
    "town": _pick(*_TOWNS),
    "city": _pick(*_TOWNS),
    "country": _pick(*_COUNTRIES),
    "basesite": _pick(*_SITES),
    "subject": _pick(*_SUBJECTS),
    "description": _pick(*_SENTENCES),
    "message": _pick(*_SENTENCES),
    "groups": lambda g: ["asagentgroup"],
    "currentpage": lambda g: g.rng.randint(0, 3),
    "pagesize": _pick(5, 10, 20),
    "totalpages": lambda g: g.rng.randint(1, 5),
    "totalresults": lambda g: g.rng.randint(0, 60),
}
_BY_NAME["uid"] = _BY_NAME["email"]
# The same name means something else under some parents (matched as substrings, in this order).
_IN_CONTEXT: dict[tuple[str, str], Heuristic] = {
    ("error", "type"): _pick("ValidationError", "UnknownIdentifierError", "NotFoundError"),
    ("error", "reason"): _pick("invalid", "missing", "unknownIdentifier", "notFound"),
    ("error", "subject"): _pick("pageSize", "baseSite", "customerId", "sessionId"),
    ("error", "subjecttype"): _pick("parameter", "body", "header"),
    ("error", "message"): _pick("Customer not found", "Base site no-such-site doesn't exist"),
    ("ticket", "status"): _pick("Open", "In Process", "Closed"),
    ("activit", "type"): _pick("ORDER", "CART", "TICKET"),
    ("agent", "uid"): _pick(*_AGENTS),
}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    names = {float: "number", str: "string", list: "array", dict: "object", type(None): "null"}
    return names[type(value)]


def _in_bounds(v: float, s: Mapping[str, Any]) -> bool:
    m = s.get("multipleOf")
    # Mirrors jsonschema: a float divisor is checked by division, an integer one by remainder.
    if m is not None and not ((v / m).is_integer() if isinstance(m, float) else v % m == 0):
        return False
    inclusive = s.get("minimum", -math.inf) <= v <= s.get("maximum", math.inf)
    exclusive = s.get("exclusiveMinimum", -math.inf) < v < s.get("exclusiveMaximum", math.inf)
    return bool(inclusive and exclusive)


def _merge(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """allOf of two schemas as one: properties unite, bounds tighten, sets intersect."""
    out = dict(a)
    for k, v in b.items():
        old = out.get(k, _MISSING)
        if old is _MISSING:
            out[k] = v
        elif k == "properties":
            out[k] = {**old, **{p: {"allOf": [old[p], s]} if p in old else s for p, s in v.items()}}
        elif k == "required":
            out[k] = list(dict.fromkeys([*old, *v]))
        elif k == "type":
            olds, news = ([t] if isinstance(t, str) else list(t) for t in (old, v))
            both = [t for t in olds if t in news or (t == "integer" and "number" in news)]
            out[k] = both + (["integer"] if "number" in olds and "integer" in news else [])
        elif k == "enum":
            out[k] = [x for x in old if x in v]
        elif k.startswith("min") or k == "exclusiveMinimum":
            out[k] = max(old, v)
        elif k.startswith("max") or k == "exclusiveMaximum":
            out[k] = min(old, v)
        elif k in ("oneOf", "anyOf"):  # both must hold: each old branch also carries the new list
            out[k] = [{"allOf": [x, {k: v}]} for x in old]
        elif k in ("items", "additionalProperties", "contains"):
            out[k] = False if False in (old, v) else {"allOf": [old, v]}
        else:
            out[k] = v
    return out


class _Pattern:
    """Regex -> a matching string, for the subset contracts use: literals, ., classes, \\d \\w \\s,
    groups, |, and ? * + {n,m} quantifiers. Anything else fails the caller's re.search check."""

    def __init__(self, pattern: str, rng: random.Random) -> None:
        self.p, self.i, self.r = pattern, 0, rng

    def alternation(self) -> str:
        branches = [self.sequence()]
        while self.i < len(self.p) and self.p[self.i] == "|":
            self.i += 1
            branches.append(self.sequence())
        return self.r.choice(branches)

    def sequence(self) -> str:
        out = []
        while self.i < len(self.p) and self.p[self.i] not in "|)":
            start = self.i
            self.atom()  # only to find where the atom ends; each repetition is drawn afresh below
            low, high = self.quantifier()
            end, parts = self.i, []
            for _ in range(self.r.randint(low, high)):
                self.i = start
                parts.append(self.atom())
            self.i = end
            out.append("".join(parts))
        return "".join(out)

    def atom(self) -> str:
        c = self.p[self.i]
        self.i += 1
        if c in "^$":
            return ""
        if c == ".":
            return self.r.choice(_ALNUM)
        if c == "(":
            if self.p.startswith("?:", self.i):
                self.i += 2
            elif self.p.startswith("?", self.i):
                raise _Unsatisfiable("lookarounds and named groups are not supported")
            text = self.alternation()
            self.i += 1
            return text
        if c == "[":
            return self.r.choice(self.charclass())
        return self.r.choice(self.escape()) if c == "\\" else c

    def escape(self) -> str:
        c = self.p[self.i]
        self.i += 1
        classes = {"d": string.digits, "w": _ALNUM + "_", "s": " ", "D": "abc", "W": "-", "S": "x"}
        return classes.get(c, c)

    def charclass(self) -> str:
        negate = self.p.startswith("^", self.i)
        self.i += negate
        chars, first = "", True
        while first or self.p[self.i] != "]":  # a ']' right after '[' is a literal
            first, c = False, self.p[self.i]
            self.i += 1
            if c == "\\":
                chars += self.escape()
            elif self.p[self.i] == "-" and self.p[self.i + 1] != "]":
                chars += "".join(map(chr, range(ord(c), ord(self.p[self.i + 1]) + 1)))
                self.i += 2
            else:
                chars += c
        self.i += 1
        return "".join(x for x in _ALNUM + "-_. " if x not in chars) if negate else chars

    def quantifier(self) -> tuple[int, int]:
        rest = self.p[self.i :]
        if rest[:1] in ("?", "*", "+"):
            self.i += 1
            low, high = {"?": (0, 1), "*": (0, 3), "+": (1, 4)}[rest[0]]
        elif m := re.match(r"\{(\d+)(,(\d*))?\}", rest):
            self.i += m.end()
            low = int(m[1])
            high = low if m[2] is None else int(m[3]) if m[3] else low + 3
        else:
            return 1, 1
        self.i += self.p[self.i : self.i + 1] in ("?", "+")  # lazy / possessive: same strings
        return low, high


def _from_pattern(pattern: str, rng: random.Random) -> str:
    parser = _Pattern(pattern, rng)
    try:
        text = parser.alternation()
        if parser.i == len(pattern) and re.search(pattern, text):
            return text
    except (IndexError, ValueError, re.error):
        pass
    raise _Unsatisfiable(f"cannot generate a string for pattern {pattern!r}")


class _Generator:
    def __init__(self, rng: random.Random, root: Any) -> None:
        self.rng: random.Random = rng
        self.root: Any = root
        self.person: tuple[str, str] = (rng.choice(_FIRST), rng.choice(_LAST))

    def flat(self, schema: Any, hops: int = 0) -> tuple[dict[str, Any], str]:
        """The schema with $ref and allOf merged in, and the name of the first $ref followed."""
        if hops > 32:
            raise ValueError("$ref/allOf cycle without any value in between")
        if isinstance(schema, bool):
            return ({} if schema else {"not": {}}), ""
        s, name = dict(schema), ""
        if "$ref" in s:
            ref = s.pop("$ref")
            if not (ref == "#" or ref.startswith("#/")):
                raise ValueError(f"only local JSON-pointer $refs are supported, not {ref!r}")
            node: Any = self.root
            try:
                for part in filter(None, ref[1:].split("/")):
                    name = unquote(part).replace("~1", "/").replace("~0", "~")
                    node = node[int(name)] if isinstance(node, list) else node[name]
            except (KeyError, IndexError, ValueError, TypeError) as e:
                raise ValueError(f"unresolvable $ref {ref!r}") from e
            s = _merge(self.flat(node, hops + 1)[0], s)
        for sub in s.pop("allOf", ()):
            s = _merge(s, self.flat(sub, hops + 1)[0])
        return s, name

    def fits(self, value: Any, schema: Any) -> bool:
        """A cheap check that a name-driven value satisfies the (flattened) schema."""
        s = self.flat(schema)[0]
        kind = _json_type(value)
        if any(k in s for k in ("oneOf", "anyOf", "not", "format")) or isinstance(value, dict):
            return False  # left to the schema-driven generator
        if "type" in s and not {kind, "number" if kind == "integer" else kind} & {*self.types(s)}:
            return False
        if ("const" in s and value != s["const"]) or ("enum" in s and value not in s["enum"]):
            return False
        if isinstance(value, str):
            length_ok = s.get("minLength", 0) <= len(value) <= s.get("maxLength", math.inf)
            return length_ok and re.search(s.get("pattern", ""), value) is not None
        if isinstance(value, list):
            length_ok = s.get("minItems", 0) <= len(value) <= s.get("maxItems", math.inf)
            return length_ok and all(self.fits(v, s.get("items", True)) for v in value)
        return kind == "boolean" or _in_bounds(value, s)

    def value(self, schema: Any, name: str, parent: str, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise _Unsatisfiable("recursive schema: a required property or item never ends")
        s, ref = self.flat(schema)
        context, r = f"{name}/{ref}" if ref else name, self.rng
        if "not" in s and s["not"] == {}:
            raise _Unsatisfiable("the false schema")
        if "const" in s:
            return copy.deepcopy(s["const"])
        if "enum" in s:
            if not s["enum"]:
                raise _Unsatisfiable("empty enum")
            return copy.deepcopy(r.choice(s["enum"]))
        for key in ("oneOf", "anyOf"):  # one branch, with the sibling keywords, that can be made
            if branches := s.pop(key, None):
                for branch in r.sample(branches, len(branches)):
                    try:
                        return self.value({"allOf": [s, branch]}, name, parent, depth)
                    except _Unsatisfiable:
                        pass
                raise _Unsatisfiable(f"no {key} branch can be generated")
        if not (types := self.types(s)):
            raise _Unsatisfiable("no type is left after allOf")
        kind = "null" if "null" in types and (len(types) == 1 or r.random() < 0.1) else ""
        kind = kind or r.choice([t for t in types if t != "null"])
        if name and kind != "null":
            candidate = self.realistic(name, parent, kind)
            if candidate is not _MISSING and self.fits(candidate, s):
                return candidate
        if kind == "object":
            return self.object(s, context, depth)
        if kind == "array":
            return self.array(s, name, parent, depth)
        if kind == "string":
            return self.string(s)
        if kind in ("integer", "number"):
            return self.number(s, kind == "integer")
        return r.random() < 0.5 if kind == "boolean" else None

    @staticmethod
    def types(s: Mapping[str, Any]) -> list[str]:
        if "type" in s:
            return [s["type"]] if isinstance(s["type"], str) else list(s["type"])
        keywords = {
            "object": ("properties", "required", "additionalProperties", "minProperties"),
            "array": ("items", "prefixItems", "minItems", "maxItems", "contains"),
            "number": ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"),
        }
        return [next((t for t, ks in keywords.items() if any(k in s for k in ks)), "string")]

    def realistic(self, name: str, parent: str, kind: str) -> Any:
        n, p = name.lower(), parent.lower()
        for (where, field), make in _IN_CONTEXT.items():
            if field == n and where in p:
                return make(self)
        if n in _BY_NAME:
            return _BY_NAME[n](self)
        if kind == "string" and n in _TIMESTAMPS:  # the schema has no format, any string is fine
            return _FORMATS["date-time"](self.rng)
        return _MISSING

    def object(self, s: Mapping[str, Any], context: str, depth: int) -> dict[str, Any]:
        props: Mapping[str, Any] = s.get("properties", {})
        required, extra = list(s.get("required", ())), s.get("additionalProperties", True)
        shallow = depth < _OPTIONAL_DEPTH
        keys = [k for k in props if k in required or shallow and not _flag(props[k], "writeOnly")]
        keys += [k for k in required if k not in props]
        for k in keys:  # grows while iterating, so dependencies of dependencies are added too
            keys += [d for d in s.get("dependentRequired", {}).get(k, ()) if d not in keys]
        outer, self.person = self.person, (self.rng.choice(_FIRST), self.rng.choice(_LAST))
        out: dict[str, Any] = {}
        for k in keys:
            try:
                out[k] = self.value(props.get(k, extra), k, context, depth + 1)
            except _Unsatisfiable:
                if k in required:
                    raise
        while len(out) < s.get("minProperties", 0) and extra is not False:
            out[f"{self.rng.choice(_WORDS)}{len(out)}"] = self.value(extra, "", context, depth + 1)
        self.person = outer
        self.paginate(out, props, None)
        if isinstance(out.get("pagination"), dict):
            counts = [len(v) for v in out.values() if isinstance(v, list)]
            pagination = self.flat(props.get("pagination", True))[0].get("properties", {})
            self.paginate(out["pagination"], pagination, counts[0] if counts else None)
        return out

    def paginate(self, page: dict[str, Any], props: Mapping[str, Any], count: int | None) -> None:
        """SAP pagination that adds up: the page shown is the last and holds `count` entries."""
        if not all(type(page.get(f)) is int for f in _PAGE_FIELDS):
            return
        size = max(self.rng.choice((5, 10, 20)), count or 0)
        count = self.rng.randint(0, size) if count is None else count
        pages = self.rng.randint(1, 5) if count else 0
        total = max(pages - 1, 0) * size + count  # ceil(total / size) == pages
        coherent = dict(zip(_PAGE_FIELDS, (max(pages - 1, 0), size, pages, total), strict=True))
        if all(self.fits(v, props.get(f, True)) for f, v in coherent.items()):
            page.update(coherent)

    def array(self, s: Mapping[str, Any], name: str, parent: str, depth: int) -> list[Any]:
        prefix, items = s.get("prefixItems", []), s.get("items", True)
        low, high = s.get("minItems", 0), s.get("maxItems", math.inf)
        if items is False:
            high = min(high, len(prefix))
        first = min(max(low, 1), high)
        count = self.rng.randint(first, min(high, max(first, 3)))
        count = max(count if depth < _OPTIONAL_DEPTH else low, int("contains" in s))
        out: list[Any] = []
        for i in range(count * 10):  # retries only matter for uniqueItems
            if len(out) == count:
                break
            sub = prefix[len(out)] if len(out) < len(prefix) else items
            if "contains" in s and i == 0:
                sub = {"allOf": [sub, s["contains"]]}
            item = self.value(sub, name, parent, depth + 1)
            if not s.get("uniqueItems") or item not in out:
                out.append(item)
        if len(out) < max(low, int("contains" in s)):
            raise _Unsatisfiable("not enough distinct array items")
        return out

    def string(self, s: Mapping[str, Any]) -> str:
        low, high, r = s.get("minLength", 0), s.get("maxLength", math.inf), self.rng
        for _ in range(20):
            if "pattern" in s:
                text = _from_pattern(s["pattern"], r)
            elif s.get("format") in _FORMATS:
                text = _FORMATS[s["format"]](r)
            else:  # plain words, padded or cut to the allowed length
                text = " ".join(r.choice(_WORDS) for _ in range(r.randint(1, 3)))
                text += "".join(r.choice(string.ascii_lowercase) for _ in range(low - len(text)))
                text = text[: int(min(high, len(text)))]
            if low <= len(text) <= high:
                return text
        raise _Unsatisfiable("no string of the allowed length")

    def number(self, s: Mapping[str, Any], integer: bool) -> int | float:
        low = max(s.get("minimum", -math.inf), s.get("exclusiveMinimum", -math.inf))
        high = min(s.get("maximum", math.inf), s.get("exclusiveMaximum", math.inf))
        if math.isinf(low):
            low = 0 if high > 0 else high - 1000
        if math.isinf(high):
            high = low + 1000
        step = Fraction(str(s.get("multipleOf", 1 if integer else "0.01")))
        if integer:  # an integral multiple of p/q (in lowest terms) is a multiple of p
            step = Fraction(step.numerator)
        ks = (math.ceil(Fraction(low) / step), math.floor(Fraction(high) / step))
        for _ in range(20):
            if ks[0] > ks[1]:
                break
            v = self.rng.randint(*ks) * step
            result = int(v) if integer else float(v)
            if _in_bounds(result, s):
                return result
        raise _Unsatisfiable("no number within the bounds")


def _flag(schema: Any, key: str) -> bool:
    return isinstance(schema, Mapping) and bool(schema.get(key))


def generate(schema: Mapping[str, Any], *, seed: int, root: Mapping[str, Any] | None = None) -> Any:
    """A realistic value valid against `schema`; the same schema and seed give the same value.

    `$ref`s are local JSON pointers resolved in `root` (the OpenAPI document; by default the
    schema itself). Raises ValueError for an unresolvable or non-local `$ref`, or a schema whose
    required parts cannot be generated (e.g. an unsupported `pattern` on a required property).
    """
    named = (root or {}).get("components", {}).get("schemas", {})
    # A named component is generated through its $ref, so its name can guide the heuristics.
    name = next((n for n, s in named.items() if s == schema), None)
    start = schema if name is None else {"$ref": f"#/components/schemas/{name}"}
    return _Generator(random.Random(seed), root or schema).value(start, "", "", 0)
