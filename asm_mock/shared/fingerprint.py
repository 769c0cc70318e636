"""The world's fingerprint: replicas sharing a store must serve the same world.

Each replica rebuilds the world itself from what determines it (seed, customers, start-up
scenarios, the fixture files, the contract, asm-mock's and Faker's versions). The first replica
writes their digest to the store, with the settings as a person reads them; a replica whose
digest differs is refused, naming the first setting that differs. An emptied store (FLUSHALL,
a restarted Redis without persistence) takes the next replica's world.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import orjson

from asm_mock import __version__
from asm_mock.resources import default_fixtures_dir
from asm_mock.settings import Settings

__all__ = ["WORLD_KEY", "WorldFingerprint", "claim_world", "store_refusal", "world_fingerprint"]


@dataclass(frozen=True)
class WorldFingerprint:
    """(setting, value compared, value as a person reads it) triples, in the order a refusal
    looks at them: fixtures and contracts compare by content, wherever their files are."""

    settings: tuple[tuple[str, str, str], ...]

    @property
    def digest(self) -> str:
        compared = [(name, value) for name, value, _ in self.settings]
        return hashlib.sha256(orjson.dumps(compared)).hexdigest()

    def first_difference(self, other: WorldFingerprint) -> tuple[str, str, str] | None:
        """(setting, as `other` shows it, as shown here) of the first setting that differs."""
        theirs = {name: (value, shown) for name, value, shown in other.settings}
        for name, value, shown in self.settings:
            their_value, their_shown = theirs.get(name, ("", "nothing"))
            if their_value != value:
                return name, their_shown, shown
        return None


def _files_digest(files: Iterable[Path], root: Path | None = None) -> str:
    digest = hashlib.sha256()
    for file in files:
        name = file.relative_to(root) if root is not None else file.name
        digest.update(f"{name}\0".encode())
        digest.update(file.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:12]


def world_fingerprint(settings: Settings, contract_files: Iterable[Path]) -> WorldFingerprint:
    """What determines the world `settings` build; `contract_files` are the served contract's
    (the document first, then every file its `$ref`s reach)."""
    fixtures = settings.fixtures or default_fixtures_dir()
    fixture_files = sorted(p for p in fixtures.rglob("*") if p.is_file())
    where = str(settings.fixtures) if settings.fixtures is not None else "the packaged fixtures"
    contract = str(settings.contract) if settings.contract is not None else "the packaged contract"
    fixtures_digest = _files_digest(fixture_files, fixtures)
    contract_digest = _files_digest(contract_files)
    plain = (
        ("--seed", str(settings.seed)),
        ("--customers", str(settings.customers)),
        ("--scenario", ",".join(settings.scenarios) or "none"),
    )
    versions = (("asm-mock", __version__), ("Faker", version("Faker")))
    return WorldFingerprint(
        (
            *((name, value, value) for name, value in plain),
            ("--fixtures", fixtures_digest, f"{where} (digest {fixtures_digest})"),
            ("--contract", contract_digest, f"{contract} (digest {contract_digest})"),
            *((name, value, value) for name, value in versions),
        )
    )


WORLD_KEY = "asm:world"  # one world per store, whatever its namespaces (tenants)


async def claim_world(client: Any, fingerprint: WorldFingerprint) -> tuple[str, str, str] | None:
    """Write `fingerprint` as the store's world unless one is there; None when this world is
    the store's, else (setting, the store's value, this replica's value)."""
    key = WORLD_KEY
    mine = orjson.dumps({"digest": fingerprint.digest, "settings": fingerprint.settings})
    if await client.set(key, mine, nx=True):
        return None
    held = orjson.loads(await client.get(key) or mine)
    if held.get("digest") == fingerprint.digest:
        return None
    theirs = WorldFingerprint(
        tuple((str(n), str(v), str(shown)) for n, v, shown in held.get("settings", ()))
    )
    return fingerprint.first_difference(theirs) or ("the world", "another world", "this one")


def store_refusal(settings: Settings) -> str | None:
    """Why this replica may not serve with `settings.store` (another world is there, or the
    store does not answer), as one line without the store's password; None when it may."""
    import asyncio

    from asm_mock.contract.load import load_contract
    from asm_mock.domain.errors import StoreUnavailableError
    from asm_mock.resources import contract_path
    from asm_mock.shared.connection import RedisConnection

    contract = load_contract(settings.contract or contract_path(), cache_dir=settings.cache_dir)
    fingerprint = world_fingerprint(settings, contract.files)

    async def claim() -> tuple[str, str, str] | None:
        connection = RedisConnection(settings.store, timeout=settings.store_timeout)
        try:
            return await connection.run(lambda client: claim_world(client, fingerprint))
        finally:
            await connection.aclose()

    try:
        difference = asyncio.run(claim())
    except StoreUnavailableError as error:
        return str(error)
    if difference is None:
        return None
    name, theirs, mine = difference
    return f"{settings.store} holds the world of {name} {theirs}; this replica has {name} {mine}"
