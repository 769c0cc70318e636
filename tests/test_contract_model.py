"""The compiled contract read from openapi.yaml: operations, routes, parameters, statuses and
examples, each checked against the document as PyYAML reads it, and routing against Starlette's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.routing import Match, Route

from asm_mock.contract import CompiledContract, load_compiled
from asm_mock.contract.operations import INVALID, METHODS
from asm_mock.resources import contract_path


@pytest.fixture(scope="module")
def contract() -> CompiledContract:
    return load_compiled(contract_path())


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded = yaml.safe_load(contract_path().read_text())
    assert isinstance(loaded, dict)
    return loaded


def written(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(template, method, operation) as the document writes them, in its order."""
    return [
        (template, method, item[method])
        for template, item in document["paths"].items()
        for method in METHODS
        if method in item
    ]


def shared(document: dict[str, Any], kind: str, node: dict[str, Any]) -> dict[str, Any]:
    """`node`, or the shared component it refers to (#/components/<kind>/<name>)."""
    if "$ref" in node:
        name = node["$ref"].removeprefix(f"#/components/{kind}/")
        return dict(document["components"][kind][name])
    return node


def test_every_operation_is_compiled_in_the_contracts_order(
    contract: CompiledContract, document: dict[str, Any]
) -> None:
    expected = [(op["operationId"], m.upper(), t) for t, m, op in written(document)]
    assert [(o.operation_id, o.method, o.template) for o in contract.operations] == expected
    assert len(expected) >= 6
    assert set(contract.by_id) == {op_id for op_id, _, _ in expected}
    assert contract.files == (contract_path().resolve(),)


def test_documented_statuses_and_named_examples_are_the_documents(
    contract: CompiledContract, document: dict[str, Any]
) -> None:
    examples_seen = 0
    for _, _, definition in written(document):
        operation = contract.by_id[definition["operationId"]]
        codes = {int(code) for code in definition["responses"]}
        assert operation.statuses == codes == contract.statuses[operation.operation_id]
        for code, raw in definition["responses"].items():
            response = shared(document, "responses", raw)
            media = response.get("content", {}).get("application/json")
            compiled = operation.responses[int(code)]
            assert (compiled.check is None) == (media is None)
            named = {k: v["value"] for k, v in (media or {}).get("examples", {}).items()}
            assert dict(compiled.examples) == named
            examples_seen += len(named)
            assert compiled.headers == {h.lower() for h in response.get("headers", {})}
    assert examples_seen > 0  # the shared error responses carry examples


def test_parameters_are_the_path_items_overridden_by_the_operations(
    contract: CompiledContract, document: dict[str, Any]
) -> None:
    for template, _, definition in written(document):
        listed = document["paths"][template].get("parameters", []) + definition.get(
            "parameters", []
        )
        declared: dict[tuple[str, str], dict[str, Any]] = {}
        for given in listed:
            parameter = shared(document, "parameters", given)
            declared[parameter["name"], parameter["in"]] = parameter
        operation = contract.by_id[definition["operationId"]]
        assert [(p.name, p.location) for p in operation.parameters] == list(declared)
        for compiled in operation.parameters:
            parameter = declared[compiled.name, compiled.location]
            assert compiled.required == bool(parameter.get("required"))
            assert compiled.schema == parameter.get("schema", {})


def test_a_parameter_coerces_and_checks_as_connexion_does(contract: CompiledContract) -> None:
    search = contract.by_id["searchCustomers"]
    page_size = next(p for p in search.parameters if p.name == "pageSize")
    assert page_size.integer and page_size.has_default
    assert page_size.value("5") == 5
    assert page_size.value("x") is INVALID
    assert page_size.value("5.0") is INVALID
    current_page = next(p for p in search.parameters if p.name == "currentPage")
    assert current_page.value("0") == 0 and current_page.default == 0
    query = next(p for p in search.parameters if p.name == "query")
    assert query.value("5") == "5"  # a string parameter stays a string


def concrete(template: str) -> str:
    """A request path for `template`: each variable filled with a word."""
    parts = template.split("/")
    return "/".join("v1" if part.startswith("{") else part for part in parts)


def starlettes_pick(contract: CompiledContract, method: str, path: str) -> str | None:
    """The operation Starlette's router (Connexion's) picks: the first full match."""
    for operation in contract.operations:
        route = Route(
            contract.base_path + operation.template, lambda _: None, methods=[operation.method]
        )
        match, _ = route.matches({"type": "http", "method": method, "path": path})
        if match is Match.FULL:
            return operation.operation_id
    return None


