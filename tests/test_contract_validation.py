"""The 3.1 contract is enforced with JSON Schema 2020-12 on requests and responses.

A purpose-built contract uses keywords Draft 4 (Connexion's own engine) would silently ignore:
`const` and `dependentRequired`. If validation fell back to Draft 4, these tests would fail.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from connexion.resolver import Resolver

from asm_mock.contract import CompiledContract, load_compiled
from asm_mock.http.connexion_stack import contract_app
from asm_mock.http.connexion_stack.specification import ContractSpecification
from tests.helpers import assert_occ_error

pytestmark = pytest.mark.anyio

ANSWERS: dict[str, dict[str, Any]] = {
    "good": {"kind": "ok", "when": "2026-01-15T12:00:00Z", "note": None},
    "not-const": {"kind": "other", "when": "2026-01-15T12:00:00Z"},
    "bad-date": {"kind": "ok", "when": "yesterday"},
    "dependent": {"kind": "ok", "when": "2026-01-15T12:00:00Z", "discount": 5},
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "2020-12 probe", "version": "1"},
    "servers": [{"url": "/probe"}],
    "paths": {
        "/echo": {
            "post": {
                "operationId": "echo",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["answer", "kind"],
                                "properties": {
                                    "answer": {"type": "string"},
                                    "kind": {"const": "probe"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "kind": {"const": "ok"},
                                        "when": {"type": "string", "format": "date-time"},
                                        "note": {"type": ["string", "null"]},
                                        "discount": {"type": "integer"},
                                    },
                                    "dependentRequired": {"discount": ["note"]},
                                }
                            }
                        },
                    },
                    "400": {"description": "bad request"},
                },
            }
        }
    },
}


async def echo(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    return ANSWERS[body["answer"]], 200


def compiled(directory: Path) -> CompiledContract:
    """DOCUMENT as a contract file, loaded and compiled as the mock loads its contract."""
    path = directory / "probe.yaml"
    path.write_text(json.dumps(DOCUMENT))  # JSON is YAML
    return load_compiled(path)


@pytest.fixture
async def probe(tmp_path: Path) -> Any:
    app = contract_app(compiled(tmp_path), resolver=Resolver(function_resolver=lambda _: echo))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


async def test_request_const_is_enforced(probe: httpx.AsyncClient) -> None:
    response = await probe.post("/probe/echo", json={"answer": "good", "kind": "not-probe"})
    error = assert_occ_error(response, 400, "ValidationError", subject="kind")
    assert error["subjectType"] == "body"


async def test_valid_request_and_response_pass_including_a_null_typed_field(
    probe: httpx.AsyncClient,
) -> None:
    response = await probe.post("/probe/echo", json={"answer": "good", "kind": "probe"})
    assert response.status_code == 200
    assert response.json()["note"] is None


@pytest.mark.parametrize(
    ("answer", "where"),
    [("not-const", "/kind"), ("bad-date", "/when"), ("dependent", "is a dependency of 'discount'")],
)
async def test_response_breaking_2020_12_keywords_is_a_logged_500(
    probe: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, answer: str, where: str
) -> None:
    with caplog.at_level(logging.ERROR, logger="asm_mock.contract"):
        response = await probe.post("/probe/echo", json={"answer": answer, "kind": "probe"})
    error = assert_occ_error(response, 500, "InternalServerError")
    assert "broke the contract" in error["message"]
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "contract violation" in logged
    assert where.split("/")[-1] in logged + error["message"]


async def test_undocumented_status_is_refused_as_a_contract_violation(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    async def teapot(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
        return {"kind": "ok"}, 418

    app = contract_app(compiled(tmp_path), resolver=Resolver(function_resolver=lambda _: teapot))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        with caplog.at_level(logging.ERROR, logger="asm_mock.contract"):
            response = await c.post("/probe/echo", json={"answer": "good", "kind": "probe"})
    assert_occ_error(response, 500, "InternalServerError")
    assert "418" in caplog.text


def test_an_openapi_30_document_is_refused() -> None:
    from connexion.exceptions import InvalidSpecification

    with pytest.raises(InvalidSpecification, match="3.1"):
        ContractSpecification({**DOCUMENT, "openapi": "3.0.3"})


def test_an_invalid_31_document_is_refused() -> None:
    from connexion.exceptions import InvalidSpecification

    broken = {**DOCUMENT, "paths": {"/echo": {"post": {"responses": "nope"}}}}
    with pytest.raises(InvalidSpecification):
        ContractSpecification(broken)
