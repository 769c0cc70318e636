"""Sending an answer on an ASGI channel: the one module that writes an `http.response.start`.

Every piece that answers by itself — the guards, the token endpoint, the fast lane, preferred
and canned answers, CORS preflights, injected errors and faults — sends through `send_answer`,
JSON through `send_json` and SAP's OCC errors through `send_error`. A piece that passes another
app's answer on and only edits its headers wraps `send` with `editing_headers` instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from starlette.types import Message, Send

from asm_mock.domain.errors import ApiError
from asm_mock.http.errors import error_body, error_headers

__all__ = [
    "JSON",
    "ResponseHeaders",
    "editing_headers",
    "send_answer",
    "send_error",
    "send_json",
]

JSON = b"application/json"
ResponseHeaders = list[tuple[bytes, bytes]]
_CLOSE = (b"connection", b"close")


async def send_answer(
    send: Send, status: int, headers: ResponseHeaders, body: bytes = b"", *, more_body: bool = False
) -> None:
    """The whole answer; with `more_body`, only its start: returning then, the server drops the
    connection half-way through the body (the `reset` fault)."""
    await send({"type": "http.response.start", "status": status, "headers": headers})
    if more_body:
        await send({"type": "http.response.body", "body": body, "more_body": True})
    else:
        await send({"type": "http.response.body", "body": body})


async def send_json(
    send: Send,
    status: int,
    body: bytes,
    extra: Iterable[tuple[bytes, bytes]] = (),
    *,
    content_type: bytes = JSON,
) -> None:
    """`body`, already JSON, with its content type and length and then `extra` headers."""
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        *extra,
    ]
    # the two messages written out, not send_answer(): the fast lane's every answer comes here
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_error(
    send: Send, error: ApiError, extra: Iterable[tuple[bytes, bytes]] = (), *, close: bool = False
) -> None:
    """`error` as SAP's OCC body, with its challenge headers; `close` ends the connection too
    (a guard that refused a body it did not read)."""
    headers = [*error_headers(error), *extra]
    if close:
        headers.append(_CLOSE)
    await send_json(send, error.status_code, error_body(error), headers)


def editing_headers(send: Send, edit: Callable[[ResponseHeaders], ResponseHeaders]) -> Send:
    """`send`, with the headers of the answer passing through it replaced by `edit(headers)`."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": edit(list(message.get("headers", ())))}
        await send(message)

    return sending
