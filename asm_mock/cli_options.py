"""The command line's options, each declared once: flag, ASM_MOCK_* variable, parser, help.

A new option is one `_option(...)` entry in `world_options()` or `serve_options()` plus its
`Settings` field (the option's name is the field's name). Every value, typed or read from the
environment, goes through the option's parser; a parser refuses a value by raising ValueError
with a message that reads after "option --name: ". `error_line` turns any refusal into the one
line the command prints.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
from click.core import ParameterSource

from asm_mock.domain.controls import Latency
from asm_mock.domain.disk_cache import default_cache_dir
from asm_mock.resources import default_fixtures_dir
from asm_mock.settings import AuthMode, Settings, parse_cors_origins
from asm_mock.shared.url import parse_store_url

__all__ = [
    "ENV_PREFIX",
    "LOG_FORMATS",
    "check_together",
    "drift_options",
    "error_line",
    "refuse",
    "proxy_options",
    "report_options",
    "serve_options",
    "settings_from",
    "wait_options",
    "world_options",
]

ENV_PREFIX = "ASM_MOCK_"
LOG_FORMATS = ("text", "json", "off")
_DEFAULTS = Settings()


# -- parsers: text -> value, or ValueError saying what is wrong -------------------------------


def _integer(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number") from None


def _at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = _integer(text)
        if value < minimum:
            raise ValueError(f"must be >= {minimum}, got {value}")
        return value

    return parse


def _port(text: str) -> int:
    value = _integer(text)
    if not 0 <= value <= 65535:
        raise ValueError(f"must be a TCP port (0-65535), got {value}")
    return value


def _latency(text: str) -> str:
    return str(Latency.parse(text))


def _error_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:  # nan fails too
        raise ValueError(f"must be a share between 0 and 1, got {text!r}")
    return value


def _one_of(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in choices:
            raise ValueError(f"{text!r} is not one of {', '.join(choices)}")
        return text

    return parse


def _fixtures_dir(text: str) -> Path | None:
    if not text.strip():
        return None  # the packaged fixtures/
    path = Path(text).expanduser()
    if not path.is_dir():
        raise ValueError(f"{text!r} is not a directory of fixture files")
    return path


def _contract_file(text: str) -> Path | None:
    if not text.strip():
        return None  # the packaged openapi.yaml
    path = Path(text).expanduser()
    if not path.is_file():
        raise ValueError(f"{text!r} is not a contract file (an OpenAPI 3.1 YAML or JSON document)")
    return path


def _cache_dir(text: str) -> Path | None:
    return Path(text).expanduser() if text.strip() else None


def _text(text: str) -> str:
    return text


def _scenario_name(text: str) -> str:
    return text.strip()


def _base_url(text: str) -> str:
    try:
        parts = urlsplit(text.strip())
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError as error:  # e.g. an unclosed [IPv6 bracket, a port past 65535
        raise ValueError(f"{text!r} is not a URL: {error}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{text!r} is not an http(s) URL such as http://127.0.0.1:9002")
    if parts.query or parts.fragment:
        raise ValueError(f"{text!r} is a base URL: no query or fragment")
    return parts.geturl().rstrip("/")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of seconds") from None
    if not 0.0 <= value <= 86_400.0:  # nan and inf fail too
        raise ValueError(f"must be between 0 and 86400 seconds, got {text!r}")
    return value


def _store_timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of seconds") from None
    if not 0.0 < value <= 600.0:  # nan and inf fail too
        raise ValueError(f"must be more than 0 and at most 600 seconds, got {text!r}")
    return value


_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}


def _duration(text: str) -> float:
    """Seconds from `3600`, `90s`, `30m` or `1h` (whole numbers, more than 0)."""
    number, unit = text.strip(), ""
    if number[-1:].lower() in _DURATION_UNITS:
        number, unit = number[:-1], number[-1:].lower()
    if not number.isdigit() or int(number) == 0:
        raise ValueError(
            f"{text!r} is not a duration: a whole number > 0 of s, m or h (90s, 30m, 1h)"
        )
    return float(int(number) * _DURATION_UNITS[unit])


# -- the options --------------------------------------------------------------------------------


class _Parsed(click.ParamType[Any]):
    """A click type that delegates to a parser."""

    def __init__(self, metavar: str, parse: Callable[[str], Any]) -> None:
        self.name = metavar.lower()
        self._parse = parse

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value  # a default already of the option's type
        try:
            return self._parse(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


class _CommaListed(_Parsed):
    """A repeatable option's variable holds its values comma-separated (click's default
    splits on whitespace)."""

    envvar_list_splitter = ","


class _EnvOption(click.Option):
    """An option whose variable counts once it is set, even empty: `ASM_MOCK_CACHE_DIR=` means
    "no cache" as `--cache-dir ''` does (click alone reads an empty variable as unset)."""

    def resolve_envvar_value(self, ctx: click.Context) -> str | None:
        return os.environ.get(str(self.envvar))


class _EnvFlag(_EnvOption):
    """A flag whose variable goes through its parser: click reads an unknown word in a flag's
    variable as unset, so a typo (ASM_MOCK_WATCH=ture) would silently mean "off"."""

    def value_from_envvar(self, ctx: click.Context) -> Any:
        return self.resolve_envvar_value(ctx)


def _boolean(text: str) -> bool:
    """A flag's variable: ASM_MOCK_WATCH=1 / true / yes / on, or 0 / false / no / off / empty."""
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("", "0", "false", "no", "off"):
        return False
    raise ValueError(f"{text!r} is not a boolean (1/true/yes/on or 0/false/no/off)")


