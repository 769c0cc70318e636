"""`asm-mock`: serve the mock, check the contract and fixtures without serving, or wait until
a mock is ready.

Each option is declared once, in `cli_options`."""

from __future__ import annotations

import errno
import gc
import ipaddress
import logging
import os
import socket
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from asm_mock import __version__
from asm_mock.cli_options import (
    check_together,
    drift_options,
    error_line,
    proxy_options,
    refuse,
    report_options,
    serve_options,
    settings_from,
    wait_options,
    world_options,
)
from asm_mock.domain.errors import AsmMockError
from asm_mock.progress import world_progress
from asm_mock.settings import Settings, settings_from_json, settings_json

if TYPE_CHECKING:
    from asm_mock.http.app import AsmMockApp

__all__ = [
    "app_to_serve",
    "command",
    "configure_logging",
    "exposure_warning",
    "main",
    "parse_settings",
    "worker_app",
]

WORKER_SETTINGS = "ASM_MOCK_WORKER_SETTINGS_JSON"  # the parent's parsed settings, for workers


class _AsmMockCommand(click.Group):
    """`asm-mock`: options without a command serve, and a refused value is one line on stderr
    and exit status 2, never click's usage text or a traceback."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0].startswith("-") and args[0] not in _TOP_LEVEL_FLAGS:
            args = ["serve", *args]
        return super().parse_args(ctx, args)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """As click's, but the exit status of a refusal is returned too when not standalone."""
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as error:
            click.echo(error_line(error), err=True)
            result = 2
        except click.Abort:
            click.echo("asm-mock: interrupted", err=True)
            result = 130
        if standalone_mode:  # click's own exits 0 whatever the command returned
            sys.exit(result if isinstance(result, int) else 0)
        return result


_TOP_LEVEL_FLAGS = ("-h", "--help", "--version")
_EPILOG = "Each option can also be set by its environment variable; the command line wins."
_PARSE_ONLY = object()  # as the context's obj: a command returns its settings instead of running


@click.group(
    cls=_AsmMockCommand,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Options without a command serve. `asm-mock serve --help` lists them, each with "
    "its ASM_MOCK_* environment variable.",
)
@click.version_option(
    __version__, "--version", prog_name="asm-mock", message="%(prog)s %(version)s"
)
def command() -> None:
    """Contract-first mock of SAP Commerce Cloud's ASM API."""


def _invoke(ctx: click.Context, name: str) -> object:
    settings = settings_from(ctx.params)
    check_together(ctx, settings)
    if ctx.find_root().obj is _PARSE_ONLY:
        return name, settings
    try:
        if name == "check":
            return _check(settings)
        _check_listening(ctx, settings)
        _check_store(ctx, settings)
        return _serve(settings)
    except AsmMockError as error:  # a bad fixture or scenario file, found while building
        print("asm-mock:", *str(error).split(), file=sys.stderr)  # a YAML error spans lines
        return 2


@command.command(params=[*serve_options(), *world_options()], epilog=_EPILOG)
@click.pass_context
def serve(ctx: click.Context, /, **_values: object) -> object:
    """Serve the mock (the default command)."""
    return _invoke(ctx, "serve")


@command.command(params=world_options(), epilog=_EPILOG)
@click.pass_context
def check(ctx: click.Context, /, **_values: object) -> object:
    """Validate the contract and fixtures, build the world, and exit."""
    return _invoke(ctx, "check")


@command.command(params=wait_options(), epilog=_EPILOG)
def wait(url: str, timeout: float, admin_token: str | None) -> int:
    """Wait until a mock serves everything (GET /__admin/ready answers 200): exit 0, or 1
    with the last problem after --timeout seconds."""
    from asm_mock.wait import READY_PATH, wait_until_ready

    started = time.monotonic()
    last = wait_until_ready(url, timeout=timeout, token=admin_token)
    if last.ready:
        print(f"asm-mock at {url} is ready ({time.monotonic() - started:.1f} s)", flush=True)
        return 0
    waited = "" if last.final else f" after {timeout:g} s"
    print(f"asm-mock: not ready{waited}: {url}{READY_PATH}: {last.why}", file=sys.stderr)
    return 1


