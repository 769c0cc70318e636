"""`--contract PATH`: a revision of the contract a user keeps, served. Operations the mock
implements answer from the world; any other answers its first 2xx named example, else a body
generated from its schema. An invalid revision is one line and exit status 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from asm_mock.cli import main, parse_settings
from asm_mock.http.app import create_app
from asm_mock.resources import contract_path
from asm_mock.settings import Settings
from asm_mock.testing import AsmMockServer, json_answer
from tests.helpers import BASE, SMALL_WORLD, password_token

SHIFT = {"agentId": "asagent", "start": "2026-01-15T08:00:00Z", "desk": "B2"}


def revision(directory: Path) -> Path:
    """openapi.yaml without getCustomerCarts, with an optional Agent.phone and two operations
    the mock does not implement: one with a named example, one without."""
    document = yaml.safe_load(contract_path().read_text())
    del document["paths"]["/customers/{customerId}/carts"]
    agent = document["components"]["schemas"]["Agent"]
    agent["properties"]["phone"] = {"type": "string"}
    shift_schema = {
        "type": "object",
        "required": ["agentId", "start"],
        "properties": {
            "agentId": {"type": "string"},
            "start": {"type": "string", "format": "date-time"},
            "desk": {"type": "string"},
        },
    }
    document["components"]["schemas"]["Shift"] = shift_schema
    agent_id = {"name": "agentId", "in": "path", "required": True, "schema": {"type": "string"}}
    shift = {"$ref": "#/components/schemas/Shift"}
    document["paths"]["/agents/{agentId}/shift"] = {
        "get": {
            "operationId": "getAgentShift",
            "parameters": [agent_id],
            "responses": {
                "200": {
                    "description": "The agent's shift",
                    "content": {
                        "application/json": {
                            "schema": shift,
                            "examples": {"morning": {"value": SHIFT}},
                        }
                    },
                },
                "404": {"$ref": "#/components/responses/NotFound"}
                if "NotFound" in document["components"].get("responses", {})
                else {"description": "Not found"},
            },
        }
    }
    document["paths"]["/agents/{agentId}/desk"] = {
        "get": {
            "operationId": "getAgentDesk",
            "parameters": [agent_id],
            "responses": {
                "200": {
                    "description": "The agent's desk",
                    "content": {"application/json": {"schema": shift}},
                }
            },
        }
    }
    path = directory / "revision.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_the_option_and_its_variable_name_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = revision(tmp_path)
    assert parse_settings(["--contract", str(path)])[1].contract == path
    monkeypatch.setenv("ASM_MOCK_CONTRACT", str(path))
    assert parse_settings([])[1].contract == path
    monkeypatch.setenv("ASM_MOCK_CONTRACT", "")
    assert parse_settings([])[1].contract is None  # the packaged openapi.yaml
    with pytest.raises(SystemExit) as exited:
        parse_settings(["--contract", str(tmp_path / "missing.yaml")])
    assert exited.value.code == 2
    assert "missing.yaml" in capsys.readouterr().err


def test_check_lists_where_each_operation_is_answered_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["check", "--contract", str(revision(tmp_path)), "--customers", "5", "--cache-dir", ""]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    world = next(line for line in lines if line.startswith("operations from the world"))
    assert world.endswith("getAgent") and "getCustomerCarts" not in world
    assert "operations from examples (1): getAgentShift" in lines
    assert "operations generated (1): getAgentDesk" in lines
    assert "operations dropped by the contract (1): getCustomerCarts" in lines


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda d: d["paths"]["/sessions"]["post"].update(responses="none"), "/paths/"),
        (lambda d: d.update(openapi="3.0.3"), "3.1"),
    ],
)
def test_an_invalid_revision_is_one_line_naming_file_place_and_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: Any, problem: str
) -> None:
    document = yaml.safe_load(contract_path().read_text())
    edit(document)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(document))
    assert main(["check", "--contract", str(path), "--customers", "5", "--cache-dir", ""]) == 2
    out, err = capsys.readouterr()
    assert "contract OK" not in out
    assert len(err.strip().splitlines()) == 1 and problem in err
    assert "Traceback" not in err


def test_yaml_that_does_not_parse_is_named_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("openapi: 3.1.0\npaths: [\n")
    assert main(["check", "--contract", str(path), "--customers", "5", "--cache-dir", ""]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and str(path) in err and "line" in err


async def answers(path: Path, fast_lane: bool) -> dict[str, httpx.Response]:
    app = create_app(Settings(customers=SMALL_WORLD, contract=path), fast_lane=fast_lane)
    app.load_fully()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        client.headers["Authorization"] = f"Bearer {await password_token(client)}"
        return {
            name: await client.get(f"{BASE}{url}")
            for name, url in {
                "agent": "/agents/asagent",
                "shift": "/agents/asagent/shift",
                "desk": "/agents/asagent/desk",
                "other desk": "/agents/other/desk",
                "carts": "/customers/x/carts?baseSite=electronics-spa",
            }.items()
        }


@pytest.mark.anyio
async def test_a_revision_is_served_alike_by_the_lane_and_connexion(tmp_path: Path) -> None:
    path = revision(tmp_path)
    lane, connexion = await answers(path, True), await answers(path, False)
    for name in lane:
        assert lane[name].status_code == connexion[name].status_code, name
        assert lane[name].content == connexion[name].content, name
    assert lane["agent"].json()["uid"] == "asagent"  # from the world
    assert lane["shift"].json() == SHIFT  # its named example
    desk = lane["desk"].json()  # generated: valid, and the same for the same request
    assert isinstance(desk["agentId"], str) and isinstance(desk["start"], str)
    assert desk == (await answers(path, True))["desk"].json()
    assert lane["carts"].status_code == 404  # an operation the revision dropped


@pytest.mark.anyio
async def test_an_operation_whose_parameters_the_mock_cannot_take_answers_from_the_contract(
    tmp_path: Path,
) -> None:
    """The revision renames getAgent's path parameter: its handler could not be called, so
    the operation is answered from the contract instead of failing with a 500."""
    document = yaml.safe_load(contract_path().read_text())
    item = document["paths"].pop("/agents/{agentId}")
    item["get"]["parameters"][0]["name"] = "agent"
    document["paths"]["/agents/{agent}"] = item
    path = tmp_path / "renamed.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    app = create_app(Settings(customers=SMALL_WORLD, contract=path))
    assert app.operations.sources()["getAgent"] == "generated"
    assert app.operations.sources()["searchCustomers"] == "world"
    for fast_lane in (True, False):
        app = create_app(Settings(customers=SMALL_WORLD, contract=path), fast_lane=fast_lane)
        app.load_fully()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            client.headers["Authorization"] = f"Bearer {await password_token(client)}"
            answer = await client.get(f"{BASE}/agents/asagent")
        assert answer.status_code == 200, answer.text
        assert isinstance(answer.json(), dict)


def test_a_served_revision_with_its_own_base_path_says_where_it_serves(tmp_path: Path) -> None:
    document = yaml.safe_load(revision(tmp_path).read_text())
    document["servers"] = [{"url": "http://localhost:9002/occ/v2"}]
    path = tmp_path / "occ.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    options = ("--contract", str(path), "--customers", "5", "--cache-dir", "")
    with AsmMockServer(*options, ready=json_answer("/__admin/health")) as server:
        headers = {"Authorization": f"Bearer {server.token()}"}
        with httpx.Client(base_url=server.url, headers=headers) as client:
            assert client.get("/occ/v2/agents/asagent/shift").json() == SHIFT
            assert client.get("/occ/v2/agents/asagent").json()["uid"] == "asagent"
            assert client.get(f"{BASE}/agents/asagent").status_code == 404
        served = server.stdout_text()
    assert "/occ/v2 (seed" in served and "Swagger UI at /occ/v2/ui/" in served
