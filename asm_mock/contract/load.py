"""The OpenAPI 3.1 contract as asm-mock reads it: parsed, the files its relative `$ref`s reach
bundled in, checked, its references resolved.

Connexion-free, so the fast lane and the token endpoint can serve before Connexion has loaded
(`asm_mock.http.connexion_stack` loads it in the background). Connexion 3.3 only accepts
OpenAPI 3.0 documents (spec-first/connexion#1396); the 3.1 document is validated here with
openapi-spec-validator's 3.1 validator, and Connexion is handed the already-validated document.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
import yaml

from asm_mock.domain.disk_cache import read_cached, write_cached
from asm_mock.domain.errors import InvalidContractError

__all__ = [
    "VALIDATED_DOCUMENTS",
    "Contract",
    "InvalidContractError",  # re-exported: loading a contract is where callers meet it
    "check_contract",
    "check_version",
    "copy_document",
    "load_contract",
    "resolve_pointer",
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
        "ba57e50442c097d4aad7e2ebf2b88d4889c39371d12065924bb4667ef5fa3c95",  # admin.yaml
    }
)


@dataclass(frozen=True, eq=False)
class Contract:
    """One OpenAPI 3.1 document: `raw` as written (other files' `$ref`s bundled in), `spec` with
    every `$ref` resolved."""

    raw: dict[str, Any]
    spec: dict[str, Any]
    base_uri: str
    files: tuple[Path, ...] = ()  # every file read: the main one first, then those $refs reach

    @property
    def base_path(self) -> str:
        """The path of the first server's URL, as Connexion derives it (no trailing slash)."""
        servers = self.spec.get("servers") or [{}]
        server = servers[0]
        variables = {k: v["default"] for k, v in server.get("variables", {}).items()}
        return urlsplit(str(server.get("url", "")).format(**variables)).path.rstrip("/")


def load_contract(path: Path, *, cache_dir: Path | None = None) -> Contract:
    """The document at `path`, with the files its relative `$ref`s reach bundled into it;
    `cache_dir` keeps the main file's parsed form between starts."""
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
        _cache(cached, digest, document)
        return contract


def _contract(path: Path, document: dict[str, Any], digest: str) -> Contract:
    bundle = _Bundle(path, document)
    bundled = bundle.document()
    if digest not in VALIDATED_DOCUMENTS or len(bundle.files) > 1:
        check_contract(bundled, source=path)
    check_version(bundled, source=path)
    raw = copy_document(bundled)
    bundled.setdefault("components", {})  # as Connexion's OpenAPI specification does
    return Contract(
        raw=raw,
        spec=resolve_references(bundled),
        base_uri=f"{path.parent}{os.sep}",
        files=tuple(bundle.files),
    )


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


def check_version(document: Mapping[str, Any], *, source: Path | None = None) -> None:
    version = str(document.get("openapi", ""))
    if not version.startswith("3.1."):
        where = "" if source is None else f"{source}: at /openapi: "
        raise InvalidContractError(f"{where}expected an OpenAPI 3.1 document, got {version!r}")


def check_contract(document: dict[str, Any], *, source: Path | None = None) -> None:
    """Full OpenAPI 3.1 validation (openapi-spec-validator), for documents the tests have not
    validated already. An error names `source`, the JSON pointer of the problem and the problem."""
    check_version(document, source=source)
    from openapi_spec_validator import OpenAPIV31SpecValidator  # costly: only when needed

    try:
        error = next(iter(OpenAPIV31SpecValidator(document).iter_errors()), None)
    except (KeyError, TypeError, AttributeError) as exc:
        # openapi-spec-validator walks some malformed documents into a lookup error
        raise InvalidContractError(
            f"{source or 'contract'}: malformed OpenAPI 3.1 document near {exc!r}"
        ) from None
    if error is not None:
        where = "".join(f"/{_escaped(part)}" for part in error.absolute_path) or "/"
        problem = error.message.strip().split("\n\n")[0]  # not the schema dump that follows
        raise InvalidContractError(f"{source or 'contract'}: at {where}: {problem}")


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
        return resolve_pointer(spec, reference)

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


def resolve_pointer(document: Any, pointer: str) -> Any:
    """What the JSON pointer `pointer` (RFC 6901, with or without its URI fragment's `#`)
    points at in `document`: the one pointer walker of asm-mock's contract code."""
    node = document
    path = pointer.removeprefix("#")
    if not path:
        return node
    if not path.startswith("/"):
        raise InvalidContractError(f"{pointer!r} is not a JSON pointer")
    for part in path[1:].split("/"):
        # a $ref is a URI fragment: percent-decoded first, then the pointer's own escapes
        key = unquote(part).replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(key)] if isinstance(node, list) else node[key]
        except (KeyError, IndexError, ValueError, TypeError):
            raise InvalidContractError(f"$ref {pointer!r} points at nothing") from None
    return node


