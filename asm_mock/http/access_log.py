"""One line per request on the `asm_mock.access` logger: method, path, status, duration,
operationId and, for errors, what was wrong; as text or as one JSON object per line.

    13:58:01 GET /assistedservicewebservices/customers/search?query=a&baseSite=x 400 2.1ms
    searchCustomers — Base site x doesn't exist    (one line)
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from asm_mock.http.problems import ResponseWatch

__all__ = ["ACCESS_LOGGER", "AccessLog", "AccessRecord", "BackgroundHandler", "log_handler"]

ACCESS_LOGGER = "asm_mock.access"
logger = logging.getLogger(ACCESS_LOGGER)


@dataclass(frozen=True, slots=True)
class AccessRecord:
    time: datetime
    method: str
    path: str
    query: str
    status: int
    duration_ms: float
    operation_id: str | None
    problems: tuple[str, ...]

    def line(self) -> str:
        """Everything but the time, on one line (control characters escaped)."""
        target = self.path + (f"?{self.query}" if self.query else "")
        text = (
            f"{self.method} {target} {self.status} {self.duration_ms:.1f}ms "
            f"{self.operation_id or '-'}"
        )
        if self.problems:
            text += " — " + "; ".join(self.problems)
        return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time.isoformat(timespec="milliseconds"),
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "durationMs": round(self.duration_ms, 3),
            "operationId": self.operation_id,
            "problems": list(self.problems),
        }


class AccessLog:
    """Logs every HTTP request once it is answered; costs nothing while INFO is off."""

    def __init__(self, app: ASGIApp, *, operation_id: Callable[[str, str], str | None]) -> None:
        self._app = app
        self._operation_id = operation_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not logger.isEnabledFor(logging.INFO):
            await self._app(scope, receive, send)
            return
        watch = ResponseWatch(send)
        try:
            await self._app(scope, receive, watch.send)
        finally:
            method, path = scope["method"], scope["path"]
            record = AccessRecord(
                time=datetime.now(UTC),
                method=method,
                path=path,
                query=scope.get("query_string", b"").decode("latin-1"),
                status=watch.answered_status,
                duration_ms=watch.duration_ms,
                operation_id=self._operation_id(method, path),
                problems=watch.problems(),
            )
            logger.info("%s", record.line(), extra={"access": record})


class _TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(message)s", datefmt="%H:%M:%S")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        if isinstance(getattr(record, "access", None), AccessRecord):
            return super().formatMessage(record)
        return f"{record.asctime} {record.levelname} {record.name}: {record.message}"


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        access = getattr(record, "access", None)
        if isinstance(access, AccessRecord):
            return orjson.dumps(access.to_dict()).decode()
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


class BackgroundHandler(logging.Handler):
    """Hands records to a writer thread, so a stderr that nobody reads (a test harness's pipe)
    never stalls the answers: when `capacity` records wait, new ones are dropped and counted."""

    def __init__(self, target: logging.Handler, *, capacity: int = 10_000) -> None:
        super().__init__()
        self.target = target
        self.dropped = 0
        self._queue: queue.Queue[logging.LogRecord] = queue.Queue(capacity)
        threading.Thread(target=self._write, name="asm-mock-log", daemon=True).start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1

    def _write(self) -> None:
        while True:
            record = self._queue.get()
            try:
                self.target.handle(record)
            finally:
                self._queue.task_done()

    def flush(self, timeout: float = 2.0) -> None:
        """Wait (at most `timeout` s: the reader may be gone) until the waiting records are out."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        self.target.flush()


def log_handler(log_format: str) -> logging.Handler:
    """A stderr handler for asm-mock's loggers: `text` (readable) or `json` (one object a line)."""
    handler = logging.StreamHandler()
    handler.setFormatter(_JsonFormatter() if log_format == "json" else _TextFormatter())
    return handler
