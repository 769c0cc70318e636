"""The router picks an operation exactly where Connexion's routing does, odd characters included.

Connexion routes through Starlette: a `Mount` at the contract's base path (its `{path:path}`
pattern is `.*`, which stops at a line feed) around a router of the operations' routes. The
reference below is built from those same Starlette classes, so a path the router resolves and
Connexion does not (the fast lane would answer a request Connexion calls "no resource") fails.
"""

from __future__ import annotations

import asyncio

import pytest
from connexion.frameworks.starlette import starlettify_path
from starlette.routing import Mount, Route, Router
from starlette.types import Receive, Scope, Send

from asm_mock.contract import CompiledContract, load_compiled
from asm_mock.resources import contract_path

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
# `.` without DOTALL excludes the line feed only; the others are its neighbours in the tables
# (other line breaks str.splitlines() knows, controls, a space) that must route as usual.
ODD_CHARACTERS = ("\n", "\r", "\r\n", "\t", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", " ")


class Picked:
    """An ASGI endpoint that notes which operation the Starlette router reached."""

    def __init__(self, operation_id: str | None, picks: list[str | None]) -> None:
        self.operation_id = operation_id
        self.picks = picks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.picks.append(self.operation_id)


class ConnexionsRouting:
    """Connexion's routing, rebuilt from Starlette's classes the way its RoutingMiddleware
    mounts an API: the operation Starlette reaches for a method and path, or None."""

    def __init__(self, contract: CompiledContract) -> None:
        self.picks: list[str | None] = []
        routes = [
            Route(
                starlettify_path(operation.template),
                Picked(operation.operation_id, self.picks),
                methods=[operation.method],
            )
            for operation in contract.operations
        ]
        nowhere = Picked(None, self.picks)
        api = Router(routes=routes, default=nowhere, redirect_slashes=False)
        self.app = Router(
            routes=[Mount(contract.base_path, app=api)], default=nowhere, redirect_slashes=False
        )

    def pick(self, method: str, path: str) -> str | None:
        self.picks.clear()
        scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": b""}

        async def send(message: object) -> None:
            pass  # a 405 Starlette sends itself: no operation reached

        asyncio.run(self.app(scope, receive, send))
        return self.picks[0] if self.picks else None


@pytest.fixture(scope="module")
def contract() -> CompiledContract:
    return load_compiled(contract_path())


def concrete(template: str, value: str) -> str:
    return "/".join(value if part.startswith("{") else part for part in template.split("/"))


def odd_paths(contract: CompiledContract, odd: str) -> set[str]:
    """`odd` in every place of each operation's path: in and after a variable, at the end,
    inside a literal segment, right after the base path."""
    paths = set()
    for operation in contract.operations:
        plain = concrete(operation.template, "asagent")
        paths |= {
            contract.base_path + concrete(operation.template, f"asagent{odd}"),
            contract.base_path + concrete(operation.template, f"as{odd}agent"),
            contract.base_path + plain + odd,
            contract.base_path + plain.replace("/", f"/{odd[0]}", 1),
            contract.base_path + odd + plain,
        }
    return paths


def ours(contract: CompiledContract, method: str, path: str) -> str | None:
    found = contract.router.match(method, path)
    return None if found is None else found[0].operation.operation_id


@pytest.mark.parametrize("odd", ODD_CHARACTERS, ids=repr)
def test_the_router_picks_what_connexions_routing_picks_with_odd_characters_in_the_path(
    contract: CompiledContract, odd: str
) -> None:
    reference = ConnexionsRouting(contract)
    routed = 0
    for path in sorted(odd_paths(contract, odd)):
        for method in METHODS:
            expected = reference.pick(method, path)
            assert ours(contract, method, path) == expected, (method, path)
            if expected is not None:  # the journal's and access log's name for it
                assert contract.router.operation_id(method, path) == expected, (method, path)
            routed += expected is not None and odd in path
    # a line feed routes nowhere; any other character routes where a variable holds it
    assert (routed == 0) == ("\n" in odd), routed


def test_a_line_feed_anywhere_in_the_path_leaves_it_without_operation_or_allow(
    contract: CompiledContract,
) -> None:
    agent = contract.base_path + "/agents/asagent"
    assert contract.router.operation_id("GET", agent) == "getAgent"
    for path in (agent + "\n", agent.replace("asagent", "as\nagent"), agent + "\n\n"):
        assert contract.router.match("GET", path) is None
        assert contract.router.operation_id("GET", path) is None
        assert contract.router.allow(path) is None


def test_starlettes_one_routing_of_a_line_feed_is_left_to_connexion(
    contract: CompiledContract,
) -> None:
    """After a doubled slash, the mount hands its router a path without the base path, and a
    trailing line feed then satisfies the route's `$`: Starlette reaches the operation. The
    router has no route there, so the fast lane hands the request on and Connexion answers."""
    path = contract.base_path + "//agents/asagent\n"
    assert ConnexionsRouting(contract).pick("GET", path) == "getAgent"
    assert contract.router.match("GET", path) is None
