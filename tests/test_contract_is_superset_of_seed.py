"""openapi.yaml is the seed contract with additions only: nothing of the seed removed or changed."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import OpenAPIV31SpecValidator

REPO = Path(__file__).resolve().parents[1]
SEED = REPO.parent / "shared" / "seed" / "openapi.seed.yaml"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def load(path: Path) -> dict[str, Any]:
    assert path.exists(), f"{path} is missing: the seed contract must sit beside the repository"
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def seed() -> dict[str, Any]:
    return load(SEED)


@pytest.fixture(scope="module")
def contract() -> dict[str, Any]:
    return load(REPO / "openapi.yaml")


def missing_or_changed(seed: Any, contract: Any, path: str = "") -> Iterator[str]:
    """Every place where `contract` drops or alters something of `seed` (additions are fine)."""
    if isinstance(seed, dict):
        if not isinstance(contract, dict):
            yield f"{path or '/'}: was a mapping, now {type(contract).__name__}"
            return
        for key, value in seed.items():
            where = f"{path}/{key}"
            if key not in contract:
                yield f"{where}: missing"
            else:
                yield from missing_or_changed(value, contract[key], where)
    elif isinstance(seed, list):
        if not isinstance(contract, list) or len(contract) < len(seed):
            yield f"{path}: list shortened or replaced"
            return
        for index, item in enumerate(seed):
            yield from missing_or_changed(item, contract[index], f"{path}/{index}")
    elif seed != contract or type(seed) is not type(contract):
        yield f"{path}: {seed!r} became {contract!r}"


def test_nothing_of_the_seed_is_missing_or_changed(
    seed: dict[str, Any], contract: dict[str, Any]
) -> None:
    problems = list(missing_or_changed(seed, contract))
    assert problems == [], "\n".join(problems)


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (path, method): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def test_every_seed_path_and_operation_is_present_with_its_operation_id(
    seed: dict[str, Any], contract: dict[str, Any]
) -> None:
    assert set(seed["paths"]) <= set(contract["paths"])
    ours = operations(contract)
    for key, operation in operations(seed).items():
        assert key in ours, key
        assert ours[key]["operationId"] == operation["operationId"]


def test_every_seed_parameter_is_present_and_identical(
    seed: dict[str, Any], contract: dict[str, Any]
) -> None:
    ours = operations(contract)
    for key, operation in operations(seed).items():
        theirs = {
            (p.get("name"), p.get("in"), p.get("$ref")): p for p in operation.get("parameters", [])
        }
        mine = {
            (p.get("name"), p.get("in"), p.get("$ref")): p for p in ours[key].get("parameters", [])
        }
        for identity, parameter in theirs.items():
            assert mine.get(identity) == parameter, (key, identity)
    assert contract["components"]["parameters"] == seed["components"]["parameters"]


def test_every_seed_schema_and_property_is_present_and_identical(
    seed: dict[str, Any], contract: dict[str, Any]
) -> None:
    for name, schema in seed["components"]["schemas"].items():
        assert contract["components"]["schemas"][name] == schema, name


def test_top_level_security_servers_and_info_are_unchanged(
    seed: dict[str, Any], contract: dict[str, Any]
) -> None:
    for key in ("openapi", "info", "servers", "security", "tags", "externalDocs"):
        assert contract[key] == seed[key], key


def test_contract_is_a_valid_openapi_31_document(contract: dict[str, Any]) -> None:
    assert contract["openapi"] == "3.1.0"
    errors = [str(e) for e in OpenAPIV31SpecValidator(contract).iter_errors()]
    assert errors == []


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def test_every_operation_documents_sap_error_answers_as_error_lists(
    contract: dict[str, Any],
) -> None:
    for key, operation in operations(contract).items():
        responses = operation["responses"]
        assert {"400", "401", "403"} <= set(responses), key
        for status, response in responses.items():
            if status.startswith("4"):
                schema = resolve(contract, response)["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorList"}, (key, status)
        assert "WWW-Authenticate" in resolve(contract, responses["401"])["headers"], key


class TestTheCheckerItself:
    """The superset check must fail on each kind of change, and only on changes."""

    def changed(self, seed: dict[str, Any], edit: Any) -> list[str]:
        copy_ = copy.deepcopy(seed)
        edit(copy_)
        return list(missing_or_changed(seed, copy_))

    def test_a_removed_property_is_reported(self, seed: dict[str, Any]) -> None:
        problems = self.changed(
            seed,
            lambda d: d["components"]["schemas"]["AssistedSession"]["properties"].pop("status"),
        )
        assert problems == ["/components/schemas/AssistedSession/properties/status: missing"]

    def test_a_changed_description_is_reported(self, seed: dict[str, Any]) -> None:
        def edit(d: dict[str, Any]) -> None:
            d["paths"]["/agents/{agentId}"]["get"]["description"] = "other"

        assert len(self.changed(seed, edit)) == 1

    def test_reordered_list_items_are_reported(self, seed: dict[str, Any]) -> None:
        def edit(d: dict[str, Any]) -> None:
            d["components"]["schemas"]["AssistedSession"]["properties"]["status"]["enum"].reverse()

        assert len(self.changed(seed, edit)) == 2

    def test_a_removed_parameter_is_reported(self, seed: dict[str, Any]) -> None:
        def edit(d: dict[str, Any]) -> None:
            d["paths"]["/customers/search"]["get"]["parameters"].pop(0)

        assert self.changed(seed, edit) != []

    def test_additions_are_not_reported(self, seed: dict[str, Any]) -> None:
        def edit(d: dict[str, Any]) -> None:
            d["components"]["schemas"]["Extra"] = {"type": "object"}
            d["paths"]["/customers/search"]["get"]["parameters"].append(
                {"name": "x", "in": "query"}
            )
            d["components"]["schemas"]["AssistedSession"]["properties"]["status"]["enum"].append(
                "X"
            )

        assert self.changed(seed, edit) == []
