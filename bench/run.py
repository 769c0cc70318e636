"""`make bench`: asm-mock and Prism side by side, on loopback. A benchmark, never a test.

Start-up time (spawn -> first 200 to the customer search, and spawn -> first refusal of an
invalid search: the validation stack may load after the happy path), wrk throughput and latency
per operation (with the non-2xx count: a fast server that answers errors is not fast), world build
time and RSS by world size, search latency in a 100k-customer world, what the pytest plugin's
fixtures cost a test, and memory per idle tenant. The "grown" part runs chosen operations again
with both servers serving a grown revision of the contract (asm-mock's `--contract`;
grown_contract.py makes it). Prints
tables and writes bench/results/<UTC timestamp>.json; `--only startup` (or operations, grown,
world, fixtures, tenants, proxy) runs one part; "proxy" is the validating proxy's overhead: the
p50 of requests through `asm-mock proxy` to a local asm-mock minus the p50 of asking it
directly. Servers start through asm_mock.testing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from grown_contract import NEW_OPERATION_PATH, write_grown

from asm_mock.resources import contract_path
from asm_mock.testing import (
    AGENT_CREDENTIALS,
    API_PATH,
    TOKEN_PATH,
    AsmMockServer,
    MockServerError,
    RedisServer,
    ServerProcess,
    free_port,
    json_answer,
    password_form,
    scrubbed_environment,
)

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
ASM_MOCK = ROOT / ".venv" / "bin" / "asm-mock"
PRISM = BENCH / "node_modules" / ".bin" / "prism"
# Prism logs ~6 lines per request at its default "info"; asm-mock serves at uvicorn's "warning"
# (no access log), so Prism runs at "warn" too: neither pays for per-request logging.
PRISM_LOG_LEVEL = "warn"
BASE_PATH = API_PATH  # asm-mock's; Prism serves the paths without it
CUSTOMER = "james.weber@example.com"
# a path, or the wrk script that drives the operation
OPERATIONS: dict[str, str] = {
    "search": "/customers/search?query=a&baseSite=electronics-spa",
    "search, new query each time": "search_varying.lua",
    "360": f"/customers/{CUSTOMER}?baseSite=electronics-spa",
    "carts": f"/customers/{CUSTOMER}/carts?baseSite=electronics-spa",
    "agent": "/agents/asagent",
    "session cycle": "session_cycle.lua",
}
# The grown contract's rows: the operations whose answers grew (search entries, the 360 view's
# orders, the agent), and the operation it adds, which asm-mock answers from the contract.
GROWN_OPERATIONS: dict[str, str] = {
    "search": OPERATIONS["search"],
    "360": OPERATIONS["360"],
    "agent": OPERATIONS["agent"],
    "coupons (new operation)": NEW_OPERATION_PATH.replace("{customerId}", CUSTOMER)
    + "?baseSite=electronics-spa",
}
# What the grown contract adds to each row's answer ("a[]": every item of a non-empty array a):
# a row is only worth its req/s if the answer shows them, optional ones included.
GROWN_FIELDS: dict[str, tuple[str, ...]] = {
    "search": ("entries[].loyaltyTier",),
    "360": ("recentOrders[].shipping.carrier",),
    "agent": ("phone", "region"),
    "coupons (new operation)": ("coupons",),
}
# Start-up probes. Readiness: the "search" row's request answered 200. Every path ready: the same
# search with a pageSize the contract refuses (the contract types it integer, with no minimum, so
# 0 or -1 would be accepted by Prism) answered with any 4xx.
READY_PATH = OPERATIONS["search"]
REFUSED_PATH = READY_PATH + "&pageSize=x"
POLL_S = 0.01
# the demo agent's password grant (asm-mock's default OAuth client; README, Demo accounts)
AGENT_LOGIN = password_form(**AGENT_CREDENTIALS)
SEARCH_QUERIES = ["a", "we", "mar", "son", "lin", "example", "ber", "an", "mu", "ch", "wolf", "e"]
Result = dict[str, Any]


def ensure_tools() -> None:
    if shutil.which("wrk") is None:
        print("installing wrk (apt-get)", flush=True)
        subprocess.run("apt-get update -qq && apt-get install -y -qq wrk", shell=True, check=True)
    if not PRISM.exists():
        print("installing Prism (npm ci --prefix bench)", flush=True)
        subprocess.run(["npm", "ci", "--prefix", str(BENCH)], check=True)


@dataclass(frozen=True)
class Refusal:
    """Spawn -> the first 4xx answer to an invalid search; `early` counts, by status, the answers
    that came before it (e.g. 200s: the refusal not yet in place)."""

    seconds: float
    status: int
    early: dict[int, int]


class Server:
    """One server process on loopback, launched by `asm_mock.testing.ServerProcess` (in its own
    process group: Prism's npm wrapper has children). `start()` returns seconds from spawn to
    the first 200 to the customer search; `first_refusal()` then the seconds from spawn to the
    first 4xx to an invalid one. `oauth`: log in at the token endpoint first (else any bearer
    token will do)."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        port: int,
        prefix: str,
        oauth: bool,
        ready_on_any_answer: bool = False,
    ) -> None:
        self.name, self.argv, self.port, self.prefix = name, list(argv), port, prefix
        self.oauth = oauth
        # a throughput-only run waits for the server to answer, not for it to answer 200: a
        # server that answers a revision with errors is still measured (and its errors counted)
        self.ready_on_any_answer = ready_on_any_answer
        self.token = "x"
        self.process: ServerProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> float:
        self.process = ServerProcess(
            self.argv,
            port=self.port,
            ready=self._answers_the_search,
            name=self.name,
            cwd=ROOT,
            timeout=timeout,
            poll_s=POLL_S,
            own_session=True,
        )
        return self.process.start()

    def _answers_the_search(self, client: httpx.Client) -> bool:
        if self.oauth and self.token == "x":
            login = client.post(TOKEN_PATH, data=AGENT_LOGIN)
            if login.status_code != 200:
                return False
            self.token = str(login.json()["access_token"])
        status = self._search(client, READY_PATH).status_code
        return status == 200 or self.ready_on_any_answer

    def first_refusal(self) -> Refusal:
        """Call right after `start()`; its timeout counts from the same spawn."""
        assert self.process is not None
        early: Counter[int] = Counter()
        refusals: list[int] = []

        def refused(client: httpx.Client) -> bool:
            status = self._search(client, REFUSED_PATH).status_code
            if 400 <= status < 500:
                refusals.append(status)
                return True
            early[status] += 1
            return False

        seconds = self.process.wait_until(refused)
        return Refusal(seconds, refusals[0], dict(early))

    def _search(self, client: httpx.Client, path: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return client.get(self.prefix + path, headers=headers)

    def rss_kib(self) -> dict[str, int]:
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return {k: int(v) for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M)}

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            process.close()