def _flag(name: str, help: str) -> click.Option:
    """An on/off option: `--name` turns it on; its variable takes `_boolean`'s words (click's
    own flag type would refuse an empty variable, which here means "off" as for other options)."""
    return _EnvFlag(
        ["--" + name.replace("_", "-"), name],
        is_flag=True,
        flag_value=True,
        type=_Parsed("BOOLEAN", _boolean),
        envvar=ENV_PREFIX + name.upper(),
        show_envvar=True,
        default=False,
        help=help,
    )


def _option(
    name: str,
    parse: Callable[[str], Any],
    help: str,
    *,
    default: object = None,
    metavar: str = "TEXT",
    field: str | None = None,
    multiple: bool = False,
    variable: str | None = None,
) -> click.Option:
    return _EnvOption(
        ["--" + name.replace("_", "-"), field or name],
        type=(_CommaListed if multiple else _Parsed)(metavar, parse),
        envvar=ENV_PREFIX + (variable or name).upper(),
        show_envvar=True,
        default=default,
        show_default=default is not None and not callable(default),
        metavar=metavar,
        multiple=multiple,
        help=help,
    )


def _log_format_option(help: str) -> click.Option:
    """--log-format, as `serve` and `proxy` take it (one variable, one set of formats)."""
    return _option(
        "log_format",
        _one_of(*LOG_FORMATS),
        help,
        default=_DEFAULTS.log_format,
        metavar="[" + "|".join(LOG_FORMATS) + "]",
    )


def world_options() -> list[click.Option]:
    """What the world is built from: both `serve` and `check` take these."""
    return [
        _option(
            "seed",
            _integer,
            "world seed: one seed, one world",
            default=str(_DEFAULTS.seed),
            metavar="N",
        ),
        _option(
            "customers",
            _at_least(0),
            "generated customers besides the fixtures",
            default=str(_DEFAULTS.customers),
            metavar="N",
        ),
        _option(
            "fixtures",
            _fixtures_dir,
            "directory of fixture YAML files (default: the packaged fixtures/)",
            metavar="DIR",
        ),
        _option(
            "contract",
            _contract_file,
            "the OpenAPI 3.1 contract to serve, a revision of the packaged openapi.yaml "
            "(default); operations the mock does not implement answer their examples",
            metavar="PATH",
        ),
        _option(
            "cache_dir",
            _cache_dir,
            "what start-up keeps between starts: Faker's name pools (per Faker version and "
            "seed) and the parsed contract (per digest); empty: no cache (default "
            "$XDG_CACHE_HOME/asm-mock or ~/.cache/asm-mock)",
            default=lambda: str(default_cache_dir()),
            metavar="DIR",
        ),
        _option(
            "scenario",
            _scenario_name,
            "apply the scenario fixtures/scenarios/NAME.yaml at start (repeatable; the "
            "variable is comma-separated); /__admin/reset returns to the state after them",
            field="scenarios",
            metavar="NAME",
            multiple=True,
        ),
    ]


