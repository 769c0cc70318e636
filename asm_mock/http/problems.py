"""How a request was answered, as the journal and the access log both record it: status,
duration, from an error answer's body what was wrong (in short, and where), and which of the
mock's controls shaped the answer (read from the marker headers those controls send)."""

from __future__ import annotations

import time

import orjson
from starlette.types import Message, Send

from asm_mock.domain.journal import ErrorDetail

__all__ = ["CONTROL_HEADERS", "MAX_ERROR_BODY", "ResponseWatch", "error_details", "error_problems"]

MAX_ERROR_BODY = 16 * 1024  # bytes of an error body kept to read its problems from

# Response headers that say a control of the mock shaped the answer -> the control's kind.
CONTROL_HEADERS = {
    b"preference-applied": "prefer",
    b"x-asm-mock-canned": "canned",
    b"x-asm-mock-injected": "injected",
    b"x-asm-mock-fault": "fault",
}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def error_details(body: bytes) -> tuple[ErrorDetail, ...]:
    """The errors of an error body (OCC `errors[]`, OAuth2's `error_description`), each with
    what SAP's body says of where and why."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ()
    if isinstance(parsed, dict) and isinstance(parsed.get("errors"), list):
        return tuple(
            ErrorDetail(
                str(e.get("message", e.get("type", ""))),
                _text(e.get("reason")),
                _text(e.get("subject")),
                _text(e.get("subjectType")),
            )
            for e in parsed["errors"]
            if isinstance(e, dict)
        )
    if isinstance(parsed, dict) and "error" in parsed:
        return (ErrorDetail(f"{parsed['error']}: {parsed.get('error_description', '')}"),)
    return ()


def error_problems(body: bytes) -> tuple[str, ...]:
    """The messages of an error body (OCC `errors[].message`, OAuth2's `error_description`)."""
    return tuple(detail.message for detail in error_details(body))


class ResponseWatch:
    """Wraps an ASGI `send` and notes the status, the time taken, the controls that shaped the
    answer and an error body's problems."""

    __slots__ = ("_error_body", "_send", "_started", "controls", "status")

    def __init__(self, send: Send) -> None:
        self._send = send
        self._started = time.perf_counter()
        self._error_body: bytearray | None = None  # made for an error answer only
        self.status = 0
        self.controls: tuple[tuple[str, str], ...] = ()

    async def send(self, message: Message) -> None:
        if self.status == 0:
            if message["type"] == "http.response.start":
                self.status = message["status"]
                for name, value in message.get("headers", ()):  # a loop: every answer passes
                    if name in CONTROL_HEADERS:
                        self._note_control(name, value)
        elif self.status >= 400 and message["type"] == "http.response.body":
            if self._error_body is None:
                self._error_body = bytearray()
            room = MAX_ERROR_BODY - len(self._error_body)
            if room > 0:
                self._error_body.extend(message.get("body", b"")[:room])
        await self._send(message)

    def _note_control(self, name: bytes, value: bytes) -> None:
        kind = CONTROL_HEADERS[name]
        text = value.decode("latin-1")
        # Preference-Applied lists every preference applied: one control each
        details = [p.strip() for p in text.split(",")] if kind == "prefer" else [text]
        self.controls += tuple((kind, d) for d in details if d)

    @property
    def duration_ms(self) -> float:
        return (time.perf_counter() - self._started) * 1000

    @property
    def answered_status(self) -> int:
        """The status sent, or 500 when the app failed before sending one."""
        return self.status or 500

    def details(self) -> tuple[ErrorDetail, ...]:
        return error_details(bytes(self._error_body)) if self._error_body else ()
