"""The `asm-mock` command: options and environment, `check`, and a real server on a free port."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from asm_mock.cli import exposure_warning, main, parse_settings
from asm_mock.settings import AuthMode, Settings
from tests.conftest import BASE
from tests.live_server import live_server


def test_defaults_are_the_documented_ones() -> None:
    command, settings = parse_settings([])
    assert command == "serve"
    assert settings == Settings()
    assert (settings.host, settings.port, settings.customers) == ("127.0.0.1", 9002, 200)


def test_options_and_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASM_MOCK_SEED", "7")
    monkeypatch.setenv("ASM_MOCK_AUTH", "permissive")
    _, settings = parse_settings(["serve", "--customers", "12", "--port", "0"])
    assert (settings.seed, settings.customers, settings.port) == (7, 12, 0)
    assert settings.auth is AuthMode.PERMISSIVE
    _, overridden = parse_settings(["--seed", "9"])
    assert overridden.seed == 9


@pytest.mark.parametrize("argv", [["--customers", "-1"], ["--port", "70000"], ["--auth", "maybe"]])
def test_bad_options_are_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_settings(argv)
    assert exited.value.code == 2
    assert "error" in capsys.readouterr().err


def test_check_builds_the_world_and_reports_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--customers", "25", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "contract OK, fixtures OK" in out and "seed 3" in out


def test_check_names_file_path_and_problem_of_a_bad_fixture(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "agents.yaml").write_text("agents:\n  - uid: x\n    gropus: [a]\n")
    assert main(["check", "--fixtures", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "agents.yaml" in err and "/agents/0" in err and "gropus" in err


def test_serve_answers_on_a_free_loopback_port() -> None:
    with live_server("--customers", "30") as server, httpx.Client(base_url=server.url) as client:
        search = client.get(
            f"{BASE}/customers/search",
            params={"query": "weber", "baseSite": "electronics-spa"},
            headers={"Authorization": f"Bearer {server.token()}"},
        )
        assert search.status_code == 200
        assert search.json()["entries"][0]["uid"] == "james.weber@example.com"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_binds_are_quiet(host: str) -> None:
    assert exposure_warning(host) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.org"])
def test_binding_beyond_loopback_warns_about_demo_credentials(host: str) -> None:
    warning = exposure_warning(host)
    assert warning is not None
    assert "DEMO credentials" in warning and host in warning
