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
from datetime import UTC, datetime
from typing import Any

import orjson

from asm_mock.domain.journal import JournalEntry

__all__ = [
    "ACCESS_LOGGER",
    "AccessRecord",
    "BackgroundHandler",
    "access_fields",
    "access_line",
    "log_handler",
]

ACCESS_LOGGER = "asm_mock.access"
logger = logging.getLogger(ACCESS_LOGGER)


# An access-log record is the request's journal entry (asm_mock.http.recorder makes it).
AccessRecord = JournalEntry


def access_line(entry: JournalEntry) -> str:
    """Everything but the time, on one line (control characters escaped)."""
    target = entry.path + (f"?{entry.query}" if entry.query else "")
    text = (
        f"{entry.method} {target} {entry.status} {entry.duration_ms:.1f}ms "
        f"{entry.operation_id or '-'}"
    )
    if entry.problems:
        text += " — " + "; ".join(entry.problems)
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def access_fields(entry: JournalEntry) -> dict[str, Any]:
    """The JSON log format's object."""
    return {
        "time": entry.time.isoformat(timespec="milliseconds"),
        "method": entry.method,
        "path": entry.path,
        "query": entry.query,
        "status": entry.status,
        "durationMs": round(entry.duration_ms, 3),
        "operationId": entry.operation_id,
        "problems": list(entry.problems),
    }


class _TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(message)s", datefmt="%H:%M:%S")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        if isinstance(getattr(record, "access", None), JournalEntry):
            return super().formatMessage(record)
        return f"{record.asctime} {record.levelname} {record.name}: {record.message}"


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        access = getattr(record, "access", None)
        if isinstance(access, JournalEntry):
            return orjson.dumps(access_fields(access)).decode()
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
