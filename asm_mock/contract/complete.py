"""Schema-completed answers: a world-backed answer fitted to the contract revision being served.

The world's answers are shaped by the packaged ("native") contract. A user may serve a revision
("served") that adds properties, closes objects, widens or changes types. `completions()` walks
both documents once and compiles, per (operationId, status), a `Completion`: only the places
where the two schemas differ, each with what to do there (add, drop, re-check, pick a oneOf
branch). Applying it touches those places alone and copies only the objects on the way to them,
so an unchanged contract yields empty plans whose `apply` hands the answer back as it is.

A generated value is seeded by (world seed, identity of the object it goes in, property name),
never by the request, so one customer gets one `loyaltyTier` wherever it is shown, on every run.

Use: `plans = completions(served, native)` (compiled contracts) once per contract pair (a
reload makes a new one); `plans(operation_id, status).apply(answer, seed=world.seed)` on each
world-backed JSON answer before it is validated. An answer that is a pure function of the
world can be completed once per answer object (the world memo shares them); one made per
request (a session) is completed as it is made.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs

from asm_mock.contract.compiled import CompiledContract
from asm_mock.contract.generate import generate, seed_of
from asm_mock.contract.load import InvalidContractError, resolve_pointer

__all__ = ["IDENTITY_FIELDS", "Completion", "Completions", "completions"]

# An object's identity is its first string field of these, so a customer's search entry (`uid`)
# and its 360 overview (`email`, which holds the uid) are one identity. An object without one
# takes its first object-valued property's, else its parent's identity and its path.
IDENTITY_FIELDS = ("uid", "customerId", "email", "code", "id", "sessionId", "agentId")

# Keywords a plan follows into subschemas (or that only say what they apply to); every other
# keyword but annotations constrains the value in place, and a change to one means re-checking.
_STRUCTURAL = frozenset(
    {
        "properties",
        "patternProperties",
        "additionalProperties",
        "unevaluatedProperties",
        "required",
        "items",
        "prefixItems",
        "allOf",
        "oneOf",
        "anyOf",
        "$ref",
        "$defs",
        "definitions",
        "components",
    }
)
_ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "example",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$comment",
        "$id",
        "$schema",
        "$anchor",
        "$dynamicAnchor",
        "externalDocs",
        "xml",
        "discriminator",
        "contentMediaType",
        "contentEncoding",
    }
)
_MAX_ALLOF_DEPTH = 32  # an allOf/$ref chain this deep is a cycle: what was merged so far stands
_NOT_GENERATED = object()


def _value(schema: Any, seed: int, name: str, root: Mapping[str, Any] | None) -> Any:
    """The one call into the generator: a realistic value for property `name`."""
    return generate(schema, seed=seed, root=root, name=name)


def _seed(world_seed: int, identity: str, key: str) -> int:
    return seed_of(world_seed, identity, key)


def _identity(value: Mapping[str, Any]) -> str | None:
    """The object's first identity field, else that of its first object-valued property that
    has one (a 360 view is its overview's customer); None: the caller falls back on the path."""
    for name in IDENTITY_FIELDS:
        found = value.get(name)
        if isinstance(found, str):
            return found
    for child in value.values():
        if isinstance(child, dict):
            for name in IDENTITY_FIELDS:
                found = child.get(name)
                if isinstance(found, str):
                    return found
    return None


def _converted(value: Any) -> Any:
    """The world's value in another JSON type (3 -> "3", "12" -> 12) or a date-time's date,
    tried before a new value is made up for a changed schema: the answer stays about the same
    record."""
    if isinstance(value, bool):
        return _NOT_GENERATED
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        for number in (int, float):
            try:
                parsed = number(value)
            except ValueError:
                continue
            return parsed if math.isfinite(parsed) else _NOT_GENERATED  # JSON has no NaN
        if len(value) > 10 and value[10] == "T":
            return value[:10]
    return _NOT_GENERATED


class _Validator:
    """A served subschema, compiled once: jsonschema-rs where it can take the schema, Python's
    jsonschema for the rest (a recursive schema resolved into a cyclic structure)."""

    __slots__ = ("_check",)

    def __init__(self, schema: Any, root: Mapping[str, Any] | None) -> None:
        document = schema
        if root is not None and _has_ref(schema):
            document = {"allOf": [schema], "components": root.get("components", {})}
        self._check: Any = None
        if not _cyclic(document):
            try:
                self._check = jsonschema_rs.Draft202012Validator(
                    document, validate_formats=True
                ).is_valid
            except ValueError:
                self._check = None
        if self._check is None:
            from jsonschema import Draft202012Validator

            checker = Draft202012Validator.FORMAT_CHECKER
            self._check = Draft202012Validator(document, format_checker=checker).is_valid

    def __call__(self, value: Any) -> bool:
        return bool(self._check(value))


def _shape(schema: Any) -> tuple[bool, bool]:
    """(has a `$ref`, is cyclic): a depth-first walk that visits each shared node once."""
    has_ref = cyclic = False
    done: set[int] = set()
    ancestors: set[int] = set()
    stack: list[tuple[Any, bool]] = [(schema, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            ancestors.discard(id(node))
            done.add(id(node))
            continue
        if not isinstance(node, dict | list) or id(node) in done:
            continue
        if id(node) in ancestors:
            cyclic = True
            continue
        ancestors.add(id(node))
        stack.append((node, True))
        if isinstance(node, dict):
            has_ref = has_ref or isinstance(node.get("$ref"), str)
        stack.extend(
            (child, False) for child in (node.values() if isinstance(node, dict) else node)
        )
    return has_ref, cyclic


def _cyclic(schema: Any) -> bool:
    return _shape(schema)[1]


def _has_ref(schema: Any) -> bool:
    return _shape(schema)[0]


def _same(a: Any, b: Any, seen: set[tuple[int, int]]) -> bool:
    """Deep equality that terminates on cyclic (resolved recursive) schemas."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        if (id(a), id(b)) in seen:
            return True
        seen.add((id(a), id(b)))
        return a.keys() == b.keys() and all(_same(a[k], b[k], seen) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y, seen) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@dataclass
class _Flat:
    """A schema with its `$ref`s followed and its `allOf` merged: what a value at its place
    must be, gathered in one view."""

    properties: dict[str, Any] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)
    pattern_properties: dict[str, Any] = field(default_factory=dict)
    extra: Any = None  # additionalProperties as a schema; None where absent
    # each schema that closes the object: the names and patterns it allows
    closures: list[tuple[frozenset[str], tuple[str, ...]]] = field(default_factory=list)
    items: Any = None
    prefix: list[Any] = field(default_factory=list)
    branches: list[Any] | None = None  # oneOf / anyOf
    local: dict[str, list[Any]] = field(default_factory=dict)

    def closed_to(self, name: str) -> bool:
        return any(
            name not in names and not any(re.search(p, name) for p in patterns)
            for names, patterns in self.closures
        )


@dataclass(frozen=True)
class _Run:
    """One application: the world's seed, and whether a value that no longer fits may be
    replaced (not while trying which oneOf branch a value belongs to)."""

    seed: int
    regenerate: bool


class _Node:
    """What to do at one place of an answer. Built by `_Compiler`, then only read."""

    __slots__ = (
        "add",
        "branches",
        "check",
        "children",
        "drop",
        "items",
        "known",
        "max_items",
        "prefix",
        "require",
        "root",
        "schema",
    )

    def __init__(self, schema: Any, root: Mapping[str, Any] | None) -> None:
        self.schema = schema  # the served subschema: what a regenerated value fits
        self.root = root  # where its unresolved $refs point (None: the spec was resolved)
        self.add: dict[str, Any] = {}  # new in the served schema: generated where absent
        self.require: dict[str, Any] = {}  # known, newly required: generated where absent
        self.drop: frozenset[str] = frozenset()  # the served schema forbids them
        self.children: dict[str, _Node] = {}
        # every property the served schema describes: filled in only when the object fails
        # its check (a minProperties, a dependentRequired), before it is regenerated whole
        self.known: dict[str, Any] = {}
        self.items: _Node | None = None
        self.max_items: int | None = None  # the served maxItems, where it changed
        self.prefix: list[_Node | None] = []
        # per served branch: (does the value fit the native branch, the served one, its plan)
        self.branches: list[tuple[_Validator | None, _Validator, _Node | None]] = []
        self.check: _Validator | Any = None  # set: the value is re-checked, regenerated if bad

    def own_work(self) -> bool:
        return bool(self.add or self.require or self.drop or self.check is not None)

    def subplans(self) -> Iterator[_Node]:
        yield from self.children.values()
        yield from (n for n in (self.items, *self.prefix) if n is not None)
        yield from (n for _, _, n in self.branches if n is not None)

    def apply(self, value: Any, where: str, key: str, name: str, run: _Run) -> Any:
        """`value` completed; `where`/`key` say whose value it is (for seeds), `name` what the
        generator should make it look like."""
        if isinstance(value, dict):
            value = self._object(value, where, key, run)
        elif isinstance(value, list):
            value = self._array(value, where, key, name, run)
        if self.branches:
            value = self._branch(value, where, key, name, run)
        if self.check is not None and not self.check(value):
            converted = _converted(value)
            if isinstance(value, list) and self.max_items is not None:
                converted = value[: self.max_items]  # the world's first items, fewer of them
            if isinstance(value, dict) and self.known.keys() - value.keys():
                converted = self._filled(value, where, key, run)  # e.g. a minProperties now
            if converted is not _NOT_GENERATED and self.check(converted):
                return converted
            if not run.regenerate:
                return value
            made = self.generate(self.schema, run, where, key, name)
            if made is not _NOT_GENERATED:
                value = made
        return value

    def _filled(self, value: dict[str, Any], where: str, key: str, run: _Run) -> dict[str, Any]:
        """`value` with every property the served schema knows and `value` lacks generated."""
        own, out = _identity(value) or f"{where}/{key}", dict(value)
        for name, schema in self.known.items():
            if name not in out:
                made = self.generate(schema, run, own, name, name)
                if made is not _NOT_GENERATED:
                    out[name] = made
        return out

    def generate(self, schema: Any, run: _Run, where: str, key: str, name: str) -> Any:
        try:
            return _value(schema, _seed(run.seed, where, key), name or "value", self.root)
        except (ValueError, RecursionError):  # nothing fits: the answer's validation says so
            return _NOT_GENERATED

    def _object(self, value: dict[str, Any], where: str, key: str, run: _Run) -> dict[str, Any]:
        own = _identity(value) or f"{where}/{key}"
        out = value
        for name in self.drop & value.keys():
            out = dict(out) if out is value else out
            del out[name]
        for name, child in self.children.items():
            if name in out:
                done = child.apply(out[name], own, name, name, run)
                if done is not out[name]:
                    out = dict(out) if out is value else out
                    out[name] = done
        for wanted in (self.add, self.require):
            for name, schema in wanted.items():
                if name not in out:
                    made = self.generate(schema, run, own, name, name)
                    if made is not _NOT_GENERATED:
                        out = dict(out) if out is value else out
                        out[name] = made
        return out

    def _array(self, value: list[Any], where: str, key: str, name: str, run: _Run) -> list[Any]:
        if self.items is None and not self.prefix:
            return value
        place, out = f"{where}/{key}", value
        for index, item in enumerate(value):
            plan = self.prefix[index] if index < len(self.prefix) else self.items
            if plan is not None:
                done = plan.apply(item, place, str(index), name, run)
                if done is not item:
                    out = list(out) if out is value else out
                    out[index] = done
        return out

    def _branch(self, value: Any, where: str, key: str, name: str, run: _Run) -> Any:
        """Completed within the served branch the value belongs to: one whose native branch it
        fits, and whose served branch it fits once completed; first without regenerating any
        of the world's values, so a value is not rewritten to fit a branch it is not of."""
        fitting = [b for b in self.branches if b[0] is None or b[0](value)] or self.branches
        for regenerate in (False, True) if run.regenerate else (False,):
            attempt = _Run(run.seed, regenerate)
            for _, served, plan in fitting:
                done = value if plan is None else plan.apply(value, where, key, name, attempt)
                if served(done):
                    return done
        return value


class _Compiler:
    """One walk over a (served, native) schema pair; a pair met again (a recursive schema)
    shares its node."""

    def __init__(self, served_root: Mapping[str, Any], native_root: Mapping[str, Any]) -> None:
        self.roots = (served_root, native_root)
        self.refs = (_has_ref(served_root.get("paths", {})), _has_ref(native_root.get("paths", {})))
        self.nodes: dict[tuple[int, int], _Node] = {}
        self.flats: dict[tuple[int, int], _Flat] = {}
        # schemas made here (two definitions of one property, merged) stay referenced, so
        # the ids that key `nodes` and `flats` are never reused
        self.made: dict[tuple[int, int], dict[str, Any]] = {}

    def _target(self, root: Mapping[str, Any], reference: str) -> Any:
        if not reference.startswith("#"):
            return True  # a remote document: nothing is known of it
        try:
            return resolve_pointer(root, reference)
        except InvalidContractError:
            return True  # points at nothing: nothing is known of it

    def both(self, a: Any, b: Any) -> dict[str, Any]:
        made = self.made.setdefault((id(a), id(b)), {"allOf": [a, b]})
        return made

    def flat(self, schema: Any, side: int, depth: int = 0) -> _Flat:
        key = (id(schema), side)
        if key in self.flats:
            return self.flats[key]
        out = _Flat()
        if schema is False:
            out.local["not"] = [{}]
        if not isinstance(schema, dict):
            return out
        self.flats[key] = out  # a cycle through $ref/allOf meets the partial view, and stops
        members = list(schema.get("allOf", ()))
        if isinstance(schema.get("$ref"), str):
            members.insert(0, self._target(self.roots[side], schema["$ref"]))
        for name, sub in schema.get("properties", {}).items():
            out.properties[name] = sub
        out.required.update(schema.get("required", ()))
        out.pattern_properties.update(schema.get("patternProperties", {}))
        extra = schema.get("additionalProperties")
        if extra is False:
            out.closures.append((frozenset(out.properties), tuple(out.pattern_properties)))
        elif isinstance(extra, dict):
            out.extra = extra
        if "items" in schema:
            out.items = schema["items"]
        out.prefix = list(schema.get("prefixItems", ()))
        for kind in ("oneOf", "anyOf"):
            if isinstance(schema.get(kind), list) and out.branches is None:
                out.branches = schema[kind]
        for word, constraint in schema.items():
            if word not in _STRUCTURAL and word not in _ANNOTATIONS and not word.startswith("x-"):
                out.local.setdefault(word, []).append(constraint)
        for member in members if depth < _MAX_ALLOF_DEPTH else ():
            self._merge(out, self.flat(member, side, depth + 1))
        if schema.get("unevaluatedProperties") is False:
            # a branch's properties are evaluated too: whichever branch the value is of, its
            # properties stay (the branch itself judges the rest)
            names = set(out.properties)
            for branch in out.branches or ():
                names |= self.flat(branch, side, depth + 1).properties.keys()
            out.closures.append((frozenset(names), tuple(out.pattern_properties)))
        return out

    def _merge(self, into: _Flat, other: _Flat) -> None:
        for name, sub in other.properties.items():
            mine = into.properties.get(name)
            into.properties[name] = sub if mine is None or mine is sub else self.both(mine, sub)
        into.required |= other.required
        into.pattern_properties = {**other.pattern_properties, **into.pattern_properties}
        into.closures += other.closures
        if into.extra is None:
            into.extra = other.extra
        if into.items is None:
            into.items = other.items
        into.prefix = into.prefix or other.prefix
        if into.branches is None:
            into.branches = other.branches
        for word, constraints in other.local.items():
            into.local.setdefault(word, []).extend(constraints)

    def plan(self, served: Any, native: Any) -> _Node:
        key = (id(served), id(native))
        if key in self.nodes:
            return self.nodes[key]
        node = _Node(served, self.roots[0] if self.refs[0] else None)
        self.nodes[key] = node
        s, n = self.flat(served, 0), self.flat(native, 1)
        if not _same(s.local, n.local, set()):
            node.check = served
            bounds = [m for m in s.local.get("maxItems", ()) if isinstance(m, int)]
            node.max_items = min(bounds) if bounds else None
        self._properties(node, s, n)
        if s.items is not None:
            if isinstance(s.items, bool) or isinstance(n.items, bool):
                node.check = node.check if s.items is n.items else served
            node.items = self.plan(s.items, True if n.items is None else n.items)
        for index, sub in enumerate(s.prefix):
            counterpart = n.prefix[index] if index < len(n.prefix) else (n.items or True)
            node.prefix.append(self.plan(sub, counterpart))
        if len(s.prefix) != len(n.prefix):
            node.check = served
        if s.branches is not None:
            paired = n.branches if n.branches and len(n.branches) == len(s.branches) else None
            if paired is None:
                node.check = served
            for index, branch in enumerate(s.branches):
                native_branch = native if paired is None else paired[index]
                validator = None if paired is None else self.validator(native_branch, 1)
                plan = self.plan(branch, native_branch)
                node.branches.append((validator, self.validator(branch, 0), plan))
        return node

    def _properties(self, node: _Node, s: _Flat, n: _Flat) -> None:
        drop = set()
        for name, sub in s.properties.items():
            if sub is not False:
                node.known[name] = sub
            if sub is False:  # a property the schema forbids outright
                drop.add(name)
            elif name in n.properties:
                node.children[name] = self.plan(sub, n.properties[name])
                if name in s.required and name not in n.required:
                    node.require[name] = sub
            elif name in s.required or not (isinstance(sub, dict) and sub.get("writeOnly")):
                node.add[name] = sub
        for name in s.required - s.properties.keys():
            extra = {} if s.extra is None else s.extra
            (node.require if name in n.properties else node.add)[name] = extra
        for name, sub in n.properties.items():
            if name in s.properties:
                continue
            if s.closed_to(name):
                drop.add(name)
                continue
            matched = [p for pattern, p in s.pattern_properties.items() if re.search(pattern, name)]
            if matched or s.extra is not None:
                node.children[name] = self.plan(matched[0] if matched else s.extra, sub)
        node.drop = frozenset(drop)

    def validator(self, schema: Any, side: int) -> _Validator:
        return _Validator(schema, self.roots[side] if self.refs[side] else None)

    def finish(self) -> set[int]:
        """Cuts off every plan that does nothing and compiles the checks; the ids of the plans
        that are left."""
        live = {id(n) for n in self.nodes.values() if n.own_work() or self._new_branch(n)}
        grew = True
        while grew:  # a node lives if a plan under it does; cycles need the fixed point
            grew = False
            for n in self.nodes.values():
                if id(n) not in live and any(id(c) in live for c in n.subplans()):
                    live.add(id(n))
                    grew = True
        for n in self.nodes.values():
            if id(n) not in live:
                continue
            n.children = {k: c for k, c in n.children.items() if id(c) in live}
            n.items = n.items if n.items is not None and id(n.items) in live else None
            n.prefix = [p if p is not None and id(p) in live else None for p in n.prefix]
            if any(p is not None for _, _, p in n.branches) or self._new_branch(n):
                n.branches = [(v, s, p if p and id(p) in live else None) for v, s, p in n.branches]
                n.check = n.schema  # a completed branch must still be the one it matches
            else:
                n.branches = []
            if n.check is not None and not isinstance(n.check, _Validator):
                n.check = _Validator(n.check, n.root)
        return live

    @staticmethod
    def _new_branch(node: _Node) -> bool:
        return any(validator is None for validator, _, _ in node.branches)


class Completion:
    """The plan for one (operationId, status): `apply` fits an answer to the served schema."""

    __slots__ = ("_plan",)

    def __init__(self, plan: _Node | None) -> None:
        self._plan = plan

    @property
    def changes_answers(self) -> bool:
        """False for a response schema the served contract left as it was."""
        return self._plan is not None

    def apply(self, answer: Any, *, seed: int) -> Any:
        """`answer` completed, a new value; `answer` itself is never modified (answers can be
        shared, cached objects), and is returned as it is where nothing changes. `seed` is
        the world's seed."""
        if self._plan is None:
            return answer
        return self._plan.apply(answer, "", "", "", _Run(seed, regenerate=True))


_UNCHANGED = Completion(None)


@dataclass(frozen=True)
class Completions:
    """Every response's `Completion` for one (served, native) contract pair."""

    plans: Mapping[tuple[str, int], Completion]

    def __call__(self, operation_id: str, status: int) -> Completion:
        """The plan for an answer of `operation_id` with `status`; one that changes nothing
        for an answer the served contract did not change (or does not describe)."""
        return self.plans.get((operation_id, status), _UNCHANGED)

    @property
    def changed(self) -> frozenset[tuple[str, int]]:
        """The (operationId, status) pairs whose answers completion changes."""
        return frozenset(self.plans)


def completions(served: CompiledContract, native: CompiledContract) -> Completions:
    """Every response plan of the `served` contract for answers shaped by `native`.

    Computed once per contract pair from the compiled contracts' operations (their JSON
    response schemas, references resolved); an operation the native contract lacks has no plan
    (its answers are not the world's).
    """
    if served is native:
        return Completions({})
    native_schemas = {
        (operation.operation_id, status): response.schema
        for operation in native.operations
        for status, response in operation.responses.items()
        if response.schema is not None
    }
    compiler = _Compiler(served.document.spec, native.document.spec)
    tops = {
        key: compiler.plan(response.schema, native_schemas[key])
        for operation in served.operations
        for status, response in operation.responses.items()
        if response.schema is not None
        and (key := (operation.operation_id, status)) in native_schemas
    }
    live = compiler.finish()
    return Completions({key: Completion(top) for key, top in tops.items() if id(top) in live})
