"""What a running mock is configured with (from the CLI, environment variables, or tests)."""

from __future__ import annotations

import json
import re
import typing
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

from asm_mock.domain.generate import DEFAULT_CUSTOMERS, DEFAULT_SEED
from asm_mock.domain.journal import DEFAULT_JOURNAL_SIZE
from asm_mock.domain.tenants import DEFAULT_MAX_TENANTS, DEFAULT_TENANT_TTL_S
from asm_mock.shared.url import MEMORY, StoreUrl

__all__ = [
    "DEFAULT_CORS_ORIGINS",
    "AuthMode",
    "Settings",
    "parse_cors_origins",
    "settings_from_json",
    "settings_json",
]

# Browser frontends on this machine, any port (a dev server's port changes; Origin carries it).
DEFAULT_CORS_ORIGINS = ("http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*")
_ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*://(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(:(\*|\d{1,5}))?", re.I)


def parse_cors_origins(text: str) -> tuple[str, ...]:
    """`--cors-origins`: comma-separated `*`, `scheme://host[:port]` or `scheme://host:*` (any
    port); empty: no origin. Raises ValueError naming the first entry that is not an origin."""
    origins = tuple(dict.fromkeys(o.strip().rstrip("/") for o in text.split(",") if o.strip()))
    for origin in origins:
        if origin not in ("*", "null") and not _ORIGIN.fullmatch(origin):
            raise ValueError(
                f"{origin!r} is not an origin: expected *, scheme://host[:port] "
                "or scheme://host:* (e.g. http://localhost:*)"
            )
    return origins


class AuthMode(StrEnum):
    STRICT = "strict"
    PERMISSIVE = "permissive"


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 9002
    seed: int = DEFAULT_SEED
    customers: int = DEFAULT_CUSTOMERS
    fixtures: Path | None = None  # None: the packaged fixtures/
    contract: Path | None = None  # the OpenAPI 3.1 document served; None: the packaged one
    auth: AuthMode = AuthMode.STRICT
    log_format: str = "text"
    admin_token: str | None = None  # None: the admin API answers loopback clients only
    journal_size: int = DEFAULT_JOURNAL_SIZE
    scenarios: tuple[str, ...] = ()  # applied in order at start-up; reset returns to after them
    latency: str = "0"  # ms added to every API answer: "120" or a uniform range "50-300"
    error_rate: float = 0.0  # share of API requests answered 503 (seeded)
    cors_origins: tuple[str, ...] = DEFAULT_CORS_ORIGINS  # "*", exact origins, "scheme://host:*"
    cache_dir: Path | None = None  # where Faker's name pools are cached; None: nowhere
    watch: bool = False  # reload the contract, its $ref'd files and the fixtures when they change
    # where sessions and tokens live: this process's memory, or a Redis that replicas share;
    # its str() and repr() never show a password
    store: StoreUrl = MEMORY
    store_timeout: float = 1.0  # seconds a store operation may take before the API answers 503
    workers: int = 1  # worker processes behind one port (more than one needs a shared store)
    max_tenants: int = DEFAULT_MAX_TENANTS  # named tenants live at once (the default one aside)
    tenant_ttl: float = DEFAULT_TENANT_TTL_S  # seconds idle before a named tenant's state goes


def settings_json(settings: Settings) -> str:
    """`settings` as JSON: how the parsed settings reach --workers' worker processes."""
    return json.dumps(asdict(settings), default=str)


def settings_from_json(text: str) -> Settings:
    """The `Settings` of `settings_json`'s text."""
    values = json.loads(text)
    hints = typing.get_type_hints(Settings)
    for name, value in values.items():
        hint = str(hints[name])
        if value is None:
            continue
        if "Path" in hint:
            values[name] = Path(value)
        elif "tuple" in hint:
            values[name] = tuple(value)
        elif hints[name] is AuthMode:
            values[name] = AuthMode(value)
        elif hints[name] is StoreUrl:
            values[name] = StoreUrl(**value)
    return Settings(**values)
