"""Redis stopped and restarted under load: two replicas answer only 2xx or the OCC 503 while it
is away, never a 500 or a hang, and serve in full once it is back, without a restart."""

from __future__ import annotations

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
