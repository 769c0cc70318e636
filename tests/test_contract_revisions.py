"""A contract revision served with `--contract`: the mock follows it, answers stay valid.

One copy of openapi.yaml is evolved in eight ways at once (a new optional property, a new required
property two levels deep inside an array, a new enum value, a new $ref'd schema, a property removed
under `additionalProperties: false`, a changed type, a new query parameter with a default, a whole
new operation) and served twice: by a live server (its own process) and in-process. Every answer
must validate against the revision, the added properties must be there and look real, and the two
servers of one seed must answer byte for byte alike.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
import yaml

from asm_mock.contract import load_compiled
from asm_mock.http.app import AsmMockApp, create_app
from asm_mock.settings import Settings
from asm_mock.testing import AsmMockServer
from tests.helpers import BASE, REPO, load_counting_hand_ons, password_token

pytestmark = pytest.mark.anyio

CUSTOMERS = 30
SITE = "electronics-spa"
CUSTOMER = "james.weber@example.com"  # has orders, carts and tickets
PHONE = re.compile(r"^\+?[0-9 ().\-x]{7,}$")


def evolve(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    # 1. a new optional property, and the issue's own example: a required enum beside it
    agent = schemas["Agent"]
    agent["properties"]["phone"] = {"type": "string"}
    agent["properties"]["region"] = {"type": "string", "enum": ["EMEA", "APJ", "AMER"]}
    agent["properties"]["supervisorEmail"] = {"type": "string", "format": "email"}
    agent["required"] = ["uid", "region"]
    # 2. a new required property two levels deep inside an array
    order = schemas["OrderSummary"]
    order["properties"]["shipping"] = {
        "type": "object",
        "required": ["carrier", "shippedAt"],
        "properties": {
            "carrier": {"type": "string", "enum": ["DHL", "UPS", "FedEx"]},
            "shippedAt": {"type": "string", "format": "date-time"},
        },
    }
    order["required"] = ["code", "shipping"]
    # 3. a new enum value on a property that had none: the world's statuses must still fit
    schemas["AssistedSession"]["properties"]["status"]["enum"].append("PAUSED")
    # 4. a new $ref'd schema, required
    schemas["LoyaltyInfo"] = {
        "type": "object",
        "required": ["tier", "points"],
        "properties": {
            "tier": {"type": "string", "enum": ["BRONZE", "SILVER", "GOLD"]},
            "points": {"type": "integer", "minimum": 0, "maximum": 100000},
            "memberSince": {"type": "string", "format": "date"},
        },
    }
    entry = schemas["CustomerSearchEntry"]
    entry["properties"]["loyalty"] = {"$ref": "#/components/schemas/LoyaltyInfo"}
    entry["required"] = ["uid", "loyalty"]
    # 5. a removed property under additionalProperties: false, and 6. a changed type
    cart = schemas["CartSummary"]
    del cart["properties"]["modified"]
    cart["additionalProperties"] = False
    cart["properties"]["totalItems"] = {"type": "string", "pattern": "^[0-9]+$"}
    # and the error format grows a required field: every error answer must carry it
    error = schemas["Error"]
    error["properties"]["correlationId"] = {"type": "string", "format": "uuid"}
    error["required"] = [*error.get("required", []), "correlationId"]
    # 7. a new query parameter with a default
    search = document["paths"]["/customers/search"]["get"]
    search["parameters"].append(
        {
            "name": "sort",
            "in": "query",
            "schema": {"type": "string", "enum": ["name", "uid"], "default": "name"},
        }
    )
    # 8. a whole new operation
    schemas["Address"] = {
        "type": "object",
        "required": ["line1", "town", "postalCode", "country", "phone", "email"],
        "additionalProperties": False,
        "properties": {
            "line1": {"type": "string"},
            "town": {"type": "string"},
            "postalCode": {"type": "string"},
            "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
            "phone": {"type": "string"},
            "email": {"type": "string", "format": "email"},
        },
    }
    document["paths"]["/customers/{customerId}/addresses"] = {
        "get": {
            "operationId": "getCustomerAddresses",
            "summary": "A customer's addresses",
            "parameters": [
                {"$ref": "#/components/parameters/customerId"},
                {"name": "baseSite", "in": "query", "required": True, "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {
                    "description": "The addresses",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["addresses"],
                                "properties": {
                                    "addresses": {
                                        "type": "array",
                                        "minItems": 1,
                                        "items": {"$ref": "#/components/schemas/Address"},
                                    }
                                },
                            }
                        }
                    },
                },
                "401": {"$ref": "#/components/responses/Unauthorized"},
            },
            "security": [{"oauth2": []}],
        }
    }


@pytest.fixture(scope="module")
def revision(tmp_path_factory: pytest.TempPathFactory) -> Path:
    document = yaml.safe_load((REPO / "openapi.yaml").read_text())
    evolve(document)
    path = tmp_path_factory.mktemp("revision") / "openapi.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def server(revision: Path) -> Iterator[AsmMockServer]:
    with AsmMockServer("--customers", str(CUSTOMERS), "--contract", str(revision)) as live:
        yield live


@pytest.fixture
async def in_process(revision: Path) -> AsyncIterator[httpx.AsyncClient]:
    app: AsmMockApp = create_app(Settings(customers=CUSTOMERS, contract=revision, cache_dir=None))
    app.load_fully()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9002") as c:
        c.headers["Authorization"] = f"Bearer {await password_token(c)}"
        yield c


REQUESTS = [
    ("/customers/search", {"query": "", "baseSite": SITE, "pageSize": 50}),
    ("/customers/search", {"query": "weber", "baseSite": SITE, "sort": "uid"}),
    (f"/customers/{CUSTOMER}", {"baseSite": SITE}),
    (f"/customers/{CUSTOMER}/carts", {"baseSite": SITE}),
    ("/agents/asagent", {}),
    ("/agents/cs.agent.emma", {}),
    (f"/customers/{CUSTOMER}/addresses", {"baseSite": SITE}),
]


def assert_fits(revision: Path, method: str, path: str, status: int, body: Any) -> None:
    """`body` is valid against the revision's schema for this answer, formats included."""
    compiled = load_compiled(revision)
    route = compiled.router.match(method, BASE + path)
    assert route is not None, path
    response = route[0].operation.responses[status]
    assert response.schema is not None
    validator = jsonschema_rs.Draft202012Validator(response.schema, validate_formats=True)
    assert [e.message for e in validator.iter_errors(body)] == [], (path, body)


