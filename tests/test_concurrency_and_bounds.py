"""Many agents at once against a live server, and stores that stay bounded under load."""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter
from pathlib import Path

import httpx
import pytest

from asm_mock.domain.fixtures import load_fixtures
from asm_mock.domain.generate import build_world
from asm_mock.domain.service import MockService
from asm_mock.domain.store import InMemoryStore
from asm_mock.http.app import create_app
from asm_mock.settings import Settings
from asm_mock.testing import AsmMockServer
from tests.helpers import BASE, REPO, TOKEN_URL

AGENTS = [f"load.agent{i:02d}" for i in range(24)]
CUSTOMERS = ["james.weber@example.com", "keenreviewer1@hybris.com", "empty.customer@example.com"]


@pytest.fixture
def fixtures_with_many_agents(tmp_path: Path) -> Path:
    for source in (REPO / "fixtures").glob("*.yaml"):
        shutil.copy(source, tmp_path / source.name)
    lines = ["agents:"]
    for uid in AGENTS:
        lines += [
            f"  - uid: {uid}",
            f"    name: Load Agent {uid[-2:]}",
            f"    email: {uid}@example.com",
            "    password: pw4all",
            "    groups: [asagentgroup]",
        ]
    (tmp_path / "zz-load-agents.yaml").write_text("\n".join(lines) + "\n")
    return tmp_path


async def agent_workload(
    client: httpx.AsyncClient, uid: str, rounds: int
) -> list[tuple[str, int, str]]:
    """Log in, then start / read / end sessions; returns (step, status, session id) per request."""
    token = await client.post(
        TOKEN_URL,
        data={
            "grant_type": "password",
            "client_id": "mobile_android",
            "client_secret": "secret",
            "username": uid,
            "password": "pw4all",
        },
    )
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    log: list[tuple[str, int, str]] = [("token", token.status_code, "")]
    for n in range(rounds):
        body = {"customerId": CUSTOMERS[n % len(CUSTOMERS)], "baseSite": "electronics-spa"}
        started = await client.post(f"{BASE}/sessions", json=body, headers=headers)
        session_id = started.json().get("sessionId", "") if started.status_code == 201 else ""
        log.append(("start", started.status_code, session_id))
        read = await client.get(f"{BASE}/sessions/{session_id}", headers=headers)
        log.append(("read", read.status_code, session_id))
        if n % 2 == 0:  # end every other session; the rest are ended by the agent's next start
            ended = await client.delete(f"{BASE}/sessions/{session_id}", headers=headers)
            log.append(("end", ended.status_code, session_id))
    return log


def test_many_agents_at_once_keep_the_one_active_session_rule(
    fixtures_with_many_agents: Path,
) -> None:
    rounds = 9

    async def run(url: str) -> list[list[tuple[str, int, str]]]:
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
            await client.delete("/__admin/requests")
            logs = await asyncio.gather(*(agent_workload(client, uid, rounds) for uid in AGENTS))
            for uid, log in zip(AGENTS, logs, strict=True):
                last = [sid for step, _, sid in log if step == "start"][-1]
                token = (
                    await client.post(
                        TOKEN_URL,
                        data={
                            "grant_type": "password",
                            "client_id": "mobile_android",
                            "client_secret": "secret",
                            "username": uid,
                            "password": "pw4all",
                        },
                    )
                ).json()["access_token"]
                headers = {"Authorization": f"Bearer {token}"}
                # rounds is odd: DELETE ended the last session, the last start ended the one before
                assert (
                    await client.get(f"{BASE}/sessions/{last}", headers=headers)
                ).status_code == 404
                before = [sid for step, _, sid in log if step == "start"][-2]
                earlier = await client.get(f"{BASE}/sessions/{before}", headers=headers)
                assert earlier.json()["status"] == "ENDED"
            journal = (await client.get("/__admin/requests", params={"limit": 1})).json()
            sent = sum(len(log) for log in logs) + 3 * len(AGENTS)  # + the checks just above
            assert journal["total"] == sent, (journal["total"], sent)
            return logs

    with AsmMockServer("--fixtures", str(fixtures_with_many_agents), "--customers", "10") as server:
        logs = asyncio.run(run(server.url))

    entries = [entry for log in logs for entry in log]
    assert len(entries) == len(AGENTS) * (1 + 2 * rounds + (rounds + 1) // 2)  # 576 requests
    statuses = Counter(status for _, status, _ in entries)
    assert set(statuses) == {200, 201}, statuses
    session_ids = [sid for step, _, sid in entries if step == "start"]
    assert (
        len(session_ids) == len(set(session_ids)) == len(AGENTS) * rounds
    )  # none lost, none twice
    for log in logs:
        for step, status, _ in log:
            assert (step, status) in {("token", 200), ("start", 201), ("read", 200), ("end", 200)}


@pytest.mark.anyio
async def test_thousands_of_requests_leave_the_stores_bounded() -> None:
    fixtures = load_fixtures(REPO / "fixtures")
    store = InMemoryStore(max_ended_sessions=100)
    service = MockService(build_world(customers=10, fixtures=fixtures), store=store)
    app = create_app(Settings(customers=10), service=service)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        for n in range(1500):
            user = ("asagent", "asagentsalesmanager")[n % 2]
            token = await client.post(
                TOKEN_URL,
                data={
                    "grant_type": "password",
                    "client_id": "mobile_android",
                    "client_secret": "secret",
                    "username": user,
                    "password": "pw4all",
                },
            )
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            started = await client.post(
                f"{BASE}/sessions",
                headers=headers,
                json={"customerId": CUSTOMERS[0], "baseSite": "electronics-spa"},
            )
            assert started.status_code == 201
    assert await store.token_count() == 2  # one per user: a valid token is handed out again
    assert (
        await store.session_count() == 100 + 2
    )  # the bounded ended ones and each agent's active one
