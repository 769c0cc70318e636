"""A contract split over files: relative `$ref`s read against the file that writes them,
bundled into the one document the fast lane and Connexion both serve; remote ones refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from asm_mock.contract import InvalidContractError, load_compiled
from asm_mock.http.app import create_app
from asm_mock.resources import contract_path
from asm_mock.settings import Settings
from tests.helpers import BASE, SMALL_WORLD, password_token

AGENT_REF = "#/components/schemas/Agent"


def split_contract(directory: Path, groups_item: dict[str, Any] | None = None) -> Path:
    """openapi.yaml with its Agent schema in schemas/agent.yaml, whose groups' items are in
    schemas/common.yaml (a reference relative to agent.yaml, not to the main file)."""
    document = yaml.safe_load(contract_path().read_text())
    agent = document["components"]["schemas"].pop("Agent")
    agent["properties"]["groups"]["items"] = {"$ref": "common.yaml#/Group"}
    text = yaml.safe_dump(document, sort_keys=False).replace(
        f"$ref: '{AGENT_REF}'", "$ref: schemas/agent.yaml#/Agent"
    )
    assert "schemas/agent.yaml" in text
    (directory / "schemas").mkdir()
    (directory / "schemas" / "agent.yaml").write_text(yaml.safe_dump({"Agent": agent}))
    group = groups_item or {"$ref": "#/Word"}  # a local reference inside common.yaml
    common = {"Group": group, "Word": {"type": "string"}}
    (directory / "schemas" / "common.yaml").write_text(yaml.safe_dump(common))
    main = directory / "openapi.yaml"
    main.write_text(text)
    return main


def test_the_model_bundles_every_file_and_records_it(tmp_path: Path) -> None:
    main = split_contract(tmp_path)
    contract = load_compiled(main)
    assert contract.files == (
        main.resolve(),
        (tmp_path / "schemas" / "agent.yaml").resolve(),
        (tmp_path / "schemas" / "common.yaml").resolve(),
    )
    assert ".yaml" not in yaml.safe_dump(contract.document.raw)  # one document for Connexion
    shipped = load_compiled(contract_path())
    schema = contract.by_id["getAgent"].responses[200].schema
    assert schema == shipped.by_id["getAgent"].responses[200].schema


async def agent_answers(main: Path) -> list[httpx.Response]:
    """GET /agents/asagent, answered by the fast lane and by Connexion, serving `main`."""
    answers = []
    for fast_lane in (True, False):
        app = create_app(Settings(customers=SMALL_WORLD, contract=main), fast_lane=fast_lane)
        app.load_fully()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            token = await password_token(client)
            headers = {"Authorization": f"Bearer {token}"}
            answers.append(await client.get(f"{BASE}/agents/asagent", headers=headers))
    return answers


@pytest.mark.anyio
async def test_a_two_file_contract_is_served_alike_by_the_lane_and_connexion(
    tmp_path: Path,
) -> None:
    lane, connexion = await agent_answers(split_contract(tmp_path))
    assert lane.status_code == connexion.status_code == 200
    assert lane.json() == connexion.json()
    assert lane.json()["uid"] == "asagent"


@pytest.mark.anyio
async def test_both_paths_fit_answers_to_the_referenced_files(tmp_path: Path) -> None:
    """common.yaml asks more of a group than the world's groups have: both paths complete the
    answer to fit it (asm_mock/contract/complete.py), so both read the referenced file."""
    main = split_contract(tmp_path, {"type": "string", "minLength": 1000})
    lane, connexion = await agent_answers(main)
    assert lane.status_code == connexion.status_code == 200, (lane.text, connexion.text)
    assert lane.content == connexion.content
    assert all(len(group) >= 1000 for group in lane.json()["groups"])


@pytest.mark.parametrize(
    ("reference", "problem"),
    [
        ("https://example.com/agent.yaml#/Agent", "remote \\$ref"),
        ("//example.com/agent.yaml#/Agent", "remote \\$ref"),
        ("missing.yaml#/Agent", "cannot read"),
        ("schemas/agent.yaml#/Nobody", "points at nothing"),
    ],
)
def test_a_reference_that_cannot_be_bundled_is_a_clear_contract_error(
    tmp_path: Path, reference: str, problem: str
) -> None:
    main = split_contract(tmp_path)
    main.write_text(main.read_text().replace("schemas/agent.yaml#/Agent", reference, 1))
    with pytest.raises(InvalidContractError, match=problem) as raised:
        load_compiled(main)
    assert str(main.resolve()) in str(raised.value)  # the file that writes the reference
    assert "at /paths/" in str(raised.value)  # and where in it


def test_a_cycle_through_files_is_refused(tmp_path: Path) -> None:
    main = split_contract(tmp_path, {"$ref": "#/Group"})
    with pytest.raises(InvalidContractError, match="cycle"):
        load_compiled(main)
