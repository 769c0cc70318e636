"""The OpenAPI 3.1 contract, loaded unchanged into Connexion 3.3.

Connexion 3.3 only accepts OpenAPI 3.0 documents (spec-first/connexion#1396): its specification
class validates against the 3.0 meta-schema. `ContractSpecification` keeps everything else of
Connexion's OpenAPI handling (routing, parameters, security) and validates the document with
openapi-spec-validator's 3.1 validator instead; request and response bodies are then validated
with JSON Schema 2020-12 by the classes in `asm_mock.http.validation`.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from connexion.exceptions import InvalidSpecification
from connexion.spec import OpenAPISpecification

__all__ = [
    "VALIDATED_DOCUMENTS",
    "ContractSpecification",
    "RouteTable",
    "documented_statuses",
    "load_contract",
]

# sha256 of the documents asm-mock ships (openapi.yaml, admin.yaml). tests/test_shipped_documents.py
# proves that each passes openapi-spec-validator's 3.1 validation, so start-up need not repeat it
# (~0.25 s with the validator's imports, half the start-up budget). Any other document, such as
# an edited contract, is validated in full. When a shipped document changes, that test names the
# new digest to put here.
VALIDATED_DOCUMENTS = frozenset(
    {
        "ca8028791fdcad653c145f47b5f5008656ee1e8cfc8d1eda44a20bf292485889",  # openapi.yaml
        "53750ca6150f6fedc5141c89937be17199cabd3580d2ce9d4072396a11e8e839",  # admin.yaml
    }
)


class ContractSpecification(OpenAPISpecification):  # type: ignore[misc]
    @classmethod
    def _validate_spec(cls, spec: dict[str, Any]) -> None:
        _check_version(spec)
        from openapi_spec_validator import OpenAPIV31SpecValidator  # costly: only when needed

        try:
            error = next(iter(OpenAPIV31SpecValidator(spec).iter_errors()), None)
        except (KeyError, TypeError, AttributeError) as exc:
            # openapi-spec-validator walks some malformed documents into a lookup error
            raise InvalidSpecification(f"malformed OpenAPI 3.1 document near {exc!r}") from None
        if error is not None:
            raise InvalidSpecification(str(error))


def _check_version(spec: dict[str, Any]) -> None:
    version = str(spec.get("openapi", ""))
    if not version.startswith("3.1."):
        raise InvalidSpecification(f"expected an OpenAPI 3.1 document, got {version!r}")


class _ValidatedSpecification(ContractSpecification):
    """A document whose digest is in VALIDATED_DOCUMENTS: validated by the tests already."""

    @classmethod
    def _validate_spec(cls, spec: dict[str, Any]) -> None:
        _check_version(spec)


def load_contract(path: Path) -> ContractSpecification:
    text = path.read_bytes()
    # libyaml's loader when present: ~30x faster than the pure-Python one, and start-up matters.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader either way
    validated = hashlib.sha256(text).hexdigest() in VALIDATED_DOCUMENTS
    specification = _ValidatedSpecification if validated else ContractSpecification
    return specification(document, base_uri=f"{path.parent}{os.sep}")


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
