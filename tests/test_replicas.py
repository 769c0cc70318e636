"""Two asm-mock replicas sharing one redis-server: the README's promises under "Replicas and
workers" (read-your-writes for sessions and tokens; settings, scenarios, reset and restored
state reach every replica; the journal and /__admin/state are the union)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from asm_mock.testing import (
    TOKEN_PATH,
    AsmMockServer,
    RedisServer,
    free_port,
    password_form,
    scrubbed_environment,
)
from tests.helpers import REPO, assert_occ_error

SITE = "electronics-spa"
JAMES = "james.weber@example.com"
WORLD = ("--customers", "20", "--seed", "7")
PROPAGATION_DEADLINE_S = 5.0  # generous: the 100 ms promise is measured in bench/run.py


@pytest.fixture(scope="module")
def replicas(redis_server: RedisServer) -> Iterator[tuple[AsmMockServer, AsmMockServer]]:
    with (
        AsmMockServer("--store", redis_server.url, *WORLD) as a,
        AsmMockServer("--store", redis_server.url, *WORLD) as b,
    ):
        yield a, b


@pytest.fixture
def a(replicas: tuple[AsmMockServer, AsmMockServer]) -> AsmMockServer:
    replicas[0].reset(drop_tokens=True)  # reaches B too: every test starts from the seeded world
    return replicas[0]


@pytest.fixture
def b(replicas: tuple[AsmMockServer, AsmMockServer], a: AsmMockServer) -> AsmMockServer:
    return replicas[1]


def eventually(check: Callable[[], bool]) -> float:
    """Seconds until `check()` holds (polled), failing after the generous deadline."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < PROPAGATION_DEADLINE_S, "never propagated"
        time.sleep(0.005)
    return time.monotonic() - started


def start_session(server: AsmMockServer, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        f"{server.api_url}/sessions",
        json={"customerId": JAMES, "baseSite": SITE},
        headers=headers,
    )


def test_a_session_started_on_a_is_at_once_readable_and_endable_on_b(
    a: AsmMockServer, b: AsmMockServer
) -> None:
    headers = a.headers()  # a token issued by A is accepted by B
    session = start_session(a, headers).json()
    url = f"{b.api_url}/sessions/{session['sessionId']}"
    assert httpx.get(url, headers=headers).json()["status"] == "ACTIVE"
    assert httpx.delete(url, headers=headers).json()["status"] == "ENDED"
    read_on_a = httpx.get(f"{a.api_url}/sessions/{session['sessionId']}", headers=headers)
    assert_occ_error(read_on_a, 404, "NotFoundError")


def test_a_token_refreshed_on_a_is_refused_on_b_at_once(a: AsmMockServer, b: AsmMockServer) -> None:
    form = password_form("asagent", "pw4all", "mobile_android", "secret")
    first = httpx.post(a.url + TOKEN_PATH, data=form).json()
    old = {"Authorization": f"Bearer {first['access_token']}"}
    assert httpx.get(f"{b.api_url}/agents/asagent", headers=old).status_code == 200
    refreshed = httpx.post(
        a.url + TOKEN_PATH,
        data={
            "grant_type": "refresh_token",
            "client_id": "mobile_android",
            "client_secret": "secret",
            "refresh_token": first["refresh_token"],
        },
    ).json()
    assert_occ_error(
        httpx.get(f"{b.api_url}/agents/asagent", headers=old), 401, "InvalidTokenError"
    )
    new = {"Authorization": f"Bearer {refreshed['access_token']}"}
    assert httpx.get(f"{b.api_url}/agents/asagent", headers=new).status_code == 200


