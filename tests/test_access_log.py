"""One readable line per request on `asm_mock.access` (text or JSON), and `serve`'s log setup."""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import time

import httpx
import pytest

from asm_mock.http.access_log import (
    ACCESS_LOGGER,
    AccessRecord,
    BackgroundHandler,
    access_line,
    log_handler,
)
from asm_mock.testing import AsmMockServer, json_answer
from tests.helpers import BASE, TOKEN_URL

pytestmark = pytest.mark.anyio

SEARCH = f"{BASE}/customers/search"


@pytest.fixture
def access(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    return caplog


def records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == ACCESS_LOGGER]


def access_of(record: logging.LogRecord) -> AccessRecord:
    access = getattr(record, "access", None)
    assert isinstance(access, AccessRecord)
    return access


async def test_one_line_per_request_with_operation_and_problems(
    client: httpx.AsyncClient, agent: dict[str, str], access: pytest.LogCaptureFixture
) -> None:
    access.clear()
    await client.get(SEARCH, params={"query": "a", "baseSite": "x"}, headers=agent)
    (record,) = records(access)
    assert record.levelno == logging.INFO
    assert re.fullmatch(
        rf"GET {SEARCH}\?query=a&baseSite=x 400 \d+\.\dms searchCustomers"
        " — Base site x doesn't exist",
        record.getMessage(),
    ), record.getMessage()
    entry = access_of(record)
    assert (entry.method, entry.path, entry.query) == ("GET", SEARCH, "query=a&baseSite=x")
    assert (entry.status, entry.operation_id) == (400, "searchCustomers")
    assert entry.problems == ("Base site x doesn't exist",)
    assert entry.duration_ms > 0


async def test_token_endpoint_admin_and_unrouted_requests_are_named(
    client: httpx.AsyncClient, access: pytest.LogCaptureFixture
) -> None:
    access.clear()
    await client.post(TOKEN_URL, data={"grant_type": "password", "client_id": "nobody"})
    await client.get("/__admin/health")
    await client.get(f"{BASE}/openapi.json")
    await client.get(f"{BASE}/agents/asagent")
    lines = [r.getMessage() for r in records(access)]
    assert len(lines) == 4
    assert re.fullmatch(
        rf"POST {TOKEN_URL} 401 \S+ms oauthToken — invalid_client: Bad client credentials",
        lines[0],
    )
    assert re.fullmatch(r"GET /__admin/health 200 \S+ms admin", lines[1])
    assert re.fullmatch(rf"GET {BASE}/openapi.json 200 \S+ms -", lines[2])
    assert re.fullmatch(
        rf"GET {BASE}/agents/asagent 401 \S+ms getAgent — Full authentication is required to "
        "access this resource",
        lines[3],
    )


async def test_successes_have_no_problems_and_the_journal_agrees(
    client: httpx.AsyncClient, agent: dict[str, str], access: pytest.LogCaptureFixture
) -> None:
    await client.delete("/__admin/requests")
    access.clear()
    await client.get(
        SEARCH, params={"query": "weber", "baseSite": "electronics-spa"}, headers=agent
    )
    await client.get(SEARCH, params={"query": "", "baseSite": "nowhere"}, headers=agent)
    logged = [access_of(r) for r in records(access)]
    journal = (await client.get("/__admin/requests", params={"path": SEARCH})).json()["requests"]
    assert [e.problems for e in logged] == [(), ("Base site nowhere doesn't exist",)]
    # newest first in the journal; the same parsing of error bodies in both
    assert [tuple(e["problems"]) for e in reversed(journal)] == [e.problems for e in logged]


async def test_control_characters_cannot_forge_log_lines(
    client: httpx.AsyncClient, access: pytest.LogCaptureFixture
) -> None:
    access.clear()
    await client.get(f"{BASE}/agents/x%0A12:00:00 GET /forged 200")
    (record,) = records(access)
    assert "\n" not in record.getMessage()
    assert "x\\n12:00:00" in record.getMessage()


async def test_nothing_is_logged_or_measured_while_info_is_off(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=ACCESS_LOGGER)
    await client.get(f"{BASE}/openapi.json")
    assert records(caplog) == []


