"""asm_mock.contract.generate on a corpus covering every 2020-12 keyword a 3.1 contract may use:
each generated value validates (jsonschema with format checking, and jsonschema-rs with every
format checked), over 50 seeds per schema."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
from jsonschema import Draft202012Validator

from asm_mock.contract.generate import generate

SEEDS = range(50)
FORMATS = (
    "date-time date time duration email idn-email hostname idn-hostname ipv4 ipv6 uri "
    "uri-reference iri uuid regex json-pointer relative-json-pointer uri-template"
).split()
NODE = {
    "type": "object",
    "required": ["value"],
    "properties": {
        "value": {"type": "integer", "minimum": 0},
        "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
    },
}

CORPUS: dict[str, Any] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "boolean": {"type": "boolean"},
    "null": {"type": "null"},
    "nullable string": {"type": ["string", "null"], "minLength": 2},
    "number or boolean": {"type": ["number", "boolean"], "maximum": 3},
    "const object": {"const": {"kind": "ok", "n": [1, 2]}},
    "enum mixed": {"enum": ["A", 3, None, True]},
    "enum with type": {"type": "string", "enum": ["EUR", "USD", "JPY"]},
    "lengths": {"type": "string", "minLength": 12, "maxLength": 14},
    "exact length": {"type": "string", "minLength": 1, "maxLength": 1},
    "pattern anchored": {"type": "string", "pattern": "^[A-Z]{2}-[0-9]{4,6}$"},
    "pattern unanchored with length": {"type": "string", "pattern": "ab+", "minLength": 8},
    "pattern alternation": {"type": "string", "pattern": "^(red|green|blue)(-[a-z]{2})?$"},
    "pattern negated class": {"type": "string", "pattern": "^[^a-z]{3,5}$"},
    "pattern lookahead": {"type": "string", "pattern": "^(?=.*[0-9])[a-z0-9]{6}$"},
    "pattern with maxLength": {"type": "string", "pattern": "^x*$", "maxLength": 3},
    "pattern with long minLength": {"type": "string", "pattern": "^[A-Za-z0-9]+$", "minLength": 40},
    "pattern bounded repeat": {"type": "string", "pattern": "^[a-z]{10,64}$", "minLength": 30},
    "long plain string": {"type": "string", "minLength": 20000},
    "format and pattern": {"type": "string", "format": "date", "pattern": "^202[0-9]-"},
    "map": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1}},
    "unique booleans": {"type": "array", "uniqueItems": True, "items": {"type": "boolean"}},
    "bounds": {"type": "integer", "minimum": -5, "maximum": 5},
    "exclusive bounds": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    "integer multipleOf": {"type": "integer", "multipleOf": 7, "minimum": 100},
    "money multipleOf": {"type": "number", "multipleOf": 0.01, "minimum": 0, "maximum": 99},
    "fractional multipleOf": {"type": "number", "multipleOf": 0.25, "maximum": -10},
    "properties required additional": {
        "type": "object",
        "required": ["id", "extra"],
        "properties": {"id": {"type": "string"}, "flag": {"type": "boolean"}},
        "additionalProperties": {"type": "integer"},
    },
    "closed object": {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "additionalProperties": False,
    },
    "patternProperties": {
        "type": "object",
        "patternProperties": {"^x-[a-z]+$": {"type": "integer"}},
        "properties": {"x-rate": {"type": "number"}},
        "additionalProperties": False,
        "minProperties": 3,
    },
    "propertyNames": {
        "type": "object",
        "propertyNames": {"pattern": "^[a-z]{3,8}$"},
        "properties": {"alpha": {"type": "string"}, "BadName": {"type": "string"}},
        "minProperties": 2,
    },
    "min and max properties": {
        "type": "object",
        "properties": {k: {"type": "integer"} for k in "abcdefg"},
        "required": ["a"],
        "maxProperties": 3,
    },
    "dependentRequired": {
        "type": "object",
        "properties": {"card": {"type": "string"}, "billing": {"type": "string"}},
        "dependentRequired": {"card": ["billing", "cvv"]},
    },
    "dependentSchemas": {
        "type": "object",
        "properties": {"card": {"type": "string"}},
        "dependentSchemas": {
            "card": {"required": ["expiry"], "properties": {"expiry": {"format": "date"}}}
        },
    },
    "if then else": {
        "type": "object",
        "required": ["country", "postalCode"],
        "properties": {
            "country": {"enum": ["US", "CA"]},
            "postalCode": {"type": "string"},
        },
        "if": {"properties": {"country": {"const": "US"}}},
        "then": {"properties": {"postalCode": {"pattern": "^[0-9]{5}$"}}},
        "else": {"properties": {"postalCode": {"pattern": "^[A-Z][0-9][A-Z] [0-9][A-Z][0-9]$"}}},
    },
    "oneOf exclusive": {
        "oneOf": [
            {"type": "integer", "multipleOf": 3},
            {"type": "integer", "multipleOf": 5},
        ],
        "minimum": 1,
        "maximum": 30,
    },
    "oneOf objects": {
        "oneOf": [
            {"type": "object", "required": ["card"], "properties": {"card": {"type": "string"}}},
            {"type": "object", "required": ["iban"], "properties": {"iban": {"type": "string"}}},
        ]
    },
    "anyOf": {"anyOf": [{"type": "string", "format": "email"}, {"type": "integer"}]},
    "allOf merged": {
        "allOf": [
            {"type": "object", "required": ["a"], "properties": {"a": {"minimum": 0}}},
            {"required": ["b"], "properties": {"a": {"maximum": 5}, "b": {"enum": ["x"]}}},
        ]
    },
    "allOf two patterns": {
        "allOf": [{"type": "string", "pattern": "^[a-c]{4}$"}, {"pattern": "a"}],
    },
    "not": {"type": "integer", "minimum": 0, "maximum": 3, "not": {"const": 2}},
    "not a type": {"not": {"type": ["string", "object", "array", "null"]}},
    "$ref and $defs": {
        "$defs": {"money": {"type": "string", "pattern": "^[0-9]+\\.[0-9]{2}$"}},
        "type": "object",
        "required": ["price"],
        "properties": {"price": {"$ref": "#/$defs/money"}},
    },
    "recursive $ref": {"$defs": {"node": NODE}, "$ref": "#/$defs/node"},
    "prefixItems": {
        "type": "array",
        "prefixItems": [{"const": "header"}, {"type": "integer"}],
        "items": {"type": "string", "format": "uuid"},
        "minItems": 2,
    },
    "tuple closed": {
        "type": "array",
        "prefixItems": [{"type": "number"}, {"type": "number"}],
        "items": False,
        "minItems": 2,
    },
    "items bounds unique": {
        "type": "array",
        "items": {"type": "integer", "minimum": 1, "maximum": 6},
        "minItems": 4,
        "maxItems": 5,
        "uniqueItems": True,
    },
    "contains": {
        "type": "array",
        "items": {"type": "integer"},
        "contains": {"minimum": 100},
        "minContains": 2,
        "maxContains": 2,
        "minItems": 3,
    },
    "contentMediaType": {
        "type": "string",
        "contentMediaType": "application/json",
        "contentSchema": {"type": "object", "required": ["a"], "properties": {"a": {}}},
    },
    "contentEncoding": {
        "type": "string",
        "contentMediaType": "text/plain",
        "contentEncoding": "base64",
    },
    "examples and default": {
        "type": "string",
        "examples": ["DE", "FR", "too long to fit"],
        "maxLength": 2,
        "default": "GB",
    },
    "realistic names": {
        "type": "object",
        "properties": {
            "phone": {"type": "string"},
            "email": {"type": "string", "format": "email"},
            "website": {"type": "string", "format": "uri"},
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "amount": {"type": "number", "minimum": 0},
            "createdAt": {"type": "string", "format": "date-time"},
            "country": {"type": "string", "maxLength": 2},
            "postalCode": {"type": "string"},
            "id": {"type": "string", "format": "uuid"},
        },
    },
    **{f"format {f}": {"type": "string", "format": f} for f in FORMATS},
}
KEYWORDS = set(
    "type const enum oneOf anyOf allOf not $ref $defs prefixItems items minItems maxItems "
    "uniqueItems contains minContains maxContains properties required additionalProperties "
    "patternProperties propertyNames minProperties maxProperties dependentRequired "
    "dependentSchemas if then else pattern minLength maxLength minimum maximum exclusiveMinimum "
    "exclusiveMaximum multipleOf format contentMediaType contentSchema contentEncoding default "
    "examples".split()
)


def keywords(schema: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            found.add(key)
            if key not in ("properties", "patternProperties", "$defs", "dependentSchemas"):
                found |= keywords(value)
            else:
                for sub in value.values():
                    found |= keywords(sub)
    elif isinstance(schema, list):
        for item in schema:
            found |= keywords(item)
    return found


def test_the_corpus_covers_every_keyword_and_format() -> None:
    assert len(CORPUS) >= 40
    used = set().union(*(keywords(s) for s in CORPUS.values()))
    assert KEYWORDS - used == set()
    formats = {s.get("format") for s in CORPUS.values()}
    assert set(FORMATS) <= formats


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_value_validates_with_formats_checked(name: str) -> None:
    schema = CORPUS[name]
    Draft202012Validator.check_schema(schema)
    python = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    rust = jsonschema_rs.validator_for(schema, validate_formats=True)
    values = [generate(schema, seed=seed) for seed in SEEDS]
    for value in values:
        python.validate(value)
        rust.validate(value)
    # Not one value over and over: seeds matter (a const or a one-valued schema aside).
    if name not in ("const object", "null", "exact length", "not"):
        assert len({repr(v) for v in values}) > 1


def test_ecma_named_groups_which_python_spells_differently() -> None:
    schema = {"type": "string", "pattern": "^(?<area>[0-9]{3})-(?<line>[0-9]{4})$"}
    rust = jsonschema_rs.validator_for(schema)  # Python's jsonschema cannot read this pattern
    for seed in SEEDS:
        rust.validate(generate(schema, seed=seed))
