"""Per-request control: Prefer header, asm-mock-prefer cookie and __ query parameters."""

from __future__ import annotations

import time

import httpx
import pytest
from jsonschema import Draft202012Validator

from asm_mock.domain.controls import CannedAnswer, Latency
from asm_mock.domain.errors import ValidationError
from asm_mock.http.app import AsmMockApp
from asm_mock.http.prefer import Preferences, parse_preferences
from tests.helpers import BASE, assert_occ_error, contract_schema

pytestmark = pytest.mark.anyio

AGENT = f"{BASE}/agents/asagent"
SEARCH = f"{BASE}/customers/search?query=weber&baseSite=electronics-spa"


def valid(name: str, body: object) -> None:
    schema = contract_schema(name)
    text = __import__("json").dumps(schema).replace("#/components/schemas/", "#/$defs/")
    validator = Draft202012Validator(
        __import__("json").loads(text), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    validator.validate(body)


def test_preferences_parse_from_all_three_sources_later_wins() -> None:
    prefs = parse_preferences(
        ["code=404, dynamic=false", "seed=7"],
        "session=x; asm-mock-prefer=code%3D401%2C%20delay%3D5",
        [("__code", "403"), ("__dynamic", "true")],
    )
    assert prefs == Preferences(code=403, dynamic=True, seed=7, delay_ms=5)


def test_rfc7240_preferences_are_ignored_but_unknown_ones_are_not() -> None:
    assert parse_preferences(["return=minimal, respond-async, wait=10"], None, []) == Preferences()
    for header in ["colour=blue", "code=abc", "code=99", "dynamic=maybe", "delay=-1",
                   "delay=999999", "fault=explode", "example=bad name!", "seed=x"]:  # fmt: skip
        with pytest.raises(ValidationError) as raised:
            parse_preferences([header], None, [])
        assert raised.value.subject == "Prefer"


async def test_prefer_code_answers_a_documented_error_with_sap_body(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    response = await client.get(AGENT, headers={**agent, "Prefer": "code=404"})
    assert_occ_error(response, 404, "NotFoundError")
    assert response.headers["preference-applied"] == "code=404"


async def test_prefer_code_401_uses_the_contracts_example(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    response = await client.get(AGENT, headers={**agent, "Prefer": "code=401"})
    assert_occ_error(response, 401, "UnauthorizedError")


async def test_an_undocumented_code_is_a_400_listing_the_documented_ones(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    response = await client.get(AGENT, headers={**agent, "Prefer": "code=418"})
    error = assert_occ_error(response, 400, "ValidationError", subject="Prefer")
    assert "200, 400, 401, 403, 404, 503" in error["message"]


async def test_a_malformed_preference_is_a_400_not_ignored(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    response = await client.get(AGENT, headers={**agent, "Prefer": "colour=blue"})
    error = assert_occ_error(response, 400, "ValidationError", subject="Prefer")
    assert "colour" in error["message"]


async def test_named_examples_from_the_contract(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    response = await client.get(SEARCH, headers={**agent, "Prefer": "example=unknownBaseSite"})
    assert_occ_error(response, 400, "UnknownIdentifierError")
    missing = await client.get(SEARCH, headers={**agent, "Prefer": "example=nope"})
    error = assert_occ_error(missing, 400, "ValidationError")
    assert "unknownBaseSite" in error["message"] and "validationError" in error["message"]


async def test_dynamic_answers_are_valid_realistic_and_seeded(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    async def dynamic(seed: int) -> dict[str, object]:
        response = await client.get(
            SEARCH, headers={**agent, "Prefer": f"dynamic=true, seed={seed}"}
        )
        assert response.status_code == 200
        body: dict[str, object] = response.json()
        return body

    first = await dynamic(1)
    valid("CustomerSearchPage", first)
    assert first == await dynamic(1)
    assert first != await dynamic(2)
    # without a seed, the same request gets the same answer
    a = (await client.get(f"{SEARCH}&__dynamic=true", headers=agent)).json()
    b = (await client.get(f"{SEARCH}&__dynamic=true", headers=agent)).json()
    assert a == b


async def test_dynamic_session_for_prefer_code_201(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    response = await client.post(
        f"{BASE}/sessions",
        json={"customerId": "nobody", "baseSite": "nowhere"},
        headers={**agent, "Prefer": "code=201"},
    )
    assert response.status_code == 201
    valid("AssistedSession", response.json())


async def test_the_cookie_works_for_browsers(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    client.cookies.set("asm-mock-prefer", "code%3D403")
    response = await client.get(AGENT, headers=agent)
    assert_occ_error(response, 403, "ForbiddenError")


async def test_query_parameters_work_and_are_removed_before_validation(
    client: httpx.AsyncClient, agent: dict[str, str], app: AsmMockApp
) -> None:
    response = await client.get(f"{AGENT}?__code=404&__delay=1", headers=agent)
    assert_occ_error(response, 404, "NotFoundError")
    recorded = app.journal.entries(limit=1)[0]
    assert recorded.query == "__code=404&__delay=1"  # the journal shows what the client sent
    search = await client.get(f"{SEARCH}&__example=unknownBaseSite", headers=agent)
    assert_occ_error(search, 400, "UnknownIdentifierError")


@pytest.mark.parametrize("underscores", ["%5F%5F", "%5f%5f", "_%5F"])
async def test_query_parameters_with_encoded_underscores_are_preferences_too(
    client: httpx.AsyncClient, agent: dict[str, str], underscores: str
) -> None:
    response = await client.get(f"{AGENT}?{underscores}code=404", headers=agent)
    assert_occ_error(response, 404, "NotFoundError")


async def test_preferences_still_need_a_token_and_a_valid_request(
    client: httpx.AsyncClient,
) -> None:
    assert_occ_error(
        await client.get(AGENT, headers={"Prefer": "code=200"}), 401, "UnauthorizedError"
    )


async def test_delay_is_applied(client: httpx.AsyncClient, agent: dict[str, str]) -> None:
    started = time.monotonic()
    response = await client.get(AGENT, headers={**agent, "Prefer": "delay=300"})
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


# fault=reset needs a real socket to drop: tests/test_hostile_input.py checks it on a live server
@pytest.mark.parametrize("fault", ["malformed", "empty"])
async def test_faults_are_outside_the_contract_and_marked(
    client: httpx.AsyncClient, agent: dict[str, str], fault: str
) -> None:
    response = await client.get(AGENT, headers={**agent, "Prefer": f"fault={fault}"})
    assert response.headers["x-asm-mock-fault"] == fault
    if fault == "malformed":
        with pytest.raises(ValueError):
            response.json()
    else:
        assert response.content == b""


async def test_server_wide_error_rate_injects_marked_503s(
    client: httpx.AsyncClient, agent: dict[str, str], app: AsmMockApp
) -> None:
    app.controls.update(error_rate=1.0)
    response = await client.get(AGENT, headers=agent)
    assert_occ_error(response, 503, "ServiceUnavailableError")
    assert response.headers["x-asm-mock-injected"] == "error-rate"
    app.controls.update(error_rate=0.0)
    assert (await client.get(AGENT, headers=agent)).status_code == 200


async def test_server_wide_latency(
    client: httpx.AsyncClient, agent: dict[str, str], app: AsmMockApp
) -> None:
    app.controls.update(latency=Latency(200, 200))
    started = time.monotonic()
    await client.get(AGENT, headers=agent)
    assert time.monotonic() - started >= 0.2


async def test_canned_answers_of_scenarios_replace_the_handler(
    client: httpx.AsyncClient, agent: dict[str, str], app: AsmMockApp
) -> None:
    body = {"errors": [{"type": "NotFoundError", "message": "Agent on holiday"}]}
    app.controls.set_canned("getAgent", CannedAnswer(404, body))
    response = await client.get(AGENT, headers=agent)
    assert response.status_code == 404 and response.json() == body


@pytest.mark.anyio
async def test_a_request_with_nothing_to_prefer_or_draw_passes_the_gate_untouched() -> None:
    from asm_mock.domain.controls import Controls, RuntimeSettings
    from asm_mock.http.prefer import PreferenceGate

    seen: list[tuple[object, object]] = []

    async def app(scope: object, receive: object, send: object) -> None:
        seen.append((scope, send))

    def is_operation(method: str, path: str) -> bool:
        raise AssertionError("a request with nothing to do needs no route look-up")

    controls = Controls(RuntimeSettings(), seed=1)
    gate = PreferenceGate(app, controls=lambda: controls, is_operation=is_operation)
    scope = {"type": "http", "method": "GET", "path": "/x", "query_string": b"a=1", "headers": []}

    async def send(message: object) -> None: ...

    await gate(scope, send, send)  # type: ignore[arg-type]
    assert seen == [(scope, send)]
