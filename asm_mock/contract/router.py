"""`Router`: the contract's paths as patterns, the one router of asm-mock's own.

Connexion routes the requests it serves with Starlette's router; this one answers the same
question for everything else: the fast lane's route (Starlette's rule: the first route, in the
contract's order, matching both path and method), the journal's and access log's operation
names, and the `Allow` header of a 405 (every documented method of the resource, RFC 9110,
where Starlette lists those of the first route that matched the path only).

A path holding a line feed has no route here. Connexion mounts the API under its base path with
Starlette's `Mount`, whose `{path:path}` pattern (`.*`, no DOTALL) stops at a line feed: a line
feed inside the path fails the mount, and a trailing one leaves the mount's inner router a path
that still starts with the base path, which no operation's route matches. (`.` excludes `\n`
only: a carriage return or any other character routes as usual.) The one corner where Starlette
routes anyway, a trailing line feed after a doubled slash (`/base//agents/x\n`), has no route
here either: the lane then hands the request on, and Connexion answers it alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from asm_mock.contract.operations import Operation

__all__ = ["Route", "Router", "path_pattern"]

_VARIABLE = re.compile(r"\\\{([^}/]*)\\\}")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def path_pattern(path: str) -> tuple[re.Pattern[str], bool]:
    """`path` (a template with its base path) as Starlette matches it, and whether each of its
    variables is a named group (a name no group can carry, or a repeated one, is matched but
    not named)."""
    names = re.findall(r"\{([^}/]*)\}", path)
    named = all(_IDENTIFIER.fullmatch(n) for n in names) and len(set(names)) == len(names)

    def group(match: re.Match[str]) -> str:
        return f"(?P<{match[1]}>[^/]+)" if named else "[^/]+"

    return re.compile(f"^{_VARIABLE.sub(group, re.escape(path))}$"), named


@dataclass(frozen=True, slots=True)
class Route:
    pattern: re.Pattern[str]
    operation: Operation
    named: bool  # every path variable is a named group of `pattern`


class Router:
    """Routes of `operations` under `base_path`, in the contract's order."""

    _CACHE_SIZE = 4096  # paths carry ids, so the look-up cache is bounded

    def __init__(self, operations: Iterable[Operation], base_path: str) -> None:
        patterns: dict[str, tuple[re.Pattern[str], bool]] = {}
        methods: dict[str, dict[str, Operation]] = {}  # per template, in the contract's order
        routes = []
        for operation in operations:
            if operation.template not in patterns:
                patterns[operation.template] = path_pattern(base_path + operation.template)
            pattern, named = patterns[operation.template]
            methods.setdefault(operation.template, {})[operation.method] = operation
            routes.append(Route(pattern, operation, named))
        self.routes: tuple[Route, ...] = tuple(routes)
        self._paths = [(patterns[template][0], ops) for template, ops in methods.items()]
        self._cache: dict[tuple[str, str], str | None] = {}

    def match(self, method: str, path: str) -> tuple[Route, re.Match[str]] | None:
        """The first route matching both `method` and `path`, with the path's match."""
        if "\n" in path:
            return None
        for route in self.routes:
            if route.operation.method == method and (found := route.pattern.match(path)):
                return route, found
        return None

    def _operations(self, path: str) -> Mapping[str, Operation] | None:
        if "\n" in path:
            return None
        return next((ops for pattern, ops in self._paths if pattern.match(path)), None)

    def allow(self, path: str) -> str | None:
        """The `Allow` header for `path` (documented methods, HEAD with GET), or None."""
        operations = self._operations(path)
        if operations is None:
            return None
        methods = set(operations) | ({"HEAD"} if "GET" in operations else set())
        return ", ".join(sorted(methods))

    def operation_id(self, method: str, path: str) -> str | None:
        """Asked three times per request (gate, journal, access log): answered from a cache."""
        key = (method, path)
        try:
            return self._cache[key]
        except KeyError:
            pass
        operation = (self._operations(path) or {}).get("GET" if method == "HEAD" else method)
        found = None if operation is None else operation.operation_id
        if len(self._cache) >= self._CACHE_SIZE:
            self._cache.clear()
        self._cache[key] = found
        return found
