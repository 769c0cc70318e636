"""The OpenAPI 3.1 contract as asm-mock reads it: parsed, checked, its references resolved.

Connexion-free, so the fast lane and the token endpoint can serve before Connexion has loaded
(`asm_mock.http.connexion_stack` loads it in the background). Connexion 3.3 only accepts
OpenAPI 3.0 documents (spec-first/connexion#1396); the 3.1 document is validated here with
openapi-spec-validator's 3.1 validator, and Connexion is handed the already-validated document.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import yaml

from asm_mock.domain.disk_cache import read_cached, write_cached
from asm_mock.domain.errors import InvalidContractError

__all__ = [
    "VALIDATED_DOCUMENTS",
    "Contract",
    "InvalidContractError",  # re-exported: loading a contract is where callers meet it
    "RouteTable",
    "check_contract",
    "check_version",
    "copy_document",
    "documented_statuses",
    "load_contract",
    "resolve_references",
]

# sha256 of the documents asm-mock ships (openapi.yaml, admin.yaml). tests/test_shipped_documents.py
# proves that each passes openapi-spec-validator's 3.1 validation, so start-up need not repeat it
# (~0.25 s with the validator's imports, half the start-up budget). Any other document, such as
# an edited contract, is validated in full. When a shipped document changes, that test names the
# new digest to put here.
VALIDATED_DOCUMENTS = frozenset(
    {
        "ca8028791fdcad653c145f47b5f5008656ee1e8cfc8d1eda44a20bf292485889",  # openapi.yaml
        "e15661f2af459b5650bc1aef02f6f3956bff0368b272cb35b109ef6b35c93f02",  # admin.yaml
    }
)


@dataclass(frozen=True, eq=False)
class Contract:
    """One OpenAPI 3.1 document: `raw` as written, `spec` with every `$ref` resolved."""

    raw: dict[str, Any]
    spec: dict[str, Any]
    base_uri: str

    @property
    def base_path(self) -> str:
        """The path of the first server's URL, as Connexion derives it (no trailing slash)."""
        servers = self.spec.get("servers") or [{}]
        server = servers[0]
        variables = {k: v["default"] for k, v in server.get("variables", {}).items()}
        return urlsplit(str(server.get("url", "")).format(**variables)).path.rstrip("/")


def load_contract(path: Path, *, cache_dir: Path | None = None) -> Contract:
    """The document at `path`; `cache_dir` keeps its parsed form between starts."""
    text = path.read_bytes()
    digest = hashlib.sha256(text).hexdigest()
    cached = None if cache_dir is None else cache_dir / "documents" / f"{digest}.json"
    try:
        return _contract(path, _parsed(path, text, digest, cached), digest)
    except (InvalidContractError, LookupError, TypeError, AttributeError):
        if cached is None:
            raise
        # a cached copy that does not hold up (damaged, or edited by hand): parse the text
        document = _parsed(path, text, digest, None)
        contract = _contract(path, document, digest)
        _cache(cached, digest, contract.raw)
        return contract


def _contract(path: Path, document: dict[str, Any], digest: str) -> Contract:
    if digest not in VALIDATED_DOCUMENTS:
        check_contract(document)
    check_version(document)
    raw = copy_document(document)
    document.setdefault("components", {})  # as Connexion's OpenAPI specification does
    return Contract(raw=raw, spec=resolve_references(document), base_uri=f"{path.parent}{os.sep}")


