"""Redis stopped and restarted under load: two replicas answer only 2xx or the OCC 503 while it
is away, never a 500 or a hang, and serve in full once it is back, without a restart."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter

import httpx

from asm_mock.testing import TOKEN_PATH, AsmMockServer, RedisServer, password_form
from tests.helpers import assert_occ_error

SITE = "electronics-spa"
JAMES = "james.weber@example.com"
# the store's timeout (1 s by default) plus slack for a loaded machine: an answer slower than
# this is a hang, and fails the request with httpx's timeout
ANSWER_DEADLINE_S = 6.0
PERMISSIVE = {"Authorization": "Bearer anything"}  # permissive auth: no token to lose


class Load(threading.Thread):
    """Session starts and searches, round robin over the replicas, until stopped."""

    def __init__(self, *servers: AsmMockServer) -> None:
        super().__init__(daemon=True)
        self.servers = servers
        self.statuses: Counter[int] = Counter()
        self.unexpected: list[str] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        clients = [
            httpx.Client(base_url=s.api_url, timeout=ANSWER_DEADLINE_S, headers=PERMISSIVE)
            for s in self.servers
        ]
        i = 0
        while not self.stopping.is_set():
            client = clients[i % len(clients)]
            i += 1
            try:
                if i % 2:
                    answer = client.post("/sessions", json={"customerId": JAMES, "baseSite": SITE})
                else:
                    answer = client.get(
                        "/customers/search", params={"baseSite": SITE, "query": "james"}
                    )
            except httpx.HTTPError as error:  # a hang (timeout) or a dropped connection
                self.unexpected.append(repr(error))
                continue
            self.statuses[answer.status_code] += 1
            if answer.status_code == 503:
                try:
                    assert_occ_error(answer, 503, "ServiceUnavailableError")
                except AssertionError as error:
                    self.unexpected.append(str(error))
            elif answer.status_code not in (200, 201):
                self.unexpected.append(f"{answer.status_code} {answer.text}")
        for client in clients:
            client.close()


def counted(load: Load, seconds: float) -> Counter[int]:
    before = Counter(load.statuses)
    time.sleep(seconds)
    return load.statuses - before


def test_redis_stopped_and_restarted_under_load() -> None:
    with RedisServer() as redis:
        options = ("--store", redis.url, "--customers", "20", "--auth", "permissive")
        with AsmMockServer(*options) as a, AsmMockServer(*options) as b:
            load = Load(a, b)
            load.start()
            try:
                before = counted(load, 1.0)
                redis.stop()
                away = counted(load, 3.0)
                redis.start()  # the same port, empty
                time.sleep(2.0)  # the clients' pools reconnect on their next command
                after = counted(load, 2.0)
            finally:
                load.stopping.set()
                load.join()
            print(f"answers before {dict(before)}, away {dict(away)}, after {dict(after)}")
            assert load.unexpected == []
            assert set(before) == {200, 201}
            assert away[503] > 0  # session starts needed the store
            assert set(after) == {200, 201}
            # full service: a token, a session, the journal, a reset reaching the other replica
            token = httpx.post(
                a.url + TOKEN_PATH,
                data=password_form("asagent", "pw4all", "mobile_android", "secret"),
            )
            assert token.status_code == 200
            assert httpx.get(b.url + "/__admin/requests").status_code == 200
            a.reset()
            assert httpx.get(b.url + "/__admin/health").json()["sessions"] == 0


def test_a_replica_killed_mid_request_leaves_no_half_written_session() -> None:
    """SIGKILL lands while A is starting and ending sessions: every session B then reads is
    whole, the agent has at most one ACTIVE one, and B goes on starting and ending them."""
    with RedisServer() as redis:
        options = ("--store", redis.url, "--customers", "20", "--auth", "permissive")
        with AsmMockServer(*options) as a, AsmMockServer(*options) as b:
            hammering = [Load(a) for _ in range(4)]
            for load in hammering:
                load.start()
            time.sleep(1.5)
            os.kill(a.pid, signal.SIGKILL)  # no shutdown: whatever A was writing stops there
            for load in hammering:
                load.stopping.set()
                load.join()
            assert sum(load.statuses[201] for load in hammering) > 0  # A was mid-work
            state = httpx.get(b.url + "/__admin/state")
            assert state.status_code == 200, state.text
            sessions = state.json()["sessions"]
            active = [s for s in sessions if s["status"] == "ACTIVE"]
            assert len(active) <= 1, active
            whole = {"sessionId", "agentId", "customerId", "baseSite", "status"}
            assert sessions and all(whole <= s.keys() for s in sessions), sessions[:2]
            assert {(s["agentId"], s["customerId"]) for s in sessions} == {
                (sessions[0]["agentId"], sessions[0]["customerId"])
            }
            with httpx.Client(base_url=b.api_url, headers=PERMISSIVE) as on_b:
                started = on_b.post("/sessions", json={"customerId": JAMES, "baseSite": SITE})
                assert started.status_code == 201, started.text
                session = started.json()["sessionId"]
                assert on_b.get(f"/sessions/{session}").json()["status"] == "ACTIVE"
                assert on_b.delete(f"/sessions/{session}").json()["status"] == "ENDED"
            after = httpx.get(b.url + "/__admin/state").json()["sessions"]
            assert [s for s in after if s["status"] == "ACTIVE"] == []
