"""The HTTP protocol asm-mock serves with: the writes of one loop turn leave as one."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from asm_mock.http.server_protocol import (
    HTTP_PROTOCOL,
    CoalescingHttpToolsProtocol,
    CoalescingTransport,
)
from asm_mock.testing import ThreadedServer

pytestmark = pytest.mark.anyio


class RecordingTransport(asyncio.Transport):
    """A transport that keeps what is written to it, as uvicorn's own protocol tests do."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def next_turns(count: int = 2) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


async def test_the_writes_of_one_turn_leave_as_one_write_in_order() -> None:
    real = RecordingTransport()
    transport = CoalescingTransport(real, asyncio.get_running_loop())
    transport.write(b"head|")
    transport.writelines([b"body", b"|more"])
    assert real.writes == []  # held until the turn ends
    assert transport.get_write_buffer_size() == len(b"head|body|more")
    await next_turns()
    transport.write(b"next")
    await next_turns()
    assert real.writes == [b"head|body|more", b"next"]


async def test_closing_writes_what_is_held_first() -> None:
    real = RecordingTransport()
    transport = CoalescingTransport(real, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    transport.close()
    assert real.writes == [b"HTTP/1.1 400 Bad Request\r\n\r\n"]
    assert real.closed
    await next_turns()  # the turn's own flush finds nothing left
    assert len(real.writes) == 1


async def test_aborting_drops_what_is_held() -> None:
    real = RecordingTransport()
    transport = CoalescingTransport(real, asyncio.get_running_loop())
    transport.write(b"never")
    transport.abort()
    await next_turns()
    assert real.writes == []
    assert real.aborted


async def test_a_large_write_leaves_at_once_after_what_was_held() -> None:
    real = RecordingTransport()
    transport = CoalescingTransport(real, asyncio.get_running_loop())
    large = b"x" * (128 * 1024)
    transport.write(b"head")
    transport.write(large)
    assert real.writes == [b"head", large]  # not joined: that would only copy it
    assert transport.get_write_buffer_size() == 0


async def test_the_transport_answers_for_the_real_one() -> None:
    real = RecordingTransport()
    transport = CoalescingTransport(real, asyncio.get_running_loop())
    assert transport.get_extra_info("peername") == ("127.0.0.1", 50000)
    assert not transport.is_closing()


async def answer_hello(scope: Any, receive: Any, send: Any) -> None:
    body = b'{"hello":"world"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def asked_hello() -> tuple[CoalescingHttpToolsProtocol, RecordingTransport]:
    """uvicorn's protocol as asm-mock serves with it, over a recording transport, asked once."""
    config = Config(app=answer_hello, http=HTTP_PROTOCOL, lifespan="off", log_level="warning")
    config.load()
    protocol = CoalescingHttpToolsProtocol(
        config=config, server_state=ServerState(), app_state={}, _loop=asyncio.get_running_loop()
    )
    real = RecordingTransport()
    protocol.connection_made(real)
    protocol.data_received(b"GET /hello HTTP/1.1\r\nHost: example.com\r\n\r\n")
    return protocol, real


async def test_uvicorns_protocol_writes_an_answer_head_and_body_in_one_write() -> None:
    protocol, real = asked_hello()
    for _ in range(20):
        await asyncio.sleep(0)
        if real.writes:
            break
    assert len(real.writes) == 1
    head, _, body = real.writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert body == b'{"hello":"world"}'
    protocol.connection_lost(None)


async def test_an_answer_held_when_the_client_closes_its_half_still_leaves() -> None:
    protocol, real = asked_hello()
    held = protocol.transport
    for _ in range(20):
        await asyncio.sleep(0)  # the answer's task runs; its flush is not due yet
        if held.get_write_buffer_size():
            break
    assert held.get_write_buffer_size() > 0
    assert real.writes == []
    protocol.eof_received()  # after this the loop closes the real transport itself
    assert len(real.writes) == 1
    assert real.writes[0].endswith(b'{"hello":"world"}')
    protocol.connection_lost(None)


async def streaming_answer(scope: Any, receive: Any, send: Any) -> None:
    """Answers a chunked stream of 300 KiB, or `path` bytes echoed with a length."""
    if scope["type"] != "http":
        return
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for _ in range(30):
            await send({"type": "http.response.body", "body": b"y" * 10240, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    body = scope["path"].encode()
    headers = [(b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def read_until_closed(connection: socket.socket) -> bytes:
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


@pytest.fixture(scope="module")
def server() -> Any:
    with ThreadedServer(streaming_answer) as running:
        yield running


def test_pipelined_requests_are_answered_whole_and_in_order(server: ThreadedServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(
            b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /second HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /third HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        received = read_until_closed(connection)
    bodies = [answer.split(b"\r\n\r\n", 1)[1][:6] for answer in received.split(b"HTTP/1.1 ")[1:]]
    assert bodies == [b"/first", b"/secon", b"/third"]
    assert received.endswith(b"/third")  # written before the connection closed


def test_a_chunked_stream_arrives_whole(server: ThreadedServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        received = read_until_closed(connection)
    head, _, chunked = received.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head
    assert chunked.count(b"y") == 30 * 10240
    assert chunked.endswith(b"0\r\n\r\n")