def test_a_token_b_remembers_and_a_revokes_changes_nothing_on_b(
    a: AsmMockServer, b: AsmMockServer
) -> None:
    form = password_form("asagent", "pw4all", "mobile_android", "secret")
    first = httpx.post(a.url + TOKEN_PATH, data=form).json()
    old = {"Authorization": f"Bearer {first['access_token']}"}
    session = start_session(b, old).json()  # B has looked the token up: it remembers it
    url = f"{b.api_url}/sessions/{session['sessionId']}"
    assert httpx.get(url, headers=old).status_code == 200
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    refresh |= {"client_id": "mobile_android", "client_secret": "secret"}
    refreshed = httpx.post(a.url + TOKEN_PATH, data=refresh).json()
    new = {"Authorization": f"Bearer {refreshed['access_token']}"}
    # first a start: B's remembered token is refused by the start's own store step (the
    # test above refuses one before an answer that asks the store nothing)
    for refused in (
        start_session(b, old),
        httpx.get(url, headers=old),
        httpx.delete(url, headers=old),
    ):
        assert_occ_error(refused, 401, "InvalidTokenError")
    assert httpx.get(url, headers=new).json()["status"] == "ACTIVE"  # neither ended nor replaced
    assert len(httpx.get(b.url + "/__admin/state").json()["sessions"]) == 1


def test_concurrent_starts_by_one_agent_on_both_replicas_leave_one_active(
    a: AsmMockServer, b: AsmMockServer
) -> None:
    headers = a.headers()

    async def start_all() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=50)
        async with (
            httpx.AsyncClient(base_url=a.api_url, limits=limits, timeout=30) as on_a,
            httpx.AsyncClient(base_url=b.api_url, limits=limits, timeout=30) as on_b,
        ):
            body = {"customerId": JAMES, "baseSite": SITE}
            return await asyncio.gather(
                *(
                    (on_a, on_b)[i % 2].post("/sessions", json=body, headers=headers)
                    for i in range(200)
                )
            )

    answers = asyncio.run(start_all())
    assert [r.status_code for r in answers] == [201] * 200
    assert len({r.json()["sessionId"] for r in answers}) == 200  # ids unique across replicas
    sessions = httpx.get(b.url + "/__admin/state").json()["sessions"]
    statuses = [s["status"] for s in sessions]
    assert (statuses.count("ACTIVE"), statuses.count("ENDED")) == (1, 199)


def test_reset_on_a_ends_the_sessions_b_serves(a: AsmMockServer, b: AsmMockServer) -> None:
    headers = b.headers()
    session = start_session(b, headers).json()
    a.reset()
    gone = httpx.get(f"{b.api_url}/sessions/{session['sessionId']}", headers=headers)
    assert_occ_error(gone, 404, "NotFoundError")
    assert httpx.get(b.url + "/__admin/health").json()["sessions"] == 0


def test_settings_changed_on_a_reach_b(a: AsmMockServer, b: AsmMockServer) -> None:
    answer = httpx.patch(a.url + "/__admin/settings", json={"latency": "3", "errorRate": 0.25})
    assert answer.status_code == 200

    def b_has_them() -> bool:
        settings = httpx.get(b.url + "/__admin/settings").json()
        return bool(settings["latency"] == "3" and settings["errorRate"] == 0.25)

    observed = eventually(b_has_them)
    print(f"settings reached B after {observed * 1000:.0f} ms (polled over HTTP)")
    a.reset()
    eventually(lambda: httpx.get(b.url + "/__admin/settings").json()["latency"] == "0")


def test_a_scenario_applied_on_a_answers_on_b(a: AsmMockServer, b: AsmMockServer) -> None:
    headers = b.headers()
    url = f"{b.api_url}/customers/{JAMES}"
    assert httpx.get(url, params={"baseSite": SITE}, headers=headers).status_code == 200
    assert httpx.post(a.url + "/__admin/scenarios/customer-360-unavailable").status_code == 200
    eventually(
        lambda: httpx.get(url, params={"baseSite": SITE}, headers=headers).status_code == 503
    )
    canned = httpx.get(url, params={"baseSite": SITE}, headers=headers)
    assert canned.json()["errors"][0]["message"] == "Customer 360 data is temporarily unavailable"
    a.reset()
    eventually(
        lambda: httpx.get(url, params={"baseSite": SITE}, headers=headers).status_code == 200
    )


