"""The proxy on odd input and in front of an odd upstream (a raw ASGI app): a body past the
mock's limit is the mock's 413, never read whole; an upstream that drips its answer slower than
--upstream-timeout is a 504 all the same; the answer to HEAD is not judged for the body it
cannot carry. And the command line's refusals of what would otherwise fail at start."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import yaml
from starlette.types import Receive, Scope, Send

from asm_mock.cli import main
from asm_mock.contract import load_compiled
from asm_mock.http.limits import MAX_BODY_BYTES
from asm_mock.proxy.cli import build_proxy
from asm_mock.proxy.validate import MAX_DECODED_BYTES, check_answer, decoded_body
from asm_mock.resources import contract_path
from asm_mock.testing import ThreadedServer
from tests.helpers import BASE

AGENT = orjson.dumps({"uid": "asagent", "name": "Agent", "email": "a@example.com"})
TIMEOUT_S = 0.5
DRIP_EVERY_S = 0.2  # each pause within the timeout, all of them far past it
DRIPS = 50
RECEIVED: list[int] = []  # the body sizes the upstream was sent


async def odd_upstream(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    RECEIVED.append(size)
    json = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": json})
    if scope["path"].endswith("/drip"):
        for _ in range(DRIPS):
            await send({"type": "http.response.body", "body": b" ", "more_body": True})
            await asyncio.sleep(DRIP_EVERY_S)
    await send({"type": "http.response.body", "body": AGENT})


@pytest.fixture(scope="module")
def upstream() -> Iterator[ThreadedServer]:
    with ThreadedServer(odd_upstream) as server:
        yield server


@pytest.fixture
def proxy(upstream: ThreadedServer) -> Iterator[ThreadedServer]:
    app = build_proxy(upstream.base_url, strict=True, upstream_timeout=TIMEOUT_S)
    with ThreadedServer(app) as server:
        yield server


def _chunks(total: int) -> Iterator[bytes]:
    chunk = b"x" * (64 * 1024)
    for _ in range(total // len(chunk)):
        yield chunk


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_past_the_mocks_limit_is_its_413_and_never_forwarded(
    proxy: ThreadedServer, chunked: bool
) -> None:
    RECEIVED.clear()
    size = 8 * MAX_BODY_BYTES
    body = _chunks(size) if chunked else b"x" * size
    with httpx.Client(base_url=proxy.base_url, trust_env=False, timeout=30) as client:
        answer = client.post(
            BASE + "/sessions", content=body, headers={"Content-Type": "application/json"}
        )
        report = client.get("/__admin/report").json()
    assert answer.status_code == 413
    assert answer.json()["errors"][0]["type"] == "PayloadTooLargeError"
    assert RECEIVED == []
    sessions = next(c for c in report["coverage"] if c["operationId"] == "createAssistedSession")
    assert {s["status"]: s["count"] for s in sessions["statuses"]}[413] == 1


def test_a_body_within_the_limit_is_forwarded_whole(proxy: ThreadedServer) -> None:
    RECEIVED.clear()
    body = b"x" * MAX_BODY_BYTES
    answer = httpx.post(
        proxy.base_url + BASE + "/sessions",
        content=_chunks(len(body)),
        headers={"Content-Type": "application/json"},
        trust_env=False,
        timeout=30,
    )
    assert answer.status_code != 413
    assert RECEIVED == [MAX_BODY_BYTES]


def test_an_upstream_dripping_past_the_timeout_is_a_504(proxy: ThreadedServer) -> None:
    answer = httpx.get(proxy.base_url + BASE + "/agents/drip", trust_env=False, timeout=60)
    assert answer.status_code == 504
    assert f"({TIMEOUT_S:g} s)" in answer.json()["errors"][0]["message"]


def test_the_answer_to_head_is_not_judged_for_its_body(proxy: ThreadedServer) -> None:
    with httpx.Client(base_url=proxy.base_url, trust_env=False) as client:
        client.delete("/__admin/drift")
        head = client.head(BASE + "/agents/asagent")
        drift = client.get("/__admin/drift").json()
    assert head.status_code == 200  # not the strict proxy's 502 for a body "not JSON"
    assert head.headers["content-type"] == "application/json"
    assert drift["summary"]["answers"] == 1
    assert drift["drift"] == []


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--upstream-ca", "garbage.pem", "option --upstream-ca: "),
        ("--contract", "garbage.yaml", "option --contract: "),
        ("--upstream", "http://sap:pw4all@127.0.0.1:1", "option --upstream: carries credentials"),
    ],
)
def test_a_value_that_fails_at_start_is_one_line_and_exit_2(
    option: str, value: str, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not value.startswith("http"):
        (tmp_path / value).write_text("just: text\n")
        value = str(tmp_path / value)
    arguments = ["proxy", "--upstream", "http://127.0.0.1:1", "--port", "0", option, value]
    assert main(arguments) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("asm-mock: error: ") and says in err, err
    assert "pw4all" not in err


def test_an_answer_to_a_request_that_broke_the_contract_is_not_recorded(
    upstream: ThreadedServer, tmp_path: Path
) -> None:
    """The replaying mock answers such a request with its own 400: the entry would be dead."""
    app = build_proxy(upstream.base_url, upstream_timeout=TIMEOUT_S, record=tmp_path)
    with ThreadedServer(app) as proxy, httpx.Client(base_url=proxy.base_url) as client:
        for page_size in ("many", "5"):
            params = {"query": "x", "baseSite": "electronics-spa", "pageSize": page_size}
            assert client.get(BASE + "/agents/asagent", params=params).status_code == 200
            assert client.get(BASE + "/customers/search", params=params).status_code == 200
    (recorder,) = app.on_exchange
    recorder.flush()
    recorded = yaml.safe_load(recorder.path.read_text())["responses"]
    assert [a["match"]["query"]["pageSize"] for a in recorded["searchCustomers"]] == ["5"]


async def not_a_drift_report(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        json = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": json})
        await send({"type": "http.response.body", "body": b'{"drift": 5}'})


@pytest.mark.parametrize("output_format", ["json", "junit"])
def test_asm_mock_drift_reads_a_proxy_and_refuses_anything_else_in_one_line(
    proxy: ThreadedServer, output_format: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["drift", "--url", proxy.base_url, "--format", output_format]) == 0
    assert capsys.readouterr().err == ""
    with ThreadedServer(not_a_drift_report) as other:
        assert main(["drift", "--url", other.base_url, "--format", output_format]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the answer is not a drift report" in err, err


def _gzip_of_zeros(size: int) -> bytes:
    encoder = zlib.compressobj(wbits=zlib.MAX_WBITS | 16)
    block = bytes(1024 * 1024)
    parts = [encoder.compress(block) for _ in range(size // len(block))]
    return b"".join([*parts, encoder.flush()])


def test_an_answer_decoding_past_the_limit_is_not_judged_nor_decoded_whole() -> None:
    gzip = (("content-encoding", "gzip"),)
    bomb = _gzip_of_zeros(MAX_DECODED_BYTES + 1024 * 1024)
    assert len(bomb) < MAX_DECODED_BYTES // 100
    assert decoded_body(bomb, gzip) is None
    assert decoded_body(_gzip_of_zeros(1024 * 1024), gzip) == bytes(1024 * 1024)
    assert decoded_body(b"not gzip", gzip) == b""


def test_drift_names_shapes_not_values() -> None:
    """Two customers with other ids, names and times are no drift; a null, a bad date-time, a
    wrong type and an added property in nested objects and arrays each are, once per place."""
    operation = load_compiled(contract_path()).by_id["getCustomer360"]
    json = (("content-type", "application/json"),)

    def drift(document: object) -> set[str]:
        return {f.line() for f in check_answer(operation, 200, json, orjson.dumps(document))}

    one = {"overview": {"name": "A", "signedUpDate": "2020-01-01T00:00:00Z"}, "recentOrders": []}
    other = {
        "overview": {"name": "Zoë Ünal", "signedUpDate": "2031-05-01T10:00:00+02:00"},
        "recentOrders": [{"code": "x-1", "placed": "2024-02-29T23:59:59Z"}],
    }
    assert drift(one) == drift(other) == set()
    drifted = {
        "overview": {"name": None, "signedUpDate": "yesterday", "extra": {"a": 1}},
        "recentOrders": [{"code": 1, "x": 2}, {"code": 2, "placed": "2020-13-45T00:00:00Z"}],
        "activeCarts": [[1]],
    }
    assert drift(drifted) == {
        "type overview.name: null where string is documented",
        "format overview.signedUpDate: not a date-time",
        "added overview.extra: not in the schema",
        "type recentOrders[].code: integer where string is documented",
        "added recentOrders[].x: not in the schema",
        "format recentOrders[].placed: not a date-time",
        "type activeCarts[]: array where object is documented",
    }