def sample_record() -> logging.LogRecord:
    from datetime import UTC, datetime

    entry = AccessRecord(
        time=datetime(2026, 1, 15, 13, 58, 1, 123000, tzinfo=UTC),
        method="GET",
        path=SEARCH,
        query="query=a&baseSite=x",
        status=400,
        duration_ms=2.0625,
        operation_id="searchCustomers",
        problems=("Base site x doesn't exist",),
    )
    record = logging.LogRecord(
        ACCESS_LOGGER, logging.INFO, __file__, 1, "%s", (access_line(entry),), None
    )
    record.access = entry
    return record


def test_text_format() -> None:
    line = log_handler("text").format(sample_record())
    assert re.fullmatch(
        rf"\d\d:\d\d:\d\d GET {SEARCH}\?query=a&baseSite=x 400 2\.1ms searchCustomers"
        " — Base site x doesn't exist",
        line,
    ), line
    other = logging.LogRecord("asm_mock.errors", logging.ERROR, __file__, 1, "boom %s", (1,), None)
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d ERROR asm_mock.errors: boom 1", log_handler("text").format(other)
    )


def test_json_format() -> None:
    assert json.loads(log_handler("json").format(sample_record())) == {
        "time": "2026-01-15T13:58:01.123+00:00",
        "method": "GET",
        "path": SEARCH,
        "query": "query=a&baseSite=x",
        "status": 400,
        "durationMs": 2.062,
        "operationId": "searchCustomers",
        "problems": ["Base site x doesn't exist"],
    }
    other = logging.LogRecord("asm_mock.errors", logging.ERROR, __file__, 1, "boom %s", (1,), None)
    parsed = json.loads(log_handler("json").format(other))
    assert (parsed["level"], parsed["logger"], parsed["message"]) == (
        "ERROR",
        "asm_mock.errors",
        "boom 1",
    )


class _StuckStream(io.StringIO):
    """A stderr whose reader is away: every write waits until `reader_back` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.reader_back = threading.Event()

    def write(self, text: str) -> int:
        self.reader_back.wait()
        return super().write(text)


def test_a_stderr_nobody_reads_never_stalls_the_answers() -> None:
    stream = _StuckStream()
    target = logging.StreamHandler(stream)
    handler = BackgroundHandler(target, capacity=100)
    started = time.monotonic()
    for _ in range(1_000):
        handler.handle(sample_record())
    assert time.monotonic() - started < 2
    assert handler.dropped >= 1_000 - 101  # one may already be at the (stuck) stream
    stream.reader_back.set()
    handler.flush()
    written = stream.getvalue().splitlines()
    assert 100 <= len(written) <= 101
    assert written[0].endswith("searchCustomers — Base site x doesn't exist")


# -- `asm-mock serve`: the handler on stderr, uvicorn's own access log off -------------------


def serve_and_log(*options: str) -> list[str]:
    """`serve`'s stderr lines for a readiness probe of `/__admin/health` and one search."""
    server = AsmMockServer("--customers", "5", *options, ready=json_answer("/__admin/health"))
    with server:
        httpx.get(f"{server.url}{SEARCH}?query=a&baseSite=x")
        server.stop()  # the log's writer thread flushes on the way out
        return server.stderr_text().splitlines()


def test_serve_logs_one_text_line_per_request() -> None:
    lines = [line for line in serve_and_log() if " GET " in line]
    assert len(lines) == 2, lines  # no second line from uvicorn's access log
    assert re.fullmatch(r"\d\d:\d\d:\d\d GET /__admin/health 200 \S+ms admin", lines[0])
    assert re.fullmatch(
        rf"\d\d:\d\d:\d\d GET {SEARCH}\?query=a&baseSite=x 401 \S+ms searchCustomers — .+",
        lines[1],
    )


def test_serve_logs_json_objects_with_log_format_json() -> None:
    objects = [json.loads(line) for line in serve_and_log("--log-format", "json")]
    requests = [o for o in objects if "method" in o]
    assert [(o["path"], o["status"], o["operationId"]) for o in requests] == [
        ("/__admin/health", 200, "admin"),
        (SEARCH, 401, "searchCustomers"),
    ]
    assert requests[1]["query"] == "query=a&baseSite=x"
    assert requests[1]["problems"] == ["Full authentication is required to access this resource"]
