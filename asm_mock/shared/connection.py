"""One redis.asyncio client per store URL, and the one place Redis's failures become
`StoreUnavailableError` (503) with the URL's password masked."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from asm_mock.domain.errors import StoreUnavailableError

__all__ = ["DEFAULT_STORE_TIMEOUT", "masked_url", "store_client", "unavailable"]

DEFAULT_STORE_TIMEOUT = 1.0  # seconds: a Redis that does not answer by then is down


def masked_url(url: str) -> str:
    """`url` with its password (if any) as ***: what logs, errors and refusals may show."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


def store_client(url: str, *, timeout: float = DEFAULT_STORE_TIMEOUT) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=30,
        retry_on_timeout=False,
    )


@contextlib.contextmanager
def unavailable(url: str) -> Iterator[None]:
    """Redis's failures inside the block, as the OCC 503 naming the store (password masked)."""
    try:
        yield
    except (RedisError, OSError) as error:
        raise StoreUnavailableError(
            f"The shared store {masked_url(url)} is unavailable ({type(error).__name__})"
        ) from None
