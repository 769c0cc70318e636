"""The OpenAPI 3.1 contract, loaded unchanged into Connexion 3.3.

Connexion 3.3 only accepts OpenAPI 3.0 documents (spec-first/connexion#1396): its specification
class validates against the 3.0 meta-schema. `ContractSpecification` keeps everything else of
Connexion's OpenAPI handling (routing, parameters, security) and validates the document with
openapi-spec-validator's 3.1 validator instead; request and response bodies are then validated
with JSON Schema 2020-12 by the classes in `asm_mock.http.validation`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from connexion.exceptions import InvalidSpecification
from connexion.spec import OpenAPISpecification
from openapi_spec_validator import OpenAPIV31SpecValidator

__all__ = ["ContractSpecification", "RouteTable", "documented_statuses", "load_contract"]


class ContractSpecification(OpenAPISpecification):  # type: ignore[misc]
    @classmethod
    def _validate_spec(cls, spec: dict[str, Any]) -> None:
        version = str(spec.get("openapi", ""))
        if not version.startswith("3.1."):
            raise InvalidSpecification(f"expected an OpenAPI 3.1 document, got {version!r}")
        try:
            error = next(iter(OpenAPIV31SpecValidator(spec).iter_errors()), None)
        except (KeyError, TypeError, AttributeError) as exc:
            # openapi-spec-validator walks some malformed documents into a lookup error
            raise InvalidSpecification(f"malformed OpenAPI 3.1 document near {exc!r}") from None
        if error is not None:
            raise InvalidSpecification(str(error))


def load_contract(path: Path) -> ContractSpecification:
    # libyaml's loader when present: ~30x faster than the pure-Python one, and start-up matters.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open("rb") as stream:
        document = yaml.load(stream, Loader=loader)  # noqa: S506 - a safe loader either way
    return ContractSpecification(document, base_uri=f"{path.parent}{os.sep}")


def documented_statuses(spec: Mapping[str, Any]) -> dict[str, frozenset[int]]:
    """operationId -> the HTTP statuses its responses document."""
    statuses: dict[str, frozenset[int]] = {}
    for path_item in spec["paths"].values():
        for operation in path_item.values():
            if isinstance(operation, dict) and "operationId" in operation:
                statuses[operation["operationId"]] = frozenset(
                    int(code) for code in operation.get("responses", {}) if code.isdigit()
                )
    return statuses


_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class RouteTable:
    """The contract's paths as patterns: which methods a path allows, which operation it is.

    Starlette answers 405 with the methods of the first route that matched the path only, while
    a resource's `Allow` must list every documented method of it (RFC 9110); and the request
    journal names the operation of every request, including those Connexion never routed.
    """

    _CACHE_SIZE = 4096  # paths carry ids, so the look-up cache is bounded

    def __init__(self, spec: Mapping[str, Any], base_path: str) -> None:
        self._cache: dict[tuple[str, str], str | None] = {}
        self._routes: list[tuple[re.Pattern[str], dict[str, str]]] = []
        for template, item in spec["paths"].items():
            operations = {
                method.upper(): str(item[method].get("operationId", ""))
                for method in _HTTP_METHODS
                if method in item
            }
            pattern = re.sub(r"\\\{[^}/]+\\\}", "[^/]+", re.escape(base_path + template))
            self._routes.append((re.compile(f"^{pattern}$"), operations))

    def _operations(self, path: str) -> dict[str, str] | None:
        return next((ops for pattern, ops in self._routes if pattern.match(path)), None)

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
        operations = self._operations(path) or {}
        found = operations.get("GET" if method == "HEAD" else method) or None
        if len(self._cache) >= self._CACHE_SIZE:
            self._cache.clear()
        self._cache[key] = found
        return found