def asm_mock(
    port: int,
    customers: int = 200,
    cache_dir: Path | None = None,
    contract: Path | None = None,
    options: Sequence[str] = (),
    name: str | None = None,
) -> Server:
    # no access log, as Prism runs at log level warn
    cache = ["--cache-dir", str(cache_dir)] if cache_dir is not None else []
    if contract is not None:
        cache += ["--contract", str(contract)]
    argv = [
        str(ASM_MOCK),
        "serve",
        *cache,
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
        "--log-format",
        "off",
    ]
    name = name or ("asm-mock" if contract is None else "asm-mock --contract")
    argv += ["--customers", str(customers), *options]
    return Server(name, argv, port, BASE_PATH, oauth=True, ready_on_any_answer=contract is not None)


def prism(port: int, contract: Path | None = None) -> Server:
    argv = [str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), "-v", PRISM_LOG_LEVEL]
    document = "openapi.yaml" if contract is None else str(contract)
    return Server("Prism", [*argv, document], port, "", oauth=False)


def to_ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def parse_wrk(output: str) -> Result:
    def number(pattern: str) -> float:
        found = re.search(pattern, output, re.M)
        return float(found.group(1)) if found else 0.0

    def percentile(p: int) -> float | None:
        found = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
        return to_ms(*found.groups()) if found else None

    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "requests": int(number(r"(\d+) requests in")),
        "rps": number(r"^Requests/sec:\s+([\d.]+)"),
        "p50_ms": percentile(50),
        "p99_ms": percentile(99),
        "non_2xx_3xx": int(number(r"Non-2xx or 3xx responses:\s+(\d+)")),
        "socket_errors": socket_errors.group(1).strip() if socket_errors else None,
        "session_requests": (re.findall(r"Session requests sent: (.*)", output) or [None])[0],
    }