def _parsed(path: Path, text: bytes, digest: str, cached: Path | None) -> dict[str, Any]:
    """The YAML document in `text`, or its JSON copy cached under its digest: even on libyaml's
    parser, PyYAML builds the objects in Python (~15 ms for the contract, a start's thirtieth)."""
    if cached is not None:
        entry = read_cached(cached)
        if isinstance(entry, dict) and entry.get("sha256") == digest:
            document = entry.get("document")
            if isinstance(document, dict) and isinstance(document.get("paths"), dict):
                return document
    # libyaml's loader when present: ~30x faster than the pure-Python one, and start-up matters.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        document = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader either way
    except yaml.YAMLError as exc:
        raise InvalidContractError(f"{path}: not YAML: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidContractError(f"{path}: not an OpenAPI document (a mapping)")
    if cached is not None:
        _cache(cached, digest, document)
    return document


def _cache(cached: Path, digest: str, document: dict[str, Any]) -> None:
    if _same_in_json(document):
        write_cached(cached, {"sha256": digest, "document": document})


def _same_in_json(document: dict[str, Any]) -> bool:
    """Whether JSON carries `document` unchanged (YAML can also hold dates, integer keys...)."""
    try:
        return bool(orjson.loads(orjson.dumps(document)) == document)
    except TypeError:
        return False


def check_version(document: Mapping[str, Any]) -> None:
    version = str(document.get("openapi", ""))
    if not version.startswith("3.1."):
        raise InvalidContractError(f"expected an OpenAPI 3.1 document, got {version!r}")


def check_contract(document: dict[str, Any]) -> None:
    """Full OpenAPI 3.1 validation (openapi-spec-validator), for documents the tests have not
    validated already."""
    check_version(document)
    from openapi_spec_validator import OpenAPIV31SpecValidator  # costly: only when needed

    try:
        error = next(iter(OpenAPIV31SpecValidator(document).iter_errors()), None)
    except (KeyError, TypeError, AttributeError) as exc:
        # openapi-spec-validator walks some malformed documents into a lookup error
        raise InvalidContractError(f"malformed OpenAPI 3.1 document near {exc!r}") from None
    if error is not None:
        raise InvalidContractError(str(error))


def copy_document(node: Any) -> Any:
    """A deep copy of a parsed YAML/JSON tree (dicts, lists, scalars): copy.deepcopy's result
    at a fraction of its cost."""
    if isinstance(node, dict):
        return {key: copy_document(value) for key, value in node.items()}
    if isinstance(node, list):
        return [copy_document(item) for item in node]
    return node


def resolve_references(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of `document` with every local `$ref` replaced by what it points at.

    The same result as Connexion's `resolve_refs`, which asm-mock's Connexion app uses:
    a reference's siblings are kept and the target's keys merged in, and a target is shared
    (not copied) by the places that refer to it. Only local references (`#/...`) without
    escapes (`~0`, `~1`, `%xx`) are supported: asm-mock's documents have no other kind.
    """
    spec = copy_document(document)

    def target(reference: str) -> Any:
        if not reference.startswith("#/"):
            raise InvalidContractError(f"only local $refs are supported, got {reference!r}")
        if "~" in reference or "%" in reference:
            # Connexion resolves escaped pointers another way (dropping the $ref's siblings):
            # refused, so the fast lane and Connexion can never read one document differently
            raise InvalidContractError(f"escaped $refs are not supported, got {reference!r}")
        node: Any = spec
        for key in reference[2:].split("/"):
            try:
                node = node[int(key)] if isinstance(node, list) else node[key]
            except (KeyError, IndexError, ValueError, TypeError):
                raise InvalidContractError(f"$ref {reference!r} points at nothing") from None
        return node

    def resolve(node: Any, depth: int = 0) -> Any:
        if depth > 256:
            raise InvalidContractError("$refs nest too deep (a reference cycle?)")
        if isinstance(node, dict):
            if "$ref" in node and isinstance(node["$ref"], str):
                found = target(node["$ref"])
                node.update(found)
                if isinstance(found, dict) and "$ref" in found:
                    node = resolve(node, depth + 1)
                node.pop("$ref", None)
                return node
            for key, value in node.items():
                node[key] = resolve(value, depth + 1)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                node[index] = resolve(item, depth + 1)
        return node

    resolved = resolve(spec)
    assert isinstance(resolved, dict)
    return resolved


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
