"""The HTTP/1.1 protocol every asm-mock server speaks: uvicorn's httptools protocol, writing
through a transport that sends the writes of one event-loop turn as one.

uvicorn writes an answer's status line and headers when the app sends `http.response.start`,
and its body when the app sends `http.response.body`: two send(2) calls per answer. On
loopback a send costs far more in the kernel than in Python (the sender's system call runs
the receiver's side of TCP too): ~14 us each on the machines this was measured on, a few
percent of a whole request. Both writes happen in the same turn of the event loop (nothing
suspends between them), so holding writes until the turn ends joins them with no knowledge of
HTTP: the same holds for pipelined answers, a `100 Continue` and an error page before a close.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["HTTP_PROTOCOL", "CoalescingHttpToolsProtocol", "CoalescingTransport"]

# a write this large leaves at once (after what is held): joining it would only copy it
_HOLD_AT_MOST = 64 * 1024


class CoalescingTransport:
    """`transport`, except that writes are held until the running loop turn ends and then
    written as one. Closing writes what is held first; aborting drops it."""

    __slots__ = ("_held", "_held_size", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []
        self._held_size = 0

    def write(self, data: bytes) -> None:
        if not data:
            return
        if self._held_size + len(data) > _HOLD_AT_MOST:
            self.flush()
            self._transport.write(data)
            return
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(bytes(data))
        self._held_size += len(data)

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Write what is held now (the loop does it when the turn ends)."""
        held = self._held
        if not held:
            return
        self._held = []
        self._held_size = 0
        # no is_closing() gate: a transport closing while it still sends what it holds takes
        # more, and one whose connection is lost discards writes itself, as it did unheld
        try:
            self._transport.write(held[0] if len(held) == 1 else b"".join(held))
        except RuntimeError:  # uvloop: the connection's handle is closed already
            pass

    def get_write_buffer_size(self) -> int:
        return self._held_size + self._transport.get_write_buffer_size()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.flush()  # an upgraded connection's protocol writes to the transport itself
        self._transport.set_protocol(protocol)

    def abort(self) -> None:
        self._held = []
        self._held_size = 0
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:  # is_closing, get_extra_info, pause_reading, ...
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, writing through a `CoalescingTransport`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        coalescing: Any = CoalescingTransport(transport, self.loop)
        super().connection_made(coalescing)

    def eof_received(self) -> None:
        # a client that sent its request and closed its half: the loop closes the real
        # transport when this returns, so an answer held this turn must leave first
        self.transport.flush()  # type: ignore[attr-defined]
        super().eof_received()


# what every server asm-mock starts is given as uvicorn's `http`
HTTP_PROTOCOL = CoalescingHttpToolsProtocol