async def test_every_answer_fits_the_revision_and_shows_what_it_added(
    in_process: httpx.AsyncClient, revision: Path
) -> None:
    answers = {}
    for path, params in REQUESTS:
        response = await in_process.get(BASE + path, params=params)
        assert response.status_code == 200, (path, response.text)
        assert_fits(revision, "GET", path, 200, response.json())
        answers[path, str(params)] = response.json()

    agent = answers["/agents/asagent", "{}"]
    assert agent["region"] in ("EMEA", "APJ", "AMER")
    assert PHONE.match(agent["phone"]), agent["phone"]
    assert agent["supervisorEmail"].count("@") == 1
    assert agent["uid"] == "asagent"  # the world's own values stay

    view = answers[f"/customers/{CUSTOMER}", str({"baseSite": SITE})]
    assert view["recentOrders"], "the demo customer has orders"
    for order in view["recentOrders"]:
        assert order["shipping"]["carrier"] in ("DHL", "UPS", "FedEx")
        datetime.fromisoformat(order["shipping"]["shippedAt"])
    for cart in view["activeCarts"]:
        assert "modified" not in cart and cart["totalItems"].isdigit()

    page = answers["/customers/search", str(REQUESTS[0][1])]
    assert all(e["loyalty"]["tier"] in ("BRONZE", "SILVER", "GOLD") for e in page["entries"])
    addresses = answers[f"/customers/{CUSTOMER}/addresses", str({"baseSite": SITE})]
    assert all(a["email"].count("@") == 1 for a in addresses["addresses"])


async def test_one_customer_has_one_loyalty_wherever_it_is_shown(
    in_process: httpx.AsyncClient,
) -> None:
    def loyalty_of(page: dict[str, Any]) -> Any:
        return next(e["loyalty"] for e in page["entries"] if e["uid"] == CUSTOMER)

    everyone = await in_process.get(
        f"{BASE}/customers/search", params={"query": "", "baseSite": SITE, "pageSize": 100}
    )
    narrow = await in_process.get(
        f"{BASE}/customers/search", params={"query": "weber", "baseSite": SITE}
    )
    assert loyalty_of(everyone.json()) == loyalty_of(narrow.json())
    # and the customers' values differ: they come from each one's identity, not one draw
    tiers = {str(e["loyalty"]) for e in everyone.json()["entries"]}
    assert len(tiers) > 3


async def test_a_session_answer_fits_the_revision(
    in_process: httpx.AsyncClient, revision: Path
) -> None:
    started = await in_process.post(
        f"{BASE}/sessions", json={"customerId": CUSTOMER, "baseSite": SITE}
    )
    assert started.status_code == 201, started.text
    assert_fits(revision, "POST", "/sessions", 201, started.json())


async def test_two_servers_of_one_seed_answer_alike(
    in_process: httpx.AsyncClient, server: AsmMockServer
) -> None:
    with httpx.Client(base_url=server.url, headers=server.headers()) as live:
        for path, params in REQUESTS:
            here = await in_process.get(BASE + path, params=params)
            there = live.get(BASE + path, params=params)
            assert (there.status_code, there.content) == (here.status_code, here.content), path


