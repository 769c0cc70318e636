"""What the fast lane works out once and reuses: a request line's route and checked parameters,
an answer object's verdict and JSON. Reused only where the verdict cannot differ, and bounded."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import httpx
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from asm_mock.contract import CompiledSchema, load_compiled
from asm_mock.http import fast_lane
from asm_mock.resources import contract_path
from tests.helpers import BASE, VALID_AGENT, Handlers, make_lane

SEARCH = f"{BASE}/customers/search"


@pytest.fixture
def plans() -> fast_lane._Plans:
    contract = load_compiled(contract_path())
    return fast_lane._Plans(contract, fast_lane._compile(contract, Handlers().lookup))


def lane_client(handlers: Handlers) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=make_lane(handlers)),
        base_url="http://127.0.0.1",
        headers={"Authorization": "Bearer good"},
    )


# -- request lines ------------------------------------------------------------------------------


def test_a_repeated_request_line_is_routed_and_checked_once(plans: fast_lane._Plans) -> None:
    first = plans.plan("GET", SEARCH, b"query=a&baseSite=s")
    assert not isinstance(first, fast_lane.Defer)
    assert first.arguments == {"query": "a", "baseSite": "s", "currentPage": 0, "pageSize": 20}
    assert plans.plan("GET", SEARCH, b"query=a&baseSite=s") is first
    assert plans.plan("GET", SEARCH, b"query=b&baseSite=s") is not first


def test_a_line_the_lane_must_not_serve_stays_with_connexion_every_time(
    plans: fast_lane._Plans,
) -> None:
    for _ in range(2):
        bad = plans.plan("GET", SEARCH, b"query=a&baseSite=s&pageSize=x")
        assert bad is fast_lane.Defer.BAD_PARAMETER
        assert plans.plan("HEAD", f"{BASE}/agents/asagent", b"") is fast_lane.Defer.NO_ROUTE
        assert plans.plan("GET", f"{BASE}/nowhere", b"") is fast_lane.Defer.NO_ROUTE


def test_the_lines_kept_are_bounded_and_long_lines_are_not_kept(
    plans: fast_lane._Plans, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fast_lane._Plans, "MAX_LINES", 8)
    for n in range(20):
        plan = plans.plan("GET", SEARCH, f"query={n}&baseSite=s".encode())
        assert not isinstance(plan, fast_lane.Defer)
        assert len(plans._plans) <= 8
    long_query = b"query=" + b"a" * fast_lane._Plans.MAX_LINE_CHARS + b"&baseSite=s"
    long_plan = plans.plan("GET", SEARCH, long_query)
    assert not isinstance(long_plan, fast_lane.Defer)
    assert long_plan.arguments["query"] == "a" * 1024
    assert plans.plan("GET", SEARCH, long_query) is not long_plan


@pytest.mark.anyio
async def test_a_reused_line_still_checks_the_token_every_time() -> None:
    async with lane_client(Handlers()) as client:
        assert (await client.get(f"{BASE}/agents/asagent")).status_code == 200
        refused = await client.get(f"{BASE}/agents/asagent", headers={"Authorization": "Bearer x"})
        assert refused.status_code == 299  # the bad token goes to Connexion, which refuses it


@given(st.text(alphabet="ab=&%+2F5fü;_ ", max_size=40))
def test_the_query_is_split_as_parse_qsl_splits_it(query: str) -> None:
    assert fast_lane._query_pairs(query) == parse_qsl(query, keep_blank_values=True)


# -- answers ------------------------------------------------------------------------------------


class CountingSchema(CompiledSchema):
    def __init__(self, schema: dict[str, Any]) -> None:
        super().__init__(schema)
        self.judged = 0

    def first_error(self, instance: Any) -> Any:
        self.judged += 1
        return super().first_error(instance)


def test_an_answer_object_is_judged_and_serialized_once_per_schema() -> None:
    prepared = fast_lane._PreparedAnswers()
    check = CountingSchema({"type": "object", "required": ["uid"]})
    other_check = CountingSchema({"type": "object"})
    answer = {"uid": "asagent"}
    assert prepared.body(answer, check) == orjson.dumps(answer) + b"\n"
    assert prepared.body(answer, check) == orjson.dumps(answer) + b"\n"
    assert check.judged == 1
    prepared.body(answer, other_check)  # another operation's schema: judged for that one
    assert other_check.judged == 1
    prepared.body(dict(answer), check)  # an equal but distinct object: judged afresh
    assert check.judged == 2


def test_an_answer_breaking_its_schema_is_judged_again_every_time() -> None:
    prepared = fast_lane._PreparedAnswers()
    check = CountingSchema({"type": "object", "required": ["uid"]})
    broken: dict[str, Any] = {}
    for _ in range(2):
        assert not isinstance(prepared.body(broken, check), bytes)
    assert check.judged == 2


def test_the_answers_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fast_lane._PreparedAnswers, "MAX_ANSWERS", 4)
    prepared, check = fast_lane._PreparedAnswers(), CompiledSchema({"type": "object"})
    for n in range(10):
        prepared.body({"n": n}, check)
        assert len(prepared._prepared) <= 4


@pytest.mark.anyio
async def test_a_shared_answer_is_validated_once_and_sent_alike_every_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    judged: list[Any] = []
    first_error = CompiledSchema.first_error

    def counting(self: CompiledSchema, instance: Any) -> Any:
        judged.append(instance)
        return first_error(self, instance)

    monkeypatch.setattr(CompiledSchema, "first_error", counting)
    async with lane_client(Handlers()) as client:  # its getAgent answers one shared dict
        answers = [await client.get(f"{BASE}/agents/asagent") for _ in range(3)]
    assert [a.json() for a in answers] == [VALID_AGENT] * 3
    assert judged == [VALID_AGENT]
