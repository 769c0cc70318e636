"""`--watch` on a real server: edits to a copy of the contract, its $ref'd files and the fixtures
are served without a restart, sessions and tokens survive, and an invalid edit keeps the old
version serving, shown in /__admin/health and logged once, until an edit that loads."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import orjson
import pytest
import yaml

from asm_mock.http.app import AsmMockApp, create_app
from asm_mock.settings import Settings
from asm_mock.testing import AsmMockServer
from tests.helpers import BASE, REPO, password_token

SITE = "electronics-spa"
JAMES = "james.weber@example.com"
AGENT_SCHEMA = "    Agent:\n      type: object\n      properties:\n"
AGENT_PATH = "  /agents/{agentId}:\n"
PHONE = "        phone:\n          type: string\n          description: Agent desk phone\n"
SHIFTS_PATH = """  /agents/{agentId}/shifts:
    get:
      operationId: getAgentShifts
      summary: The agent's shifts this week
      parameters:
        - name: agentId
          in: path
          required: true
          schema:
            type: string
      responses:
        '200':
          description: The shifts
          content:
            application/json:
              schema:
                type: object
                required: [shifts]
                properties:
                  shifts:
                    type: array
                    items:
                      type: string
              examples:
                week:
                  value:
                    shifts: [morning, evening]
