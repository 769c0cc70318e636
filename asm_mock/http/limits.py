"""Request-body guards that run before Connexion reads anything.

Connexion buffers whole bodies and, with no Content-Type, guesses one and hands the raw bytes
to the handler; both are unsafe on hostile input. So bodies are capped (413) and must say what they
are (415) before they reach it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from asm_mock.domain.errors import (
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    ValidationError,
)
from asm_mock.http.headers import first_header, has_header
from asm_mock.http.send import send_error

__all__ = ["MAX_ADMIN_BODY_BYTES", "MAX_BODY_BYTES", "BodyGuard", "read_within", "replaying"]

MAX_BODY_BYTES = 1024 * 1024
# PUT /__admin/state carries a whole world: ~1,300 customers already make 1 MiB
MAX_ADMIN_BODY_BYTES = 256 * 1024 * 1024


class BodyGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int = MAX_BODY_BYTES,
        methods: frozenset[str] = frozenset({"POST"}),
    ) -> None:
        self._app = app
        self._limit = limit
        self._methods = methods

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in self._methods:
            await self._app(scope, receive, send)
            return
        headers = scope["headers"]
        length = first_header(headers, b"content-length")
        if length is not None:
            if not (length.isascii() and length.isdigit()):
                await send_error(
                    send,
                    close=True,
                    error=ValidationError(
                        "Invalid Content-Length header",
                        reason="invalid",
                        subject="Content-Length",
                        subject_type="header",
                    ),
                )
                return
            if int(length) > self._limit:
                await send_error(send, close=True, error=_too_large(self._limit))
                return
        size = int(length) if length is not None else 0
        if length is None and has_header(headers, b"transfer-encoding"):
            # Connexion takes a body without Content-Length (chunked) for an empty one: read it
            # here, within the limit, and hand it on with its length.
            try:
                body = await read_within(receive, self._limit)
            except PayloadTooLargeError as error:
                await send_error(send, close=True, error=error)
                return
            size = len(body)
            scope = {
                **scope,
                "headers": [
                    *(h for h in headers if h[0] != b"transfer-encoding"),
                    (b"content-length", str(size).encode()),
                ],
            }
            receive = replaying(body, receive)
        # Neither Content-Length nor Transfer-Encoding: no body at all (RFC 9112, 6.3)
        if size > 0 and not (first_header(headers, b"content-type") or "").strip():
            await send_error(
                send,
                close=True,
                error=UnsupportedMediaTypeError(
                    "Content-Type header is missing; this operation consumes application/json"
                ),
            )
            return
        await self._app(scope, _capped(receive, self._limit), send)


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"Request body is larger than {limit} bytes")


async def read_within(receive: Receive, limit: int) -> bytes:
    """The whole request body, or PayloadTooLargeError as soon as it passes `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """`receive` for the app a body already read is handed on to: first that whole body, then
    whatever the client sends next (its disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _capped(receive: Receive, limit: int) -> Receive:
    received = 0

    async def capped_receive() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise _too_large(limit)
        return message

    return capped_receive