def wrk(server: Server, path: str, token: str, seconds: int) -> Result:
    """wrk against `path` (an operation's path, or its wrk script)."""
    command = ["wrk", "-t1", "-c16", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if path.endswith(".lua"):
        command += ["-s", str(BENCH / path), server.url, "--", server.prefix, token]
    else:
        command += ["-H", f"Authorization: Bearer {token}", server.url + server.prefix + path]
    run = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if run.returncode != 0:
        raise RuntimeError(f"wrk failed for {server.name} {path}: {run.stderr}")
    return parse_wrk(run.stdout)


def start_both(server: Server) -> Result:
    """Start `server` and wait for both start-up figures, in ms from spawn."""
    first_api_ms = server.start() * 1000
    refusal = server.first_refusal()
    return {
        "first_api_ms": first_api_ms,
        "every_path_ms": refusal.seconds * 1000,
        "refusal_status": refusal.status,
        "answers_before_refusal": {str(k): n for k, n in sorted(refusal.early.items())},
    }


def measure_startups(starts: int = 3) -> Result:
    """Median of `starts` starts each, of spawn -> first 200 to the search ("first_api") and
    spawn -> first 4xx to an invalid search ("every_path"); asm-mock's first start, with its
    name-pool cache still empty (as on a fresh machine), is reported on its own."""
    results: Result = {
        "probes": {
            "first_api": f"GET [{BASE_PATH}]{READY_PATH} -> 200, bearer token "
            f"(asm-mock's from POST {TOKEN_PATH} -> 200; Prism: any, no base path)",
            "every_path": f"then GET [{BASE_PATH}]{REFUSED_PATH} -> any 4xx",
            "poll_ms": POLL_S * 1000,
        }
    }
    with tempfile.TemporaryDirectory() as cache:
        first = asm_mock(free_port(), cache_dir=Path(cache))
        try:
            empty_cache = start_both(first)
        finally:
            first.stop()
        factories: dict[str, Callable[[], Server]] = {
            "asm-mock": lambda: asm_mock(free_port(), cache_dir=Path(cache))
        }
        factories["Prism"] = lambda: prism(free_port())
        for name, factory in factories.items():
            runs = []
            for _ in range(starts):
                server = factory()
                try:
                    runs.append(start_both(server))
                finally:
                    server.stop()
            results[name] = {
                "first_api_median_ms": statistics.median(r["first_api_ms"] for r in runs),
                "every_path_median_ms": statistics.median(r["every_path_ms"] for r in runs),
                "runs": runs,
            }
    results["asm-mock"]["empty_cache"] = empty_cache
    return results


def measure_operations(
    seconds: int,
    rounds: int,
    operations: dict[str, str] = OPERATIONS,
    contract: Path | None = None,
    fields: dict[str, tuple[str, ...]] | None = None,
    servers: Sequence[Server] = (),
) -> list[Result]:
    """Per operation, `rounds` rounds of wrk, asm-mock then Prism in each: a round's two runs are
    minutes closer in time than two whole passes would be, so this shared machine's drift weighs
    on both alike. A server's figures are those of its median round; the ratio is the median of
    the rounds' ratios. `contract`: both serve that revision instead of the packaged one;
    `fields`: per operation, the fields one answer of each server is checked for; `servers`:
    others than asm-mock and Prism (Prism last)."""
    servers = servers or [asm_mock(free_port(), contract=contract), prism(free_port(), contract)]
    try:
        for server in servers:
            server.start()
            server.first_refusal()  # every check on before the first wrk run
        rows = []
        for operation, path in operations.items():
            # rows name asm-mock (whatever options it runs with) and Prism by role, the others
            # (another store, workers) by their server's name
            labels = ["asm-mock", *(server.name for server in servers[1:-1]), "Prism"]
            runs: dict[str, list[Result]] = {label: [] for label in labels}
            for server in servers:
                wrk(server, path, server.token, 1)  # warm-up, discarded
            for round_number in range(1, rounds + 1):
                for server, name in zip(servers, runs, strict=True):
                    print(f"  wrk {operation} -> {server.name}, round {round_number}", flush=True)
                    runs[name].append(wrk(server, path, server.token, seconds))
            row = operation_row(operation, runs)
            for server, name in zip(servers, runs, strict=True):
                if fields is not None and not path.endswith(".lua"):
                    row[name]["sample"] = sample(server, path, fields[operation])
            rows.append(row)
        return rows
    finally:
        for server in servers:
            server.stop()


def sample(server: Server, path: str, fields: Sequence[str]) -> Result:
    """One answer's status, and which of `fields` it shows."""
    headers = {"Authorization": f"Bearer {server.token}"}
    answer = httpx.get(server.url + server.prefix + path, headers=headers, timeout=30)
    try:
        document = answer.json()
    except ValueError:
        document = None
    return {"status": answer.status_code, "shows": {f: shows(document, f) for f in fields}}


def shows(document: Any, field: str) -> bool:
    """Whether `document` holds `field` ("a.b", "a[].b": in every item of a non-empty a)."""
    name, _, rest = field.partition(".")
    if not isinstance(document, dict) or name.removesuffix("[]") not in document:
        return False
    value = document[name.removesuffix("[]")]
    if name.endswith("[]"):
        return isinstance(value, list) and bool(value) and all(shows(v, rest) for v in value)
    return shows(value, rest) if rest else True


def operation_row(operation: str, runs: dict[str, list[Result]]) -> Result:
    row: Result = {"operation": operation}
    for name, results in runs.items():
        by_rps = sorted(results, key=lambda r: r["rps"])
        row[name] = {
            **by_rps[len(by_rps) // 2],
            "rps_rounds": [r["rps"] for r in results],
            "non_2xx_3xx": sum(r["non_2xx_3xx"] for r in results),  # every round's, not one's
        }
    ratios = [
        asm["rps"] / prism["rps"]
        for asm, prism in zip(runs["asm-mock"], runs["Prism"], strict=True)
        if prism["rps"]
    ]
    row["ratio_rounds"] = ratios
    row["ratio"] = statistics.median(ratios) if ratios else None
    row["ratios"] = {  # each server's req/s over Prism's, the median of the rounds' ratios
        name: statistics.median(
            mine["rps"] / theirs["rps"]
            for mine, theirs in zip(results, runs["Prism"], strict=True)
            if theirs["rps"]
        )
        for name, results in runs.items()
        if name != "Prism"
    }
    return row


REDIS = "asm-mock --store redis"
WORKERS = "asm-mock --store redis --workers 2"
PROPAGATION_SAMPLES = 20


def measure_replicas(seconds: int, rounds: int) -> Result:
    """The operations rows again with asm-mock on a Redis store (one process, then 2 workers)
    beside asm-mock's memory store and Prism; then how long a run-time change made on one
    replica takes to show on another (the README's 100 ms promise), over HTTP."""
    with RedisServer() as redis:
        store = ["--store", redis.url]
        servers = [
            asm_mock(free_port()),
            asm_mock(free_port(), options=store, name=REDIS),
            asm_mock(free_port(), options=[*store, "--workers", "2"], name=WORKERS),
            prism(free_port()),
        ]
        rows = measure_operations(seconds, rounds, servers=servers)
        return {"rows": rows, "propagation": measure_propagation(redis.url)}


def measure_propagation(store: str) -> Result:
    """ms from sending a change to replica A until replica B's admin API shows it, polled."""
    options = ["--store", store]
    a, b = (asm_mock(free_port(), options=options, name=f"replica {n}") for n in "AB")
    try:
        for server in (a, b):
            server.start()
            server.first_refusal()  # Connexion's stack (the admin API's too) loaded
        with httpx.Client(base_url=a.url) as on_a, httpx.Client(base_url=b.url) as on_b:

            def settings_shown(latency: str) -> bool:
                return str(on_b.get("/__admin/settings").json()["latency"]) == latency

            def timed(change: Callable[[], object], shown: Callable[[], bool]) -> float:
                started = time.perf_counter()
                change()
                while not shown():
                    pass
                return (time.perf_counter() - started) * 1000

            settings, resets = [], []
            for i in range(PROPAGATION_SAMPLES):
                latency = str(i % 7 + 1)
                settings.append(
                    timed(
                        lambda latency=latency: on_a.patch(  # type: ignore[misc]
                            "/__admin/settings", json={"latency": latency}
                        ),
                        lambda latency=latency: settings_shown(latency),  # type: ignore[misc]
                    )
                )
                resets.append(
                    timed(lambda: on_a.post("/__admin/reset", json={}), lambda: settings_shown("0"))
                )
        return {
            name: {
                "median_ms": statistics.median(samples),
                "max_ms": max(samples),
                "samples": len(samples),
            }
            for name, samples in (("settings", settings), ("reset", resets))
        }
    finally:
        for server in (a, b):
            server.stop()


def measure_grown(seconds: int, rounds: int) -> list[Result]:
    """The grown rows: both servers serve the same grown revision of the packaged contract."""
    with tempfile.TemporaryDirectory(prefix="grown-contract-") as folder:
        contract = write_grown(contract_path(), Path(folder) / "openapi.grown.yaml")
        return measure_operations(seconds, rounds, GROWN_OPERATIONS, contract, GROWN_FIELDS)


def search_latency(server: Server, token: str, count: int = 240) -> Result:
    """Sequential searches, each a (query, page) pair not asked before: asm-mock memoizes
    answers per world, and a repeated query would measure the memo, not the search."""
    headers = {"Authorization": f"Bearer {token}"}
    times, statuses = [], []
    with httpx.Client(base_url=server.url + server.prefix, headers=headers, timeout=30) as client:
        for i in range(count):
            query = SEARCH_QUERIES[i % len(SEARCH_QUERIES)]
            page = i // len(SEARCH_QUERIES)
            params = {"query": query, "baseSite": "electronics-spa", "currentPage": str(page)}
            started = time.perf_counter()
            answer = client.get("/customers/search", params=params)
            times.append((time.perf_counter() - started) * 1000)
            statuses.append(answer.status_code)
    cuts = statistics.quantiles(times, n=100)
    non_2xx = sum(not 200 <= s < 400 for s in statuses)
    return {"requests": count, "p50_ms": cuts[49], "p99_ms": cuts[98], "non_2xx_3xx": non_2xx}


def measure_world(sizes: Sequence[int]) -> tuple[list[Result], Result | None]:
    rows, search = [], None
    for customers in sizes:
        print(f"  world of {customers} customers", flush=True)
        started = time.perf_counter()
        check = [str(ASM_MOCK), "check", "--customers", str(customers)]
        subprocess.run(check, cwd=ROOT, check=True, capture_output=True, timeout=600)
        row: Result = {"customers": customers, "check_s": time.perf_counter() - started}
        server = asm_mock(free_port(), customers)
        try:
            row["serve_first_api_answer_s"] = server.start(timeout=600)
            row["serve_every_path_s"] = server.first_refusal().seconds
            memory = server.rss_kib()  # with every path loaded
            row["rss_mib"] = memory["VmRSS"] / 1024
            row["peak_rss_mib"] = memory["VmHWM"] / 1024
            if customers == max(sizes):
                search = {"customers": customers, **search_latency(server, server.token)}
        finally:
            server.stop()
        rows.append(row)
    return rows, search


# -- the pytest plugin's fixtures: what each costs a test --------------------------------------

FIXTURE_TARGETS_MS = {"asm_mock_app": 5.0, "asm_mock_server": 20.0}
AGENT_PATH = BASE_PATH + "/agents/asagent"
# A downstream suite in miniature: one request per test, each file's tests alike but for how the
# mock is reached. The bare tests use a client made once per session (what a test costs without
# the fixture); their difference in median per-test time (setup + call + teardown, as pytest
# reports it) is the fixture's overhead. Built once per session, the mocks' first tests carry
# the build: the median leaves them out.
FIXTURE_SUITE = {
    "conftest.py": f"""
import json
import os
import warnings
from collections import defaultdict
from pathlib import Path

import httpx
import pytest

from asm_mock.testing import AGENT_CREDENTIALS, AsmMockServer, ThreadedASGITransport

AGENT = {AGENT_PATH!r}
SPENT = defaultdict(float)


def pytest_runtest_logreport(report):
    SPENT[report.nodeid] += report.duration


def pytest_sessionfinish(session):
    Path(os.environ["FIXTURE_BENCH_OUT"]).write_text(json.dumps(SPENT))


@pytest.fixture(scope="session")
def bare_app_client():
    from asm_mock.http.app import create_app

    app = create_app()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        app.load_fully()
    transport = ThreadedASGITransport(app)
    form = {{"grant_type": "password", **AGENT_CREDENTIALS}}
    token = transport.run(app.service.tokens.grant(form))
    headers = {{"Authorization": "Bearer " + token.token.access_token}}
    with httpx.Client(transport=transport, base_url="http://mock", headers=headers) as client:
        yield client


@pytest.fixture(scope="session")
def http():
    with httpx.Client(trust_env=False) as client:
        yield client


@pytest.fixture(scope="session")
def bare_server():
    with AsmMockServer() as server:
        yield server.api_url, server.headers()
""",
    "test_app_bare.py": """
def test_one_request(bare_app_client, n):
    assert bare_app_client.get(AGENT).status_code == 200
""",
    "test_app_fixture.py": """
def test_one_request(asm_mock_app, n):
    assert asm_mock_app.sync_client.get(AGENT).status_code == 200
""",
    "test_server_bare.py": """
def test_one_request(http, bare_server, n):
    api, headers = bare_server
    assert http.get(api + "/agents/asagent", headers=headers).status_code == 200
""",
    "test_server_fixture.py": """
def test_one_request(http, asm_mock_server, n):
    headers = asm_mock_server.headers()  # tokens do not outlive a test: each logs in
    assert http.get(asm_mock_server.api_url + "/agents/asagent", headers=headers).status_code == 200
""",
}
FIXTURE_FILES = {  # fixture -> (the file using it, the bare file it is compared with)
    "asm_mock_app": ("test_app_fixture.py", "test_app_bare.py"),
    "asm_mock_server": ("test_server_fixture.py", "test_server_bare.py"),
}


def measure_fixtures(tests: int) -> Result:
    """Run the generated suite (`tests` tests per file) in a pytest subprocess; per fixture, the
    median per-test time with it, without it, and their difference."""
    with tempfile.TemporaryDirectory(prefix="fixture-bench-") as folder:
        suite = Path(folder)
        parametrize = (
            f"import pytest\n\npytestmark = pytest.mark.parametrize('n', range({tests}))\n"
        )
        for name, text in FIXTURE_SUITE.items():
            preamble = "" if name == "conftest.py" else parametrize + "from conftest import AGENT\n"
            (suite / name).write_text(preamble + text)
        out = suite / "durations.json"
        env = {**scrubbed_environment(), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        env["FIXTURE_BENCH_OUT"] = str(out)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "asm_mock", "-p", "no:cacheprovider"]
        run = subprocess.run(
            [*command, "-W", "ignore::DeprecationWarning", str(suite)],
            cwd=suite,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if run.returncode != 0:
            raise RuntimeError(f"the fixture suite failed:\n{run.stdout[-4000:]}{run.stderr}")
        spent: dict[str, float] = json.loads(out.read_text())
    results: Result = {"tests_per_file": tests}
    for fixture, (with_it, bare) in FIXTURE_FILES.items():
        with_ms = statistics.median(v * 1000 for k, v in spent.items() if k.startswith(with_it))
        bare_ms = statistics.median(v * 1000 for k, v in spent.items() if k.startswith(bare))
        results[fixture] = {
            "with_fixture_median_ms": with_ms,
            "without_median_ms": bare_ms,
            "overhead_ms": with_ms - bare_ms,
            "target_ms": FIXTURE_TARGETS_MS[fixture],
        }
    return results


def report_fixtures(fixtures: Result) -> None:
    rows = []
    for fixture in FIXTURE_FILES:
        f = fixtures[fixture]
        met = f["overhead_ms"] <= f["target_ms"]
        rows.append(
            [
                fixture,
                fmt(f["with_fixture_median_ms"], 2),
                fmt(f["without_median_ms"], 2),
                fmt(f["overhead_ms"], 2),
                f"<= {fmt(f['target_ms'], 0)}",
                "met" if met else f"missed by {fmt(f['overhead_ms'] - f['target_ms'], 2)}",
            ]
        )
    headers = ["fixture", "with it ms", "without ms", "overhead ms", "target ms", ""]
    show(
        f"pytest fixtures: median ms per one-request test, {fixtures['tests_per_file']} each",
        headers,
        rows,
    )
    print("  per test: setup + call + teardown; without: a client made once per session")
    print("  asm_mock_server's tests log in (headers()): a reset drops every token")


IDLE_TENANTS = 100  # as many as --max-tenants allows by default


def _tenant_login(client: httpx.Client, name: str) -> None:
    """One request that makes tenant `name`: its agent logs in (one token in its store)."""
    answer = client.post(f"/t/{name}{TOKEN_PATH}", data=AGENT_LOGIN)
    answer.raise_for_status()


def traced_tenants_kib() -> float:
    """KiB that Python allocates for the idle tenants (tracemalloc, in this process), per tenant."""
    import tracemalloc

    from asm_mock.http.app import create_app
    from asm_mock.testing import ThreadedASGITransport

    app = create_app(cache_dir=None)
    app.load_fully()
    transport = ThreadedASGITransport(app)
    with httpx.Client(transport=transport, base_url="http://127.0.0.1:9002") as client:
        _tenant_login(client, "warm-up")  # the code paths' first-time costs, not a tenant's
        app.tenants.remove("warm-up")
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        for number in range(IDLE_TENANTS):
            _tenant_login(client, f"idle-{number}")
        grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename"))
        tracemalloc.stop()
    return grown / 1024 / IDLE_TENANTS


def measure_tenants() -> Result:
    """Memory per idle tenant: a live server's RSS growth over 100 tenants (one login each),
    and what Python allocates for them in-process."""
    server = asm_mock(free_port())
    try:
        server.start()
        with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as client:
            _tenant_login(client, "warm-up")
            client.delete("/__admin/tenants/warm-up").raise_for_status()
            before = server.rss_kib()["VmRSS"]
            for number in range(IDLE_TENANTS):
                _tenant_login(client, f"idle-{number}")
            after = server.rss_kib()["VmRSS"]
            live = len(client.get("/__admin/tenants").json()["tenants"])
    finally:
        server.stop()
    return {
        "tenants": live,
        "rss_growth_kib_per_tenant": (after - before) / IDLE_TENANTS,
        "traced_kib_per_tenant": traced_tenants_kib(),
    }


def report_tenants(tenants: Result) -> None:
    rss, traced = tenants["rss_growth_kib_per_tenant"], tenants["traced_kib_per_tenant"]
    show(
        f"memory per idle tenant: {tenants['tenants']} tenants, one login each "
        "(target <= 1 MiB each)",
        ["measure", "KiB per tenant"],
        [
            ["server RSS growth", fmt(rss, 1)],
            ["Python allocations (tracemalloc, in-process)", fmt(traced, 1)],
        ],
    )


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def show(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
        print(f"\n{title}")
        for r in [headers, ["-" * w for w in widths], *rows]:
            cells = (c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))
            print("  ".join([r[0].ljust(widths[0]), *cells]))
        return
    table = Table(title=title, title_justify="left")
    for i, header in enumerate(headers):
        table.add_column(header, justify="left" if i == 0 else "right")
    for r in rows:
        table.add_row(*r)
    print()
    Console(width=max(shutil.get_terminal_size().columns, 160)).print(table)


def report_operations(results: Result, part: str = "operations", title: str = "") -> None:
    seconds, rounds = results["seconds"], results.get("rounds", 1)
    rows = []
    for row in results[part]:
        cells = [row["operation"]]
        for name in ("asm-mock", "Prism"):
            r = row[name]
            cells += [fmt(r["rps"], 0), fmt(r["p50_ms"], 2), fmt(r["p99_ms"], 2)]
            cells.append(str(r["non_2xx_3xx"]))
        cells.append(fmt(row["ratio"], 2) + "x" if row["ratio"] else "-")
        cells.append(" / ".join(fmt(ratio, 1) for ratio in row.get("ratio_rounds", [])))
        rows.append(cells)
    headers = ["operation", "asm req/s", "asm p50", "asm p99", "asm non-2xx"]
    headers += ["Prism req/s", "Prism p50", "Prism p99", "Prism non-2xx", "asm/Prism"]
    headers.append("each round")
    show(
        f"{title}wrk -t1 -c16 -d{seconds}s on loopback, {rounds} interleaved rounds per "
        "operation: each server's median round; asm/Prism is the median of the rounds' ratios; "
        "latencies in ms",
        headers,
        rows,
    )
    print("  non-2xx: every round's; session cycle: req/s counts requests, 3 per cycle")
    for row in results[part]:
        for name in ("asm-mock", "Prism"):
            if "sample" in row[name]:
                found = row[name]["sample"]
                fields = ", ".join(f"{f} {'yes' if s else 'no'}" for f, s in found["shows"].items())
                print(f"  {row['operation']} {name}: one answer {found['status']}; {fields}")
        if row["asm-mock"]["non_2xx_3xx"]:
            print(f"  {row['operation']}: asm-mock's req/s counts error answers, not served ones")
        for name in ("asm-mock", "Prism"):
            if row[name]["session_requests"]:
                print(f"  {row['operation']} {name}: {row[name]['session_requests']}")
            if row[name]["socket_errors"]:
                print(f"  {row['operation']} {name}: socket errors {row[name]['socket_errors']}")


def report_replicas(results: Result) -> None:
    seconds, rounds = results["seconds"], results.get("rounds", 1)
    names = ("asm-mock", REDIS, WORKERS)
    rows = []
    for row in results["replicas"]["rows"]:
        cells = [row["operation"]]
        cells += [fmt(row[name]["rps"], 0) for name in (*names, "Prism")]
        cells += [fmt(row["ratios"][name], 2) + "x" for name in names]
        cells.append(str(sum(row[name]["non_2xx_3xx"] for name in names)))
        rows.append(cells)
    headers = ["operation", "memory req/s", "redis req/s", "redis 2 workers req/s"]
    headers += ["Prism req/s", "memory/Prism", "redis/Prism", "2 workers/Prism", "asm non-2xx"]
    show(
        f"asm-mock's stores side by side: wrk -t1 -c16 -d{seconds}s, {rounds} interleaved "
        "rounds; ratios: the median of the rounds' ratios to Prism (target: redis >= 2x)",
        headers,
        rows,
    )
    for name, p in results["replicas"]["propagation"].items():
        print(
            f"  {name} on replica A shown by replica B's admin API: median "
            f"{fmt(p['median_ms'], 1)} ms, max {fmt(p['max_ms'], 1)} ms ({p['samples']} changes)"
        )


def refusals(runs: Sequence[Result]) -> str:
    """The refusal statuses, and any answers to the invalid search that came before them."""
    statuses = ", ".join(sorted({str(r["refusal_status"]) for r in runs}))
    early: Counter[str] = Counter()
    for r in runs:
        early.update(r["answers_before_refusal"])
    before = ", ".join(f"{n} x {status}" for status, n in sorted(early.items()))
    return statuses + (f" (answered before it: {before})" if before else "")


def report_startup(startup: Result) -> None:
    probes = startup["probes"]
    rows = []
    for name in ("asm-mock", "Prism"):
        s, runs = startup[name], startup[name]["runs"]
        rows.append(
            [
                name,
                fmt(s["first_api_median_ms"], 0),
                ", ".join(fmt(r["first_api_ms"], 0) for r in runs),
                fmt(s["every_path_median_ms"], 0),
                ", ".join(fmt(r["every_path_ms"], 0) for r in runs),
                refusals(runs),
            ]
        )
    empty = startup["asm-mock"]["empty_cache"]
    rows.append(
        [
            "asm-mock, empty cache",
            fmt(empty["first_api_ms"], 0),
            "1 start",
            fmt(empty["every_path_ms"], 0),
            "1 start",
            refusals([empty]),
        ]
    )
    headers = ["server", "first API answer ms", "runs", "every path ms", "runs", "refused with"]
    title = (
        "start-up, ms from spawn, median of 3 starts (asm-mock's name-pool cache warm, "
        "but for its first start, on a fresh machine's empty cache)"
    )
    show(title, headers, rows)
    print(f"  first API answer: {probes['first_api']}")
    print(f"  every path: {probes['every_path']}; both polled every {probes['poll_ms']:.0f} ms")


PROXY_PATHS = {"agent": OPERATIONS["agent"], "search": OPERATIONS["search"]}


def proxy_latencies(url: str, path: str, token: str, count: int) -> list[float]:
    headers = {"Authorization": f"Bearer {token}"}
    times = []
    with httpx.Client(base_url=url + API_PATH, headers=headers, trust_env=False) as client:
        for _ in range(count):
            started = time.perf_counter()
            answer = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            if answer.status_code != 200:
                raise MockServerError(f"{url}{path} answered {answer.status_code}")
    return times


def measure_proxy(rounds: int, requests: int = 400) -> list[Result]:
    """Sequential requests on one kept-alive connection, direct and through the proxy
    interleaved per round, so both see the same machine."""
    with AsmMockServer("--log-format", "off") as upstream:
        port = free_port()
        command = [str(ASM_MOCK), "proxy", "--upstream", upstream.base_url, "--log-format", "off"]
        with ServerProcess(
            [*command, "--port", str(port)],
            port=port,
            ready=json_answer("/__admin/ready"),
            name="asm-mock proxy",
        ) as proxy:
            token = upstream.token()
            rows = []
            for name, path in PROXY_PATHS.items():
                direct: list[float] = []
                through: list[float] = []
                proxy_latencies(proxy.base_url, path, token, 50)  # warm both up
                for _ in range(rounds):
                    direct += proxy_latencies(upstream.base_url, path, token, requests)
                    through += proxy_latencies(proxy.base_url, path, token, requests)
                p50_direct, p50_through = statistics.median(direct), statistics.median(through)
                rows.append(
                    {
                        "operation": name,
                        "requests": len(direct),
                        "direct_p50_ms": p50_direct,
                        "proxy_p50_ms": p50_through,
                        "overhead_p50_ms": p50_through - p50_direct,
                    }
                )
    return rows


def report_proxy(rows: Sequence[Result]) -> None:
    show(
        "proxy overhead (asm-mock proxy -> local asm-mock, sequential, kept-alive; target <= 2 ms)",
        ["operation", "requests each", "direct p50 ms", "proxy p50 ms", "overhead p50 ms"],
        [
            [
                r["operation"],
                str(r["requests"]),
                fmt(r["direct_p50_ms"], 2),
                fmt(r["proxy_p50_ms"], 2),
                fmt(r["overhead_p50_ms"], 2),
            ]
            for r in rows
        ],
    )


def report_world(world: Sequence[Result], search: Result | None) -> None:
    world_rows = [
        [
            f"{w['customers']:,}",
            fmt(w["check_s"], 2),
            fmt(w["serve_first_api_answer_s"], 2),
            fmt(w["serve_every_path_s"], 2),
            fmt(w["rss_mib"], 0),
            fmt(w["peak_rss_mib"], 0),
        ]
        for w in world
    ]
    headers = ["customers", "check s", "serve first API answer s", "every path s", "RSS MiB"]
    show("asm-mock world size", [*headers, "peak RSS MiB"], world_rows)
    if search:
        print(
            f"\nsearch at {search['customers']:,} customers over HTTP, {search['requests']} "
            f"sequential searches, no (query, page) asked twice: "
            f"p50 {fmt(search['p50_ms'], 2)} ms, p99 {fmt(search['p99_ms'], 2)} ms, "
            f"non-2xx {search['non_2xx_3xx']}"
        )


def report(results: Result) -> None:
    if "operations" in results:
        report_operations(results)
    if "grown" in results:
        title = "asm-mock --contract and Prism, serving one grown contract (grown_contract.py): "
        report_operations(results, "grown", title)
    if "startup" in results:
        report_startup(results["startup"])
    if "world" in results:
        report_world(results["world"], results["search_latency"])
    if "fixtures" in results:
        report_fixtures(results["fixtures"])
    if "replicas" in results:
        report_replicas(results)
    if "tenants" in results:
        report_tenants(results["tenants"])
    if "proxy" in results:
        report_proxy(results["proxy"])


PARTS = ("startup", "operations", "grown", "world", "fixtures", "replicas", "tenants", "proxy")


def measure(results: Result, args: argparse.Namespace, sizes: Sequence[int]) -> None:
    parts = results["parts"]
    if "startup" in parts:
        print("start-up times", flush=True)
        results["startup"] = measure_startups()
    if "operations" in parts:
        print("operations", flush=True)
        results["operations"] = measure_operations(args.seconds, args.rounds)
    if "grown" in parts:
        print("operations, grown contract", flush=True)
        results["grown"] = measure_grown(args.seconds, args.rounds)
    if "world" in parts:
        print("world sizes", flush=True)
        results["world"], results["search_latency"] = measure_world(sizes)
    if "fixtures" in parts:
        print(f"pytest fixtures, {args.fixture_tests} tests per file", flush=True)
        results["fixtures"] = measure_fixtures(args.fixture_tests)
    if "replicas" in parts:
        print("operations with the Redis store, one process and 2 workers", flush=True)
        results["replicas"] = measure_replicas(args.seconds, args.rounds)
    if "tenants" in parts:
        print(f"memory per idle tenant, {IDLE_TENANTS} tenants", flush=True)
        results["tenants"] = measure_tenants()
    if "proxy" in parts:
        print("proxy overhead", flush=True)
        results["proxy"] = measure_proxy(args.rounds)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--seconds",
        type=int,
        default=int(os.environ.get("BENCH_SECONDS", "5")),
        help="seconds of one wrk run (default 5; env BENCH_SECONDS)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=int(os.environ.get("BENCH_ROUNDS", "5")),
        help="wrk rounds per operation and server, interleaved (default 5; env BENCH_ROUNDS)",
    )
    parser.add_argument(
        "--customers", default="200,10000,100000", help="world sizes, comma-separated"
    )
    parser.add_argument(
        "--fixture-tests",
        type=int,
        default=100,
        help="generated one-request tests per file in the fixtures part (default 100)",
    )
    parser.add_argument("--only", choices=PARTS, help="run one part of the bench")
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.customers.split(",")]
    parts = [args.only] if args.only else list(PARTS)
    begun = time.perf_counter()
    versions = {"python": platform.python_version()}
    if set(parts) & {"startup", "operations", "grown", "replicas"}:  # with Prism and wrk
        ensure_tools()
        prism_version = subprocess.run([str(PRISM), "--version"], capture_output=True, text=True)
        versions["prism"] = prism_version.stdout.strip()
    results: Result = {
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "parts": parts,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "versions": versions,
        "prism_log_level": PRISM_LOG_LEVEL,
        "cpus": os.cpu_count(),
    }
    try:
        measure(results, args, sizes)
    except MockServerError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    results["total_s"] = time.perf_counter() - begun
    report(results)
    out = BENCH / "results" / (results["timestamp"].replace(":", "") + ".json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n{results['total_s']:.0f} s in all; results in {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
