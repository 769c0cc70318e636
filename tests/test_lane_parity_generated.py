"""The fast lane answers like Connexion on requests generated from the contract.

Every operation of the served contract (discovered from it, not listed here) gets requests that
schemathesis generates from its parameters and body: valid ones (positive mode) and invalid ones
(negative mode: wrong types, missing required parameters, unknown properties, broken bodies).
Some carry no token, a bad one, another agent's or a non-agent's. Each request goes to an app
with the fast lane and then to one without it, in the same order, so both hold the same sessions;
status, headers and body bytes must be identical (a session's timestamps aside: the clock's).

Random strings seldom name a customer, a site or a session, so a valid request's parameters and
body properties are sometimes replaced by values the mock knows: the world's records, and what
earlier answers returned under the same name (the sessionId a POST /sessions answered, as the
contract's links pass it on). Without them the corpus would test mostly 404s.

ASM_MOCK_PARITY_EXAMPLES sets how many valid and how many invalid requests each operation gets:
200 by default (400 per operation, ~25 s for the file on two cores; 600 takes ~75 s). Hypothesis
draws them derandomized, so every run sends the same requests.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import unquote

import httpx
import orjson
import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from starlette.types import Message, Scope

from asm_mock.domain.world import World
from asm_mock.http.app import AsmMockApp, create_app
from asm_mock.resources import contract_path
from asm_mock.settings import Settings
from tests.helpers import (
    BASE,
    SMALL_WORLD,
    TOKEN_URL,
    HandOnCount,
    load_counting_hand_ons,
    password_token,
)

EXAMPLES = int(os.environ.get("ASM_MOCK_PARITY_EXAMPLES", "200"))
SEED = 13  # of the choices beside hypothesis': known values, credentials, media types
SERVER = "http://127.0.0.1:9002"

# How often a valid request's named value is swapped for a known one, and how often a request
# leaves the agent's token for another credential (each a different answer of the security check).
KNOWN_VALUE_RATE = 0.85
RECENT = 4  # learned values drawn from: the newest few, likeliest still alive
CREDENTIALS: list[tuple[str, float]] = [
    ("agent", 0.78),
    ("none", 0.04),
    ("unknown", 0.04),
    ("basic", 0.03),
    ("bare-scheme", 0.02),
    ("other-agent", 0.05),
    ("non-agent", 0.04),
]
LIVE_AGENT_TOKENS = frozenset({"agent", "other-agent"})
REFUSED = [(name, weight) for name, weight in CREDENTIALS if name not in LIVE_AGENT_TOKENS]


def media_type_variants(media_type: str) -> list[tuple[str, bool]]:
    """Another spelling of a body's media type, and one no operation takes (True: refused)."""
    return [(f"{media_type}; charset=utf-8", False), ("text/plain", True)]


# headers schemathesis adds for its own bookkeeping; left out so a reported request reads clean
GENERATOR_HEADERS = frozenset({"user-agent", "x-schemathesis-testcaseid", "connection"})
TIMESTAMP = re.compile(rb'"(createdAt|endedAt)":"[^"]*"')


def contract() -> dict[str, Any]:
    document = yaml.safe_load(contract_path().read_text())
    assert isinstance(document, dict)
    return document


def operations() -> dict[str, Any]:
    """Every operation of the contract, by its label (`GET /customers/search`)."""
    schema = schemathesis.openapi.from_dict(contract())
    found = {}
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # an operation schemathesis cannot read
        operation = result.ok()
        found[operation.label] = operation
    return found


OPERATIONS = sorted(operations())
HTTP_METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH", "HEAD")
PATH_METHODS = {
    path: {method.upper() for method in item if method.upper() in HTTP_METHODS}
    for path, item in contract()["paths"].items()
}


class Request(NamedTuple):
    """One HTTP request as a client puts it on the wire; `credential` is resolved per app."""

    operation: str
    valid: bool  # per the contract: positive data, a live agent token, the operation's route
    method: str
    target: str  # raw path and query, percent-encoded
    headers: tuple[tuple[str, str], ...]
    body: bytes
    credential: str


class Answer(NamedTuple):
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


@dataclass
class Outcome:
    request: Request
    lane: Answer
    connexion: Answer
    handed_on: bool  # the lane app passed it to Connexion's stack

    @property
    def alike(self) -> bool:
        return comparable(self.lane) == comparable(self.connexion)


def comparable(answer: Answer) -> Answer:
    """The answer with a session's timestamps masked (each app reads its own clock)."""
    return answer._replace(body=TIMESTAMP.sub(rb'"\1":"<time>"', answer.body))