def test_a_state_restored_on_a_is_the_world_of_b(a: AsmMockServer, b: AsmMockServer) -> None:
    headers = b.headers()
    url = f"{b.api_url}/customers/{JAMES}"
    document = httpx.get(a.url + "/__admin/state").json()
    document["customers"] = [c for c in document["customers"] if c["uid"] != JAMES]
    assert httpx.put(a.url + "/__admin/state", json=document).status_code == 200
    eventually(
        lambda: httpx.get(url, params={"baseSite": SITE}, headers=headers).status_code == 404
    )
    a.reset()
    eventually(
        lambda: httpx.get(url, params={"baseSite": SITE}, headers=headers).status_code == 200
    )


def test_the_journal_is_the_union_of_both_replicas(a: AsmMockServer, b: AsmMockServer) -> None:
    headers = a.headers()
    for server, marker in ((a, "on-a"), (b, "on-b"), (a, "on-a-again")):
        httpx.get(f"{server.api_url}/agents/asagent", params={"marker": marker}, headers=headers)
    markers = {"marker=on-a", "marker=on-b", "marker=on-a-again"}

    def queries(server: AsmMockServer) -> list[str]:
        journal = httpx.get(server.url + "/__admin/requests").json()
        assert journal["total"] == len(journal["requests"])
        return [entry["query"] for entry in journal["requests"] if entry["query"]]

    # a replica reads its own entries at once; the other's within its flush interval
    assert [q for q in queries(a) if q != "marker=on-b"] == ["marker=on-a-again", "marker=on-a"]
    for server in (a, b):
        eventually(lambda server=server: set(queries(server)) == markers)  # type: ignore[misc]
        report = httpx.get(server.url + "/__admin/report").json()
        assert report["window"]["reported"] == 4  # the token request too
    assert httpx.delete(b.url + "/__admin/requests").status_code == 200
    assert httpx.get(a.url + "/__admin/requests").json()["requests"] == []


def test_a_journal_entry_keeps_its_error_details_across_replicas(
    a: AsmMockServer, b: AsmMockServer
) -> None:
    answer = httpx.get(f"{a.api_url}/customers/search", params={"baseSite": SITE})
    assert answer.status_code == 401
    entry = httpx.get(b.url + "/__admin/requests").json()["requests"][0]
    assert (entry["status"], entry["operationId"]) == (401, "searchCustomers")
    assert entry["problems"]
    report = httpx.get(b.url + "/__admin/report").json()
    assert report["summary"]["violatingRequests"] >= 0


def _serve(*options: str) -> subprocess.CompletedProcess[str]:
    """`asm-mock serve OPTIONS` expected to refuse at once: its exit status and output."""
    command = [sys.executable, "-m", "asm_mock", "serve", "--port", str(free_port()), *options]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=60, env=scrubbed_environment()
    )


def test_a_replica_with_another_world_is_refused_with_one_line(
    replicas: tuple[AsmMockServer, AsmMockServer], redis_server: RedisServer
) -> None:
    refused = _serve("--store", redis_server.url, "--customers", "20", "--seed", "8")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"asm-mock: error: option --store: {redis_server.url} holds the world of --seed 7; "
        "this replica has --seed 8"
    ]


def test_the_refusal_never_shows_the_store_password() -> None:
    with RedisServer(password="s3cret-pw") as server:
        with AsmMockServer("--store", server.url, *WORLD):
            refused = _serve("--store", server.url, "--customers", "21", "--seed", "7")
    assert refused.returncode == 2
    assert "s3cret-pw" not in refused.stderr + refused.stdout
    assert "redis://***@127.0.0.1" in refused.stderr
    assert "holds the world of --customers 20; this replica has --customers 21" in refused.stderr


