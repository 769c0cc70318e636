"""`--store` values: `memory`, or a Redis URL whose password never shows when it is printed."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import SplitResult, unquote, urlsplit

__all__ = ["MEMORY", "REDIS_SCHEMES", "StoreUrl", "parse_store_url", "redacted"]

REDIS_SCHEMES = ("redis", "rediss")  # rediss: Redis over TLS
_DEFAULT_PORT = 6379


@dataclass(frozen=True)
class StoreUrl:
    """Where the mutable state lives. `str()` and `repr()` show `***` for a password, so a
    StoreUrl can go into any message, log line or settings document."""

    scheme: str  # "memory", "redis" or "rediss"
    host: str = ""
    port: int = _DEFAULT_PORT
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def is_memory(self) -> bool:
        return self.scheme == "memory"

    @property
    def tls(self) -> bool:
        return self.scheme == "rediss"

    def __str__(self) -> str:
        if self.is_memory:
            return "memory"
        user = self.username or ""
        if self.password is not None:
            auth = f"{user}:***@" if user else "***@"
        else:
            auth = f"{user}@" if user else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{auth}{host}:{self.port}/{self.db}"

    def __repr__(self) -> str:
        return f"StoreUrl({str(self)!r})"


MEMORY = StoreUrl("memory")


def redacted(text: str) -> str:
    """`text` with anything between `scheme://` and the last `@` replaced by `***`: how a
    refused value is quoted, since it may hold a password that failed to parse."""
    scheme, separator, rest = text.partition("://")
    if not separator or "@" not in rest:
        return text
    return f"{scheme}://***@{rest.rpartition('@')[2]}"


def parse_store_url(text: str) -> StoreUrl:
    """`memory`, `redis://[[user]:password@]host[:port][/db]` or the same with `rediss://`.

    Raises ValueError saying what is wrong, quoting the value without its password."""
    value = text.strip()
    if value.lower() == "memory":
        return MEMORY
    shown = repr(redacted(value))
    expected = "expected memory, redis://[:password@]host:port/db or rediss://... (TLS)"
    try:
        parts = urlsplit(value)
        port = parts.port  # urlsplit checks the port only when it is read
    except ValueError as error:  # an unclosed [IPv6 bracket, a port past 65535 or not a number
        raise ValueError(f"{shown} is not a store URL: {_problem(error)}") from None
    if parts.scheme.lower() not in REDIS_SCHEMES:
        raise ValueError(f"{shown} is not a store: {expected}")
    if not parts.hostname:
        raise ValueError(f"{shown} names no host: {expected}")
    if parts.query or parts.fragment:
        raise ValueError(
            f"{shown}: a store URL takes no query or fragment (--store-timeout sets the timeout)"
        )
    return StoreUrl(
        parts.scheme.lower(),
        host=parts.hostname,
        port=_DEFAULT_PORT if port is None else port,
        db=_database(parts, shown),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def _database(parts: SplitResult, shown: str) -> int:
    path = parts.path.strip("/")
    if not path:
        return 0
    if not path.isdigit():
        raise ValueError(f"{shown}: the path must be a database number such as /0, got /{path}")
    return int(path)


def _problem(error: ValueError) -> str:
    """urlsplit's complaint in our words: its own message may quote a part of the value."""
    message = str(error).lower()
    if "range" in message:
        return "the port must be 0-65535"
    return "the port is not a number" if "port" in message else "the host is not valid"