# --- generation ---------------------------------------------------------------------------------


def generated_cases(operation: Any, mode: GenerationMode, count: int) -> list[Any]:
    cases: list[Any] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def collect(case: Any) -> None:
        cases.append(case)

    try:
        collect()
    except Unsatisfiable:
        pass  # the contract leaves no invalid value to generate: see drafts()
    return cases


class Draft(NamedTuple):
    case: Any  # schemathesis' Case
    mode: GenerationMode
    credentials: list[tuple[str, float]]  # what its Authorization header is drawn from


def drafts(operation: Any) -> list[Draft]:
    """EXAMPLES valid and EXAMPLES invalid requests of the operation. Where the contract leaves
    no invalid data to generate (a path's free-form string and nothing else), the invalid ones
    are valid data sent with a refused credential."""
    invalid = [
        Draft(case, GenerationMode.NEGATIVE, CREDENTIALS)
        for case in generated_cases(operation, GenerationMode.NEGATIVE, EXAMPLES)
    ]
    shortfall = EXAMPLES - len(invalid)
    valid = generated_cases(operation, GenerationMode.POSITIVE, EXAMPLES + shortfall)
    drafted = [Draft(case, GenerationMode.POSITIVE, CREDENTIALS) for case in valid[:EXAMPLES]]
    drafted += [Draft(case, GenerationMode.POSITIVE, REFUSED) for case in valid[EXAMPLES:]]
    return drafted + invalid


def interleaved(queues: list[list[Any]]) -> Iterator[Any]:
    """Round robin over the operations, so sessions are created, read and ended in between."""
    longest = max((len(queue) for queue in queues), default=0)
    for index in range(longest):
        for queue in queues:
            if index < len(queue):
                yield queue[index]


@dataclass
class Vocabulary:
    """Values the mock knows, by the contract's parameter or property name: coherent records of
    the world (a customer with one of its sites and carts), and what answers returned."""

    records: list[dict[str, str]]
    learned: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of_world(cls, world: World) -> Vocabulary:
        records = [{"agentId": uid} for uid in world.agents]
        for index, customer in enumerate(world.customers):
            for site_uid in customer.sites:
                carts = world.carts_of(customer, world.sites[site_uid])
                record = {
                    # SAP takes either id of a customer
                    "customerId": customer.uid if index % 2 else customer.customer_id,
                    "baseSite": site_uid,
                    "query": customer.last_name,
                }
                if carts:
                    record["cartId"] = carts[index % len(carts)].code
                records.append(record)
        return cls(records)

    def learn(self, document: Any) -> None:
        """Every string an answer holds under a name, at any depth."""
        if isinstance(document, dict):
            for name, value in document.items():
                if isinstance(value, str):
                    known = self.learned.setdefault(name, [])
                    if value not in known:
                        known.append(value)
                else:
                    self.learn(value)
        elif isinstance(document, list):
            for item in document:
                self.learn(item)

    def swap(self, values: dict[str, Any], record: dict[str, str], rng: random.Random) -> None:
        for name in sorted(values):
            if rng.random() >= KNOWN_VALUE_RATE:
                continue
            if name in record:
                values[name] = record[name]
            elif self.learned.get(name):
                # the newest values are the likeliest still alive (a session not yet ended)
                values[name] = rng.choice(self.learned[name][-RECENT:])


def wire_request(draft: Draft, rng: random.Random) -> Request | None:
    """The request as a client sends it: schemathesis' own serialization, prepared by requests
    (which schemathesis sends with); None if it cannot be put on the wire at all."""
    case = draft.case
    kwargs = case.as_transport_kwargs(base_url=SERVER + BASE)
    kwargs.pop("cookies", None)
    try:
        prepared = requests.Request(**kwargs).prepare()
    except (ValueError, TypeError, UnicodeError):  # e.g. NaN in a JSON body
        return None
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    assert isinstance(body, bytes), body  # requests prepares no streamed body here
    headers = {
        name: value if isinstance(value, str) else value.decode("latin-1")
        for name, value in prepared.headers.items()
        if name.lower() not in GENERATOR_HEADERS
    }
    media_type_refused = False
    if "Content-Type" in headers:
        # the media type as clients vary it: with parameters (still the contract's), or another
        headers["Content-Type"], media_type_refused = rng.choices(
            [(headers["Content-Type"], False), *media_type_variants(headers["Content-Type"])],
            [0.9, 0.05, 0.05],
        )[0]
    names, weights = zip(*draft.credentials, strict=True)
    chosen = rng.choices(names, weights)[0]
    method, target, unrouted = route_variant(case.method.upper(), prepared.path_url, case.path, rng)
    return Request(
        operation=case.operation.label,
        valid=draft.mode is GenerationMode.POSITIVE
        and chosen in LIVE_AGENT_TOKENS
        and not media_type_refused
        and not unrouted,
        method=method,
        target=target,
        headers=tuple(headers.items()),
        body=body,
        credential=chosen,
    )