"""
RELOAD_TIMEOUT_S = 30.0
FAILED_LINE = "reload failed, still serving the previous version"


class Watched:
    """A server started with --watch on copies of the contract and the fixtures in tmp_path."""

    def __init__(self, root: Path, server: AsmMockServer) -> None:
        self.contract = root / "openapi.yaml"
        self.fixtures = root / "fixtures"
        self.server = server
        self.http = httpx.Client(base_url=server.base_url, timeout=10, trust_env=False)
        self.agent = server.headers()

    def reload(self) -> dict[str, Any]:
        body: dict[str, Any] = self.http.get("/__admin/health").json()["reload"]
        return body

    def edit(self, path: Path, text: str) -> dict[str, Any]:
        """Write `text` to `path` and wait for the reload it causes; its health report."""
        before = self.reload().get("at")
        path.write_text(text)
        deadline = time.monotonic() + RELOAD_TIMEOUT_S
        while time.monotonic() < deadline:
            report = self.reload()
            if report.get("at") != before:
                return report
            time.sleep(0.05)
        raise AssertionError(f"no reload within {RELOAD_TIMEOUT_S} s of writing {path}")

    def edit_contract(self, old: str, new: str) -> dict[str, Any]:
        text = self.contract.read_text()
        assert old in text
        return self.edit(self.contract, text.replace(old, new, 1))

    def openapi(self) -> dict[str, Any]:
        answer = self.http.get(f"{BASE}/openapi.json")
        assert answer.status_code == 200
        body: dict[str, Any] = answer.json()
        return body

    def start_session(self, customer: str = JAMES) -> dict[str, Any]:
        answer = self.http.post(
            f"{BASE}/sessions",
            json={"customerId": customer, "baseSite": SITE},
            headers=self.agent,
        )
        assert answer.status_code == 201, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def search(self, query: str) -> list[dict[str, Any]]:
        answer = self.http.get(
            f"{BASE}/customers/search",
            params={"query": query, "baseSite": SITE},
            headers=self.agent,
        )
        assert answer.status_code == 200, answer.text
        entries: list[dict[str, Any]] = answer.json()["entries"]
        return entries


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[Watched]:
    shutil.copy(REPO / "openapi.yaml", tmp_path / "openapi.yaml")
    shutil.copytree(REPO / "fixtures", tmp_path / "fixtures")
    options = ["--watch", "--customers", "20", "--cache-dir", ""]
    options += ["--contract", str(tmp_path / "openapi.yaml")]
    options += ["--fixtures", str(tmp_path / "fixtures")]
    with AsmMockServer(*options) as server:
        watched = Watched(tmp_path, server)
        try:
            yield watched
        finally:
            watched.http.close()


def _agent_properties(document: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = document["components"]["schemas"]["Agent"]["properties"]
    return properties


def test_a_valid_edit_is_served_without_restart_and_sessions_survive(watched: Watched) -> None:
    assert watched.reload() == {"status": "watching"}
    session = watched.start_session()
    assert (
        watched.http.get(f"{BASE}/agents/asagent/shifts", headers=watched.agent).status_code == 404
    )

    watched.edit_contract(AGENT_SCHEMA, AGENT_SCHEMA + PHONE)
    report = watched.edit_contract(AGENT_PATH, SHIFTS_PATH + AGENT_PATH)

    assert report["status"] == "ok", report
    assert "operations added: getAgentShifts" in report["changes"]
    assert report["files"] == [str(watched.contract.resolve())]
    assert "phone" in _agent_properties(watched.openapi())
    # the world's answers are completed against the new revision at once
    agent = watched.http.get(f"{BASE}/agents/asagent", headers=watched.agent)
    assert agent.status_code == 200 and isinstance(agent.json()["phone"], str), agent.text
    shifts = watched.http.get(f"{BASE}/agents/asagent/shifts", headers=watched.agent)
    assert shifts.status_code == 200 and shifts.json() == {"shifts": ["morning", "evening"]}
    # the token issued before both reloads still works, and the session is still there
    again = watched.http.get(f"{BASE}/sessions/{session['sessionId']}", headers=watched.agent)
    assert again.status_code == 200 and again.json() == session
    assert watched.http.get("/__admin/health").json()["sessions"] == 1


def test_the_log_says_which_properties_an_edit_added_and_removed(watched: Watched) -> None:
    report = watched.edit_contract(AGENT_SCHEMA, AGENT_SCHEMA + PHONE)
    assert report["changes"] == ["Agent properties added: phone"]
    report = watched.edit_contract(PHONE, "")
    assert report["changes"] == ["Agent properties removed: phone"]
    _wait_for(lambda: "Agent properties removed: phone" in watched.server.stderr_text())
    assert "reloaded in" in watched.server.stderr_text()


def test_an_invalid_edit_keeps_the_old_version_is_reported_once_and_a_fix_recovers(
    watched: Watched,
) -> None:
    valid = watched.contract.read_text()
    broken = valid.replace(AGENT_SCHEMA, "    Agent:\n      type: [object\n", 1)

    report = watched.edit(watched.contract, broken)
    assert report["status"] == "failed", report
    assert str(watched.contract.resolve()) in report["error"]
    assert "YAML" in report["error"]
    assert report["files"] == [str(watched.contract.resolve())]
    # the old contract keeps serving, Connexion's stack (openapi.json) and the fast lane alike
    assert "email" in _agent_properties(watched.openapi())
    agent = watched.http.get(f"{BASE}/agents/asagent", headers=watched.agent)
    assert agent.status_code == 200 and agent.json()["uid"] == "asagent"

    # the same broken file saved again: reported again in health, not in the log
    assert watched.edit(watched.contract, broken + "\n")["status"] == "failed"
    _wait_for(lambda: FAILED_LINE in watched.server.stderr_text())
    assert watched.server.stderr_text().count(FAILED_LINE) == 1

    fixed = watched.edit(watched.contract, valid.replace(AGENT_SCHEMA, AGENT_SCHEMA + PHONE, 1))
    assert fixed["status"] == "ok" and fixed["changes"] == ["Agent properties added: phone"]
    assert "phone" in _agent_properties(watched.openapi())


def test_an_edit_that_is_yaml_but_not_openapi_is_refused_with_its_place(watched: Watched) -> None:
    report = watched.edit_contract("openapi: 3.1.0", "openapi: 3.1.0\nwebhooks: 7")
    assert report["status"] == "failed", report
    assert "webhooks" in report["error"], report
    assert watched.http.get(f"{BASE}/agents/asagent", headers=watched.agent).status_code == 200


def test_a_change_in_a_refd_file_is_picked_up(tmp_path: Path) -> None:
    contract = (REPO / "openapi.yaml").read_text()
    extras = "    AgentExtras:\n      $ref: 'schemas/extras.yaml'\n"
    assert "\n  schemas:\n" in contract
    contract = contract.replace("\n  schemas:\n", "\n  schemas:\n" + extras, 1)
    (tmp_path / "openapi.yaml").write_text(contract)
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "extras.yaml").write_text(
        "type: object\nproperties:\n  desk:\n    type: string\n"
    )
    shutil.copytree(REPO / "fixtures", tmp_path / "fixtures")
    options = ["--watch", "--customers", "0", "--cache-dir", ""]
    options += ["--contract", str(tmp_path / "openapi.yaml")]
    options += ["--fixtures", str(tmp_path / "fixtures")]
    with AsmMockServer(*options) as server:
        watched = Watched(tmp_path, server)
        extras_file = tmp_path / "schemas" / "extras.yaml"
        report = watched.edit(
            extras_file,
            "type: object\nproperties:\n  desk:\n    type: string\n  floor:\n    type: integer\n",
        )
        watched.http.close()
    assert report["status"] == "ok", report
    assert report["changes"] == ["AgentExtras properties added: floor"]
    assert report["files"] == [str(extras_file.resolve())]


def _customers(fixtures: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((fixtures / "customers.yaml").read_text())
    return document


def test_a_new_fixture_customer_appears_in_search(watched: Watched) -> None:
    assert watched.search("ada.quill") == []
    document = _customers(watched.fixtures)
    document["customers"].append(
        {
            "uid": "ada.quill@example.com",
            "customer_id": "0b7c2a51-5b47-4bfb-9d55-3f1f5ac0e7aa",
            "first_name": "Ada",
            "last_name": "Quill",
            "signed_up": "2021-03-04T10:00:00Z",
            "town": "Lisbon",
            "country": "Portugal",
            "sites": [SITE],
            "password": "pw4all",
        }
    )
    report = watched.edit(watched.fixtures / "customers.yaml", yaml.safe_dump(document))
    assert report["status"] == "ok", report
    assert report["changes"] == ["customers added: 1"]
    assert [entry["uid"] for entry in watched.search("ada.quill")] == ["ada.quill@example.com"]


def test_a_session_whose_customer_an_edit_removed_stays_readable(watched: Watched) -> None:
    session = watched.start_session(JAMES)
    document = _customers(watched.fixtures)
    document["customers"] = [c for c in document["customers"] if c["uid"] != JAMES]
    report = watched.edit(watched.fixtures / "customers.yaml", yaml.safe_dump(document))
    assert report["status"] == "ok" and report["changes"] == ["customers removed: 1"], report
    assert watched.search("james.weber") == []
    answer = watched.http.get(f"{BASE}/sessions/{session['sessionId']}", headers=watched.agent)
    assert answer.status_code == 200, answer.text
    assert answer.json() == session


def test_a_bad_fixture_is_reported_with_its_file_and_the_world_keeps_serving(
    watched: Watched,
) -> None:
    document = _customers(watched.fixtures)
    del document["customers"][0]["uid"]
    report = watched.edit(watched.fixtures / "customers.yaml", yaml.safe_dump(document))
    assert report["status"] == "failed", report
    assert "customers.yaml" in report["error"] and "uid" in report["error"], report
    assert [entry["uid"] for entry in watched.search("james.weber")] == [JAMES]


def _wait_for(condition: Any) -> None:
    """The server's log is written from a thread: wait for a line, bounded."""
    deadline = time.monotonic() + RELOAD_TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the expected log line never came")
        time.sleep(0.05)


