"""Parts of the app that load in the background while the rest already serves.

`Background` builds one value on a daemon thread, once; `DeferredApp` is an ASGI app taken from
such a value, and holds each request that reaches it until the value is ready. asm-mock uses
them for Connexion (~0.35 s to import and build): the token endpoint and the fast lane answer
from the first moment; validation errors, the admin API and Swagger UI once it has loaded.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from starlette.types import ASGIApp, Receive, Scope, Send

from asm_mock.http.errors import unexpected_failure
from asm_mock.http.send import send_error

__all__ = ["Background", "DeferredApp"]

logger = logging.getLogger("asm_mock.errors")

T = TypeVar("T")


class Background(Generic[T]):
    """`build()`, run once on a background thread from the first `start()`."""

    def __init__(self, build: Callable[[], T], *, name: str) -> None:
        self._build = build
        self._name = name
        self._future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._lock = threading.Lock()
        self._started = False

    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
            # Running: from now on the future cannot be cancelled, e.g. by a waiter whose request
            # was cancelled (asyncio cancels a wrapped future along with its awaiting task).
            self._future.set_running_or_notify_cancel()
        try:
            thread = threading.Thread(target=self._run, name=f"asm-mock {self._name}", daemon=True)
            thread.start()
        except RuntimeError as exc:  # no thread to be had: waiters get the error, not a hang
            logger.error("loading %s failed", self._name, exc_info=exc)
            self._future.set_exception(exc)

    def _run(self) -> None:
        try:
            value = self._build()
        except BaseException as exc:  # handed to whoever waits for the value
            logger.error("loading %s failed", self._name, exc_info=exc)
            self._future.set_exception(exc)
        else:
            self._future.set_result(value)

    @property
    def started(self) -> bool:
        return self._started

    @property
    def ready(self) -> bool:
        """Built, and successfully."""
        return self._future.done() and self._future.exception() is None

    @property
    def error(self) -> BaseException | None:
        """Why the build failed, once it has; None while it runs and once it has succeeded."""
        return self._future.exception() if self._future.done() else None

    def result(self, timeout: float | None = None) -> T:
        """The value, starting the build if nobody has; blocks the calling thread."""
        self.start()
        return self._future.result(timeout)

    async def wait(self) -> T:
        """The value, starting the build if nobody has; the event loop keeps serving."""
        self.start()
        if self._future.done():
            return self._future.result()
        # shielded: a cancelled waiter must not cancel the build others wait for
        return await asyncio.shield(asyncio.wrap_future(self._future))


class DeferredApp:
    """ASGI: `pick(value)` of a Background value, once it is ready."""

    def __init__(self, source: Background[T], pick: Callable[[T], ASGIApp]) -> None:
        self._app: ASGIApp | None = None

        async def load() -> ASGIApp:
            return pick(await source.wait())

        self._load = load

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self._app
        if app is None:
            try:
                app = self._app = await self._load()
            except Exception:  # logged by Background; the client gets the OCC 500, no traceback
                if scope["type"] != "http":
                    raise
                await send_error(send, unexpected_failure())
                return
        await app(scope, receive, send)
