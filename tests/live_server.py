"""A real asm-mock process on a free loopback port, for tests that need real HTTP parsing."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from tests.conftest import BASE, TOKEN_URL


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class LiveServer:
    url: str
    port: int
    process: subprocess.Popen[bytes]

    def token(self, username: str = "asagent") -> str:
        response = httpx.post(
            self.url + TOKEN_URL,
            data={
                "grant_type": "password",
                "client_id": "mobile_android",
                "client_secret": "secret",
                "username": username,
                "password": "pw4all",
            },
        )
        response.raise_for_status()
        return str(response.json()["access_token"])


@contextmanager
def live_server(*options: str, timeout: float = 30) -> Iterator[LiveServer]:
    port = free_port()
    # Output goes to a file: a pipe nobody reads while the test runs fills up and blocks the server.
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "asm_mock",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *options,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise AssertionError(f"asm-mock exited early:\n{log.read().decode()}")
            assert time.monotonic() < deadline, "asm-mock did not come up"
            try:
                httpx.get(f"{url}{BASE}/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield LiveServer(url, port, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
