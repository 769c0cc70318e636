"""asm_mock.testing: the one launcher of servers for tests, fuzzing and benchmarks."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest

from asm_mock.testing import (
    AsmMockServer,
    MockServerError,
    ServerProcess,
    free_port,
    json_answer,
    scrubbed_environment,
)

# A static file server that ignores SIGTERM when asked to: only a kill stops it then.
STATIC_SERVER = """
import functools, http.server, signal, sys
if sys.argv[2] == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=".")
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), handler).serve_forever()
"""


def static_server(folder: Path, ready_path: str, *, mode: str = "plain") -> ServerProcess:
    port = free_port()
    return ServerProcess(
        [sys.executable, "-c", STATIC_SERVER, str(port), mode],
        port=port,
        ready=json_answer(ready_path),
        name="static",
        cwd=folder,
        timeout=3,
    )


def test_the_environment_loses_only_asm_mock_variables() -> None:
    given = {"ASM_MOCK_CUSTOMERS": "abc", "ASM_MOCK_SEED": "1", "PATH": "/bin", "HOME": "/h"}
    assert scrubbed_environment(given) == {"PATH": "/bin", "HOME": "/h"}


def test_asm_mock_variables_of_the_caller_never_reach_the_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ASM_MOCK_CUSTOMERS", "abc")  # inherited, `serve` would refuse to start
    monkeypatch.setenv("ASM_MOCK_AUTH", "permissive")
    with AsmMockServer("--customers", "5") as server:
        health = httpx.get(server.base_url + "/__admin/health", trust_env=False).json()
        assert health["authMode"] == "strict"
        agent = httpx.get(server.api_url + "/agents/asagent", headers=server.headers())
        assert agent.status_code == 200, agent.text


def test_ready_needs_a_200_with_json(tmp_path: Path) -> None:
    (tmp_path / "page.json").write_text("<html>not json</html>")
    with pytest.raises(MockServerError, match=r"static not ready \(the check did not hold\)"):
        static_server(tmp_path, "/page.json").start()
    (tmp_path / "ready.json").write_text('{"ok": true}')
    with static_server(tmp_path, "/ready.json") as server:
        assert server.running


def test_a_server_that_dies_is_reported_with_its_output(tmp_path: Path) -> None:
    port = free_port()
    dying = ServerProcess(
        [sys.executable, "-c", "import sys; sys.exit('cannot bind: port taken')"],
        port=port,
        ready=json_answer("/"),
        name="dying",
    )
    with pytest.raises(MockServerError, match=r"(?s)dying exited with 1.*cannot bind"):
        dying.start()
    assert not dying.running


def test_asm_mock_refusing_its_options_is_one_error_with_its_stderr() -> None:
    with pytest.raises(MockServerError, match=r"(?s)asm-mock exited with 2.*--customers"):
        with AsmMockServer("--customers", "abc"):
            pass


def test_stop_kills_what_ignores_terminate(tmp_path: Path) -> None:
    (tmp_path / "ready.json").write_text("{}")
    server = static_server(tmp_path, "/ready.json", mode="stubborn")
    server.start()
    pid = server.pid
    server.stop(timeout=0.5)
    assert server.returncode == -signal.SIGKILL
    assert not server.running
    assert not Path(f"/proc/{pid}").exists()
    server.close()


def test_a_server_that_died_after_starting_is_reported(tmp_path: Path) -> None:
    (tmp_path / "ready.json").write_text("{}")
    with static_server(tmp_path, "/ready.json") as server:
        server.ensure_running()
        os.kill(server.pid, signal.SIGKILL)
        while server.running:
            time.sleep(0.01)
        with pytest.raises(MockServerError, match=r"static exited on its own \(-9\)"):
            server.ensure_running()