@command.command(params=report_options(), epilog=_EPILOG)
def report(
    url: str, output_format: str, fail_on: tuple[str, ...] | None, admin_token: str | None
) -> int:
    """Print a mock's client conformance report (GET /__admin/report): requests that broke
    the contract, coverage of documented statuses, controls used. Exit 1 when a --fail-on
    condition holds or the mock cannot be asked, else 0."""
    from asm_mock.report import REPORT_PATH, ReportUnavailable, failed_conditions, fetch
    from asm_mock.report_render import render

    try:
        document = fetch(url, token=admin_token)
    except ReportUnavailable as error:
        print(f"asm-mock: no report from {url}{REPORT_PATH}: {error}", file=sys.stderr)
        return 1
    print(render(document, output_format), flush=True)
    held = failed_conditions(document, fail_on or ())
    for line in held:
        print(f"asm-mock: failing on {line}", file=sys.stderr)
    return 1 if held else 0


@command.command(params=proxy_options(), epilog=_EPILOG)
@click.pass_context
def proxy(ctx: click.Context, /, **values: Any) -> int:
    """Forward the token endpoint and every API request to --upstream, validate both directions
    against the contract, and serve the client conformance report (/__admin/report) and the
    upstream's drift report (/__admin/drift)."""
    from asm_mock.proxy.cli import run_proxy

    if values["upstream"] is None:
        raise refuse(ctx, "upstream", "is required: the real system's base URL")
    if values["pseudonymize"] and values["record"] is None:
        raise refuse(ctx, "pseudonymize", "needs --record DIR: it changes what a recording holds")
    problem = _listen_problem(values["host"], values["port"])
    if problem:
        raise refuse(ctx, *problem)
    return run_proxy(**values)


@command.command(params=drift_options(), epilog=_EPILOG)
def drift(url: str, admin_token: str | None, output_format: str, fail_on_drift: bool) -> int:
    """Print a validating proxy's drift report (GET /__admin/drift): how the upstream's answers
    differ from the contract. Exit 1 with --fail-on-drift when they do, or when the proxy
    cannot be asked, else 0."""
    from asm_mock.proxy.cli import print_drift

    return print_drift(url, token=admin_token, output_format=output_format, fail=fail_on_drift)


def parse_settings(argv: Sequence[str]) -> tuple[str, Settings]:
    """The command and the settings `asm-mock ARGV` would run with, without running it.

    A refused value exits as the command does: one line on stderr, SystemExit(2)."""
    parsed = command.main(list(argv), "asm-mock", standalone_mode=False, obj=_PARSE_ONLY)
    if not isinstance(parsed, tuple):  # refused, or --help / --version answered
        raise SystemExit(parsed)
    name, settings = parsed
    return str(name), settings


def _listen_problem(host: str, port: int) -> tuple[str, str] | None:
    """(option, why) when uvicorn could not listen on host:port. Found before the world is
    built: else a bad host or a taken port shows only after it, in uvicorn's log."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as error:
        return "host", f"cannot listen on {host!r}: {getattr(error, 'strerror', error)}"
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as error:
            option = "host" if error.errno == errno.EADDRNOTAVAIL else "port"
            return option, f"cannot listen on {host}:{port}: {error.strerror}"
    return None


def _check_listening(ctx: click.Context, settings: Settings) -> None:
    problem = _listen_problem(settings.host, settings.port)
    if problem:
        raise refuse(ctx, *problem)


def _check_store(ctx: click.Context, settings: Settings) -> None:
    """A Redis store that does not answer at start-up is refused (a wrong host, port or
    password is far likelier than an outage that very second); once serving, an outage is
    answered 503 until Redis is back. A replica joins a store only if it would serve the world
    the store holds."""
    if settings.store.is_memory:
        return
    from asm_mock.domain.errors import StoreUnavailableError
    from asm_mock.shared.connection import check_reachable
    from asm_mock.shared.fingerprint import store_refusal

    try:
        check_reachable(settings.store, timeout=settings.store_timeout)
    except StoreUnavailableError as error:
        raise refuse(ctx, "store", str(error)) from None
    problem = store_refusal(settings)
    if problem:
        raise refuse(ctx, "store", problem)


def _check(settings: Settings) -> int:
    from asm_mock.http.app import create_app

    started = time.perf_counter()
    with world_progress(settings.customers) as progress:
        app = create_app(settings, progress=progress)
    try:  # serving loads Connexion's stack later; "contract OK" must include it
        app.load_fully()
    except Exception as error:  # already logged with its traceback by the loader
        print(
            "asm-mock: Connexion could not serve the contract:",
            *str(error).split(),
            file=sys.stderr,
        )
        return 2
    world = app.service.world()
    print(
        f"contract OK, fixtures OK: {len(world.customers)} customers, {len(world.carts)} carts, "
        f"{len(world.orders)} orders, {len(world.tickets)} tickets, {len(world.agents)} agents "
        f"(seed {world.seed}, {time.perf_counter() - started:.2f} s)"
    )
    print(*app.operations.report(), sep="\n")
    return 0


def exposure_warning(host: str) -> str | None:
    """A warning when the mock is reachable beyond this machine, or None on loopback."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if loopback:
        return None
    return (
        f"asm-mock: WARNING: listening on {host}, reachable from other machines. Its accounts "
        "(asagent/pw4all, mobile_android/secret, ...) are public DEMO credentials, and with "
        "--auth permissive any bearer token is accepted. Bind to 127.0.0.1 unless you mean it."
    )