def serve_options() -> list[click.Option]:
    """`serve`'s own options, besides the world's."""
    return [
        _option("host", _text, "bind address", default=_DEFAULTS.host, metavar="HOST"),
        _option("port", _port, "TCP port", default=str(_DEFAULTS.port), metavar="PORT"),
        _option(
            "auth",
            _one_of(*(mode.value for mode in AuthMode)),
            "strict: tokens from the mock's token endpoint; permissive: any bearer token "
            "is accepted as agent asagent",
            default=_DEFAULTS.auth.value,
            metavar="[" + "|".join(mode.value for mode in AuthMode) + "]",
        ),
        _log_format_option(
            "one line per request on stderr: readable text, one JSON object per line, or off "
            "(warnings and errors only)"
        ),
        _option(
            "latency",
            _latency,
            "ms added to every API answer: MS or a uniform range LOW-HIGH, e.g. 50-300",
            default=_DEFAULTS.latency,
            metavar="MS",
        ),
        _option(
            "error_rate",
            _error_rate,
            "share of API requests answered 503, seeded (0..1)",
            default=str(_DEFAULTS.error_rate),
            metavar="SHARE",
        ),
        _option(
            "cors_origins",
            parse_cors_origins,
            "browser origins allowed, comma-separated: *, scheme://host[:port], or "
            "scheme://host:* for any port",
            default=",".join(_DEFAULTS.cors_origins),
            metavar="ORIGINS",
        ),
        _option(
            "admin_token",
            _text,
            "require this bearer token on /__admin (default: loopback clients only)",
            metavar="TOKEN",
        ),
        _flag(
            "watch",
            "reload the contract, every file its $refs reach and the fixtures directory when "
            "they change; an invalid edit keeps the running version (see /__admin/health)",
        ),
        _option(
            "journal_size",
            _at_least(1),
            "requests kept in the journal ring",
            default=str(_DEFAULTS.journal_size),
            metavar="N",
        ),
        _option(
            "store",
            parse_store_url,
            "where sessions and tokens (and, for replicas, the journal and run-time settings) "
            "live: memory (this process), or a Redis that replicas share: "
            "redis://[[user]:password@]host:port/db, rediss://... over TLS",
            default=str(_DEFAULTS.store),
            metavar="URL",
        ),
        _option(
            "store_timeout",
            _store_timeout,
            "seconds a store operation may take; beyond it (Redis down or slow) the API "
            "answers 503 ServiceUnavailableError",
            default=f"{_DEFAULTS.store_timeout:g}",
            metavar="SECONDS",
        ),
        _option(
            "workers",
            _at_least(1),
            "worker processes serving one port (more than 1 needs --store redis://...)",
            default=str(_DEFAULTS.workers),
            metavar="N",
        ),
        _option(
            "max_tenants",
            _at_least(1),
            "named tenants (/t/NAME or X-Asm-Mock-Tenant) live at once; one more is a 503",
            default=str(_DEFAULTS.max_tenants),
            metavar="N",
        ),
        _option(
            "tenant_ttl",
            _duration,
            "a named tenant idle this long is dropped with its state: seconds, or 90s, 30m, 1h",
            default="1h",
            metavar="DURATION",
        ),
    ]


def wait_options() -> list[click.Option]:
    """`wait`'s options: which mock, how long, and its admin token if it has one."""
    return [
        _option(
            "url",
            _base_url,
            "the mock's base URL (its /__admin/ready is polled)",
            default="http://127.0.0.1:9002",
            metavar="URL",
        ),
        _option(
            "timeout",
            _seconds,
            "give up after this many seconds (0: ask once)",
            default="30",
            metavar="SECONDS",
            # ASM_MOCK_TIMEOUT would read as a setting of the mock itself
            variable="wait_timeout",
        ),
        _option(
            "admin_token",
            _text,
            "the bearer token of a mock started with --admin-token (the same variable)",
            metavar="TOKEN",
        ),
    ]


def _report_format(text: str) -> str:
    from asm_mock.report_render import FORMATS

    value = text.strip().lower()
    if value not in FORMATS:
        raise ValueError(f"{text!r} is not one of {', '.join(FORMATS)}")
    return value


def _fail_conditions(text: str) -> tuple[str, ...]:
    from asm_mock.report import FAIL_CONDITIONS

    names = tuple(n.strip().lower() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in FAIL_CONDITIONS]
    if unknown:
        raise ValueError(f"{unknown[0]!r} is not one of {', '.join(FAIL_CONDITIONS)}")
    return names


