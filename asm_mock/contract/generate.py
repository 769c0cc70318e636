"""A realistic JSON value valid against a JSON Schema (Draft 2020-12), deterministic per seed.

One generator for `Prefer: dynamic=true`, schema completion and generated operations. Values
come from the schema, shaped by property names and formats (`asm_mock.contract.realistic`,
Faker's providers): a name-driven value is kept only when it fits the schema, so realism never
costs validity. Every node draws from its own `random.Random`, seeded from the caller's seed and
the node's path (property names, item indexes), so a value never depends on its siblings: a
property added to a schema leaves the others' values as they were.

Most keywords are satisfied by construction. Those that cannot be (`oneOf`'s "exactly one",
`not`, `if`, `dependentSchemas`, `propertyNames`, `maxContains`, allOf parts that do not merge)
make their node checked with jsonschema and drawn again, a bounded number of times; a node or a
whole value that cannot be made raises `UnsatisfiableSchema` naming the schema's location.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import math
import random
from collections.abc import Mapping
from datetime import datetime
from fractions import Fraction
from typing import Any, NamedTuple

import orjson

from asm_mock.contract.keywords import (
    UNMERGED,
    in_bounds,
    json_kind,
    merge,
    negation,
    same_json,
    types_of,
)
from asm_mock.contract.load import InvalidContractError, resolve_pointer
from asm_mock.contract.patterns import matching_string, search
from asm_mock.contract.realistic import (
    FORMATS,
    Candidate,
    Draw,
    Person,
    candidates_for,
    is_amount,
    pick_currency,
)
from asm_mock.domain.world import REFERENCE_TIME

__all__ = ["UnsatisfiableSchema", "generate", "seed_of", "warm_up"]

# Optional properties and extra array items stop inside a recursion (a $ref met again on the
# way down) or from this nesting on, so recursive schemas end and values stay small.
_OPTIONAL_DEPTH = 12
_MAX_DEPTH = 48  # a required chain this deep is a recursive schema no finite value satisfies
_BUDGET = 20_000  # schema nodes per value: a bound on time, whatever the schema
_ATTEMPTS = 8  # draws of a node whose keywords are checked rather than constructed
_CHECKED = ("oneOf", "not", "if", "dependentSchemas", "propertyNames", "maxContains", UNMERGED)
# The keywords `fits` checks itself (and annotations); a schema with others asks jsonschema.
_LEAF_KEYWORDS = frozenset(
    "type const enum minLength maxLength pattern format minimum maximum exclusiveMinimum "
    "exclusiveMaximum multipleOf title description examples example default readOnly writeOnly "
    "deprecated $comment nullable xml externalDocs".split()
)
_PAGE_FIELDS = ("currentPage", "pageSize", "totalPages", "totalResults")
_WORDS = ("alpha", "basket", "cobalt", "delta", "ember", "falcon", "garnet", "harbor", "indigo")


class UnsatisfiableSchema(ValueError):
    """No value could be generated for the schema at `location` (a JSON pointer into the root)."""

    def __init__(self, location: str, problem: str) -> None:
        super().__init__(f"cannot generate a value for {location or '#'}: {problem}")
        self.location, self.problem = location, problem


def warm_up() -> None:
    """Pays Faker's import and set-up now (tens of ms), e.g. on a loading thread, instead of in
    the first answer that generates a value."""
    generate({"type": "string"}, seed=0, name="phone")


def generate(
    schema: Mapping[str, Any] | bool,
    *,
    seed: int,
    root: Mapping[str, Any] | None = None,
    name: str | None = None,
    reference_time: datetime = REFERENCE_TIME,
) -> Any:
    """A realistic value valid against `schema`: the same arguments give the same value on every
    machine and run; another `seed` or `name` gives another value.

    `root` is the document `schema`'s local `$ref`s point into (the OpenAPI document; by default
    `schema` itself). `name` is the property the value is for, when the caller knows it: it picks
    a realistic kind of value (`phone`, `email`, `currency`, `createdAt`...) and is mixed into the
    seed, so one record's properties differ from each other. It may be a path whose earlier
    segments are the enclosing properties or components (`"Agent/uid"` is an agent's id,
    `"overview/address/country"` a country), as names mean different things in different
    places. Inside the value, property names and `$ref`'d component names do the same for each
    property and item. Dates are relative to
    `reference_time`. Raises `UnsatisfiableSchema` (a ValueError) for a schema no value could be
    generated for, and ValueError for a non-local or unresolvable `$ref`.
    """
    document: Any = root if root is not None else schema
    start: Any = schema
    if root is not None and isinstance(schema, Mapping):
        named = root.get("components", {}).get("schemas", {})
        # A named component is generated through its $ref, so its name can guide the values.
        found = next((n for n, s in named.items() if s is schema or s == schema), None)
        start = schema if found is None else {"$ref": f"#/components/schemas/{found}"}
    parent, _, leaf = (name or "").rpartition("/")
    spot = _Spot(seed=_mix(seed, name or ""), where="#", name=leaf, parent=parent, depth=0)
    walk = _Walk(document, reference_time, pick_currency(random.Random(spot.seed)))
    try:
        return walk.value(start, spot)
    except _Failed as e:
        raise UnsatisfiableSchema(e.where, e.problem) from None


def seed_of(*parts: str | int) -> int:
    """A seed for `generate` from a record's identity (e.g. `seed_of(world_seed, "customer",
    customer_id)`): the same on every machine and run, unlike Python's salted `hash()`."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _mix(seed: int, key: str) -> int:
    """A child seed: stable across runs and machines (never Python's salted `hash()`)."""
    digest = hashlib.blake2b(f"{seed}/{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class _Spot(NamedTuple):
    """Where a value is generated: its seed, schema location, property name and surroundings."""

    seed: int
    where: str
    name: str
    parent: str
    depth: int
    person: Person | None = None
    currency: str | None = None
    refs: tuple[str, ...] = ()  # the $refs followed on the way here
    amount: float | None = None  # a price generated beside this value

    def child(self, key: str, where: str, name: str | None = None) -> _Spot:
        parent = f"{self.parent}/{self.name}" if self.name else self.parent
        name = key if name is None else name
        seed = _mix(self.seed, key)
        return self._replace(seed=seed, where=where, name=name, parent=parent, depth=self.depth + 1)

    @property
    def deep(self) -> bool:
        return self.depth >= _OPTIONAL_DEPTH or len(set(self.refs)) < len(self.refs)

    def again(self, attempt: int) -> _Spot:
        return self._replace(seed=_mix(self.seed, f"#{attempt}")) if attempt else self


class _Failed(Exception):
    """A node no value was found for; an optional property that raises it is left out."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(where, problem)
        self.where, self.problem = where, problem


class _Walk:
    """One `generate()` call: the document, the reference time and the nodes' caches."""

    def __init__(self, root: Any, now: datetime, house: str) -> None:
        self.root, self.now, self.house = root, now, house
        self.nodes = 0
        self._flat: dict[int, tuple[Any, dict[str, Any], str]] = {}
        self._checks: dict[int, tuple[Any, Any]] = {}
        self._validator: Any = None

    # --- schemas -------------------------------------------------------------------------

    def resolve(self, ref: str, where: str) -> tuple[Any, str]:
        if not (ref == "#" or ref.startswith("#/")):
            raise ValueError(f"{where}: only local JSON-pointer $refs are supported, not {ref!r}")
        try:
            return resolve_pointer(self.root, ref), ref
        except InvalidContractError as e:
            raise ValueError(f"{where}: unresolvable $ref {ref!r}") from e

    def flat(self, schema: Any, where: str, hops: int = 0) -> tuple[dict[str, Any], str]:
        """The schema with `$ref` and `allOf` merged in, and where its first `$ref` led."""
        cached = self._flat.get(id(schema))
        if cached is not None and cached[0] is schema:
            return cached[1], cached[2]
        if hops > 32:
            raise _Failed(where, "a $ref/allOf cycle with no value in between")
        if isinstance(schema, bool):
            return ({} if schema else {"not": {}}), where
        if not isinstance(schema, Mapping):
            raise _Failed(where, f"not a schema (a JSON {json_kind(schema)})")
        s, at = dict(schema), where
        if "$ref" in s:
            target, at = self.resolve(s.pop("$ref"), where)
            s = merge(self.flat(target, at, hops + 1)[0], s)
        if "$dynamicRef" in s:  # resolved like $ref: the contract's own anchors are local
            target, _ = self.resolve(s.pop("$dynamicRef"), where)
            s = merge(self.flat(target, where, hops + 1)[0], s)
        for i, sub in enumerate(s.pop("allOf", ())):
            s = merge(s, self.flat(sub, f"{where}/allOf/{i}", hops + 1)[0])
        if "not" in s and (positive := negation(self.flat(s["not"], where, hops + 1)[0])):
            s = merge(s, positive)  # `not` itself stays, to be checked
        self._flat[id(schema)] = (schema, s, at)
        return s, at

    def valid(self, value: Any, schema: Any) -> bool:
        """jsonschema's verdict (formats checked) on a value for a schema inside the document."""
        if self._validator is None:
            # ~0.1 s to import: only schemas with checked keywords need it, not start-up.
            from jsonschema import Draft202012Validator

            document = self.root if isinstance(self.root, Mapping) else {}
            self._validator = Draft202012Validator(
                document, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
        cached = self._checks.get(id(schema))
        if cached is None or cached[0] is not schema:
            cached = (schema, self._validator.evolve(schema=schema))
            self._checks[id(schema)] = cached
        return bool(cached[1].is_valid(value))

    # --- values --------------------------------------------------------------------------

    def value(self, schema: Any, spot: _Spot) -> Any:
        self.nodes += 1
        if self.nodes > _BUDGET:
            raise _Failed(spot.where, f"more than {_BUDGET} schema nodes: too large or recursive")
        if spot.depth > _MAX_DEPTH:
            raise _Failed(spot.where, "a recursive schema whose required part never ends")
        s, where = self.flat(schema, spot.where)
        if isinstance(schema, Mapping) and isinstance(ref := schema.get("$ref"), str):
            # The component's name is context: `uid` in an Agent is an agent's, not an e-mail.
            parent = f"{spot.parent}/{ref.rsplit('/', 1)[-1]}"
            spot = spot._replace(parent=parent, refs=(*spot.refs, ref))
        spot = spot._replace(where=where)
        if not any(k in s for k in _CHECKED):
            return self.construct(s, spot)
        for attempt in range(_ATTEMPTS):
            candidate = self.construct(s, spot.again(attempt))
            if self.valid(candidate, schema):
                return candidate
        raise _Failed(where, f"no value satisfied {', '.join(k for k in _CHECKED if k in s)}")

    def construct(self, s: dict[str, Any], spot: _Spot) -> Any:
        rng = random.Random(spot.seed)
        if s.get("not") == {} or s.get("not") is True:
            raise _Failed(spot.where, "the schema is `false`")
        if "const" in s or "enum" in s:
            rest = {k: v for k, v in s.items() if k not in ("const", "enum")}
            allowed = [s["const"]] if "const" in s else list(s["enum"])
            allowed = [v for v in allowed if "enum" not in s or v in s["enum"]]
            if s.keys() & {"type", "minLength", "maxLength", "pattern", "minimum", "maximum"}:
                allowed = [v for v in allowed if self.fits(v, rest)]  # e.g. a const of another type
            if not allowed:
                raise _Failed(spot.where, "no const or enum value satisfies the other keywords")
            return copy.deepcopy(rng.choice(allowed))
        if "oneOf" in s or "anyOf" in s:
            return self.branch(s, spot, rng)
        if "if" in s:
            rest = {k: v for k, v in s.items() if k not in ("if", "then", "else")}
            options = [
                {"allOf": [rest, s["if"], s.get("then", True)]},
                {"allOf": [rest, s.get("else", True)]},
            ]
            rng.shuffle(options)
            return self.first_of(options, spot, "if/then/else")
        types = types_of(s)
        if not types:
            raise _Failed(spot.where, "no type is left (allOf of types with nothing in common)")
        others = [t for t in types if t != "null"]
        if not others or ("null" in types and rng.random() < 0.1):
            return None
        kind = rng.choice(others)
        if kind == "any":
            kind = "string"
            found = self.realistic(s, spot, rng, ("string", "integer", "number", "array"))
            if found is not _NOTHING:
                return found
        elif kind != "object":
            found = self.realistic(s, spot, rng, (kind,))
            if found is not _NOTHING:
                return found
        if kind == "object":
            return self.object(s, spot, rng)
        if kind == "array":
            return self.array(s, spot, rng)
        if kind == "string":
            return self.string(s, spot, rng)
        if kind in ("integer", "number"):
            return self.number(s, spot, rng, kind == "integer")
        return rng.random() < 0.5

    def branch(self, s: dict[str, Any], spot: _Spot, rng: random.Random) -> Any:
        """A value from one `oneOf`/`anyOf` branch with the sibling keywords; the caller checks
        that it matches no other `oneOf` branch."""
        key = "oneOf" if "oneOf" in s else "anyOf"
        rest = {k: v for k, v in s.items() if k != key}
        branches = list(enumerate(s[key]))
        rng.shuffle(branches)
        if spot.deep:  # in a recursive schema: the branches that end first
            branches.sort(key=lambda b: "$ref" in orjson.dumps(b[1], default=str).decode())
        options = [({"allOf": [rest, b]}, f"{spot.where}/{key}/{i}") for i, b in branches]
        return self.first_of(options, spot, key)

    def first_of(self, options: list[Any], spot: _Spot, what: str) -> Any:
        problems = []
        for option in options:
            schema, where = option if isinstance(option, tuple) else (option, spot.where)
            try:
                return self.value(schema, spot._replace(where=where, depth=spot.depth + 1))
            except _Failed as e:
                problems.append(f"{e.where}: {e.problem}")
        raise _Failed(spot.where, f"no {what} branch can be generated ({'; '.join(problems)})")

    def realistic(
        self, s: Mapping[str, Any], spot: _Spot, rng: random.Random, kinds: tuple[str, ...]
    ) -> Any:
        """The schema's own example or a value by the property's name, if one fits."""
        listed = s.get("examples")
        examples = (list(listed) if isinstance(listed, list) else []) + (
            [s["example"]] if "example" in s else []
        )
        if examples and rng.random() < 0.5:
            example = rng.choice(examples)
            if self.fits(example, s):
                return copy.deepcopy(example)
        if not spot.name:
            return _NOTHING
        fmt = s.get("format")
        draw = Draw(rng, self.now, spot.person, spot.currency, self.house, spot.amount)
        for candidate in candidates_for(spot.name, spot.parent):
            if not any(k in candidate.kinds for k in kinds) or not _format_ok(candidate, fmt):
                continue
            value = candidate.make(draw)
            if self.fits(value, s, format_known=True):
                return value
        return _NOTHING

    def fits(self, value: Any, s: Mapping[str, Any], *, format_known: bool = False) -> bool:
        """Whether a realistic value satisfies the flattened schema (jsonschema for the rest);
        `format_known`: the value was made for the schema's format, so it is not checked."""
        kind = json_kind(value)
        if "type" in s and not {kind, "number" if kind == "integer" else kind} & {*types_of(s)}:
            return False
        if ("const" in s and value != s["const"]) or ("enum" in s and value not in s["enum"]):
            return False
        if isinstance(value, str):
            if not format_known and s.get("format") in FORMATS and not self.valid(value, dict(s)):
                return False
            if not s.get("minLength", 0) <= len(value) <= s.get("maxLength", math.inf):
                return False
            if "pattern" in s and not search(s["pattern"], value):
                return False
        elif kind in ("integer", "number") and not in_bounds(value, s):
            return False
        if kind not in ("array", "object") and s.keys() <= _LEAF_KEYWORDS:
            return True  # every keyword was checked above
        return self.valid(value, dict(s))

    def object(self, s: dict[str, Any], spot: _Spot, rng: random.Random) -> dict[str, Any]:
        props: Mapping[str, Any] = s.get("properties", {})
        required = list(s.get("required", ()))
        keys = self.object_keys(s, props, required, spot, rng)
        for _ in range(8):  # a dependent schema can require keys with dependent schemas
            dependents = [k for k in keys if k in s.get("dependentSchemas", {})]
            if not dependents:
                break
            merged = dict(s)
            deps = merged.pop("dependentSchemas")
            for k in dependents:
                merged = merge(merged, self.flat(deps[k], f"{spot.where}/dependentSchemas/{k}")[0])
            s, props = merged, merged.get("properties", {})
            required = list(dict.fromkeys([*required, *merged.get("required", ())]))
            keys = self.object_keys(s, props, required, spot, rng)
        inner = spot._replace(person=Person(_mix(spot.seed, "person")), amount=None)
        out: dict[str, Any] = {}
        # Currencies first, so the prices beside them have their decimals, and formatted prices
        # last, so they show the price beside them.
        for k in sorted(keys, key=lambda k: _order(k)):
            sub = self.property_schema(s, props, k)
            where = self.property_where(s, props, k, spot.where)
            at = inner.child(k, where)
            try:
                out[k] = self.value(sub, at)
            except _Failed:
                if k in required:
                    raise
                continue
            if "currency" in k.lower() and isinstance(out[k], str) and len(out[k]) == 3:
                inner = inner._replace(currency=out[k])
            elif json_kind(out[k]) in ("integer", "number") and is_amount(k, at.parent):
                inner = inner._replace(amount=out[k])
        out = {k: out[k] for k in keys if k in out}
        for _ in range(len(out)):  # a present key whose dependencies could not be made goes
            missing = [
                k
                for k in out
                if any(d not in out for d in s.get("dependentRequired", {}).get(k, ()))
            ]
            if not missing:
                break
            if any(k in required for k in missing):
                raise _Failed(spot.where, f"the dependentRequired of {missing} cannot be made")
            out = {k: v for k, v in out.items() if k not in missing}
        if len(out) < s.get("minProperties", 0):
            raise _Failed(spot.where, "fewer properties can be generated than minProperties")
        self.paginate(out, props, random.Random(_mix(spot.seed, "pagination")))
        return out

    def object_keys(
        self,
        s: Mapping[str, Any],
        props: Mapping[str, Any],
        required: list[str],
        spot: _Spot,
        rng: random.Random,
    ) -> list[str]:
        shallow = not spot.deep
        optional = [
            k
            for k in props
            if k not in required
            and shallow
            and not _flag(props[k], "writeOnly")
            and props[k] is not False
        ]
        keys = list(dict.fromkeys([*required, *optional]))
        for k in keys:  # grows while iterating, so dependencies of dependencies are added too
            keys += [d for d in s.get("dependentRequired", {}).get(k, ()) if d not in keys]
        most = s.get("maxProperties", math.inf)
        if len(required) > most:
            raise _Failed(spot.where, f"{len(required)} required properties, maxProperties {most}")
        if len(keys) > most:
            keep = set(required)
            for k in keys:
                if len(keep) < most and k not in keep:
                    keep.add(k)
            keys = [k for k in keys if k in keep]
        names = s.get("propertyNames")
        if names is not None:
            keys = [k for k in keys if k in required or self.valid(k, names)]
        extra = self.extra_schema(s)
        wanted = s.get("minProperties", 0)
        if isinstance(extra, Mapping) and not props and not spot.deep:
            # A map (additionalProperties with a schema, no properties): a few entries.
            wanted = max(wanted, min(rng.randint(1, 3), s.get("maxProperties", 3)))
        attempt = 0
        while len(keys) < wanted and extra is not False and attempt < 50:
            key = self.extra_key(s, spot, rng, attempt)
            attempt += 1
            if key not in keys and key not in props:
                keys.append(key)
        return keys

    def extra_schema(self, s: Mapping[str, Any]) -> Any:
        extra = s.get("additionalProperties", s.get("unevaluatedProperties", True))
        return True if s.get("patternProperties") else extra

    def extra_key(self, s: Mapping[str, Any], spot: _Spot, rng: random.Random, n: int) -> str:
        patterns = list(s.get("patternProperties", {}))
        if patterns:
            return self.pattern(rng.choice(patterns), rng, 1, 40, spot.where)
        if "propertyNames" in s:
            key = self.value(s["propertyNames"], spot.child(f"#name{n}", spot.where, ""))
            return key if isinstance(key, str) else f"{rng.choice(_WORDS)}{n}"
        return f"{rng.choice(_WORDS)}{n}"

    def property_schema(self, s: Mapping[str, Any], props: Mapping[str, Any], key: str) -> Any:
        matching = [
            p for pattern, p in s.get("patternProperties", {}).items() if search(pattern, key)
        ]
        if key in props:
            return {"allOf": [props[key], *matching]} if matching else props[key]
        if matching:
            return {"allOf": matching} if len(matching) > 1 else matching[0]
        return s.get("additionalProperties", s.get("unevaluatedProperties", True))

    @staticmethod
    def property_where(s: Mapping[str, Any], props: Mapping[str, Any], key: str, at: str) -> str:
        escaped = key.replace("~", "~0").replace("/", "~1")
        if key in props:
            return f"{at}/properties/{escaped}"
        return f"{at}/additionalProperties"

    def paginate(self, out: dict[str, Any], props: Mapping[str, Any], rng: random.Random) -> None:
        """SAP pagination that adds up: the page shown is the last and holds its entries."""
        page = out.get("pagination")
        if not isinstance(page, dict) or not all(type(page.get(f)) is int for f in _PAGE_FIELDS):
            return
        lists = [len(v) for v in out.values() if isinstance(v, list)]
        count = lists[0] if lists else rng.randint(0, 20)
        size = max(rng.choice((5, 10, 20)), count)
        pages = rng.randint(1, 5) if count else 0
        total = max(pages - 1, 0) * size + count  # ceil(total / size) == pages
        coherent = dict(zip(_PAGE_FIELDS, (max(pages - 1, 0), size, pages, total), strict=True))
        schema = self.flat(props.get("pagination", True), "#")[0].get("properties", {})
        if all(self.fits(v, self.flat(schema.get(f, True), "#")[0]) for f, v in coherent.items()):
            page.update(coherent)

    def array(self, s: dict[str, Any], spot: _Spot, rng: random.Random) -> list[Any]:
        prefix = s.get("prefixItems", [])
        items = s.get("items", s.get("unevaluatedItems", True) if "prefixItems" in s else True)
        low, high = s.get("minItems", 0), s.get("maxItems", math.inf)
        if items is False:
            high = min(high, len(prefix))
        contains, least = s.get("contains"), s.get("minContains", 1)
        if contains is not None:
            low = max(low, least)
        first = min(max(low, 1), high)
        count = rng.randint(first, int(min(high, max(first, 3))))
        if spot.deep:
            count = low
        if count < low:
            raise _Failed(spot.where, "minItems is larger than the items allowed")
        matches = set(rng.sample(range(count), least)) if contains is not None and least else set()
        out: list[Any] = []
        for i in range(count * 10 + 10):  # redraws only matter for uniqueItems
            if len(out) == count:
                break
            n = len(out)
            sub, where = (
                (prefix[n], f"{spot.where}/prefixItems/{n}")
                if n < len(prefix)
                else (items, f"{spot.where}/items")
            )
            if n in matches:
                sub = {"allOf": [sub, contains]}
            elif "maxContains" in s:
                sub = {"allOf": [sub, {"not": contains}]}
            item = self.value(sub, spot.child(f"{n}.{i}", where, spot.name))
            if not s.get("uniqueItems") or not any(same_json(item, o) for o in out):
                out.append(item)
        if len(out) < low or any(m >= len(out) for m in matches):
            raise _Failed(spot.where, "not enough distinct items for uniqueItems")
        return out

    def string(self, s: dict[str, Any], spot: _Spot, rng: random.Random) -> str:
        low, high = s.get("minLength", 0), s.get("maxLength", math.inf)
        if low > high:
            raise _Failed(spot.where, f"minLength {low} is above maxLength {high}")
        fmt, pattern = s.get("format"), s.get("pattern")
        if fmt in FORMATS:
            draw = Draw(rng, self.now, spot.person, spot.currency, self.house)
            for _ in range(20):
                text = FORMATS[fmt](draw)
                if low <= len(text) <= high and (pattern is None or search(pattern, text)):
                    return text
            if pattern is None:
                raise _Failed(spot.where, f"no {fmt} string of length {low}..{high}")
        if pattern is not None:  # with a format too: the pattern is the stricter, usually
            return self.pattern(pattern, rng, low, high, spot.where)
        if "contentMediaType" in s:
            text = self.content(s, spot)
            if low <= len(text) <= high:
                return text
        draw = Draw(rng, self.now)
        text = draw.words(rng.randint(1, 3))
        while len(text) < low:  # doubling: a long minLength costs a few of Faker's draws
            text += " " + (draw.words(3) if len(text) < 200 else text)
        text = text[: int(min(high, len(text)))].rstrip() if high < len(text) else text
        return text if len(text) >= low else text + "x" * (low - len(text))

    @staticmethod
    def pattern(pattern: str, rng: random.Random, low: float, high: float, where: str) -> str:
        text = matching_string(pattern, rng, low, high)
        if text is None:
            problem = f"no string of length {low}..{high} matches the pattern {pattern!r}"
            raise _Failed(where, problem)
        return text

    def content(self, s: Mapping[str, Any], spot: _Spot) -> str:
        """A string holding a document: JSON from `contentSchema`, base64 when so encoded."""
        if "json" in str(s["contentMediaType"]):
            inner = self.value(s.get("contentSchema", True), spot.child("#content", spot.where))
            text = orjson.dumps(inner).decode()
        else:
            text = Draw(random.Random(spot.seed), self.now).words(6)
        if s.get("contentEncoding") == "base64":
            return base64.b64encode(text.encode()).decode()
        return text

    def number(
        self, s: dict[str, Any], spot: _Spot, rng: random.Random, integer: bool
    ) -> int | float:
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
            v = rng.randint(*ks) * step
            result = int(v) if integer or v.denominator == 1 else float(v)
            if in_bounds(result, s):
                return result
        raise _Failed(spot.where, f"no {'integer' if integer else 'number'} within the bounds")


_NOTHING = object()


def _order(key: str) -> int:
    lowered = key.lower()
    return 0 if "currency" in lowered else 2 if lowered.startswith("formatted") else 1


def _format_ok(candidate: Candidate, fmt: Any) -> bool:
    """A known format needs a candidate made for it; an unknown one is only an annotation."""
    return fmt not in FORMATS or fmt in candidate.formats


def _flag(schema: Any, key: str) -> bool:
    return isinstance(schema, Mapping) and bool(schema.get(key))