def app_to_serve(settings: Settings) -> AsmMockApp:
    from asm_mock.http.app import create_app

    with world_progress(settings.customers) as progress:
        app = create_app(settings, progress=progress)
    # Everything built so far lives as long as the process (reset returns to this world), so it
    # leaves the cyclic collector's sight: else its first full collection (~0.7 s at 100,000
    # customers) lands on the first requests, and every later one walks the world again.
    # Garbage cycles left from the build are frozen too, never freed: a few hundred objects.
    gc.freeze()
    return app


def worker_app() -> AsmMockApp:
    """The app of one --workers worker process (uvicorn's factory): the parent's settings."""
    settings = settings_from_json(os.environ[WORKER_SETTINGS])
    configure_logging(settings.log_format)
    return app_to_serve(settings)


def _serve_workers(settings: Settings) -> int:
    """N worker processes on one port (uvicorn's supervisor), each with its own world and the
    shared store; SIGTERM reaches each, which finishes what it serves before it exits."""
    import uvicorn

    from asm_mock.http.server_protocol import HTTP_PROTOCOL

    os.environ[WORKER_SETTINGS] = settings_json(settings)
    print(
        f"asm-mock serving http://{settings.host}:{settings.port} with {settings.workers} "
        f"workers sharing {settings.store} (seed {settings.seed}, "
        f"{settings.customers} generated customers, auth {settings.auth})",
        flush=True,
    )
    configure_logging(settings.log_format)
    uvicorn.run(
        "asm_mock.cli:worker_app",
        factory=True,
        workers=settings.workers,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        http=HTTP_PROTOCOL,
    )
    return 0


def _serve(settings: Settings) -> int:
    import uvicorn

    from asm_mock.http.server_protocol import HTTP_PROTOCOL

    warning = exposure_warning(settings.host)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    if settings.workers > 1:
        return _serve_workers(settings)
    app = app_to_serve(settings)
    chaos = "".join(
        (
            f", latency {settings.latency} ms" if settings.latency != "0" else "",
            f", error rate {settings.error_rate:g}" if settings.error_rate else "",
            f", store {settings.store}" if not settings.store.is_memory else "",
        )
    )
    base_path = app.contract.base_path  # a --contract revision may serve another one
    print(
        f"asm-mock serving http://{settings.host}:{settings.port}{base_path} "
        f"(seed {settings.seed}, {len(app.service.world().customers)} customers, "
        f"auth {settings.auth}{chaos}); Swagger UI at {base_path}/ui/",
        flush=True,
    )
    configure_logging(settings.log_format)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        http=HTTP_PROTOCOL,
    )
    return 0


def configure_logging(log_format: str) -> None:
    """asm-mock's loggers (one `asm_mock.access` line per request) to stderr, from INFO."""
    from asm_mock.http.access_log import BackgroundHandler, log_handler

    logger = logging.getLogger("asm_mock")
    logger.handlers[:] = [BackgroundHandler(log_handler(log_format))]
    # "off": the access log checks the level first, so it then costs nothing per request
    logger.setLevel(logging.WARNING if log_format == "off" else logging.INFO)
    logger.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """`asm-mock ARGV`'s exit status: 2 for a refused value, after its one line on stderr."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    result = command.main(arguments, "asm-mock", standalone_mode=False)
    return result if isinstance(result, int) else 0