def _escaped(part: Any) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


class _Bundle:
    """The main document with every `$ref` into another file replaced by what it points at.

    A relative reference (`schemas/agent.yaml#/Agent`) is read against the file it is written
    in, and references inside the file it reaches are read against that file in turn; what the
    main document points at in itself stays a `$ref`. Connexion and the fast lane are handed the
    bundle, so both read one document. Remote references are refused: a mock must not depend on
    the network to start.
    """

    def __init__(self, path: Path, document: dict[str, Any]) -> None:
        self._main = path.resolve()
        self._documents: dict[Path, Any] = {self._main: document}
        self.files: list[Path] = [self._main]

    def document(self) -> dict[str, Any]:
        bundled = self._inline(self._documents[self._main], self._main, "", ())
        assert isinstance(bundled, dict)
        return bundled

    def _inline(self, node: Any, file: Path, at: str, through: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [self._inline(item, file, f"{at}/{i}", through) for i, item in enumerate(node)]
        if not isinstance(node, dict):
            return node
        reference = node.get("$ref")
        if isinstance(reference, str) and (file != self._main or "#" not in reference[:1]):
            return self._referenced(node, reference, file, at, through)
        return {
            key: self._inline(value, file, f"{at}/{_escaped(key)}", through)
            for key, value in node.items()
        }

    def _referenced(
        self, node: dict[str, Any], reference: str, file: Path, at: str, through: tuple[str, ...]
    ) -> Any:
        where = f"{file}: at {at or '/'}"
        location, _, fragment = reference.partition("#")
        if urlsplit(location).scheme or location.startswith("//"):
            raise InvalidContractError(f"{where}: remote $ref {reference!r}: only files are read")
        target_file = (file.parent / location).resolve() if location else file
        key = f"{target_file}#{fragment}"
        if key in through:
            raise InvalidContractError(f"{where}: $ref {reference!r} refers to itself in a cycle")
        try:
            target = resolve_pointer(self._read(target_file, where), fragment)
        except InvalidContractError as error:
            raise InvalidContractError(f"{where}: {error}") from None
        if target_file == self._main:  # back into the main document: a local reference
            inlined: Any = {"$ref": f"#{fragment}"}
        else:
            inlined = self._inline(target, target_file, fragment, (*through, key))
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        if not siblings:
            return inlined
        if not isinstance(inlined, dict):
            raise InvalidContractError(f"{where}: $ref {reference!r} with siblings is no object")
        kept = {
            k: self._inline(v, file, f"{at}/{_escaped(k)}", through) for k, v in siblings.items()
        }
        return kept | inlined  # the target's keys win, as Connexion merges a $ref's siblings

    def _read(self, path: Path, where: str) -> Any:
        if path not in self._documents:
            try:
                text = path.read_bytes()
            except OSError as exc:
                raise InvalidContractError(f"{where}: cannot read {path}: {exc.strerror}") from None
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            try:
                self._documents[path] = yaml.load(text, Loader=loader)  # noqa: S506 - safe loader
            except yaml.YAMLError as exc:
                raise InvalidContractError(f"{path}: not YAML: {exc}") from None
            self.files.append(path)
        return self._documents[path]
