"""`asm-mock`: serve the mock, or check the contract and fixtures without serving."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from asm_mock import __version__
from asm_mock.domain.errors import AsmMockError
from asm_mock.settings import AuthMode, Settings

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
        "--log-format", choices=["text", "json"], default=_env("log_format", defaults.log_format)
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
    return namespace.command, Settings(**fields)


def _check(settings: Settings) -> int:
    from asm_mock.http.app import create_app

    started = time.perf_counter()
    app = create_app(settings)
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


def _serve(settings: Settings) -> int:
    import uvicorn

    from asm_mock.http.app import create_app

    warning = exposure_warning(settings.host)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    app = create_app(settings)
    print(
        f"asm-mock serving http://{settings.host}:{settings.port}/assistedservicewebservices "
        f"(seed {settings.seed}, {len(app.service.world().customers)} customers, "
        f"auth {settings.auth}); Swagger UI at /assistedservicewebservices/ui/",
        flush=True,
    )
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    command, settings = parse_settings(sys.argv[1:] if argv is None else argv)
    try:
        return _check(settings) if command == "check" else _serve(settings)
    except AsmMockError as error:
        print(f"asm-mock: {error}", file=sys.stderr)
        return 2
