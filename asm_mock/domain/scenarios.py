"""Scenarios: named situations (fixtures/scenarios/*.yaml) applied at start-up or at run time.

A scenario file has a `description` and any of `settings` (latency, errorRate, authMode, as
`PATCH /__admin/settings` takes them), `world` (`clear_customers`, and `customers` in the format
of fixtures/customers.yaml plus an optional `generate: {orders: N, carts: N, tickets: N}`),
`tokens: {expire_all: true}` and `responses` (canned answers per operationId: a status the
contract documents, a body valid against its schema, optionally headers it documents; one for
every request, or a list tried in order whose entries may `match` path parameters, query
parameters and body fields, a request none matches answered by the world; a recorded body that
breaks the schema is kept when the entry lists its `violations`). Every file
is validated in full when loaded — structure, customers (with the fixture loader's own schema and
checks) and each canned body against the contract's response schema — and every error names the
file, the path and the problem. Applying is atomic: everything is checked and built first.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from asm_mock.domain.controls import CannedAnswer, Controls, Latency
from asm_mock.domain.errors import FixtureError, NotFoundError, ValidationError
from asm_mock.domain.fixtures import (  # the fixture loader's own checks, reused as they are
    FIXTURE_SCHEMA,
    FixtureBuilder,
    StrictLoader,
    describe,
    explainer,
    fixture_error,
    pointer,
)
from asm_mock.domain.generate import CodeCounter, HistoryWriter, write_history
from asm_mock.domain.model import Customer
from asm_mock.domain.records import (
    CURRENT_WORLD,
    CustomerRecords,
    IdKind,
    RecordProblem,
    Records,
    Where,
)
from asm_mock.domain.service import MockService
from asm_mock.domain.world import World, search_ordered

__all__ = [
    "AUTH_MODES",
    "SCENARIO_SCHEMA",
    "CannedCheck",
    "Scenario",
    "ScenarioCustomer",
    "apply",
    "apply_scenario",
    "load_scenarios",
    "scenario_named",
    "settings_changes",
]

AUTH_MODES = ("strict", "permissive")
_HISTORY = ("carts", "orders", "tickets")
_COUNT = {"type": "integer", "minimum": 0, "maximum": 10_000}
_SCENARIO_CUSTOMER = dict(FIXTURE_SCHEMA["properties"]["customers"]["items"])
_SCENARIO_CUSTOMER["properties"] = {
    **_SCENARIO_CUSTOMER["properties"],
    "generate": {
        "type": "object",
        "properties": dict.fromkeys(_HISTORY, _COUNT),
        "minProperties": 1,
        "additionalProperties": False,
    },
}
_PARAMETERS = {
    "type": "object",
    "minProperties": 1,
    "additionalProperties": {"type": ["string", "integer", "boolean"]},  # compared as URL text
}
_CANNED_ANSWER = {
    "type": "object",
    "required": ["status"],
    "additionalProperties": False,
    "properties": {
        "match": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": False,
            "properties": {
                "path": _PARAMETERS,
                "query": _PARAMETERS,
                "body": {"type": "object", "minProperties": 1},
            },
        },
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "body": {},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "violations": {"type": "array", "minItems": 1, "items": {"type": "string"}},
    },
}
SCENARIO_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "asm-mock scenario file",
    "type": "object",
    "required": ["description"],
    "additionalProperties": False,
    "properties": {
        "description": {"type": "string", "minLength": 1},
        "settings": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": False,
            "properties": {
                "latency": {"type": ["string", "integer"]},  # YAML reads `latency: 120` as a number
                "errorRate": {"type": "number", "minimum": 0, "maximum": 1},
                "authMode": {"enum": list(AUTH_MODES)},
            },
        },
        "world": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": False,
            "properties": {
                "clear_customers": {"type": "boolean"},
                "customers": {"type": "array", "items": _SCENARIO_CUSTOMER},
            },
        },
        "tokens": {
            "type": "object",
            "required": ["expire_all"],
            "additionalProperties": False,
            "properties": {"expire_all": {"type": "boolean"}},
        },
        "responses": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": "^[A-Za-z][A-Za-z0-9_]*$"},
            # one answer for every request, or a list tried in order (first match wins)
            "additionalProperties": {
                "if": {"type": "array"},
                "then": {"minItems": 1, "items": _CANNED_ANSWER},
                "else": _CANNED_ANSWER,
            },
        },
    },
}
_VALIDATOR = Draft202012Validator(SCENARIO_SCHEMA, format_checker=explainer().format_checker)
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_CODE_FLOOR = 70_000  # codes invented for scenario customers start above every existing one


@dataclass(frozen=True, slots=True)
class ScenarioCustomer:
    given: CustomerRecords
    generate: Mapping[str, int]  # exact counts of carts/orders/tickets to invent
    where: Where  # where it is in the file, for errors found when applying


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    file: str
    description: str
    settings: Mapping[str, Any]  # RuntimeSettings field -> value
    clear_customers: bool
    customers: tuple[ScenarioCustomer, ...]
    expire_tokens: bool
    responses: Mapping[str, tuple[CannedAnswer, ...]]  # per operationId, tried in order

    @property
    def changes_world(self) -> bool:
        return self.clear_customers or bool(self.customers)


# -- run-time settings, as PATCH /__admin/settings and scenario files spell them -------------


def _setting_error(name: str, problem: str) -> ValidationError:
    return ValidationError(
        f"Invalid setting {name}: {problem}", reason="invalid", subject=name, subject_type="body"
    )


def settings_changes(values: Mapping[str, Any]) -> dict[str, Any]:
    """{latency, errorRate, authMode} -> `RuntimeSettings` changes, all checked before any is used.

    Raises the OCC `ValidationError` whose subject is the offending field.
    """
    changes: dict[str, Any] = {}
    for name, value in values.items():
        if name == "latency":
            try:
                changes["latency"] = Latency.parse(str(value))
            except ValueError as error:
                problem = str(error).removeprefix(f"latency {str(value)!r}: ")
                raise _setting_error(name, f"{str(value)!r}: {problem}") from None
        elif name == "errorRate":
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise _setting_error(name, f"{value!r} is not a number from 0 to 1")
            changes["error_rate"] = float(value)
        elif name == "authMode":
            if value not in AUTH_MODES:
                raise _setting_error(name, f"{value!r} is not one of {', '.join(AUTH_MODES)}")
            changes["permissive_auth"] = value == "permissive"
        else:
            raise _setting_error(name, "unknown setting (known: latency, errorRate, authMode)")
    return changes


# -- canned answers against the contract ------------------------------------------------------

# (file, its place in the file, operationId, the canned answer as written) -> the checked
# answer, or a FixtureError: the contract's layer checks (asm_mock.contract.canned), since the
# domain knows no contract.
CannedCheck = Callable[[str, str, str, Mapping[str, Any]], CannedAnswer]


def _canned(
    file: str,
    operation_id: str,
    raw: Mapping[str, Any] | list[Mapping[str, Any]],
    check: CannedCheck,
) -> tuple[CannedAnswer, ...]:
    at = f"/responses/{operation_id}"
    if not isinstance(raw, list):
        return (check(file, at, operation_id, raw),)
    answers: list[CannedAnswer] = []
    for i, entry in enumerate(raw):
        if i and answers[-1].match is None:
            problem = "never used: the answer before it has no match, so it answers every request"
            raise FixtureError(file, f"{at}/{i}", problem)
        answers.append(check(file, f"{at}/{i}", operation_id, entry))
    return tuple(answers)


# -- loading -----------------------------------------------------------------------------------


def _read(path: Path) -> dict[str, Any]:
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=StrictLoader)  # noqa: S506
    except (OSError, UnicodeDecodeError) as exc:
        raise FixtureError(path.name, "", f"cannot read file: {exc}") from exc
    except yaml.YAMLError as exc:
        raise FixtureError(path.name, "", f"invalid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise FixtureError(path.name, "", "expected a mapping with a description")
    error = best_match(_VALIDATOR.iter_errors(document), key=explainer().relevance)
    if error is not None:
        raise FixtureError(path.name, pointer(error.absolute_path), describe(error))
    return document


def _customers(file: str, raw: list[dict[str, Any]]) -> tuple[ScenarioCustomer, ...]:
    plain = [{k: v for k, v in c.items() if k != "generate"} for c in raw]
    builder = FixtureBuilder()
    try:
        builder.add(file, {"customers": plain})
        fixtures = builder.finish().customers
    except FixtureError as error:
        # only the error's own path gains /world: a duplicate's "already used at" has always
        # named the first use's place in the customers list alone
        raise FixtureError(file, f"/world{error.path}", error.problem) from None
    customers = []
    for i, (customer, source) in enumerate(zip(fixtures, raw, strict=True)):
        generate = source.get("generate", {})
        for kind in generate:
            if kind in source:
                problem = f"{kind} is given both as a list and in generate"
                raise FixtureError(file, f"/world/customers/{i}/generate/{kind}", problem)
        where = Where(file, ("world", "customers", i))
        customers.append(ScenarioCustomer(customer, generate, where))
    return tuple(customers)


def _scenario(path: Path, canned: CannedCheck) -> Scenario:
    file = path.name
    if not _NAME.match(path.stem):
        raise FixtureError(file, "", "a scenario's name is lowercase letters, digits and dashes")
    document = _read(path)
    if not {"settings", "world", "tokens", "responses"} & document.keys():
        raise FixtureError(file, "", "a scenario needs settings, world, tokens or responses")
    try:
        settings = settings_changes(document.get("settings", {}))
    except ValidationError as error:
        raise FixtureError(file, f"/settings/{error.subject}", error.message) from None
    world = document.get("world", {})
    return Scenario(
        name=path.stem,
        file=file,
        description=document["description"].strip(),
        settings=settings,
        clear_customers=world.get("clear_customers", False),
        customers=_customers(file, world.get("customers", [])),
        expire_tokens=document.get("tokens", {}).get("expire_all", False),
        responses={
            op: _canned(file, op, raw, canned) for op, raw in document.get("responses", {}).items()
        },
    )


def load_scenarios(directory: Path, *, canned: CannedCheck) -> dict[str, Scenario]:
    """Every `*.yaml` directly in `directory`, by name (the file's stem), fully validated;
    `canned` checks each canned answer against the contract."""
    if not directory.is_dir():
        raise FixtureError(str(directory), "", "scenarios directory not found")
    files = sorted(p for p in directory.glob("*.yaml") if p.is_file())
    return {path.stem: _scenario(path, canned) for path in files}


# -- applying ----------------------------------------------------------------------------------


def _without(world: World, scenario: Scenario) -> World:
    """The world minus the customers the scenario clears or replaces, and their history."""
    replaced = {c.given.customer.uid for c in scenario.customers}
    kept = () if scenario.clear_customers else world.customers
    kept = tuple(c for c in kept if c.uid not in replaced)
    uids = {c.uid for c in kept}
    return replace(
        world,
        customers=kept,
        carts=tuple(c for c in world.carts if c.customer_uid in uids),
        orders=tuple(o for o in world.orders if o.customer_uid in uids),
        tickets=tuple(t for t in world.tickets if t.customer_uid in uids),
    )


# A scenario customer's id that the world it joins already uses, in the file author's words.
_TAKEN = {
    IdKind.LOGIN: "{!r} is an agent's uid",  # customers of that uid are replaced, agents not
    IdKind.CUSTOMER: "another customer has this id",
    IdKind.ORDER_CODE: "code {!r} is taken",
    IdKind.TICKET: "ticket id {!r} is taken",
}


def _clashes(scenario: Scenario, kept: World) -> None:
    """Scenario customers replace customers of the same uid, but share no other identifier."""
    records = Records.holding(kept)
    for sc in scenario.customers:
        try:
            records.add_customer(sc.where, sc.given)
        except RecordProblem as problem:
            first = problem.first
            if problem.ids is None or first is None or first.source != CURRENT_WORLD:
                raise fixture_error(problem) from None
            what = _TAKEN[problem.ids].format(problem.value)
            raise FixtureError(
                scenario.file, pointer(problem.where.path), f"{what} in the current world"
            ) from None


def _counter(keys: Iterable[str]) -> CodeCounter:
    return CodeCounter(max((int(k) for k in keys), default=_CODE_FLOOR - 1) + 1)


def _invent(seed: int, sc: ScenarioCustomer, customer: Customer, writer: _Writer) -> None:
    """What `generate` asks for, in exact numbers, drawn as the generator draws history."""
    rng = random.Random(f"{seed}:scenario:{customer.uid}")
    draft = HistoryWriter(CodeCounter(0), CodeCounter(0))  # its codes are replaced below
    want = {kind: sc.generate.get(kind, 0) for kind in _HISTORY}
    while len(draft.carts) < want["carts"]:
        draft.carts_for(rng, customer)
    while len(draft.orders) < want["orders"]:
        draft.orders_for(rng, customer)
    while len(draft.tickets) < want["tickets"]:
        draft.tickets_for(rng, customer)
    # the writer's own counters hand out codes and ids, in order, after the world's
    writer.carts += [replace(c, code=writer.code()) for c in draft.carts[: want["carts"]]]
    writer.orders += [replace(o, code=writer.code()) for o in draft.orders[: want["orders"]]]
    writer.tickets += [replace(t, id=writer.ticket_id()) for t in draft.tickets[: want["tickets"]]]


def _world_of(scenario: Scenario, world: World) -> World:
    """The world the scenario describes, built from the current one; checked before it is built."""
    kept = _without(world, scenario)
    _clashes(scenario, kept)
    given = [sc.given for sc in scenario.customers]
    codes = [x.code for g in given for x in g.carts or ()]
    codes += [x.code for g in given for x in g.orders or ()]
    codes += [x.code for x in kept.carts] + [x.code for x in kept.orders]
    ids = [t.id for g in given for t in g.tickets or ()] + [t.id for t in kept.tickets]
    writer = _Writer(_counter(codes), _counter(ids))
    customers = list(kept.customers)
    for sc in scenario.customers:
        customer = sc.given.customer
        customers.append(customer)
        # lists the file omits (and `generate` does not count) are invented as for fixtures
        write_history(world.seed, _counted(sc), writer)
        _invent(world.seed, sc, customer, writer)
    return replace(
        kept,
        customers=search_ordered(customers),
        carts=(*kept.carts, *writer.carts),
        orders=(*kept.orders, *writer.orders),
        tickets=(*kept.tickets, *writer.tickets),
    )


def _counted(sc: ScenarioCustomer) -> CustomerRecords:
    g = sc.given
    return replace(
        g,
        carts=() if "carts" in sc.generate else g.carts,
        orders=() if "orders" in sc.generate else g.orders,
        tickets=() if "tickets" in sc.generate else g.tickets,
    )


class _Writer(HistoryWriter):
    """The generator's history writer, with its counters at hand for `generate`'s records."""

    def __init__(self, code: CodeCounter, ticket_id: CodeCounter) -> None:
        super().__init__(code, ticket_id)
        self.code = code
        self.ticket_id = ticket_id


async def apply(scenario: Scenario, *, service: MockService, controls: Controls) -> None:
    """Apply `scenario`: checked and built in full first, so a failure changes nothing.

    A scenario that changes the world ends every session, as a reset does.
    """
    replace(controls.settings, **scenario.settings)  # raises before anything changes
    world = _world_of(scenario, service.world()) if scenario.changes_world else None
    # the store first: one that fails (a shared store down) leaves the settings as they were
    if world is not None:
        await service.replace_world(world)
    if scenario.expire_tokens:
        await service.expire_tokens()
    if scenario.settings:
        controls.update(**scenario.settings)
    for operation_id, answers in scenario.responses.items():
        controls.set_canned(operation_id, answers)


def scenario_named(scenarios: Mapping[str, Scenario], name: str) -> Scenario:
    """The scenario called `name`, or the OCC 404 listing the available names."""
    if name not in scenarios:
        available = ", ".join(sorted(scenarios)) or "none"
        raise NotFoundError(
            f"Scenario {name} not found; available: {available}",
            reason="notFound",
            subject="name",
            subject_type="parameter",
        )
    return scenarios[name]


async def apply_scenario(
    name: str, *, service: MockService, controls: Controls, directory: Path, canned: CannedCheck
) -> None:
    """Load the scenarios in `directory` and apply the one called `name`.

    Raises `NotFoundError` (listing the available names) or `FixtureError`.
    """
    scenario = scenario_named(load_scenarios(directory, canned=canned), name)
    await apply(scenario, service=service, controls=controls)
