"""An upstream over TLS with a private CA's certificate: refused without --upstream-ca (a 502
naming TLS), accepted with the CA's bundle."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from asm_mock.proxy.cli import build_proxy
from asm_mock.testing import ThreadedServer
from tests.helpers import BASE

AGENT = {"uid": "asagent", "name": "Agent", "email": "a@example.com", "groups": ["g"]}


async def agent(request: Request) -> Response:
    return JSONResponse(AGENT)


@pytest.fixture(scope="module")
def ca_and_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    directory = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    certificate = ca.issue_cert("127.0.0.1")
    ca_file, cert_file, key_file = (directory / n for n in ("ca.pem", "cert.pem", "key.pem"))
    ca.cert_pem.write_to_path(str(ca_file))
    certificate.private_key_pem.write_to_path(str(key_file))
    certificate.cert_chain_pems[0].write_to_path(str(cert_file))
    app = Starlette(routes=[Route(BASE + "/agents/{agentId}", agent)])
    with ThreadedServer(app, certfile=cert_file, keyfile=key_file) as upstream:
        yield ca_file, upstream.base_url


def through(proxy_app: object) -> httpx.Response:
    with ThreadedServer(proxy_app) as proxy:  # type: ignore[arg-type]
        return httpx.get(proxy.base_url + BASE + "/agents/asagent", trust_env=False)


def test_a_private_ca_is_refused_without_upstream_ca(ca_and_upstream: tuple[Path, str]) -> None:
    _, upstream = ca_and_upstream
    assert upstream.startswith("https://")
    answer = through(build_proxy(upstream))
    assert answer.status_code == 502
    error = answer.json()["errors"][0]
    assert error["type"] == "BadGatewayError"
    assert "TLS" in error["message"], error


def test_the_private_ca_is_trusted_with_upstream_ca(ca_and_upstream: tuple[Path, str]) -> None:
    ca_file, upstream = ca_and_upstream
    answer = through(build_proxy(upstream, upstream_ca=ca_file))
    assert answer.status_code == 200
    assert answer.json() == AGENT