def route_variant(
    method: str, target: str, template: str, rng: random.Random
) -> tuple[str, str, bool]:
    """Method and target as sent: mostly the operation's own; sometimes a method its path does
    not declare, or a trailing slash (True: no operation of the contract is asked for)."""
    draw = rng.random()
    if draw < 0.05:
        return rng.choice(sorted(set(HTTP_METHODS) - PATH_METHODS[template])), target, True
    if draw < 0.08:
        path, question_mark, query = target.partition("?")
        return method, f"{path}/{question_mark}{query}", True
    return method, target, False


# --- sending ------------------------------------------------------------------------------------


async def call(app: AsmMockApp, request: Request, authorization: str | None) -> Answer:
    """One request straight through ASGI, with the scope uvicorn would make of it."""
    raw_path, _, query = request.target.partition("?")
    headers = [(b"host", b"127.0.0.1:9002")]
    headers += [(name.lower().encode(), encoded(value)) for name, value in request.headers]
    if authorization is not None:
        headers.append((b"authorization", encoded(authorization)))
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": unquote(raw_path),
        "raw_path": raw_path.encode("ascii"),
        "query_string": query.encode("ascii"),
        "root_path": "",
        "headers": headers,
        "server": ("127.0.0.1", 9002),
        "client": ("127.0.0.1", 50000),
    }
    messages: list[Message] = [{"type": "http.request", "body": request.body, "more_body": False}]

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    status = 0
    answer_headers: tuple[tuple[bytes, bytes], ...] = ()
    body = b""

    async def send(message: Message) -> None:
        nonlocal status, answer_headers, body
        if message["type"] == "http.response.start":
            status = message["status"]
            answer_headers = tuple(sorted((n.lower(), v) for n, v in message["headers"]))
        elif message["type"] == "http.response.body":
            body += message.get("body", b"")

    await app(scope, receive, send)
    return Answer(status, answer_headers, body)


def encoded(value: str) -> bytes:
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode()


@dataclass
class MockUnderTest:
    app: AsmMockApp
    authorization: dict[str, str | None]
    hand_ons: HandOnCount


