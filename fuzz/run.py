"""`make fuzz`: start asm-mock (asm_mock.testing), log in as an agent, run schemathesis; then
again against asm-mock on a Redis store (a redis-server started here, stopped after).

Every check, every phase (examples, coverage, fuzzing, stateful), a fixed seed, a bounded number of
examples per operation. Exits with schemathesis' exit code, so any failure or error fails the run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from asm_mock.testing import AsmMockServer, MockServerError, RedisServer, redis_server_path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=int(os.environ.get("FUZZ_EXAMPLES", 50)))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("FUZZ_SEED", 20260115)))
    parser.add_argument("--report-dir", default=str(ROOT / "fuzz" / "report"))
    args = parser.parse_args()

    try:
        with AsmMockServer() as server:
            memory = fuzz(server, args)
        if redis_server_path() is None:
            in_ci = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
            print(
                "fuzz: redis-server is not installed (apt-get install redis-server): the Redis "
                "store is NOT fuzzed" + (", and CI=true fails the run" if in_ci else ""),
                file=sys.stderr,
            )
            return memory or (2 if in_ci else 0)
        with RedisServer() as redis, AsmMockServer("--store", redis.url) as server:
            print("fuzz: again, with the Redis store", flush=True)
            args.report_dir = str(Path(args.report_dir) / "redis")
            with_redis = fuzz(server, args)
        return memory or with_redis
    except MockServerError as error:
        print(f"fuzz: {error}", file=sys.stderr)
        return 2


def fuzz(server: AsmMockServer, args: argparse.Namespace) -> int:
    """schemathesis against `server`; its exit code. A traceback in the server's output is
    shown too: schemathesis sees a 500, the cause is only there."""
    command = [
        str(BIN / "schemathesis"),
        "--config-file", str(ROOT / "fuzz" / "schemathesis.toml"),
        "run", f"{server.api_url}/openapi.json",
        "--checks", "all",
        "--phases", "examples,coverage,fuzzing,stateful",
        "--header", f"Authorization: Bearer {server.token()}",
        "--seed", str(args.seed),
        "--max-examples", str(args.examples),
        "--request-timeout", "5",
        "--workers", "1",
        "--report", "junit",
        "--report-dir", args.report_dir,
    ]  # fmt: skip
    print(
        "running:",
        " ".join(c if "Bearer" not in c else "Authorization: Bearer ***" for c in command),
        flush=True,
    )
    returncode = subprocess.run(command, cwd=ROOT, check=False).returncode
    server.stop()
    output = server.stdout_text() + server.stderr_text()
    if "Traceback" in output:
        print(output[-4000:], file=sys.stderr)
    return returncode


if __name__ == "__main__":
    sys.exit(main())