def test_the_router_picks_the_route_starlette_picks(contract: CompiledContract) -> None:
    paths = {contract.base_path + concrete(o.template) for o in contract.operations}
    paths |= {contract.base_path + "/customers/search", contract.base_path + "/nowhere"}
    for path in sorted(paths):
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH"):
            found = contract.router.match(method, path)
            ours = None if found is None else found[0].operation.operation_id
            assert ours == starlettes_pick(contract, method, path), (method, path)


def test_the_router_names_operations_and_allowed_methods(contract: CompiledContract) -> None:
    for operation in contract.operations:
        path = contract.base_path + concrete(operation.template)
        found = contract.router.match(operation.method, path)
        assert found is not None and found[0].operation is operation
        assert contract.router.operation_id(operation.method, path) == operation.operation_id
        if operation.method == "GET":
            assert contract.router.operation_id("HEAD", path) == operation.operation_id
        allowed = contract.router.allow(path)
        assert allowed is not None and operation.method in allowed.split(", ")
    assert contract.router.allow(contract.base_path + "/nowhere") is None
    assert contract.router.operation_id("GET", contract.base_path + "/nowhere") is None


def test_connexion_validates_with_the_lanes_compiled_schemas(contract: CompiledContract) -> None:
    """Connexion resolves its own copy of the document: each of its schemas must get the very
    object the lane checks with, so a schema is compiled once and judged alike both ways."""
    from asm_mock.http.connexion_stack.specification import specification_of

    connexion = specification_of(contract.document).spec
    shared = 0
    for operation in contract.operations:
        definition = connexion["paths"][operation.template][operation.method.lower()]
        item = connexion["paths"][operation.template]
        declared = {(p["name"], p["in"]): p for p in item.get("parameters", [])}
        declared |= {(p["name"], p["in"]): p for p in definition.get("parameters", [])}
        for parameter in operation.parameters:
            schema = declared[parameter.name, parameter.location]["schema"]
            assert contract.schemas(schema) is parameter.check
            shared += 1
        for code, response in definition["responses"].items():
            media = response.get("content", {}).get("application/json")
            if media is not None:
                assert contract.schemas(media["schema"]) is operation.responses[int(code)].check
                shared += 1
        if operation.body is not None and operation.body.check is not None:
            body = definition["requestBody"]["content"]["application/json"]["schema"]
            assert contract.schemas(body) is operation.body.check
            shared += 1
    assert shared > len(contract.operations)


def test_the_pointer_resolver_reads_escapes_and_names_what_is_missing() -> None:
    from asm_mock.contract import InvalidContractError
    from asm_mock.contract.load import resolve_pointer

    document = {"paths": {"/a/{b}": {"get": [{"x~y": 1}]}}}
    assert resolve_pointer(document, "#/paths/~1a~1{b}/get/0/x~0y") == 1
    assert resolve_pointer(document, "") is document
    for missing in ("#/paths/~1a/get", "#/paths/~1a~1{b}/get/1", "#/paths/~1a~1{b}/get/x"):
        with pytest.raises(InvalidContractError, match="points at nothing"):
            resolve_pointer(document, missing)
    with pytest.raises(InvalidContractError, match="not a JSON pointer"):
        resolve_pointer(document, "#paths")


def test_a_variable_no_regex_group_can_name_is_routed_but_left_to_connexion(
    tmp_path: Path,
) -> None:
    """`{customer-id}` is a valid template variable but no Python group name: the router still
    names the operation (journal, Allow), and the fast lane leaves the request to Connexion."""
    from asm_mock.http import fast_lane
    from tests.helpers import Handlers

    document = yaml.safe_load(contract_path().read_text())
    item = document["paths"].pop("/agents/{agentId}")
    item["get"]["parameters"][0]["name"] = "agent-id"
    document["paths"]["/agents/{agent-id}"] = item
    path = tmp_path / "dashed.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    contract = load_compiled(path)
    url = contract.base_path + "/agents/asagent"
    found = contract.router.match("GET", url)
    assert found is not None and not found[0].named
    assert contract.router.operation_id("GET", url) == "getAgent"
    assert contract.router.allow(url) == "GET, HEAD"
    plans = fast_lane._Plans(contract, fast_lane._compile(contract, Handlers().lookup))
    assert plans.plan("GET", url, b"") is fast_lane.Defer.NOT_COMPILED
