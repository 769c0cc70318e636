"""Records every API request in the journal: operation, status, duration, what was wrong."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from asm_mock.domain.journal import Journal, JournalEntry
from asm_mock.http.problems import MAX_ERROR_BODY as _MAX_ERROR_BODY
from asm_mock.http.problems import error_problems as _problems

__all__ = ["JournalRecorder"]


class JournalRecorder:
    def __init__(
        self,
        app: ASGIApp,
        *,
        journal: Callable[[], Journal],
        operation_id: Callable[[str, str], str | None],
    ) -> None:
        self._app = app
        self._journal = journal
        self._operation_id = operation_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        error_body = bytearray()

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and 400 <= status < 500:
                if len(error_body) < _MAX_ERROR_BODY:
                    error_body.extend(message.get("body", b"")[:_MAX_ERROR_BODY])
            await send(message)

        try:
            await self._app(scope, receive, recording_send)
        finally:
            method, path = scope["method"], scope["path"]
            self._journal().record(
                JournalEntry(
                    time=datetime.now(UTC),
                    method=method,
                    path=path,
                    query=scope.get("query_string", b"").decode("latin-1"),
                    operation_id=self._operation_id(method, path),
                    status=status or 500,
                    duration_ms=(time.perf_counter() - started) * 1000,
                    problems=_problems(bytes(error_body)) if error_body else (),
                )
            )
