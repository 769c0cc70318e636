"""Watches each HTTP request once and makes one record of it: operation, status, duration, what
was wrong and where, the controls used. API requests go into the journal; every request goes to the
access log (when on)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from asm_mock.domain.journal import Journal, NotedRequest, noted_entry
from asm_mock.http.access_log import ACCESS_LOGGER, access_line
from asm_mock.http.problems import ResponseWatch

__all__ = ["RequestRecorder"]

_access_log = logging.getLogger(ACCESS_LOGGER)


class RequestRecorder:
    def __init__(
        self,
        app: ASGIApp,
        *,
        journal: Callable[[], Journal],
        journaled: Callable[[str], bool],
        operation_id: Callable[[str, str], str | None],
    ) -> None:
        self._app = app
        self._journal = journal
        self._journaled = journaled
        self._operation_id = operation_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path = scope["path"]
        journaled = self._journaled(path)
        logged = _access_log.isEnabledFor(logging.INFO)  # off: the log costs nothing
        if not journaled and not logged:
            await self._app(scope, receive, send)
            return
        watch = ResponseWatch(send)
        try:
            await self._app(scope, receive, watch.send)
        finally:
            method = scope["method"]
            status = watch.answered_status
            details = watch.details() if status >= 400 else ()  # a 2xx/3xx has no problems
            noted: NotedRequest = (
                time.time(),
                method,
                path,
                scope.get("query_string", b""),
                status,
                watch.duration_ms,
                tuple([d.message for d in details]) if details else (),
                details,
                watch.controls,
            )
            if journaled:
                self._journal().note(noted)  # it names the operation when read
            if logged:
                entry = noted_entry(noted, self._operation_id)
                _access_log.info("%s", access_line(entry), extra={"access": entry})
