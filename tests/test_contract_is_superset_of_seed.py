"""openapi.yaml is the seed contract with additions only: nothing of the seed removed or changed.

The seed is kept in the repository, at `tests/contract/openapi.seed.yaml` (a verbatim copy; its
first lines say where it came from), so a bare clone proves this on its own. A missing seed is a
failure, never a skip: without it nothing here proves anything.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator

REPO_ROOT = Path(__file__).resolve().parents[1]
SEED_PATH = REPO_ROOT / "tests" / "contract" / "openapi.seed.yaml"
CONTRACT_PATH = REPO_ROOT / "openapi.yaml"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
ERROR_LIST_REF = "#/components/schemas/ErrorList"


# --- loading ------------------------------------------------------------------------------------


def _load(path: Path, what: str) -> dict[str, Any]:
    if not path.is_file():
        pytest.fail(f"{what} not found at {path}", pytrace=False)
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        pytest.fail(f"{what} at {path} is not a YAML mapping", pytrace=False)
    return document


@cache
def _cached(path: Path, what: str) -> dict[str, Any]:
    return _load(path, what)


def seed() -> dict[str, Any]:
    """A fresh copy of the seed, so no test can alter what another one sees."""
    what = "the seed contract (tests/contract/openapi.seed.yaml)"
    return copy.deepcopy(_cached(SEED_PATH, what))


def contract() -> dict[str, Any]:
    return copy.deepcopy(_cached(CONTRACT_PATH, "the project contract openapi.yaml"))


# --- the checker --------------------------------------------------------------------------------


def _pointer(path: str, token: str | int) -> str:
    """Append one RFC 6901 reference token: '/customers/{id}' becomes '~1customers~1{id}'."""
    return f"{path}/{str(token).replace('~', '~0').replace('/', '~1')}"


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    return type(value).__name__


def missing_or_changed(seed: Any, contract: Any, path: str = "") -> Iterator[str]:
    """Yield a JSON-pointer path, and why, for all of `seed` that `contract` lacks or alters.

    Mappings: every seed key must be in the contract, its value checked by this same rule; keys the
    contract adds are fine. Lists: the contract's list must start with the seed's items, in the
    seed's order, each checked by this same rule; items appended after them are fine. Scalars must
    be equal and of the same type (`1` is not `True`, `'1.0'` is not `1.0`).
    """
    where = path or "/"
    if isinstance(seed, dict):
        if not isinstance(contract, dict):
            yield f"{where}: a mapping in the seed, a {_kind(contract)} in the contract"
            return
        for key, value in seed.items():
            if key not in contract:
                yield f"{_pointer(path, key)}: missing"
            else:
                yield from missing_or_changed(value, contract[key], _pointer(path, key))
    elif isinstance(seed, list):
        if not isinstance(contract, list):
            yield f"{where}: a list in the seed, a {_kind(contract)} in the contract"
            return
        for index, item in enumerate(seed):
            if index >= len(contract):
                yield f"{_pointer(path, index)}: missing (list has {len(contract)} items)"
            else:
                yield from missing_or_changed(item, contract[index], _pointer(path, index))
    elif type(seed) is not type(contract) or seed != contract:
        yield f"{where}: {seed!r} in the seed, {contract!r} in the contract"


def _report(problems: list[str]) -> str:
    return "the contract drops or changes parts of the seed:\n  " + "\n  ".join(problems)


def test_the_contract_has_nothing_missing_or_changed_against_the_seed() -> None:
    problems = list(missing_or_changed(seed(), contract()))
    assert problems == [], _report(problems)


# --- targeted checks, one family each -----------------------------------------------------------


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (path, method): operation
        for path, item in document.get("paths", {}).items()
        for method, operation in item.items()
        if method in METHODS
    }


def resolve(document: dict[str, Any], node: Any) -> Any:
    """Follow local `$ref`s (`#/a/b`) until a node without one."""
    seen: set[str] = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert isinstance(ref, str) and ref.startswith("#/"), f"not a local $ref: {ref!r}"
        assert ref not in seen, f"$ref cycle through {ref}"
        seen.add(ref)
        node = document
        for token in ref[2:].split("/"):
            node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


def test_every_seed_path_is_present() -> None:
    missing = sorted(set(seed()["paths"]) - set(contract()["paths"]))
    assert missing == [], f"seed paths missing from the contract: {missing}"


def test_every_seed_operation_is_present_with_its_operation_id() -> None:
    ours = operations(contract())
    problems = []
    for (path, method), operation in operations(seed()).items():
        if (path, method) not in ours:
            problems.append(f"{method.upper()} {path}: missing")
        elif ours[(path, method)].get("operationId") != operation["operationId"]:
            problems.append(
                f"{method.upper()} {path}: operationId {operation['operationId']!r} became "
                f"{ours[(path, method)].get('operationId')!r}"
            )
    assert problems == [], "\n".join(problems)


def _parameters(
    document: dict[str, Any], path: str, method: str
) -> dict[tuple[str, str], tuple[Any, Any]]:
    """(name, in) -> (entry as written, entry with its $ref resolved), path-level ones too."""
    item = document["paths"][path]
    entries = [*item.get("parameters", []), *item[method].get("parameters", [])]
    found: dict[tuple[str, str], tuple[Any, Any]] = {}
    for entry in entries:
        resolved = resolve(document, entry)
        found[(resolved["name"], resolved["in"])] = (entry, resolved)
    return found


def test_every_seed_parameter_is_present_and_identical() -> None:
    theirs, ours = seed(), contract()
    problems = []
    for path, method in operations(theirs):
        mine = _parameters(ours, path, method)
        for (name, location), (entry, resolved) in _parameters(theirs, path, method).items():
            where = f"{method.upper()} {path} parameter {name!r} in {location}"
            if (name, location) not in mine:
                problems.append(f"{where}: missing")
                continue
            my_entry, my_resolved = mine[(name, location)]
            if my_entry != entry:
                problems.append(f"{where}: written as {entry!r} in the seed, {my_entry!r} now")
            if my_resolved != resolved:
                problems.append(f"{where}: {resolved!r} in the seed, {my_resolved!r} now")
    for name, parameter in theirs["components"]["parameters"].items():
        if ours["components"].get("parameters", {}).get(name) != parameter:
            problems.append(f"components/parameters/{name}: missing or changed")
    assert problems == [], "\n".join(problems)


def test_every_seed_schema_and_each_of_its_properties_is_present_and_identical() -> None:
    theirs = seed()["components"]["schemas"]
    ours = contract()["components"].get("schemas", {})
    problems = []
    for name, schema in theirs.items():
        if name not in ours:
            problems.append(f"{name}: missing")
            continue
        mine = ours[name]
        for prop, definition in schema.get("properties", {}).items():
            if prop not in mine.get("properties", {}):
                problems.append(f"{name}.{prop}: missing")
            elif mine["properties"][prop] != definition:
                problems.append(
                    f"{name}.{prop}: {definition!r} became {mine['properties'][prop]!r}"
                )
        if mine != schema:  # seed schemas are not touched at all: no added keys either
            keys = sorted(k for k in {*mine, *schema} if mine.get(k) != schema.get(k))
            problems.append(f"{name}: differs from the seed in {keys}")
    assert problems == [], "\n".join(problems)


def test_top_level_security_servers_and_info_are_unchanged() -> None:
    theirs, ours = seed(), contract()
    assert ours.get("security") == theirs["security"], "top-level security changed"
    assert ours.get("servers") == theirs["servers"], "servers changed (none may be added)"
    assert ours.get("info") == theirs["info"], "info changed"


# --- the checker cannot silently pass -----------------------------------------------------------


def _edited(edit: Callable[[dict[str, Any]], Any]) -> list[str]:
    original = seed()
    changed = copy.deepcopy(original)
    edit(changed)
    return list(missing_or_changed(original, changed))


def test_checker_reports_a_removed_schema_property() -> None:
    problems = _edited(
        lambda d: d["components"]["schemas"]["AssistedSession"]["properties"].pop("cartId")
    )
    assert problems == ["/components/schemas/AssistedSession/properties/cartId: missing"]


def test_checker_reports_a_changed_description() -> None:
    def edit(d: dict[str, Any]) -> None:
        d["paths"]["/agents/{agentId}"]["get"]["responses"]["404"]["description"] = "Gone"

    assert _edited(edit) == [
        "/paths/~1agents~1{agentId}/get/responses/404/description: "
        "'Agent not found' in the seed, 'Gone' in the contract"
    ]


def test_checker_reports_reordered_list_items() -> None:
    def edit(d: dict[str, Any]) -> None:
        d["components"]["schemas"]["AssistedSession"]["properties"]["status"]["enum"].reverse()

    status = "/components/schemas/AssistedSession/properties/status/enum"
    assert _edited(edit) == [
        f"{status}/0: 'ACTIVE' in the seed, 'ENDED' in the contract",
        f"{status}/1: 'ENDED' in the seed, 'ACTIVE' in the contract",
    ]


def test_checker_reports_reordered_mappings_in_a_list() -> None:
    def edit(d: dict[str, Any]) -> None:
        d["tags"].insert(0, d["tags"].pop())

    problems = _edited(edit)
    assert problems and all(p.startswith("/tags/") for p in problems), problems


def test_checker_reports_a_removed_parameter() -> None:
    def edit(d: dict[str, Any]) -> None:
        parameters = d["paths"]["/customers/search"]["get"]["parameters"]
        parameters.remove(next(p for p in parameters if p.get("name") == "baseSite"))

    problems = _edited(edit)
    assert problems, "removing the baseSite parameter went unnoticed"
    assert all(p.startswith("/paths/~1customers~1search/get/parameters/") for p in problems)
    assert "/paths/~1customers~1search/get/parameters/3: missing (list has 3 items)" in problems


def test_checker_reports_a_type_change_of_an_equal_value() -> None:
    def edit(d: dict[str, Any]) -> None:
        d["components"]["parameters"]["pageSize"]["schema"]["default"] = 20.0

    assert _edited(edit) == [
        "/components/parameters/pageSize/schema/default: 20 in the seed, 20.0 in the contract"
    ]


def test_checker_accepts_added_keys_and_appended_list_items() -> None:
    def edit(d: dict[str, Any]) -> None:
        d["components"]["schemas"]["Extra"] = {"type": "object"}
        d["paths"]["/agents/{agentId}"]["get"]["responses"]["401"] = {"description": "x"}
        d["paths"]["/customers/search"]["get"]["parameters"].append({"name": "x", "in": "query"})
        d["tags"].append({"name": "Extra"})
        d["components"]["schemas"]["AssistedSession"]["properties"]["status"]["enum"].append("X")

    assert _edited(edit) == []


# --- the contract itself ------------------------------------------------------------------------


def test_contract_is_a_valid_openapi_3_1_document() -> None:
    document = contract()
    assert document.get("openapi") == "3.1.0"
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in OpenAPIV31SpecValidator(document).iter_errors()
    ]
    assert errors == [], "\n".join(errors)
    OpenAPIV31SpecValidator(document).validate()


def test_every_operation_answers_400_401_and_403_and_every_4xx_is_an_error_list() -> None:
    document = contract()
    problems = []
    for (path, method), operation in operations(document).items():
        where = f"{method.upper()} {path}"
        responses = operation["responses"]
        missing = {"400", "401", "403"} - set(responses)
        if missing:
            problems.append(f"{where}: does not document {sorted(missing)}")
        for status, response in responses.items():
            if not str(status).startswith("4"):
                continue
            content = resolve(document, response).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema != {"$ref": ERROR_LIST_REF}:
                problems.append(f"{where} {status}: application/json schema is {schema!r}")
        if "401" in responses:
            headers = resolve(document, responses["401"]).get("headers", {})
            if "WWW-Authenticate" not in headers:
                problems.append(f"{where} 401: no WWW-Authenticate header")
    assert problems == [], "\n".join(problems)


def test_error_examples_are_valid_error_lists() -> None:
    document = contract()
    validator = Draft202012Validator({"$ref": ERROR_LIST_REF, "components": document["components"]})
    checked = 0
    for name, response in document["components"].get("responses", {}).items():
        media = response.get("content", {}).get("application/json", {})
        for example_name, example in media.get("examples", {}).items():
            errors = [e.message for e in validator.iter_errors(example["value"])]
            assert errors == [], f"components/responses/{name} example {example_name}: {errors}"
            checked += 1
    example = document["components"]["schemas"]["ErrorList"]["example"]
    assert [e.message for e in validator.iter_errors(example)] == []
    assert checked >= 7, "expected named examples on every error response"