def report_options() -> list[click.Option]:
    """`report`'s options: which mock, in which format, failing on what."""
    return [
        _option(
            "url",
            _base_url,
            "the mock's base URL (its /__admin/report is fetched)",
            default="http://127.0.0.1:9002",
            metavar="URL",
        ),
        _option(
            "admin_token",
            _text,
            "the bearer token of a mock started with --admin-token (the same variable)",
            metavar="TOKEN",
        ),
        _option(
            "format",
            _report_format,
            "json (GET /__admin/report as it is), junit (XML for CI's test reports) or "
            "markdown (a job summary)",
            default="json",
            metavar="FORMAT",
            field="output_format",
            variable="report_format",
        ),
        _option(
            "fail_on",
            _fail_conditions,
            "exit 1 when one of these holds: violations (a request broke the contract), "
            "uncovered (a documented status was never exercised); comma-separated",
            metavar="CONDITIONS",
        ),
    ]


def _ca_file(text: str) -> Path | None:
    if not text.strip():
        return None  # the system's CAs
    path = Path(text).expanduser()
    if not path.is_file():
        raise ValueError(f"{text!r} is not a file of PEM CA certificates")
    import ssl

    try:  # loaded now: a file of something else is this refusal, not a traceback at start
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, OSError, UnicodeDecodeError):
        raise ValueError(f"{text!r} holds no PEM CA certificate") from None
    return path


def _timeout(text: str) -> float:
    value = _seconds(text)
    if value == 0:
        raise ValueError("must be more than 0 seconds")
    return value


def _record_dir(text: str) -> Path | None:
    if not text.strip():
        return None  # nothing recorded
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise ValueError(f"{text!r} is a file, not a directory to record into")
    return path


def _upstream_url(text: str) -> str:
    url = _base_url(text)
    if urlsplit(url).username or urlsplit(url).password:
        # the URL is shown in the banner, the drift report and every 502/504 body
        raise ValueError(
            "carries credentials (user:password@); the upstream's URL is shown in reports and "
            "error bodies, and the clients' own Authorization headers are forwarded"
        )
    return url


def proxy_options() -> list[click.Option]:
    """`proxy`'s options: the upstream, how it is reached, where the proxy listens."""
    return [
        _option(
            "upstream",
            _upstream_url,
            "the real system's base URL (scheme, host, port, maybe a path prefix), e.g. "
            "https://api.c1234.commerce.ondemand.com; required",
            metavar="URL",
        ),
        # their own variables: ASM_MOCK_PORT beside them would be the mock's
        _option(
            "host",
            _text,
            "bind address",
            default=_DEFAULTS.host,
            metavar="HOST",
            variable="proxy_host",
        ),
        _option("port", _port, "TCP port", default="9003", metavar="PORT", variable="proxy_port"),
        _flag(
            "strict",
            "answer 502 (an OCC body naming the violation) in place of an upstream answer that "
            "breaks the contract; without it clients get the upstream's answer unchanged",
        ),
        _option(
            "upstream_ca",
            _ca_file,
            "PEM CA bundle the upstream's TLS certificate is verified against, for a private "
            "CA (default: the system's CAs)",
            metavar="FILE",
        ),
        _option(
            "upstream_timeout",
            _timeout,
            "seconds the upstream has to answer in full; then a 504 OCC body",
            default="30",
            metavar="SECONDS",
        ),
        _option(
            "contract",
            _contract_file,
            "the OpenAPI 3.1 contract to validate against (default: the packaged openapi.yaml)",
            metavar="PATH",
        ),
        _option(
            "admin_token",
            _text,
            "require this bearer token on /__admin (default: loopback clients only)",
            metavar="TOKEN",
        ),
        _log_format_option(
            "one line per request on stderr (method, path, status; never a query or header): "
            "readable text, JSON, or off"
        ),
        _option(
            "record",
            _record_dir,
            "write the upstream's answers to DIR/scenarios/recorded.yaml, a scenario that "
            "`asm-mock serve --fixtures DIR --scenario recorded` replays (secrets scrubbed)",
            metavar="DIR",
        ),
        _flag(
            "pseudonymize",
            "with --record: customers' names, e-mails and ids recorded as consistent fakes",
        ),
    ]


