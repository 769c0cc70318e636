"""The launcher's redis-server: on a free loopback port, password-protected on demand,
restartable on the same port (the shared store's fault tests stop and start it)."""

from __future__ import annotations

import pytest
import redis

from asm_mock.testing import RedisServer, redis_server_path

pytestmark = pytest.mark.usefixtures("redis_server")  # skipped (or failed in CI) without one


def test_the_session_server_is_flushed_for_each_test(redis_url: str) -> None:
    with redis.Redis.from_url(redis_url) as client:
        assert client.dbsize() == 0
        client.set("left-behind", "1")


def test_the_next_test_finds_nothing_left_behind(redis_url: str) -> None:
    with redis.Redis.from_url(redis_url) as client:
        assert client.get("left-behind") is None


def test_a_password_protected_server_refuses_a_client_without_it() -> None:
    assert redis_server_path() is not None
    with RedisServer(password="not-the-demo") as server:
        assert server.url.startswith("redis://:not-the-demo@127.0.0.1:")
        with redis.Redis(port=server.port) as anonymous, pytest.raises(redis.AuthenticationError):
            anonymous.ping()
        with redis.Redis.from_url(server.url) as client:
            assert client.ping() is True


def test_a_stopped_server_restarts_empty_on_the_same_port() -> None:
    with RedisServer() as server:
        port = server.port
        with redis.Redis.from_url(server.url) as client:
            client.set("k", "v")
        server.stop()
        assert not server.running
        with redis.Redis.from_url(server.url, socket_connect_timeout=0.5) as client:
            with pytest.raises(redis.ConnectionError):
                client.ping()
        server.start()
        assert server.port == port and server.running
        with redis.Redis.from_url(server.url) as client:
            assert client.get("k") is None