def test_an_emptied_store_takes_the_next_replicas_world() -> None:
    with RedisServer() as server:
        with AsmMockServer("--store", server.url, *WORLD):
            pass
        server.stop()
        server.start()  # empty: no persistence
        with AsmMockServer("--store", server.url, "--customers", "20", "--seed", "8") as other:
            assert httpx.get(other.url + "/__admin/health").json()["seed"] == 8


def test_two_workers_need_a_shared_store() -> None:
    refused = _serve("--workers", "2")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "asm-mock: error: option --workers: 2 workers need a shared store: add --store "
        "redis://HOST:PORT/DB (with the memory store each worker would have its own sessions "
        "and tokens)"
    ]


def test_two_workers_share_sessions_and_tokens() -> None:
    with (
        RedisServer() as server,
        AsmMockServer("--store", server.url, "--workers", "2", *WORLD) as mock,
    ):
        for _ in range(40):
            # a new connection each time: the kernel spreads them over the workers
            with httpx.Client(base_url=mock.api_url) as client:
                token = client.post(
                    mock.url + TOKEN_PATH,
                    data=password_form("asagent", "pw4all", "mobile_android", "secret"),
                ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=mock.api_url) as client:
                session = client.post(
                    "/sessions", json={"customerId": JAMES, "baseSite": SITE}, headers=headers
                )
                assert session.status_code == 201, session.text
            with httpx.Client(base_url=mock.api_url) as client:
                read = client.get(f"/sessions/{session.json()['sessionId']}", headers=headers)
                assert read.json()["status"] == "ACTIVE"
        sessions = httpx.get(mock.url + "/__admin/state").json()["sessions"]
        statuses = [s["status"] for s in sessions]
        assert (statuses.count("ACTIVE"), statuses.count("ENDED")) == (1, 39)


def test_sigterm_finishes_the_request_in_flight_and_ships_its_journal_entry() -> None:
    with RedisServer() as server:
        mock = AsmMockServer("--store", server.url, *WORLD)
        with mock:
            headers = mock.headers()
            slow: dict[str, Any] = {}

            def ask() -> None:
                slow["answer"] = httpx.get(
                    f"{mock.api_url}/agents/asagent",
                    params={"marker": "in-flight"},
                    headers={**headers, "Prefer": "delay=1500"},
                    timeout=30,
                )

            asking = threading.Thread(target=ask)
            asking.start()
            time.sleep(0.5)  # the request is in flight, waiting out its delay
            mock.stop()  # SIGTERM
            asking.join()
        assert slow["answer"].status_code == 200
        with AsmMockServer("--store", server.url, *WORLD) as later:
            queries = [
                e["query"] for e in httpx.get(later.url + "/__admin/requests").json()["requests"]
            ]
        assert "marker=in-flight" in queries


def test_a_store_that_cannot_be_reached_is_refused_with_one_line() -> None:
    url = f"redis://:s3cret-pw@127.0.0.1:{free_port()}/0"  # nothing listens there
    refused = _serve("--store", url)
    assert refused.returncode == 2
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("asm-mock: error: option --store: ")
    assert "redis://***@127.0.0.1:" in line
    assert "cannot be reached" in line
    assert "s3cret-pw" not in refused.stderr + refused.stdout


def test_fixtures_compare_by_content_wherever_they_are(tmp_path: Path) -> None:
    same, edited = tmp_path / "same", tmp_path / "edited"
    for copy in (same, edited):
        shutil.copytree(REPO / "fixtures", copy)
    agents = edited / "agents.yaml"
    agents.write_text(agents.read_text() + "\n# an edit\n")
    with RedisServer() as server, AsmMockServer("--store", server.url, *WORLD):
        with AsmMockServer("--store", server.url, "--fixtures", str(same), *WORLD):
            pass  # the packaged fixtures' content, in another directory: the same world
        refused = _serve("--store", server.url, "--fixtures", str(edited), *WORLD)
    assert refused.returncode == 2
    (line,) = refused.stderr.strip().splitlines()
    assert "holds the world of --fixtures the packaged fixtures (digest " in line
    assert f"this replica has --fixtures {edited} (digest " in line


