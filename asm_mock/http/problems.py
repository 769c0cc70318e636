"""How a request was answered, as the journal and the access log both record it: status,
duration and, from an error answer's body, what was wrong, in short."""

from __future__ import annotations

import time

import orjson
from starlette.types import Message, Send

__all__ = ["MAX_ERROR_BODY", "ResponseWatch", "error_problems"]

MAX_ERROR_BODY = 16 * 1024  # bytes of an error body kept to read its problems from


def error_problems(body: bytes) -> tuple[str, ...]:
    """The messages of an error body (OCC `errors[].message`, OAuth2's `error_description`)."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ()
    if isinstance(parsed, dict) and isinstance(parsed.get("errors"), list):
        return tuple(
            str(e.get("message", e.get("type", "")))
            for e in parsed["errors"]
            if isinstance(e, dict)
        )
    if isinstance(parsed, dict) and "error" in parsed:
        return (f"{parsed['error']}: {parsed.get('error_description', '')}",)
    return ()


class ResponseWatch:
    """Wraps an ASGI `send` and notes the status, the time taken and an error body's problems."""

    __slots__ = ("_error_body", "_send", "_started", "status")

    def __init__(self, send: Send) -> None:
        self._send = send
        self._started = time.perf_counter()
        self._error_body: bytearray | None = None  # made for an error answer only
        self.status = 0

    async def send(self, message: Message) -> None:
        if self.status == 0:
            if message["type"] == "http.response.start":
                self.status = message["status"]
        elif self.status >= 400 and message["type"] == "http.response.body":
            if self._error_body is None:
                self._error_body = bytearray()
            room = MAX_ERROR_BODY - len(self._error_body)
            if room > 0:
                self._error_body.extend(message.get("body", b"")[:room])
        await self._send(message)

    @property
    def duration_ms(self) -> float:
        return (time.perf_counter() - self._started) * 1000

    @property
    def answered_status(self) -> int:
        """The status sent, or 500 when the app failed before sending one."""
        return self.status or 500

    def problems(self) -> tuple[str, ...]:
        return error_problems(bytes(self._error_body)) if self._error_body else ()
