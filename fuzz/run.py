"""`make fuzz`: start asm-mock on a free loopback port, log in as an agent, run schemathesis.

Every check, every phase (examples, coverage, fuzzing, stateful), a fixed seed, a bounded number of
examples per operation. Exits with schemathesis' exit code, so any failure or error fails the run.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(base: str, server: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"asm-mock exited with {server.returncode} before answering")
        try:
            httpx.get(f"{base}/assistedservicewebservices/openapi.json", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise SystemExit(f"asm-mock did not answer within {timeout} s")


def agent_token(base: str) -> str:
    response = httpx.post(
        f"{base}/authorizationserver/oauth/token",
        data={
            "grant_type": "password",
            "client_id": "mobile_android",
            "client_secret": "secret",
            "username": "asagent",
            "password": "pw4all",
        },
        timeout=5,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=int(os.environ.get("FUZZ_EXAMPLES", 50)))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("FUZZ_SEED", 20260115)))
    parser.add_argument("--report-dir", default=str(ROOT / "fuzz" / "report"))
    args = parser.parse_args()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # The server's output goes to a file: a pipe nobody reads fills up and blocks the server.
    log = tempfile.TemporaryFile()
    server = subprocess.Popen(
        [str(BIN / "asm-mock"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_up(base, server)
        token = agent_token(base)
        command = [
            str(BIN / "schemathesis"),
            "--config-file", str(ROOT / "fuzz" / "schemathesis.toml"),
            "run", f"{base}/assistedservicewebservices/openapi.json",
            "--checks", "all",
            "--phases", "examples,coverage,fuzzing,stateful",
            "--header", f"Authorization: Bearer {token}",
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
        return subprocess.run(command, cwd=ROOT, check=False).returncode
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.seek(0)
        output = log.read()
        log.close()
        if b"Traceback" in output:
            print(output.decode(errors="replace")[-4000:], file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
