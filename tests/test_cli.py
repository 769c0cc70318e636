"""The `asm-mock` command: options and environment, `check`, and a real server on a free port."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import click
import httpx
import pytest
from click.testing import CliRunner

from asm_mock import __version__, progress
from asm_mock.cli import (
    app_to_serve,
    command,
    configure_logging,
    exposure_warning,
    main,
    parse_settings,
)
from asm_mock.domain.disk_cache import default_cache_dir
from asm_mock.progress import TextProgress, world_progress
from asm_mock.settings import AuthMode, Settings
from asm_mock.testing import AsmMockServer
from tests.helpers import BASE


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
        app = app_to_serve(settings)
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
    assert f"option {argv[0]}:" in capsys.readouterr().err


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
    monkeypatch.setattr(progress, "LARGE_WORLD", 300)
    assert main(["check", "--customers", "300"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "asm-mock: building the world: 3/300 customers"  # a line each 10%
    assert lines[1] == "asm-mock: building the world: 30/300 customers"
    assert lines[-1] == "asm-mock: building the world: 300/300 customers"
    assert len(lines) == 11


def test_the_text_bar_redraws_one_line_on_a_terminal() -> None:
    terminal = _Terminal()
    bar = TextProgress(terminal)
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
    with world_progress(100) as progress:
        assert progress is not None
        progress(50, 100)
        progress(100, 100)
    assert terminal.getvalue()  # rich's bar when rich is installed, the text bar otherwise
    with world_progress(0) as nothing:
        assert nothing is None


def test_log_format_off_keeps_warnings_but_not_the_access_log() -> None:
    import logging

    logger = logging.getLogger("asm_mock")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    try:
        configure_logging("off")
        assert not logging.getLogger("asm_mock.access").isEnabledFor(logging.INFO)
        assert logging.getLogger("asm_mock.access").isEnabledFor(logging.WARNING)
        configure_logging("json")
        assert logging.getLogger("asm_mock.access").isEnabledFor(logging.INFO)
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved
    _, settings = parse_settings(["serve", "--log-format", "off"])
    assert settings.log_format == "off"


# -- every refusal: one line on stderr naming the option (and its variable), exit status 2 -----

FILE = Path(__file__)  # a regular file: no directory can be made under it, even by root


def _refusal(args: list[str], env: dict[str, str] | None = None) -> str:
    """The one stderr line of `asm-mock ARGS` run in-process, after checking it is one line."""
    result = CliRunner().invoke(command, args, env=env)
    assert result.exit_code == 2, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit)  # exited, nothing raised
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("asm-mock: "), result.stderr
    assert result.stdout == ""
    return lines[0]


@pytest.mark.parametrize(
    ("args", "option", "problem"),
    [
        (["--port", "70000"], "--port", "must be a TCP port (0-65535), got 70000"),
        (["--latency", "300-50"], "--latency", "'300-50'"),
        (["--error-rate", "2"], "--error-rate", "between 0 and 1, got '2'"),
        (["--fixtures", "/nope"], "--fixtures", "'/nope' is not a directory"),
        (["check", "--fixtures", str(FILE)], "--fixtures", "is not a directory"),
        (["check", "--scenario", "nope"], "--scenario", "no scenario 'nope'"),
        (["--seed", "abc"], "--seed", "'abc' is not a whole number"),
        (["check", "--customers", "-1"], "--customers", "must be >= 0, got -1"),
        (["--auth", "bogus"], "--auth", "'bogus' is not one of strict, permissive"),
        (["--log-format", "x"], "--log-format", "'x' is not one of text, json, off"),
        (["--journal-size", "0"], "--journal-size", "must be >= 1, got 0"),
        (["--cors-origins", "not an origin"], "--cors-origins", "'not an origin' is not an"),
        (["--cache-dir", str(FILE / "cache")], "--cache-dir", "is a file"),
        (["check", "--cache-dir", str(FILE)], "--cache-dir", "is not a directory"),
    ],
)
def test_a_bad_option_is_one_line_naming_it(args: list[str], option: str, problem: str) -> None:
    line = _refusal(args)
    assert line.startswith(f"asm-mock: error: option {option}: ")
    assert problem in line


@pytest.mark.parametrize(
    ("variable", "value", "command_name", "problem"),
    [
        ("ASM_MOCK_CUSTOMERS", "abc", "check", "'abc' is not a whole number"),
        ("ASM_MOCK_LATENCY", "abc", "serve", "'abc'"),
        ("ASM_MOCK_SCENARIO", "nope", "check", "no scenario 'nope'"),
        ("ASM_MOCK_SCENARIO", "vip-customer,nope", "serve", "no scenario 'nope'"),
        ("ASM_MOCK_PORT", "70000", "serve", "must be a TCP port"),
        ("ASM_MOCK_SEED", "", "check", "'' is not a whole number"),
        ("ASM_MOCK_ERROR_RATE", "nan", "serve", "between 0 and 1"),
        ("ASM_MOCK_FIXTURES", "/nope", "check", "'/nope' is not a directory"),
        ("ASM_MOCK_AUTH", "maybe", "serve", "'maybe' is not one of"),
        ("ASM_MOCK_LOG_FORMAT", "xml", "serve", "'xml' is not one of"),
        ("ASM_MOCK_JOURNAL_SIZE", "-1", "serve", "must be >= 1"),
        ("ASM_MOCK_CORS_ORIGINS", "example.com", "serve", "is not an origin"),
        ("ASM_MOCK_CACHE_DIR", str(FILE), "check", "is not a directory"),
    ],
)
def test_a_bad_variable_is_one_line_naming_it_and_its_option(
    variable: str, value: str, command_name: str, problem: str
) -> None:
    option = "--" + variable.removeprefix("ASM_MOCK_").lower().replace("_", "-")
    line = _refusal([command_name], env={variable: value})
    assert line.startswith(f"asm-mock: error: {variable} (option {option}): ")
    assert problem in line


def test_the_command_line_is_blamed_when_it_overrides_a_good_variable() -> None:
    line = _refusal(["--port", "-1"], env={"ASM_MOCK_PORT": "1234"})
    assert line.startswith("asm-mock: error: option --port: ")


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--bogus"], "No such option '--bogus'"),
        (["check", "--port", "1"], "No such option '--port'"),
        (["--port"], "Option '--port' requires an argument"),
        (["frob"], "No such command 'frob'"),
        (["check", "extra"], "unexpected extra argument (extra)"),
    ],
)
def test_bad_usage_is_one_line_too(args: list[str], problem: str) -> None:
    line = _refusal(args)
    assert line.startswith("asm-mock: error: ") and line.endswith("(see asm-mock --help)")
    assert problem in line


def test_an_address_serve_cannot_listen_on_is_refused_before_the_world_is_built() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        line = _refusal(["--port", port, "--cache-dir", ""])
    assert line.startswith("asm-mock: error: option --port: cannot listen on 127.0.0.1:")
    # 192.0.2.0/24 is TEST-NET-1: never an address of this machine
    line = _refusal(["--host", "192.0.2.1", "--port", "0"], env={"ASM_MOCK_HOST": "x"})
    assert line.startswith("asm-mock: error: option --host: cannot listen on 192.0.2.1:0")


def test_a_bad_fixture_file_found_while_building_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "agents.yaml").write_text("agents:\n  - uid: x\n    gropus: [a]\n")
    line = _refusal(["check", "--customers", "0", "--cache-dir", "", "--fixtures", str(tmp_path)])
    assert "agents.yaml" in line and "gropus" in line


def test_a_usable_cache_dir_is_accepted_and_the_default_stays_best_effort(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    deeper = tmp_path / "not" / "yet"
    assert parse_settings(["--cache-dir", str(deeper)])[1].cache_dir == deeper
    monkeypatch.delenv("ASM_MOCK_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(FILE))  # unusable, but nobody asked for it
    assert parse_settings([])[1].cache_dir == FILE / "asm-mock"


def test_empty_variables_mean_what_empty_options_mean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CACHE_DIR", "SCENARIO", "CORS_ORIGINS", "FIXTURES"):
        monkeypatch.setenv(f"ASM_MOCK_{name}", "")
    settings = parse_settings([])[1]
    assert (settings.cache_dir, settings.scenarios, settings.cors_origins) == (None, (), ())
    assert settings.fixtures is None  # the packaged fixtures


@pytest.mark.parametrize("command_name", ["serve", "check"])
def test_help_shows_each_options_environment_variable(command_name: str) -> None:
    result = CliRunner().invoke(command, [command_name, "--help"])
    assert result.exit_code == 0
    options = next(c for n, c in command.commands.items() if n == command_name).params
    flags = [o for o in options if isinstance(o, click.Option) and o.envvar]
    assert len(flags) >= 5
    for option in flags:
        assert f"env var: {option.envvar}" in " ".join(result.stdout.split())
    top = CliRunner().invoke(command, ["--help"])
    assert top.exit_code == 0 and "asm-mock serve --help" in top.stdout


def test_version_and_options_without_a_command() -> None:
    result = CliRunner().invoke(command, ["--version"])
    assert (result.exit_code, result.stdout) == (0, f"asm-mock {__version__}\n")
    assert parse_settings(["--port", "1234"]) == (
        "serve",
        replace(parse_settings([])[1], port=1234),
    )


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["--port", "70000"], {}, "option --port:"),
        (["check"], {"ASM_MOCK_CUSTOMERS": "abc"}, "ASM_MOCK_CUSTOMERS (option --customers):"),
    ],
)
def test_python_m_asm_mock_refuses_in_one_line_without_a_traceback(
    args: list[str], env: dict[str, str], named: str
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ASM_MOCK_")}
    run = subprocess.run(
        [sys.executable, "-m", "asm_mock", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **env},
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert len(run.stderr.splitlines()) == 1 and named in run.stderr, run.stderr
    assert run.stdout == ""


def test_a_multi_line_problem_found_while_building_is_one_line(tmp_path: Path) -> None:
    for fixture in (FILE.parents[1] / "fixtures").glob("*.yaml"):
        (tmp_path / fixture.name).write_text(fixture.read_text())
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "broken.yaml").write_text("settings: [\n")
    line = _refusal(
        ["check", "--customers", "0", "--cache-dir", "", "--fixtures", str(tmp_path)],
        env={"ASM_MOCK_SCENARIO": "broken"},
    )
    assert line.startswith("asm-mock: broken.yaml: ") and "invalid YAML" in line


def test_the_readme_lists_every_option_with_its_variable() -> None:
    readme = (FILE.parents[1] / "README.md").read_text()
    options = {
        p for c in command.commands.values() for p in c.params if isinstance(p, click.Option)
    }
    assert options
    for option in options:
        flag = max(option.opts, key=len)
        assert f"| `{flag}` | `{option.envvar}`" in readme, flag
