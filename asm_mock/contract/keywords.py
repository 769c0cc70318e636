"""Schema keywords as the generator needs them: a value's JSON type, the types a schema allows,
numeric bounds, allOf merged into one schema, `not` turned into what it allows, JSON equality."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = [
    "UNMERGED",
    "in_bounds",
    "json_kind",
    "merge",
    "negation",
    "same_json",
    "types_of",
]

UNMERGED = "$asm-mock-unmerged"  # marks a merged schema whose allOf did not merge exactly


def json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    names = {float: "number", str: "string", list: "array", dict: "object", type(None): "null"}
    return names.get(type(value), "object")


def types_of(s: Mapping[str, Any]) -> list[str]:
    if "type" in s:
        return [s["type"]] if isinstance(s["type"], str) else list(s["type"])
    hints = {
        "object": (
            "properties",
            "required",
            "additionalProperties",
            "minProperties",
            "patternProperties",
            "propertyNames",
            "maxProperties",
            "dependentRequired",
        ),
        "array": ("items", "prefixItems", "minItems", "maxItems", "contains", "uniqueItems"),
        "number": ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"),
        "string": ("pattern", "minLength", "maxLength", "format", "contentMediaType"),
    }
    return [next((t for t, keys in hints.items() if any(k in s for k in keys)), "any")]


def in_bounds(v: float, s: Mapping[str, Any]) -> bool:
    m = s.get("multipleOf")
    # jsonschema checks a float divisor by division and an integer one by remainder.
    if m is not None and not ((v / m).is_integer() if isinstance(m, float) else v % m == 0):
        return False
    inclusive = s.get("minimum", -math.inf) <= v <= s.get("maximum", math.inf)
    exclusive = s.get("exclusiveMinimum", -math.inf) < v < s.get("exclusiveMaximum", math.inf)
    return bool(inclusive and exclusive)


def merge(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """allOf of two schemas as one: properties unite, bounds tighten, sets intersect. A keyword
    both define that cannot be merged exactly keeps `a`'s and marks the result for checking."""
    out = dict(a)
    for k, v in b.items():
        old = out.get(k, UNMERGED)
        if old is UNMERGED or old == v:
            out[k] = v
        elif k in ("properties", "patternProperties"):
            out[k] = {**old, **{p: {"allOf": [old[p], s]} if p in old else s for p, s in v.items()}}
        elif k == "prefixItems":
            pairs = [{"allOf": [x, y]} for x, y in zip(old, v, strict=False)]
            out[k] = pairs + list(old[len(v) :]) + list(v[len(old) :])
        elif k == "required":
            out[k] = list(dict.fromkeys([*old, *v]))
        elif k == "dependentRequired":
            out[k] = {**old, **{p: [*old.get(p, ()), *d] for p, d in v.items()}}
        elif k == "type":
            olds, news = ([t] if isinstance(t, str) else list(t) for t in (old, v))
            both = [t for t in olds if t in news or (t == "integer" and "number" in news)]
            out[k] = both + (["integer"] if "number" in olds and "integer" in news else [])
        elif k == "enum":
            out[k] = [x for x in old if x in v]
        elif k in (
            "minimum",
            "exclusiveMinimum",
            "minLength",
            "minItems",
            "minProperties",
            "minContains",
        ):
            out[k] = max(old, v)
        elif k in (
            "maximum",
            "exclusiveMaximum",
            "maxLength",
            "maxItems",
            "maxProperties",
            "maxContains",
        ):
            out[k] = min(old, v)
        elif k == "uniqueItems":
            out[k] = bool(old or v)
        elif k in (
            "items",
            "additionalProperties",
            "propertyNames",
            "unevaluatedProperties",
            "unevaluatedItems",
        ):
            out[k] = False if False in (old, v) else {"allOf": [old, v]}
        elif k in ("$defs", "definitions"):
            out[k] = {**old, **v}
        elif k in ("title", "description", "examples", "example", "default", "$comment"):
            pass  # annotations: the first wins, no value depends on the other
        else:  # two patterns, formats, multipleOfs, oneOfs, nots...: checked after generation
            out[UNMERGED] = True
    return out


_ALL_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")
_OPPOSITES = {
    "minimum": "exclusiveMaximum",
    "maximum": "exclusiveMinimum",
    "exclusiveMinimum": "maximum",
    "exclusiveMaximum": "minimum",
}
_ANNOTATIONS = {"title", "description", "examples", "default", "$comment", "deprecated"}


def negation(n: Mapping[str, Any]) -> dict[str, Any] | None:
    """A schema whose values fail `n`, for the `not`s that have one (a type, a bound, a length,
    a required property), so `not` is mostly constructed rather than found by redrawing."""
    keys = set(n) - _ANNOTATIONS
    if len(keys) != 1:
        return None
    (key,) = keys
    v = n[key]
    if key == "type":
        excluded = {v} if isinstance(v, str) else set(v)
        if "number" in excluded:
            excluded.add("integer")
        return {"type": [t for t in _ALL_TYPES if t not in excluded and t != "integer"]}
    if key in _OPPOSITES:
        return {_OPPOSITES[key]: v}
    if key in ("minLength", "minItems", "minProperties") and v > 0:
        return {key.replace("min", "max"): v - 1}
    if key in ("maxLength", "maxItems", "maxProperties"):
        return {key.replace("max", "min"): v + 1}
    if key == "required" and len(v) == 1:
        return {"properties": {v[0]: False}}
    return None


def same_json(a: Any, b: Any) -> bool:
    """JSON equality, as uniqueItems sees it: true is not 1."""
    return json_kind(a) == json_kind(b) and a == b and _same_inside(a, b)


def _same_inside(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return True
