"""`make bench`: asm-mock and Prism side by side, on loopback. A benchmark, never a test.

Start-up time, wrk throughput and latency per operation (with the non-2xx count: a fast server
that answers errors is not fast), world build time and RSS by world size, and search latency in
a 100k-customer world. Prints tables and writes bench/results/<UTC timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
ASM_MOCK = ROOT / ".venv" / "bin" / "asm-mock"
PRISM = BENCH / "node_modules" / ".bin" / "prism"
# Prism logs ~6 lines per request at its default "info"; asm-mock serves at uvicorn's "warning"
# (no access log), so Prism runs at "warn" too: neither pays for per-request logging.
PRISM_LOG_LEVEL = "warn"
BASE_PATH = "/assistedservicewebservices"  # asm-mock's; Prism serves the paths without it
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
SEARCH_QUERIES = ["a", "we", "mar", "son", "lin", "example", "ber", "an", "mu", "ch", "wolf", "e"]
Result = dict[str, Any]


def ensure_tools() -> None:
    if shutil.which("wrk") is None:
        print("installing wrk (apt-get)", flush=True)
        subprocess.run("apt-get update -qq && apt-get install -y -qq wrk", shell=True, check=True)
    if not PRISM.exists():
        print("installing Prism (npm ci --prefix bench)", flush=True)
        subprocess.run(["npm", "ci", "--prefix", str(BENCH)], check=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """One server process on loopback; `start()` returns seconds from spawn to first answer."""

    def __init__(self, name: str, argv: Sequence[str], port: int, prefix: str) -> None:
        self.name, self.argv, self.port, self.prefix = name, list(argv), port, prefix
        self.process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> float:
        started = time.perf_counter()
        self.process = subprocess.Popen(
            self.argv, cwd=ROOT, stdout=self._log, stderr=self._log, start_new_session=True
        )
        with httpx.Client(timeout=1.0) as client:
            while time.perf_counter() - started < timeout:
                try:
                    client.get(self.url + "/")  # any status is an answer
                    return time.perf_counter() - started
                except httpx.TransportError:
                    if self.process.poll() is not None:
                        break
                    time.sleep(0.01)
        self.stop()
        self._log.seek(0)
        log = self._log.read().decode(errors="replace")[-2000:]
        raise RuntimeError(f"{self.name} did not answer within {timeout:.0f} s:\n{log}")

    def rss_kib(self) -> dict[str, int]:
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return {k: int(v) for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M)}

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)  # its own session: the group is ours alone
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def asm_mock(port: int, customers: int = 200, cache_dir: Path | None = None) -> Server:
    # no access log, as Prism runs at log level warn
    cache = ["--cache-dir", str(cache_dir)] if cache_dir is not None else []
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
    return Server("asm-mock", [*argv, "--customers", str(customers)], port, BASE_PATH)


def prism(port: int) -> Server:
    argv = [str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), "-v", PRISM_LOG_LEVEL]
    return Server("Prism", [*argv, "openapi.yaml"], port, "")


def agent_token(server: Server) -> str:
    form = {"grant_type": "password", "client_id": "mobile_android", "client_secret": "secret"}
    form |= {"username": "asagent", "password": "pw4all"}
    answer = httpx.post(server.url + "/authorizationserver/oauth/token", data=form, timeout=10)
    answer.raise_for_status()
    return str(answer.json()["access_token"])


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


def wrk(server: Server, operation: str, token: str, seconds: int) -> Result:
    command = ["wrk", "-t1", "-c16", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    path = OPERATIONS[operation]
    if path.endswith(".lua"):
        command += ["-s", str(BENCH / path), server.url, "--", server.prefix, token]
    else:
        command += ["-H", f"Authorization: Bearer {token}", server.url + server.prefix + path]
    run = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if run.returncode != 0:
        raise RuntimeError(f"wrk failed for {server.name} {operation}: {run.stderr}")
    return parse_wrk(run.stdout)


def measure_startups(starts: int = 3) -> Result:
    """Median of `starts` starts each; asm-mock's first start, with its name-pool cache still
    empty (as on a fresh machine), is reported on its own."""
    medians: Result = {}
    with tempfile.TemporaryDirectory() as cache:
        first = asm_mock(free_port(), cache_dir=Path(cache))
        try:
            first_ms = first.start() * 1000
        finally:
            first.stop()
        factories: dict[str, Callable[[], Server]] = {
            "asm-mock": lambda: asm_mock(free_port(), cache_dir=Path(cache))
        }
        factories["Prism"] = lambda: prism(free_port())
        for name, factory in factories.items():
            times = []
            for _ in range(starts):
                server = factory()
                try:
                    times.append(server.start() * 1000)
                finally:
                    server.stop()
            medians[name] = {"median_ms": statistics.median(times), "runs_ms": times}
    medians["asm-mock"]["empty_cache_ms"] = first_ms
    return medians


def measure_operations(seconds: int) -> list[Result]:
    servers = [asm_mock(free_port()), prism(free_port())]
    try:
        for server in servers:
            server.start()
        tokens = {"asm-mock": agent_token(servers[0]), "Prism": "x"}
        rows = []
        for operation in OPERATIONS:
            row: Result = {"operation": operation}
            for server in servers:
                print(f"  wrk {operation} -> {server.name}", flush=True)
                wrk(server, operation, tokens[server.name], 1)  # warm-up, discarded
                row[server.name] = wrk(server, operation, tokens[server.name], seconds)
            prism_rps = row["Prism"]["rps"]
            row["ratio"] = row["asm-mock"]["rps"] / prism_rps if prism_rps else None
            rows.append(row)
        return rows
    finally:
        for server in servers:
            server.stop()


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
            row["serve_first_answer_s"] = server.start(timeout=600)
            memory = server.rss_kib()
            row["rss_mib"] = memory["VmRSS"] / 1024
            row["peak_rss_mib"] = memory["VmHWM"] / 1024
            if customers == max(sizes):
                search = {"customers": customers, **search_latency(server, agent_token(server))}
        finally:
            server.stop()
        rows.append(row)
    return rows, search


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


def report(results: Result) -> None:
    seconds = results["seconds"]
    rows = []
    for row in results["operations"]:
        cells = [row["operation"]]
        for name in ("asm-mock", "Prism"):
            r = row[name]
            cells += [fmt(r["rps"], 0), fmt(r["p50_ms"], 2), fmt(r["p99_ms"], 2)]
            cells.append(str(r["non_2xx_3xx"]))
        rows.append([*cells, fmt(row["ratio"], 2) + "x" if row["ratio"] else "-"])
    headers = ["operation", "asm req/s", "asm p50", "asm p99", "asm non-2xx"]
    headers += ["Prism req/s", "Prism p50", "Prism p99", "Prism non-2xx", "asm/Prism req/s"]
    show(f"wrk -t1 -c16 -d{seconds}s on loopback; latencies in ms", headers, rows)
    print("  session cycle: req/s counts requests, 3 per cycle (POST, GET, DELETE)")
    for row in results["operations"]:
        for name in ("asm-mock", "Prism"):
            if row[name]["session_requests"]:
                print(f"  {row['operation']} {name}: {row[name]['session_requests']}")
            if row[name]["socket_errors"]:
                print(f"  {row['operation']} {name}: socket errors {row[name]['socket_errors']}")
    startup = results["startup"]
    show(
        "start-up: spawn -> first HTTP answer, 3 starts (asm-mock's name-pool cache warm)",
        ["server", "median ms", "runs ms"],
        [
            [name, fmt(s["median_ms"], 0), ", ".join(fmt(t, 0) for t in s["runs_ms"])]
            for name, s in startup.items()
        ],
    )
    print(
        f"  asm-mock's first start, name-pool cache empty (a fresh machine): "
        f"{fmt(startup['asm-mock']['empty_cache_ms'], 0)} ms"
    )
    world_rows = [
        [
            f"{w['customers']:,}",
            fmt(w["check_s"], 2),
            fmt(w["serve_first_answer_s"], 2),
            fmt(w["rss_mib"], 0),
            fmt(w["peak_rss_mib"], 0),
        ]
        for w in results["world"]
    ]
    headers = ["customers", "check s", "serve first answer s", "RSS MiB", "peak RSS MiB"]
    show("asm-mock world size", headers, world_rows)
    if search := results["search_latency"]:
        print(
            f"\nsearch at {search['customers']:,} customers over HTTP, {search['requests']} "
            f"sequential searches, no (query, page) asked twice: "
            f"p50 {fmt(search['p50_ms'], 2)} ms, p99 {fmt(search['p99_ms'], 2)} ms, "
            f"non-2xx {search['non_2xx_3xx']}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", "10")))
    parser.add_argument(
        "--customers", default="200,10000,100000", help="world sizes, comma-separated"
    )
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.customers.split(",")]
    begun = time.perf_counter()
    ensure_tools()
    prism_version = subprocess.run([str(PRISM), "--version"], capture_output=True, text=True)
    results: Result = {
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seconds": args.seconds,
        "versions": {"python": platform.python_version(), "prism": prism_version.stdout.strip()},
        "prism_log_level": PRISM_LOG_LEVEL,
        "cpus": os.cpu_count(),
    }
    print("start-up times", flush=True)
    results["startup"] = measure_startups()
    print("operations", flush=True)
    results["operations"] = measure_operations(args.seconds)
    print("world sizes", flush=True)
    results["world"], results["search_latency"] = measure_world(sizes)
    results["total_s"] = time.perf_counter() - begun
    report(results)
    out = BENCH / "results" / (results["timestamp"].replace(":", "") + ".json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n{results['total_s']:.0f} s in all; results in {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