@pytest.mark.anyio
async def test_a_request_in_flight_finishes_on_the_version_it_arrived_on(tmp_path: Path) -> None:
    contract = tmp_path / "openapi.yaml"
    shutil.copy(REPO / "openapi.yaml", contract)
    app = create_app(Settings(watch=True, contract=contract, customers=0, cache_dir=None))
    assert app.watcher is not None
    app.load_fully()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9002") as client:
        token = await password_token(client)
        body_sent = anyio.Event()
        answer: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            await body_sent.wait()  # the request has arrived; its body is still on its way
            body = orjson.dumps({"customerId": JAMES, "baseSite": SITE})
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            answer.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": f"{BASE}/sessions",
            "raw_path": f"{BASE}/sessions".encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"127.0.0.1:9002"),
                (b"authorization", f"Bearer {token}".encode()),
                (b"content-type", b"application/json"),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 9002),
        }
        async with anyio.create_task_group() as requests:
            requests.start_soon(app, scope, receive, send)
            await anyio.sleep(0)  # it is dispatched: its version is chosen
            # the new version serves the sessions under another path
            contract.write_text(contract.read_text().replace("  /sessions:\n", "  /moved:\n", 1))
            assert await app.watcher.reload([str(contract)])
            assert answer == []  # still waiting for its body, across the swap
            body_sent.set()
        assert answer[0]["status"] == 201  # answered by the version it arrived on
        after = await client.post(
            f"{BASE}/sessions",
            json={"customerId": JAMES, "baseSite": SITE},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert after.status_code == 404  # the new version has no such path
        session = orjson.loads(answer[1]["body"])["sessionId"]
        kept = await client.get(
            f"{BASE}/sessions/{session}", headers={"Authorization": f"Bearer {token}"}
        )
        assert kept.status_code == 200  # the session made by the old version lives on
        moved = await client.get(f"{BASE}/moved", headers={"Authorization": f"Bearer {token}"})
        assert moved.status_code == 405  # /moved is the new version's path: it only takes POST


@pytest.mark.anyio
async def test_the_changes_name_properties_at_any_depth_under_the_schema_declaring_them(
    tmp_path: Path,
) -> None:
    contract = tmp_path / "openapi.yaml"
    shutil.copy(REPO / "openapi.yaml", contract)
    app = create_app(Settings(watch=True, contract=contract, customers=0, cache_dir=None))
    assert app.watcher is not None
    address = "            address:\n              type: object\n              properties:\n"
    shifts = (
        "        shifts:\n          type: array\n          items:\n            type: object\n"
        "            properties:\n              day:\n                type: string\n"
    )
    text = contract.read_text()
    assert address in text
    text = text.replace(
        address, address + "                region:\n                  type: string\n"
    )
    contract.write_text(text.replace(AGENT_SCHEMA, AGENT_SCHEMA + shifts, 1))

    assert await app.watcher.reload([str(contract)])

    assert app.reload_status.body()["changes"] == [
        "Agent properties added: shifts, shifts[].day",
        "Customer360Data properties added: overview.address.region",
    ]
    assert (
        "region"
        in app.contract.document.spec["components"]["schemas"]["Customer360Data"]["properties"][
            "overview"
        ]["properties"]["address"]["properties"]
    )


@pytest.mark.anyio
async def test_without_watch_nothing_watches_and_health_says_off(
    app: AsmMockApp, client: httpx.AsyncClient
) -> None:
    assert app.watcher is None
    health = await client.get("/__admin/health")
    assert health.status_code == 200 and health.json()["reload"] == {"status": "off"}


@pytest.mark.anyio
async def test_a_bad_scenario_file_fails_the_reload_and_names_the_file(tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures"
    shutil.copytree(REPO / "fixtures", fixtures)
    app = create_app(Settings(watch=True, fixtures=fixtures, customers=0, cache_dir=None))
    assert app.watcher is not None
    version = app.version
    (fixtures / "scenarios" / "broken.yaml").write_text("settings: [\n")

    assert not await app.watcher.reload([str(fixtures / "scenarios" / "broken.yaml")])

    report = app.reload_status.body()
    assert report["status"] == "failed" and "broken.yaml" in report["error"], report
    assert app.version is version  # the old version keeps serving