async def test_a_value_the_new_parameter_refuses_is_a_validation_error(
    in_process: httpx.AsyncClient, revision: Path
) -> None:
    refused = await in_process.get(
        f"{BASE}/customers/search", params={"query": "", "baseSite": SITE, "sort": "age"}
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["type"] == "ValidationError"
    assert_fits(revision, "GET", "/customers/search", 400, refused.json())


async def test_error_answers_fit_the_revisions_error_format(
    in_process: httpx.AsyncClient, revision: Path
) -> None:
    """Errors made by the domain (404), Connexion's validation (400), the token check (401)
    and the body guard (415) all carry the field the revision made required."""
    answers = [
        ("GET", "/agents/nobody", 404, await in_process.get(f"{BASE}/agents/nobody")),
        (
            "GET",
            "/customers/search",
            400,
            await in_process.get(f"{BASE}/customers/search", params={"query": "a"}),
        ),
        (
            "GET",
            "/agents/asagent",
            401,
            await in_process.get(f"{BASE}/agents/asagent", headers={"Authorization": ""}),
        ),
        (
            "POST",
            "/sessions",
            415,
            await in_process.post(
                f"{BASE}/sessions", content=b"x", headers={"Content-Type": "text/plain"}
            ),
        ),
    ]
    for method, path, status, answer in answers:
        assert answer.status_code == status, (path, answer.text)
        assert_fits(revision, method, path, status, answer.json())
        assert answer.headers["content-length"] == str(len(answer.content))


def test_a_remembered_token_refused_before_the_answer_fits_the_revisions_error_format(
    revision: Path, redis_url: str
) -> None:
    """With Redis, a token the replica remembers is refused as it settles, just before the
    answer leaves: that 401 carries the revision's required field too."""
    import redis

    with AsmMockServer(
        "--customers", str(CUSTOMERS), "--contract", str(revision), "--store", redis_url
    ) as live:
        headers = live.headers()
        agent = f"{live.api_url}/agents/asagent"
        assert httpx.get(agent, headers=headers).status_code == 200  # remembered now
        token = headers["Authorization"].removeprefix("Bearer ")
        with redis.Redis.from_url(redis_url) as client:  # revoked behind the replica's back
            assert client.delete(f"asm:default:t:{token}") == 1
        refused = httpx.get(agent, headers=headers)
        assert refused.status_code == 401, refused.text
        assert refused.json()["errors"][0]["type"] == "InvalidTokenError"
        assert_fits(revision, "GET", "/agents/asagent", 401, refused.json())


async def test_a_generated_operation_is_served_by_the_fast_lane_alike(revision: Path) -> None:
    """The revision's new operation: the lane answers it itself, as Connexion would, and the
    same request gets the same body (kept, not generated again); another request another."""
    answers = {}
    for fast_lane in (True, False):
        app = create_app(Settings(customers=CUSTOMERS, contract=revision), fast_lane=fast_lane)
        hand_ons = load_counting_hand_ons(app)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            client.headers["Authorization"] = f"Bearer {await password_token(client)}"
            url = f"{BASE}/customers/{CUSTOMER}/addresses"
            first = await client.get(url, params={"baseSite": SITE})
            again = await client.get(url, params={"baseSite": SITE})
            other = await client.get(url, params={"baseSite": "apparel-uk-spa"})
        assert first.status_code == again.status_code == other.status_code == 200
        assert first.content == again.content != other.content
        assert hand_ons.count == (0 if fast_lane else 3)
        answers[fast_lane] = (first.content, other.content)
    assert answers[True] == answers[False]


@pytest.mark.parametrize("served", ["revision", "packaged"])
def test_faker_loads_with_the_stack_only_when_answers_are_generated(
    served: str, revision: Path, tmp_path: Path
) -> None:
    """A revision's first completed answer does not pay Faker's import: the background load
    does. The packaged contract generates nothing, so it never imports Faker at all (with the
    name pools cached, as after a first start)."""
    cache = tmp_path / "cache"
    warm = [sys.executable, "-m", "asm_mock", "check", "--customers", "5", "--cache-dir", cache]
    assert subprocess.run(warm, capture_output=True, cwd=REPO, timeout=120).returncode == 0
    contract = f"contract=Path({str(revision)!r}), " if served == "revision" else ""
    program = (
        "import sys\nfrom pathlib import Path\n"
        "from asm_mock.http.app import create_app\nfrom asm_mock.settings import Settings\n"
        f"app = create_app(Settings(customers=5, {contract}cache_dir=Path({str(cache)!r})))\n"
        "assert 'faker' not in sys.modules, 'imported before the stack loads'\n"
        "app.load_fully()\n"
        "print('faker' in sys.modules)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(served == "revision")
