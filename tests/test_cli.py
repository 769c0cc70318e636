"""The `asm-mock` command: options and environment, `check`, and a real server on a free port."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from asm_mock import cli
from asm_mock.cli import exposure_warning, main, parse_settings
from asm_mock.domain.disk_cache import default_cache_dir
from asm_mock.settings import AuthMode, Settings
from asm_mock.testing import AsmMockServer
from tests.conftest import BASE


def test_defaults_are_the_documented_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASM_MOCK_CACHE_DIR", raising=False)
    command, settings = parse_settings([])
    assert command == "serve"
    # the command line caches Faker's name pools; library use (Settings()) does not
    assert settings == Settings(cache_dir=default_cache_dir())
    assert (settings.host, settings.port, settings.customers) == ("127.0.0.1", 9002, 200)


def test_the_name_pool_cache_can_be_moved_or_switched_off(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ASM_MOCK_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert parse_settings([])[1].cache_dir == tmp_path / "asm-mock"
    assert parse_settings(["--cache-dir", "~/x"])[1].cache_dir == Path.home() / "x"
    assert parse_settings(["--cache-dir", ""])[1].cache_dir is None
    monkeypatch.setenv("ASM_MOCK_CACHE_DIR", "")
    assert parse_settings(["check"])[1].cache_dir is None


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


def test_check_also_builds_connexions_stack_which_serving_loads_later() -> None:
    """Serving answers before Connexion has loaded; `check` must still prove it accepts the
    contract, so it waits for the stack."""
    probe = (
        "import sys\n"
        "from asm_mock.cli import main\n"
        "code = main(['check', '--customers', '5', '--cache-dir', ''])\n"
        "print(code, 'connexion.middleware.main' in sys.modules)\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert run.stdout.split()[-2:] == ["0", "True"], run.stderr


def test_check_reports_a_stack_that_cannot_load_once_and_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asm_mock.http.connexion_stack as stack

    def broken(**_apps: object) -> object:
        raise RuntimeError("Connexion refused the document")

    monkeypatch.setattr(stack, "connexion_apps", broken)
    assert main(["check", "--customers", "5", "--cache-dir", ""]) == 2
    out, err = capsys.readouterr()
    assert "asm-mock: Connexion could not serve the contract: Connexion refused" in err
    assert "contract OK" not in out


def test_check_names_file_path_and_problem_of_a_bad_fixture(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "agents.yaml").write_text("agents:\n  - uid: x\n    gropus: [a]\n")
    assert main(["check", "--fixtures", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "agents.yaml" in err and "/agents/0" in err and "gropus" in err


def test_the_served_world_is_frozen_out_of_the_cyclic_collectors_sight() -> None:
    import gc

    _, settings = parse_settings(["serve", "--customers", "5", "--cache-dir", ""])
    frozen_before = gc.get_freeze_count()
    try:
        app = cli._app_to_serve(settings)
        assert gc.get_freeze_count() > frozen_before
        world = app.service.world()
        assert not any(obj is world for obj in gc.get_objects())  # frozen: never walked again
    finally:
        gc.unfreeze()


def test_serve_answers_on_a_free_loopback_port() -> None:
    with AsmMockServer("--customers", "30") as server, httpx.Client(base_url=server.url) as client:
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


# -- --latency, --error-rate, --cors-origins ------------------------------------------------


def test_latency_error_rate_and_cors_origins_options() -> None:
    _, settings = parse_settings(
        [
            "--latency",
            "50-300",
            "--error-rate",
            "0.25",
            "--cors-origins",
            "https://app.example.com, http://localhost:*,https://app.example.com/",
        ]
    )
    assert settings.latency == "50-300"
    assert settings.error_rate == 0.25
    assert settings.cors_origins == ("https://app.example.com", "http://localhost:*")
    _, fixed = parse_settings(["--latency", " 120 ", "--cors-origins", "*"])
    assert (fixed.latency, fixed.cors_origins) == ("120", ("*",))
    _, none = parse_settings(["--cors-origins", ""])
    assert none.cors_origins == ()


def test_latency_error_rate_and_cors_origins_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ASM_MOCK_LATENCY", "10-20")
    monkeypatch.setenv("ASM_MOCK_ERROR_RATE", "1")
    monkeypatch.setenv("ASM_MOCK_CORS_ORIGINS", "http://[::1]:*,https://shop.example:8443")
    _, settings = parse_settings([])
    assert (settings.latency, settings.error_rate) == ("10-20", 1.0)
    assert settings.cors_origins == ("http://[::1]:*", "https://shop.example:8443")
    _, overridden = parse_settings(["--error-rate", "0"])
    assert overridden.error_rate == 0.0


def test_latency_and_error_rate_reach_the_controls() -> None:
    from asm_mock.domain.controls import Latency
    from asm_mock.http.app import create_app

    _, settings = parse_settings(["--latency", "50-300", "--error-rate", "0.1"])
    controls = create_app(settings, customers=0).controls.settings
    assert (controls.latency, controls.error_rate) == (Latency(50, 300), 0.1)


@pytest.mark.parametrize(
    "argv",
    [
        ["--latency", "fast"],
        ["--latency", "300-50"],
        ["--latency", "-5"],
        ["--latency", "70000"],
        ["--error-rate", "1.5"],
        ["--error-rate", "-0.1"],
        ["--error-rate", "nan"],
        ["--error-rate", "often"],
        ["--cors-origins", "localhost:3000"],
        ["--cors-origins", "http://localhost:*/app"],
        ["--cors-origins", "http://*.example.com"],
    ],
)
def test_bad_latency_error_rate_and_origins_are_refused(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_settings(argv)
    assert exited.value.code == 2
    assert f"argument {argv[0]}:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "value"),
    [("LATENCY", "soon"), ("ERROR_RATE", "2"), ("CORS_ORIGINS", "example.com")],
)
def test_bad_environment_values_are_refused_like_options(
    name: str, value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(f"ASM_MOCK_{name}", value)
    with pytest.raises(SystemExit) as exited:
        parse_settings([])
    assert exited.value.code == 2
    assert "--" + name.lower().replace("_", "-") in capsys.readouterr().err


# -- progress while a large world is built --------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_small_world_without_a_terminal_shows_no_progress(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", "--customers", "300"]) == 0
    assert capsys.readouterr().err == ""


def test_a_large_world_shows_progress_lines_without_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "_LARGE_WORLD", 300)
    assert main(["check", "--customers", "300"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "asm-mock: building the world: 3/300 customers"  # a line each 10%
    assert lines[1] == "asm-mock: building the world: 30/300 customers"
    assert lines[-1] == "asm-mock: building the world: 300/300 customers"
    assert len(lines) == 11


def test_the_text_bar_redraws_one_line_on_a_terminal() -> None:
    terminal = _Terminal()
    bar = cli._TextProgress(terminal)
    for done in range(0, 20_001, 2_000):
        bar(done, 20_000)
    bar.close()
    output = terminal.getvalue()
    assert output.count("\n") == 1 and output.endswith("100% 20000/20000 customers\n")
    assert output.count("\r") == 11
    assert "[###############...............]  50% 10000/20000" in output


def test_a_terminal_gets_a_progress_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with cli._world_progress(100) as progress:
        assert progress is not None
        progress(50, 100)
        progress(100, 100)
    assert terminal.getvalue()  # rich's bar when rich is installed, the text bar otherwise
    with cli._world_progress(0) as nothing:
        assert nothing is None


def test_log_format_off_keeps_warnings_but_not_the_access_log() -> None:
    import logging

    from asm_mock.cli import _configure_logging

    logger = logging.getLogger("asm_mock")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    try:
        _configure_logging("off")
        assert not logging.getLogger("asm_mock.access").isEnabledFor(logging.INFO)
        assert logging.getLogger("asm_mock.access").isEnabledFor(logging.WARNING)
        _configure_logging("json")
        assert logging.getLogger("asm_mock.access").isEnabledFor(logging.INFO)
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved
    _, settings = parse_settings(["serve", "--log-format", "off"])
    assert settings.log_format == "off"
