"""`make fuzz`: start asm-mock (asm_mock.testing), log in as an agent, run schemathesis; with
`--store redis`, against a mock whose state is in a redis-server started for the run.

Every check, every phase (examples, coverage, fuzzing, stateful), a fixed seed, a bounded number of
examples per operation. Exits with schemathesis' exit code, so any failure or error fails the run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
from pathlib import Path

from asm_mock.testing import (
    REDIS_MISSING,
    AsmMockServer,
    MockServerError,
    RedisServer,
    redis_server_path,
    running_in_ci,
)

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=int(os.environ.get("FUZZ_EXAMPLES", 50)))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("FUZZ_SEED", 20260115)))
    parser.add_argument("--report-dir", default=str(ROOT / "fuzz" / "report"))
    parser.add_argument(
        "--store",
        choices=("memory", "redis"),
        default=os.environ.get("FUZZ_STORE", "memory"),
        help="redis: the mock's state in a redis-server started for the run (env FUZZ_STORE)",
    )
    args = parser.parse_args()
    if args.store == "redis" and redis_server_path() is None:
        if running_in_ci():  # CI never skips the shared store
            print(f"fuzz: CI=true and {REDIS_MISSING}", file=sys.stderr)
            return 2
        print(f"fuzz: SKIPPED the run with --store redis: {REDIS_MISSING}", file=sys.stderr)
        return 0
    try:
        with contextlib.ExitStack() as stack:
            options: tuple[str, ...] = ()
            if args.store == "redis":
                options = ("--store", stack.enter_context(RedisServer()).url)
            server = stack.enter_context(AsmMockServer(*options))
            return fuzz(server, args)
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