def drift_options() -> list[click.Option]:
    """`drift`'s options: which proxy, in which format, failing on what."""
    return [
        _option(
            "url",
            _base_url,
            "the proxy's base URL (its /__admin/drift is fetched)",
            default="http://127.0.0.1:9003",
            metavar="URL",
        ),
        _option(
            "admin_token",
            _text,
            "the bearer token of a proxy started with --admin-token (the same variable)",
            metavar="TOKEN",
        ),
        _option(
            "format",
            _one_of("json", "junit"),
            "json (GET /__admin/drift as it is) or junit (XML for CI's test reports)",
            default="json",
            metavar="FORMAT",
            field="output_format",
            variable="drift_format",
        ),
        _flag(
            "fail_on_drift",
            "exit 1 when the upstream's answers drifted from the contract at all",
        ),
    ]


# -- from parsed options to Settings --------------------------------------------------------


def settings_from(params: Mapping[str, Any]) -> Settings:
    fields = dict(params)
    if "auth" in fields:
        fields["auth"] = AuthMode(fields["auth"])
    fields["scenarios"] = tuple(name for name in fields.get("scenarios", ()) if name)
    return Settings(**fields)


def refuse(ctx: click.Context, name: str, message: str) -> click.BadParameter:
    """The refusal of option `name` of the command `ctx` runs, as a parser's refusal reads."""
    param = next(p for p in ctx.command.params if p.name == name)
    return click.BadParameter(message, ctx=ctx, param=param)


def check_together(ctx: click.Context, settings: Settings) -> None:
    """The checks that need more than one option's value, or where the value came from.

    Raises click.BadParameter naming the option, as a parser's refusal does."""
    scenarios = (settings.fixtures or default_fixtures_dir()) / "scenarios"
    for name in settings.scenarios:
        if not (scenarios / f"{name}.yaml").is_file():
            known = sorted(p.stem for p in scenarios.glob("*.yaml")) if scenarios.is_dir() else []
            raise refuse(
                ctx,
                "scenarios",
                f"no scenario {name!r} in {scenarios} (known: {', '.join(known) or 'none'})",
            )
    if settings.workers > 1 and settings.store.is_memory:
        raise refuse(
            ctx,
            "workers",
            f"{settings.workers} workers need a shared store: add --store redis://HOST:PORT/DB "
            "(with the memory store each worker would have its own sessions and tokens)",
        )
    # The default directory stays best-effort (a read-only home only costs the time); one the
    # user names must be usable, or they would never learn why nothing is cached.
    if settings.cache_dir is not None and ctx.get_parameter_source("cache_dir") not in (
        ParameterSource.DEFAULT,
        None,
    ):
        problem = _unusable_directory(settings.cache_dir)
        if problem:
            raise refuse(ctx, "cache_dir", problem)


def _unusable_directory(path: Path) -> str | None:
    """Why `path` cannot be (made into) a directory this process reads and writes, or None."""
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        if existing == path:
            return f"{str(path)!r} is not a directory"
        return f"{str(path)!r} cannot be created: {str(existing)!r} is a file"
    wanted = os.R_OK | os.W_OK | os.X_OK if existing == path else os.W_OK | os.X_OK
    if not os.access(existing, wanted):
        return f"{str(path)!r} cannot be used: no permission on {str(existing)!r}"
    return None


# -- the one line of a refusal ----------------------------------------------------------------


def error_line(error: click.ClickException, prog: str = "asm-mock") -> str:
    """`prog: error: ...` on one line; a bad value names its option and, when the value came
    from the environment, its variable."""
    if isinstance(error, click.BadParameter) and isinstance(error.param, click.Option):
        where = _where(error.param, error.ctx)
        return f"{prog}: error: {where}: {_one_line(error.message)}"
    hint = f" (see {prog} --help)" if isinstance(error, click.UsageError) else ""
    return f"{prog}: error: {_one_line(error.format_message())}{hint}"


def _where(option: click.Option, ctx: click.Context | None) -> str:
    flag = max(option.opts, key=len)
    source = ctx.get_parameter_source(option.name) if ctx and option.name else None
    if source is ParameterSource.ENVIRONMENT and isinstance(option.envvar, str):
        return f"{option.envvar} (option {flag})"
    return f"option {flag}"


def _one_line(text: str) -> str:
    return " ".join(text.split())
