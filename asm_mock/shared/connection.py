"""One Redis client per store URL and event loop, and the ONE place where Redis's failures
become `StoreUnavailableError` (the OCC 503 every caller answers).

Every store operation goes through `RedisConnection.run()`: it bounds the whole operation,
retries and reconnections included, by the store timeout (`asyncio.timeout`), so a Redis that
is down, paused or restarting answers 503 within the timeout and never hangs a request. redis-py
retries a dropped connection once (a restarted Redis drops every pooled connection), and its
`Script` reloads a Lua script the restarted server no longer knows (NOSCRIPT).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TypeVar, cast

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import (
    AuthenticationError,
    AuthorizationError,
    BusyLoadingError,
    ConnectionError,
    MasterDownError,
    NoPermissionError,
    OutOfMemoryError,
    ReadOnlyError,
    TryAgainError,
)
from redis.exceptions import TimeoutError as RedisTimeoutError

from asm_mock.domain.errors import StoreUnavailableError
from asm_mock.shared.url import StoreUrl

__all__ = ["DEFAULT_STORE_TIMEOUT", "MAX_CONNECTIONS", "RedisConnection", "check_reachable"]

DEFAULT_STORE_TIMEOUT = 1.0
# per process and event loop: enough for every request in flight of one busy worker; beyond
# it a request waits for a connection, still within the store timeout
MAX_CONNECTIONS = 64

T = TypeVar("T")

# What a Redis that is away or refusing raises, and how its 503 says it. Any other RedisError
# (a ResponseError from a script) is the mock's own bug and stays one: a logged 500.
_UNAVAILABLE: tuple[tuple[type[BaseException], str], ...] = (
    (AuthenticationError, "it refused the password"),
    (AuthorizationError, "it refused the password"),
    (NoPermissionError, "its ACL refused a command"),
    (BusyLoadingError, "it is loading its data set"),
    (ReadOnlyError, "it is a read-only replica"),
    (OutOfMemoryError, "it is out of memory (maxmemory)"),
    (MasterDownError, "its master is down"),
    (TryAgainError, "it asked to try again"),
    (RedisTimeoutError, "it did not answer in time"),
    (ConnectionError, "it cannot be reached"),
    (OSError, "it cannot be reached"),
)


async def _closed_with_its_loop(client: redis.asyncio.Redis) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await client.aclose()


_Opened = tuple[redis.asyncio.Redis, AsyncGenerator[None, None]]


class RedisConnection:
    """The Redis behind one `--store` URL: a connection pool per event loop (redis-py's
    asyncio connections belong to the loop that opened them), every operation bounded by
    `timeout` seconds."""

    def __init__(self, url: StoreUrl, *, timeout: float = DEFAULT_STORE_TIMEOUT) -> None:
        if url.is_memory:
            raise ValueError("the memory store needs no Redis connection")
        self.url = url
        self.timeout = timeout
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Opened] = (
            weakref.WeakKeyDictionary()
        )
        # per event loop, the GETs gathering for the next MGET (see `get`)
        self._batches: dict[
            asyncio.AbstractEventLoop, list[tuple[str, asyncio.Future[bytes | None]]]
        ] = {}

    async def _client(self) -> redis.asyncio.Redis:
        """The client of the running event loop, created at its first use. Its pool closes
        when the loop shuts down (asyncio.run finalizes async generators on the loop they ran
        on), so a short-lived loop (start-up scenarios applied through `run_blocking`) leaves
        no connection open."""
        loop = asyncio.get_running_loop()
        opened = self._clients.get(loop)
        if opened is None:
            client = self._new_client()
            closer = _closed_with_its_loop(client)
            await closer.__anext__()
            opened = self._clients[loop] = (client, closer)
        return opened[0]

    def _new_client(self) -> redis.asyncio.Redis:
        url = self.url
        connection_class: type[redis.asyncio.Connection] = (
            redis.asyncio.SSLConnection if url.tls else redis.asyncio.Connection
        )
        pool = redis.asyncio.BlockingConnectionPool(
            max_connections=MAX_CONNECTIONS,
            # no timeouts of its own for a free connection or a reply: run()'s one timeout
            # bounds the whole operation (each timeout armed costs every command a timer)
            timeout=None,
            host=url.host,
            port=url.port,
            db=url.db,
            username=url.username,
            password=url.password,
            socket_timeout=None,
            socket_connect_timeout=self.timeout,
            retry=Retry(ExponentialBackoff(cap=self.timeout / 4, base=0.01), retries=1),
            retry_on_error=[ConnectionError],
            client_name="asm-mock",
            connection_class=connection_class,
        )
        return redis.asyncio.Redis.from_pool(pool)  # closing the client closes its pool

    async def run(self, operation: Callable[[redis.asyncio.Redis], Awaitable[T]]) -> T:
        """`operation(client)`, within the timeout; Redis away or refusing raises
        StoreUnavailableError naming the store (without its password) and what happened."""
        try:
            async with asyncio.timeout(self.timeout):
                return await operation(await self._client())
        except TimeoutError:  # asyncio.timeout's
            raise self.unavailable(f"it did not answer within {self.timeout:g} s") from None
        except Exception as error:
            why = next((why for kind, why in _UNAVAILABLE if isinstance(error, kind)), None)
            if why is None:
                raise
            raise self.unavailable(why) from None

    async def get(self, key: str) -> bytes | None:
        """GET `key`, as `run()` would, but the GETs that the requests of one event-loop turn
        ask are sent as ONE `MGET`. Every request's token look-up is one, and at 16 requests in
        flight redis-py's own cost per command (~0.1 ms of CPU) was most of a request's time
        (a pipeline of GETs costs more than the GETs: MGET is one command). A batch leaves
        after every GET in it was asked, so it sees every write that finished before: reads
        stay read-your-writes across replicas."""
        loop = asyncio.get_running_loop()
        batch = self._batches.get(loop)
        if batch is not None:  # a batch is gathering: join it
            waiter: asyncio.Future[bytes | None] = loop.create_future()
            batch.append((key, waiter))
            return await waiter
        batch = self._batches[loop] = []
        try:
            await asyncio.sleep(0)  # one turn: the other requests ready now join this batch
        finally:
            del self._batches[loop]
        keys = [key, *(k for k, _ in batch)]
        try:
            # bytes: the pool does not decode replies
            values = cast(list[bytes | None], await self.run(lambda client: client.mget(keys)))
        except BaseException as error:
            failure = error if isinstance(error, Exception) else self.unavailable("cancelled")
            for _, waiter in batch:
                if not waiter.done():
                    waiter.set_exception(failure)
            raise
        for (_, waiter), value in zip(batch, values[1:], strict=True):
            if not waiter.done():  # a waiter whose request was cancelled is done already
                waiter.set_result(value)
        return values[0]

    async def client(self) -> redis.asyncio.Redis:
        """The running loop's client, for what outlives one bounded operation (a pub/sub
        subscription): its failures are the caller's to handle."""
        return await self._client()

    def unavailable(self, why: str) -> StoreUnavailableError:
        return StoreUnavailableError(
            f"The shared store {self.url} is unavailable: {why}",
            reason="storeUnavailable",
            subject=str(self.url),
            subject_type="store",
        )

    async def ping(self) -> None:
        """Raises StoreUnavailableError unless Redis answers within the timeout."""
        await self.run(lambda client: client.ping())

    async def aclose(self) -> None:
        """Close the running loop's pool (the others are dropped with their loops)."""
        opened = self._clients.pop(asyncio.get_running_loop(), None)
        if opened is not None:
            await opened[1].aclose()


def check_reachable(url: StoreUrl, *, timeout: float = DEFAULT_STORE_TIMEOUT) -> None:
    """Raises StoreUnavailableError unless the Redis of `url` answers a PING within `timeout`
    (start-up: a mock whose store is misconfigured refuses to start, on its own event loop)."""

    async def ping_once() -> None:
        connection = RedisConnection(url, timeout=timeout)
        try:
            await connection.ping()
        finally:
            await connection.aclose()

    asyncio.run(ping_once())
