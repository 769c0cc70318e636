"""`asm-mock`: serve the mock, or check the contract and fixtures without serving."""

from __future__ import annotations

import argparse
import gc
import ipaddress
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from asm_mock import __version__
from asm_mock.domain.controls import Latency
from asm_mock.domain.disk_cache import default_cache_dir
from asm_mock.domain.errors import AsmMockError
from asm_mock.domain.generate import Progress
from asm_mock.settings import AuthMode, Settings, parse_cors_origins

if TYPE_CHECKING:
    from asm_mock.http.app import AsmMockApp

__all__ = ["exposure_warning", "main", "parse_settings"]

_ENV_PREFIX = "ASM_MOCK_"


def _env(name: str, default: str | None) -> str | None:
    return os.environ.get(_ENV_PREFIX + name.upper().replace("-", "_"), default)


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a TCP port (0-65535), got {value}")
    return value


def _latency(text: str) -> str:
    try:
        return str(Latency.parse(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _error_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a share between 0 and 1, got {text!r}")
    return value


def _cors_origins(text: str) -> tuple[str, ...]:
    try:
        return parse_cors_origins(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _cache_dir(text: str) -> Path | None:
    return Path(text).expanduser() if text.strip() else None


def _add_world_options(parser: argparse.ArgumentParser) -> None:
    defaults = Settings()
    parser.add_argument(
        "--seed",
        type=int,
        default=int(_env("seed", str(defaults.seed)) or defaults.seed),
        help=f"world seed: one seed, one world (default {defaults.seed}; env ASM_MOCK_SEED)",
    )
    parser.add_argument(
        "--customers",
        type=_non_negative_int,
        default=_non_negative_int(_env("customers", str(defaults.customers)) or "0"),
        help=f"generated customers besides the fixtures (default {defaults.customers})",
    )
    parser.add_argument(
        "--fixtures",
        type=Path,
        default=_env("fixtures", None),
        help="directory of fixture YAML files (default: the packaged fixtures/)",
    )
    parser.add_argument(
        "--cache-dir",
        type=_cache_dir,
        default=_cache_dir(_env("cache_dir", str(default_cache_dir())) or ""),
        metavar="DIR",
        help="what start-up keeps between starts: Faker's name pools (per Faker version and "
        "seed) and the parsed contract (per digest); empty: no cache (default "
        "$XDG_CACHE_HOME/asm-mock or ~/.cache/asm-mock; env ASM_MOCK_CACHE_DIR)",
    )
    parser.add_argument(
        "--scenario",
        dest="scenarios",
        action="append",
        default=None,
        metavar="NAME",
        help="apply the scenario fixtures/scenarios/NAME.yaml at start (repeatable; env "
        "ASM_MOCK_SCENARIO, comma-separated); /__admin/reset returns to the state after them",
    )


def _parser() -> argparse.ArgumentParser:
    defaults = Settings()
    parser = argparse.ArgumentParser(
        prog="asm-mock", description="Contract-first mock of SAP Commerce Cloud's ASM API."
    )
    parser.add_argument("--version", action="version", version=f"asm-mock {__version__}")
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="serve the mock (the default command)")
    serve.add_argument("--host", default=_env("host", defaults.host), help="bind address")
    serve.add_argument(
        "--port",
        type=_port,
        default=_port(_env("port", str(defaults.port)) or "0"),
        help="TCP port",
    )
    _add_world_options(serve)
    serve.add_argument(
        "--auth",
        choices=[m.value for m in AuthMode],
        default=_env("auth", defaults.auth.value),
        help="strict: tokens from the mock's token endpoint; permissive: any bearer token "
        "is accepted as agent asagent",
    )
    serve.add_argument(
        "--log-format",
        choices=["text", "json", "off"],
        default=_env("log_format", defaults.log_format),
        help="one line per request on stderr: readable text, one JSON object per line, or off "
        "(warnings and errors only)",
    )
    # String defaults (from ASM_MOCK_* or Settings) go through `type`, so bad ones are refused too.
    serve.add_argument(
        "--latency",
        type=_latency,
        default=_env("latency", defaults.latency),
        help="ms added to every API answer: MS or a uniform range LOW-HIGH, e.g. 50-300",
    )
    serve.add_argument(
        "--error-rate",
        type=_error_rate,
        default=_env("error_rate", str(defaults.error_rate)),
        help="share of API requests answered 503, seeded (0..1, default 0)",
    )
    serve.add_argument(
        "--cors-origins",
        type=_cors_origins,
        default=_env("cors_origins", ",".join(defaults.cors_origins)),
        help="browser origins allowed, comma-separated: *, scheme://host[:port], or "
        "scheme://host:* for any port (default: localhost, 127.0.0.1 and [::1], any port)",
    )
    serve.add_argument(
        "--admin-token",
        default=_env("admin_token", None),
        help="require this bearer token on /__admin (default: loopback clients only)",
    )
    serve.add_argument(
        "--journal-size",
        type=_positive_int,
        default=_positive_int(_env("journal_size", str(defaults.journal_size)) or "1"),
        help=f"requests kept in the journal ring (default {defaults.journal_size})",
    )
    check = commands.add_parser("check", help="validate the contract and fixtures, build the world")
    _add_world_options(check)
    return parser


def parse_settings(argv: Sequence[str]) -> tuple[str, Settings]:
    arguments = list(argv)
    if (
        not arguments
        or arguments[0].startswith("-")
        and arguments[0] not in ("-h", "--help", "--version")
    ):
        arguments.insert(0, "serve")
    namespace = _parser().parse_args(arguments)
    fields = {k: v for k, v in vars(namespace).items() if k != "command"}
    if "auth" in fields:
        fields["auth"] = AuthMode(fields["auth"])
    scenarios = fields.pop("scenarios", None)
    if scenarios is None:
        scenarios = [n for n in (_env("scenario", "") or "").split(",") if n.strip()]
    fields["scenarios"] = tuple(n.strip() for n in scenarios)
    return namespace.command, Settings(**fields)


_LARGE_WORLD = 20_000  # customers; a world this large shows progress even without a terminal


class _TextProgress:
    """A bar redrawn in place (carriage return) on a terminal; elsewhere, a line every 10%."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._shown = -1

    def __call__(self, done: int, total: int) -> None:
        percent = done * 100 // max(total, 1)
        if self._tty:
            filled = percent * 30 // 100
            bar = "#" * filled + "." * (30 - filled)
            self._stream.write(
                f"\rbuilding the world [{bar}] {percent:3d}% {done}/{total} customers"
            )
        elif percent // 10 > self._shown // 10:
            self._stream.write(f"asm-mock: building the world: {done}/{total} customers\n")
        else:
            return
        self._shown = percent
        self._stream.flush()

    def close(self) -> None:
        if self._tty and self._shown >= 0:
            self._stream.write("\n")
            self._stream.flush()


@contextmanager
def _world_progress(customers: int) -> Iterator[Progress | None]:
    """Progress on stderr while customers are generated: on a terminal, or for a large world."""
    stream = sys.stderr
    if customers == 0 or not (stream.isatty() or customers >= _LARGE_WORLD):
        yield None
        return
    if stream.isatty():
        try:
            from rich.console import Console
            from rich.progress import Progress as RichProgress
        except ImportError:
            pass
        else:
            with RichProgress(console=Console(file=stream), transient=True) as bar:
                task = bar.add_task("building the world", total=customers)
                yield lambda done, total: bar.update(task, completed=done, total=total)
            return
    text = _TextProgress(stream)
    try:
        yield text
    finally:
        text.close()


def _check(settings: Settings) -> int:
    from asm_mock.http.app import create_app

    started = time.perf_counter()
    with _world_progress(settings.customers) as progress:
        app = create_app(settings, progress=progress)
    try:  # serving loads Connexion's stack later; "contract OK" must include it
        app.load_fully()
    except Exception as error:  # already logged with its traceback by the loader
        print(f"asm-mock: Connexion could not serve the contract: {error}", file=sys.stderr)
        return 2
    world = app.service.world()
    print(
        f"contract OK, fixtures OK: {len(world.customers)} customers, {len(world.carts)} carts, "
        f"{len(world.orders)} orders, {len(world.tickets)} tickets, {len(world.agents)} agents "
        f"(seed {world.seed}, {time.perf_counter() - started:.2f} s)"
    )
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


def _app_to_serve(settings: Settings) -> AsmMockApp:
    from asm_mock.http.app import create_app

    with _world_progress(settings.customers) as progress:
        app = create_app(settings, progress=progress)
    # Everything built so far lives as long as the process (reset returns to this world), so it
    # leaves the cyclic collector's sight: else its first full collection (~0.7 s at 100,000
    # customers) lands on the first requests, and every later one walks the world again.
    # Garbage cycles left from the build are frozen too, never freed: a few hundred objects.
    gc.freeze()
    return app


def _serve(settings: Settings) -> int:
    import uvicorn

    warning = exposure_warning(settings.host)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    app = _app_to_serve(settings)
    chaos = "".join(
        (
            f", latency {settings.latency} ms" if settings.latency != "0" else "",
            f", error rate {settings.error_rate:g}" if settings.error_rate else "",
        )
    )
    print(
        f"asm-mock serving http://{settings.host}:{settings.port}/assistedservicewebservices "
        f"(seed {settings.seed}, {len(app.service.world().customers)} customers, "
        f"auth {settings.auth}{chaos}); Swagger UI at /assistedservicewebservices/ui/",
        flush=True,
    )
    _configure_logging(settings.log_format)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)
    return 0


def _configure_logging(log_format: str) -> None:
    """asm-mock's loggers (one `asm_mock.access` line per request) to stderr, from INFO."""
    from asm_mock.http.access_log import BackgroundHandler, log_handler

    logger = logging.getLogger("asm_mock")
    logger.handlers[:] = [BackgroundHandler(log_handler(log_format))]
    # "off": the access log checks the level first, so it then costs nothing per request
    logger.setLevel(logging.WARNING if log_format == "off" else logging.INFO)
    logger.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    command, settings = parse_settings(sys.argv[1:] if argv is None else argv)
    try:
        return _check(settings) if command == "check" else _serve(settings)
    except AsmMockError as error:
        print(f"asm-mock: {error}", file=sys.stderr)
        return 2
