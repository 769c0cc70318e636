"""Records every API request in the journal: operation, status, duration, what was wrong."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from starlette.types import ASGIApp, Receive, Scope, Send

from asm_mock.domain.journal import Journal, JournalEntry
from asm_mock.http.problems import ResponseWatch

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
        watch = ResponseWatch(send)
        try:
            await self._app(scope, receive, watch.send)
        finally:
            method, path = scope["method"], scope["path"]
            self._journal().record(
                JournalEntry(
                    time=datetime.now(UTC),
                    method=method,
                    path=path,
                    query=scope.get("query_string", b"").decode("latin-1"),
                    operation_id=self._operation_id(method, path),
                    status=watch.answered_status,
                    duration_ms=watch.duration_ms,
                    problems=watch.problems(),
                )
            )