async def credentials(app: AsmMockApp) -> dict[str, str | None]:
    """Each credential's Authorization header for this app (each app issues its own tokens)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=SERVER) as client:
        agent = await password_token(client)
        other_agent = await password_token(client, username="cs.agent.emma")
        answer = await client.post(
            TOKEN_URL,
            data={
                "grant_type": "client_credentials",
                "client_id": "mobile_android",
                "client_secret": "secret",
            },
        )
        assert answer.status_code == 200, answer.text
        non_agent = answer.json()["access_token"]
    return {
        "agent": f"Bearer {agent}",
        "none": None,
        "unknown": "Bearer 5e9e6d4c-1c44-4b0e-9c1e-0b8f2c1d7a11",
        "basic": "Basic YXNhZ2VudDpwdzRhbGw=",
        "bare-scheme": "Bearer",
        "other-agent": f"Bearer {other_agent}",
        "non-agent": f"Bearer {non_agent}",
    }


async def mock_under_test(fast_lane: bool) -> MockUnderTest:
    app = create_app(Settings(customers=SMALL_WORLD), fast_lane=fast_lane)
    hand_ons = load_counting_hand_ons(app)
    authorization = await credentials(app)
    hand_ons.count = 0  # the token endpoint never reaches Connexion; counted from here on
    return MockUnderTest(app, authorization, hand_ons)


@dataclass
class Run:
    outcomes: list[Outcome]
    unsendable: Counter[str]
    full_stack_hand_ons: int

    def of(self, operation: str) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.request.operation == operation]


async def run_corpus() -> Run:
    lane = await mock_under_test(fast_lane=True)
    full = await mock_under_test(fast_lane=False)
    vocabulary = Vocabulary.of_world(lane.app.service.world())
    rng = random.Random(SEED)
    found = operations()
    outcomes = []
    unsendable: Counter[str] = Counter()
    for draft in interleaved([drafts(found[label]) for label in OPERATIONS]):
        if draft.mode is GenerationMode.POSITIVE:
            record = rng.choice(vocabulary.records)
            for values in (draft.case.path_parameters, draft.case.query, draft.case.body):
                if isinstance(values, dict):
                    vocabulary.swap(values, record, rng)
        request = wire_request(draft, rng)
        if request is None:
            unsendable[draft.case.operation.label] += 1
            continue
        before = lane.hand_ons.count
        lane_answer = await call(lane.app, request, lane.authorization[request.credential])
        handed_on = lane.hand_ons.count > before
        full_answer = await call(full.app, request, full.authorization[request.credential])
        outcomes.append(Outcome(request, lane_answer, full_answer, handed_on))
        if 200 <= lane_answer.status < 300 and lane_answer.body.startswith(b"{"):
            vocabulary.learn(orjson.loads(lane_answer.body))
    return Run(outcomes, unsendable, full.hand_ons.count)


@pytest.fixture(scope="module")
def run() -> Run:
    return asyncio.run(run_corpus())


# --- the proof ----------------------------------------------------------------------------------


def described(outcome: Outcome) -> str:
    request = outcome.request
    return (
        f"{request.method} {request.target} headers={list(request.headers)} "
        f"body={request.body!r} credential={request.credential}\n"
        f"  lane:      {outcome.lane}\n  connexion: {outcome.connexion}"
    )


def line_feed_in_path(request: Request) -> bool:
    return "%0A" in request.target.partition("?")[0].upper()


@pytest.mark.parametrize("operation", OPERATIONS)
def test_generated_requests_get_the_same_answer_with_and_without_the_fast_lane(
    run: Run, operation: str
) -> None:
    differences = [described(outcome) for outcome in run.of(operation) if not outcome.alike]
    assert differences == []


def test_a_line_feed_in_a_path_parameter_is_routed_alike(run: Run) -> None:
    """Connexion's mount (`.*`, no DOTALL) routes no path holding a line feed, so neither does
    the lane: the smallest case, and every generated one, answered alike by two fresh apps."""
    smallest = Request(
        "GET /agents/{agentId}", True, "GET", f"{BASE}/agents/asagent%0A", (), b"", "agent"
    )
    generated = [o.request for o in run.outcomes if line_feed_in_path(o.request)]
    # the lane has no route for them: each was Connexion's to answer
    assert all(o.handed_on for o in run.outcomes if line_feed_in_path(o.request))
    differences = asyncio.run(answered_differently([smallest, *generated]))
    assert differences == []


async def answered_differently(sent: list[Request]) -> list[tuple[Request, Answer, Answer]]:
    """The requests (sent to two fresh apps) the lane answers unlike Connexion."""
    lane = await mock_under_test(fast_lane=True)
    full = await mock_under_test(fast_lane=False)
    differences = []
    for request in sent:
        lane_answer = await call(lane.app, request, lane.authorization[request.credential])
        full_answer = await call(full.app, request, full.authorization[request.credential])
        if comparable(lane_answer) != comparable(full_answer):
            differences.append((request, lane_answer, full_answer))
    return differences


@pytest.mark.parametrize("operation", OPERATIONS)
def test_each_operation_gets_hundreds_of_valid_and_invalid_requests(
    run: Run, operation: str
) -> None:
    outcomes = run.of(operation)
    valid = [outcome for outcome in outcomes if outcome.request.valid]
    assert len(outcomes) >= 2 * EXAMPLES - run.unsendable[operation]
    assert len(valid) >= EXAMPLES // 2
    assert len(outcomes) - len(valid) >= EXAMPLES
    # known values reach the happy path, not only its refusals
    assert {outcome.lane.status for outcome in valid} & {200, 201}


@pytest.mark.parametrize("operation", OPERATIONS)
def test_the_lane_answers_many_requests_of_each_operation_and_hands_on_many(
    run: Run, operation: str
) -> None:
    outcomes = run.of(operation)
    handed_on = sum(outcome.handed_on for outcome in outcomes)
    answered = len(outcomes) - handed_on
    assert answered >= len(outcomes) // 5, (answered, handed_on)
    assert handed_on >= len(outcomes) // 5, (answered, handed_on)


def test_without_the_lane_connexion_answers_every_request(run: Run) -> None:
    assert run.full_stack_hand_ons == len(run.outcomes)
    assert sum(run.unsendable.values()) <= len(run.outcomes) // 20
