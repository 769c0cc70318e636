"""`--watch`: the served version (everything derived from the contract, the fixtures and the
scenarios) rebuilt off the event loop when one of their files changes, and swapped in whole.

A `ServedVersion` is immutable once built: the compiled contract, the world it serves (after the
start-up scenarios), the operations' handlers, the API and admin ASGI apps (fast lane, Connexion's
stack). What lives across versions is the mutable state the app owns beside it: the store
(sessions and tokens), the journal and the run-time settings. `Watcher` watches the files with
watchfiles, builds the next version on a thread (Connexion's stack included), and only once all
of it has loaded hands it to `swap`, on the event loop; a version that fails to build leaves the
old one serving and is reported in `ReloadStatus` (health) and logged once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp

from asm_mock.domain.errors import AsmMockError

if TYPE_CHECKING:
    from asm_mock.contract import CompiledContract
    from asm_mock.domain.world import World
    from asm_mock.http.app import OperationSources
    from asm_mock.http.connexion_stack.apps import ConnexionApps
    from asm_mock.http.deferred import Background

__all__ = ["ReloadStatus", "ServedVersion", "Watcher", "changes_between"]

logger = logging.getLogger("asm_mock.reload")

# What an editor's save may touch next to the watched files; anything else in a contract's
# directory (a README, a build output) is not the contract's business.
_DOCUMENT_SUFFIXES = frozenset({".yaml", ".yml", ".json"})


@dataclass(frozen=True, eq=False)
class ServedVersion:
    """Everything the mock serves that a contract, fixtures or scenarios edit changes; each
    request is handled by the version current when it arrived."""

    contract: CompiledContract
    world: World  # the world this version starts from (`/__admin/reset` returns to it)
    operations: OperationSources
    api: ASGIApp
    admin: ASGIApp
    connexion: Background[ConnexionApps]
    fixtures: Path  # the directory its world and scenarios came from

    @property
    def watched(self) -> tuple[Path, ...]:
        """The contract's files (the main one, then those its $refs reach), as the watcher
        names them."""
        return tuple(path.resolve() for path in self.contract.files)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ReloadStatus:
    """What `/__admin/health` says of reloading: `off` without --watch, `watching` until the
    first change, then `ok` (with what changed) or `failed` (with why)."""

    def __init__(self, *, watching: bool) -> None:
        self._body: dict[str, Any] = {"status": "watching" if watching else "off"}

    def body(self) -> dict[str, Any]:
        return dict(self._body)

    def succeeded(self, changes: list[str], files: list[str], seconds: float) -> None:
        self._body = {
            "status": "ok",
            "at": _now(),
            "seconds": round(seconds, 3),
            "changes": changes,
            "files": files,
        }

    def failed(self, error: str, files: list[str]) -> bool:
        """Record a failed reload; False when it is the same failure as the last one (so the
        log says it once, however often the same broken file is saved)."""
        repeated = self._body.get("status") == "failed" and self._body.get("error") == error
        self._body = {"status": "failed", "error": error, "at": _now(), "files": files}
        return not repeated

    @property
    def failing(self) -> bool:
        return self._body.get("status") == "failed"


# -- what changed ---------------------------------------------------------------------------------


_MAX_DEPTH = 32  # a schema nested deeper is not a contract a person edits


def _property_paths(schema: Any, prefix: str = "", depth: int = 0) -> set[str]:
    """A schema's properties at any depth, as paths (`address.town`, `groups[].region`),
    through `allOf`/`anyOf`/`oneOf`, `items`, `prefixItems` and `additionalProperties`. A `$ref`
    is not followed: what it reaches is reported under the schema it names."""
    if not isinstance(schema, Mapping) or "$ref" in schema or depth > _MAX_DEPTH:
        return set()
    paths: set[str] = set()
    properties = schema.get("properties")
    for name, sub in properties.items() if isinstance(properties, Mapping) else ():
        paths.add(prefix + str(name))
        paths |= _property_paths(sub, f"{prefix}{name}.", depth + 1)
    for keyword in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(keyword) or ():
            paths |= _property_paths(part, prefix, depth + 1)
    element = prefix.removesuffix(".") + "[]."
    paths |= _property_paths(schema.get("items"), element, depth + 1)
    for item in schema.get("prefixItems") or ():
        paths |= _property_paths(item, element, depth + 1)
    paths |= _property_paths(schema.get("additionalProperties"), f"{prefix}*.", depth + 1)
    return paths


def _schemas(contract: CompiledContract) -> Mapping[str, Any]:
    """The component schemas as written (`raw`: other files' `$ref`s bundled in, the document's
    own kept), so a property is reported once, under the schema that declares it."""
    components = contract.document.raw.get("components") or {}
    schemas = components.get("schemas") or {}
    return schemas if isinstance(schemas, Mapping) else {}


def _listed(label: str, names: Iterable[str]) -> list[str]:
    ordered = sorted(names)
    return [f"{label}: {', '.join(ordered)}"] if ordered else []


def changes_between(old: ServedVersion, new: ServedVersion) -> list[str]:
    """What a reload changed, one line a kind: operations and schemas added or removed,
    properties (at any depth) added or removed per schema, customers added or removed."""
    lines: list[str] = []
    old_ops, new_ops = set(old.contract.by_id), set(new.contract.by_id)
    lines += _listed("operations added", new_ops - old_ops)
    lines += _listed("operations removed", old_ops - new_ops)
    old_schemas, new_schemas = _schemas(old.contract), _schemas(new.contract)
    lines += _listed("schemas added", set(new_schemas) - set(old_schemas))
    lines += _listed("schemas removed", set(old_schemas) - set(new_schemas))
    for name in sorted(set(old_schemas) & set(new_schemas)):
        before = _property_paths(old_schemas[name])
        after = _property_paths(new_schemas[name])
        lines += _listed(f"{name} properties added", after - before)
        lines += _listed(f"{name} properties removed", before - after)
    old_customers = {c.customer_id for c in old.world.customers}
    new_customers = {c.customer_id for c in new.world.customers}
    if new_customers - old_customers:
        lines.append(f"customers added: {len(new_customers - old_customers)}")
    if old_customers - new_customers:
        lines.append(f"customers removed: {len(old_customers - new_customers)}")
    return lines or ["no operation, schema, property or customer added or removed"]


# -- watching -------------------------------------------------------------------------------------


# What a bad or missing file raises; anything else is a bug of ours, logged with its traceback.
_FILE_PROBLEMS = (AsmMockError, OSError)


def _problem(error: BaseException) -> str:
    """One line: the file, the place and the problem, as the loaders word them."""
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: {error.strerror or error}"  # a file gone mid-save, unreadable
    text = " ".join(str(error).split())
    return text if isinstance(error, AsmMockError) else f"{type(error).__name__}: {text}"


class Watcher:
    """Watches the served version's files and swaps in a rebuilt version after each change.

    `build` makes a complete version (blocking; it runs on a thread); `swap` makes it current
    (on the event loop, in one step); `current` is the version serving now."""

    def __init__(
        self,
        *,
        current: Callable[[], ServedVersion],
        build: Callable[[], ServedVersion],
        swap: Callable[[ServedVersion], Awaitable[None]],
        status: ReloadStatus,
    ) -> None:
        self._current = current
        self._build = build
        self._swap = swap
        self._status = status
        self._changed: asyncio.Queue[set[str]] = asyncio.Queue()

    async def run(self) -> None:
        """Watch until cancelled."""
        fixtures = self._current().fixtures.resolve()
        feeds = [asyncio.create_task(self._feed([fixtures], recursive=True))]
        contract_dirs: tuple[Path, ...] = ()
        try:
            while True:
                # a reload may reach files in other directories (a new $ref): watch those too
                wanted = tuple(sorted({p.parent for p in self._current().watched}))
                if wanted != contract_dirs:
                    if len(feeds) > 1:
                        feeds.pop().cancel()
                    contract_dirs = wanted
                    feeds.append(asyncio.create_task(self._feed(contract_dirs, recursive=False)))
                files = await self._changed.get()
                while not self._changed.empty():  # one reload for a burst of saves
                    files |= self._changed.get_nowait()
                await self.reload(sorted(files))
        finally:
            for feed in feeds:
                feed.cancel()

    async def _feed(self, paths: Iterable[Path], *, recursive: bool) -> None:
        from watchfiles import DefaultFilter, awatch  # its Rust extension loads only with --watch

        ignored = DefaultFilter()

        def relevant(change: Any, path: str) -> bool:
            if not ignored(change, path):  # editors' swap and backup files, caches
                return False
            if recursive:  # the fixtures directory: every file in it is the mock's
                return True
            target = Path(path).resolve()
            if target in self._current().watched:
                return True
            # after a failed reload, a file the edit $refs may be being created right now
            return self._status.failing and target.suffix in _DOCUMENT_SUFFIXES

        stop = asyncio.Event()
        try:
            async for changes in awatch(
                *paths, watch_filter=relevant, recursive=recursive, stop_event=stop
            ):
                self._changed.put_nowait({path for _, path in changes})
        except OSError as error:  # e.g. the directory was removed: say so, keep serving
            logger.warning("stopped watching %s: %s", ", ".join(map(str, paths)), error)
        finally:
            stop.set()  # the watching thread ends at its next poll, not at interpreter exit

    async def reload(self, files: list[str]) -> bool:
        """Build the next version off the event loop and swap it in; False (the old version
        keeps serving) when it fails."""
        started = time.perf_counter()
        old = self._current()
        try:
            new = await asyncio.to_thread(self._build)
            await self._swap(new)  # a store that fails leaves the old version serving
        except Exception as error:  # noqa: BLE001 - any failure keeps the old version serving
            problem = _problem(error)
            if self._status.failed(problem, files):
                kept = "reload failed, still serving the previous version"
                if isinstance(error, _FILE_PROBLEMS):
                    logger.warning("%s: %s", kept, problem)
                else:  # not a bad file but a bug of ours: its traceback, once
                    logger.error(kept, exc_info=error)
            return False
        seconds = time.perf_counter() - started
        changes = changes_between(old, new)
        self._status.succeeded(changes, files, seconds)
        logger.info("reloaded in %.2f s: %s", seconds, "; ".join(changes))
        return True
