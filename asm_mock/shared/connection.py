"""One Redis client per store URL and event loop, and the ONE place where Redis's failures
become `StoreUnavailableError` (the OCC 503 every caller answers).

Every store operation goes through `RedisConnection.run()`: it bounds the whole operation,
retries and reconnections included, by the store timeout (`asyncio.timeout`), so a Redis that
is down, paused or restarting answers 503 within the timeout and never hangs a request. The
batches of store steps (`step()`) retry a dropped connection once (a restarted Redis drops every
pooled connection) and load the steps' script again where the server no longer knows it
(NOSCRIPT); the client's own commands (admin reads, the subscriber) have redis-py's retry.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

import hiredis
import orjson
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
    NoScriptError,
    OutOfMemoryError,
    ReadOnlyError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import TimeoutError as RedisTimeoutError

from asm_mock.domain.errors import StoreUnavailableError
from asm_mock.shared import scripts
from asm_mock.shared.url import StoreUrl

__all__ = [
    "DEFAULT_STORE_TIMEOUT",
    "MAX_CONNECTIONS",
    "GuardRefused",
    "RedisConnection",
    "check_reachable",
]

DEFAULT_STORE_TIMEOUT = 1.0
# per process and event loop: enough for every request in flight of one busy worker; beyond
# it a request waits for a connection, still within the store timeout
MAX_CONNECTIONS = 64

T = TypeVar("T")
# a store step as asked: its name, its namespace's key prefix, its arguments, its guard
_Step = tuple[str, str, tuple[str | bytes | int, ...], str | None]
_GUARD_REFUSED = "GUARD "  # how the steps' script says a guarded step's key was gone


class GuardRefused(Exception):
    """A guarded step did not run: its guard key no longer exists (see `RedisConnection.step`)."""


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


async def _ask(connection: redis.asyncio.Connection, *command: bytes) -> Any:
    # packed by hiredis itself: redis-py's packer encodes each argument in Python first
    packed = hiredis.pack_command(command)  # type: ignore[arg-type]  # stub: a 1-tuple
    await connection.send_packed_command(packed, check_health=False)
    return await connection.read_response()


def _text(argument: str | bytes | int) -> str:
    if isinstance(argument, str):
        return argument
    return argument.decode() if isinstance(argument, bytes) else str(argument)


_EVALSHA_STEPS = (b"EVALSHA", scripts.STEPS_SHA.encode(), b"0")


async def _steps_on(connection: redis.asyncio.Connection, asked: bytes) -> Any:
    try:
        return await _ask(connection, *_EVALSHA_STEPS, asked)
    except NoScriptError:  # a restarted Redis forgot the script
        await _ask(connection, b"SCRIPT", b"LOAD", scripts.STEPS_SOURCE)
        return await _ask(connection, *_EVALSHA_STEPS, asked)


def _why_unavailable(error: Exception) -> str | None:
    return next((why for kind, why in _UNAVAILABLE if isinstance(error, kind)), None)


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
        # per event loop, the store steps gathering for the next EVALSHA (see `step`)
        self._batches: dict[asyncio.AbstractEventLoop, list[tuple[_Step, asyncio.Future[Any]]]] = {}
        self._sending: set[asyncio.Task[None]] = set()
        # per event loop, the connections that batches of steps use, between two batches
        self._idle: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, list[redis.asyncio.Connection]
        ] = weakref.WeakKeyDictionary()

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
            why = _why_unavailable(error)
            if why is None:
                raise
            raise self.unavailable(why) from None

    async def step(
        self, name: str, prefix: str, *args: str | bytes | int, guard: str | None = None
    ) -> Any:
        """Run the store step `name` (`scripts.py`) in the namespace of key `prefix`, as
        `run()` would, but the steps that the requests of one event-loop turn ask are sent
        as ONE EVALSHA: at 16 requests in flight redis-py's own cost per command (~0.1 ms of
        CPU) was most of a request's time. A batch leaves after every step in it was asked,
        so it sees every write that finished before: reads stay read-your-writes across
        replicas. It is sent by a task of its own, so a caller that is cancelled (its client
        went away) fails no other step of its batch. With `guard` (a key under `prefix`), the
        step runs only if that key exists, checked in the same atomic step; else it changes
        nothing and raises GuardRefused."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Any] = loop.create_future()
        batch = self._batches.get(loop)
        if batch is None:  # the first step of this turn: the batch leaves on the next one
            batch = self._batches[loop] = []
            loop.call_soon(self._send_batch, loop)
        batch.append(((name, prefix, args, guard), waiter))
        return await waiter

    def _send_batch(self, loop: asyncio.AbstractEventLoop) -> None:
        batch = self._batches.pop(loop)
        # named: an unnamed task formats a name of its own ("Task-N") at every batch
        sending = loop.create_task(self._run_batch(batch), name="store steps")
        self._sending.add(sending)  # the loop keeps only a weak reference to a task
        sending.add_done_callback(self._sending.discard)

    async def _run_batch(self, asked_steps: list[tuple[_Step, asyncio.Future[Any]]]) -> None:
        encoded: list[bytes] = []
        batch: list[tuple[_Step, asyncio.Future[Any]]] = []
        for step, waiter in asked_steps:  # a step that cannot be written fails alone
            try:
                name, prefix, args, guard = step
                texts = [_text(a) for a in args]
                entry = [name, prefix, texts] if guard is None else [name, prefix, texts, guard]
                encoded.append(orjson.dumps(entry))
            except Exception as error:  # not UTF-8, a lone surrogate: the mock's own bug
                if not waiter.done():
                    waiter.set_exception(error)
                continue
            batch.append((step, waiter))
        if not batch:
            return
        asked = b"[" + b",".join(encoded) + b"]"
        try:
            answers = await self.run(partial(self._run_steps, asked))
        except BaseException as error:
            failure = error if isinstance(error, Exception) else self.unavailable("cancelled")
            for _, waiter in batch:
                if not waiter.done():
                    waiter.set_exception(failure)
            if not isinstance(error, Exception):
                raise
            return
        for (_, waiter), answer in zip(batch, answers, strict=True):
            if waiter.done():  # its request was cancelled
                continue
            if isinstance(answer, ResponseError):  # that step alone failed
                if str(answer).startswith(_GUARD_REFUSED):
                    waiter.set_exception(GuardRefused(str(answer)))
                    continue
                why = _why_unavailable(answer)  # else the mock's own bug: a logged 500
                waiter.set_exception(answer if why is None else self.unavailable(why))
            else:
                waiter.set_result(answer)

    async def _run_steps(self, asked: bytes, client: redis.asyncio.Redis) -> Any:
        """One EVALSHA of the store's steps without the client's per-command machinery
        (retry policy, events, metrics, and the pool's lock for every command: ~0.1 ms of CPU
        per batch, measured). What that machinery does for us is done here: a script the
        server forgot is loaded again, and a dropped connection (a restarted Redis) is retried
        once. The connection is kept for the loop's next batch (the pool bounds how many are
        open); one that failed goes back to the pool, and a read that fails or is cancelled
        closes its connection (redis-py), so no late answer can reach another batch."""
        idle = self._idle.setdefault(asyncio.get_running_loop(), [])
        pool = client.connection_pool
        if idle:
            connection = idle.pop()
        else:
            connection = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            try:
                answers = await _steps_on(connection, asked)
            except (ConnectionError, OSError):
                await connection.disconnect()
                answers = await _steps_on(connection, asked)  # it connects again
        except BaseException:
            await pool.release(connection)
            raise
        idle.append(connection)
        return answers

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

    async def drain(self) -> None:
        """Wait until every batch of store steps asked on this loop has been answered."""
        loop = asyncio.get_running_loop()
        while True:
            sending = [task for task in self._sending if task.get_loop() is loop]
            if not sending and loop not in self._batches:
                return
            await asyncio.gather(*sending, asyncio.sleep(0), return_exceptions=True)

    async def aclose(self) -> None:
        """Answer the batches asked, then close the running loop's pool (the others are
        dropped with their loops)."""
        await self.drain()
        loop = asyncio.get_running_loop()
        idle = self._idle.pop(loop, [])
        opened = self._clients.pop(loop, None)
        if opened is not None:
            for connection in idle:
                await opened[0].connection_pool.release(connection)
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