def test_a_named_tenant_is_one_tenant_across_replicas(a: AsmMockServer, b: AsmMockServer) -> None:
    on_a, on_b = f"{a.url}/t/ci-7", f"{b.url}/t/ci-7"
    form = password_form("asagent", "pw4all", "mobile_android", "secret")
    token = httpx.post(on_a + TOKEN_PATH, data=form).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    session = httpx.post(
        f"{on_a}/assistedservicewebservices/sessions",
        json={"customerId": JAMES, "baseSite": SITE},
        headers=headers,
    ).json()
    read = httpx.get(
        f"{on_b}/assistedservicewebservices/sessions/{session['sessionId']}", headers=headers
    )
    assert read.json()["status"] == "ACTIVE"
    # run-time changes reach the tenant on B before its next request is served
    httpx.patch(on_a + "/__admin/settings", json={"latency": "2"})
    assert httpx.get(on_b + "/__admin/settings").json()["latency"] == "2"
    assert httpx.get(b.url + "/__admin/settings").json()["latency"] == "0"  # not the default's
    httpx.post(on_a + "/__admin/scenarios/customer-360-unavailable")
    url = f"{on_b}/assistedservicewebservices/customers/{JAMES}"
    assert httpx.get(url, params={"baseSite": SITE}, headers=headers).status_code == 503
    journal = httpx.get(on_b + "/__admin/requests").json()["requests"]
    assert journal[0]["path"].endswith(f"/customers/{JAMES}")
    assert any(entry["path"].endswith("/sessions") for entry in journal)  # answered by A
    httpx.post(on_b + "/__admin/reset", json={})
    assert httpx.get(on_a + "/__admin/settings").json()["latency"] == "0"
    assert httpx.get(url, params={"baseSite": SITE}, headers=headers).status_code == 200


def test_a_deleted_tenant_leaves_nothing_in_the_shared_store(
    a: AsmMockServer, b: AsmMockServer
) -> None:
    on_a, on_b = f"{a.url}/t/ci-gone", f"{b.url}/t/ci-gone"
    form = password_form("asagent", "pw4all", "mobile_android", "secret")
    headers = {
        "Authorization": f"Bearer {httpx.post(on_a + TOKEN_PATH, data=form).json()['access_token']}"
    }
    session = httpx.post(
        f"{on_a}/assistedservicewebservices/sessions",
        json={"customerId": JAMES, "baseSite": SITE},
        headers=headers,
    ).json()
    httpx.patch(on_a + "/__admin/settings", json={"latency": "3"})
    assert httpx.get(on_b + "/__admin/settings").json()["latency"] == "3"  # B holds it too
    assert httpx.delete(a.url + "/__admin/tenants/ci-gone").status_code == 200
    # made anew on first use, on either replica: no token, session, setting or entry survives
    agent = f"{on_b}/assistedservicewebservices/agents/asagent"
    assert_occ_error(httpx.get(agent, headers=headers), 401, "InvalidTokenError")
    headers = {
        "Authorization": f"Bearer {httpx.post(on_a + TOKEN_PATH, data=form).json()['access_token']}"
    }
    gone = httpx.get(
        f"{on_b}/assistedservicewebservices/sessions/{session['sessionId']}", headers=headers
    )
    assert_occ_error(gone, 404, "NotFoundError")
    assert httpx.get(on_b + "/__admin/settings").json()["latency"] == "0"
    journal = httpx.get(on_a + "/__admin/requests").json()["requests"]
    assert all(not entry["path"].endswith("/sessions") for entry in journal), journal
