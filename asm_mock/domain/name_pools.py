"""Faker's first names, last names and towns per locale: the pools generated customers draw from.

Drawing them costs ~0.2 s per start-up (Faker's import, then ~2,000 weighted draws), about
as much as the rest of a default start. They depend only on the pool seed and Faker's version,
so they are kept in a small JSON file per (Faker version, seed) under a cache directory: later
starts read it (~1 ms) and never import Faker. A missing, unreadable or corrupt file is
recomputed with Faker and rewritten; an unwritable directory only costs the time.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

__all__ = ["Pools", "default_cache_dir", "name_pools"]

logger = logging.getLogger("asm_mock.world")

_DRAWS = {"first_names": 240, "last_names": 360, "towns": 120}


@dataclass(frozen=True)
class Pools:
    first_names: Sequence[str]
    last_names: Sequence[str]
    towns: Sequence[str]


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/asm-mock, or ~/.cache/asm-mock."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "asm-mock"


def name_pools(seed: int, locales: Sequence[str], cache_dir: Path | None) -> dict[str, Pools]:
    """The pools of each locale for `seed`, from the cache when it has them."""
    if cache_dir is None:
        return _draw(seed, locales)
    try:
        faker_version = version("Faker")
    except PackageNotFoundError:  # pragma: no cover - Faker is a dependency
        return _draw(seed, locales)
    path = cache_dir / f"faker-{faker_version}" / f"name-pools-{seed}.json"
    cached = _read(path, locales)
    if cached is not None:
        return cached
    pools = _draw(seed, locales)
    _write(path, pools)
    return pools


def _draw(seed: int, locales: Sequence[str]) -> dict[str, Pools]:
    from faker import Faker  # costly: only when the pools are not cached

    pools = {}
    for locale in locales:
        fake = Faker(locale)
        fake.seed_instance(seed)
        pools[locale] = Pools(
            first_names=tuple(sorted({fake.first_name() for _ in range(_DRAWS["first_names"])})),
            last_names=tuple(sorted({fake.last_name() for _ in range(_DRAWS["last_names"])})),
            towns=tuple(sorted({fake.city() for _ in range(_DRAWS["towns"])})),
        )
    return pools


def _read(path: Path, locales: Sequence[str]) -> dict[str, Pools] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        pools = {locale: _pools(document[locale]) for locale in locales}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        logger.warning("ignoring the unreadable name-pool cache %s: %s", path, error)
        return None
    return pools


def _pools(entry: Mapping[str, object]) -> Pools:
    lists = {}
    for field in _DRAWS:
        values = entry[field]
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(v, str) for v in values)
        ):
            raise ValueError(f"{field} is not a list of names")
        lists[field] = tuple(values)
    return Pools(**lists)


def _write(path: Path, pools: Mapping[str, Pools]) -> None:
    document = {
        locale: {field: list(getattr(p, field)) for field in _DRAWS} for locale, p in pools.items()
    }
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # atomic: concurrent starts (CI shards) never read a half-written file
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent, delete=False, suffix=".tmp"
        ) as stream:
            temporary = stream.name
            json.dump(document, stream, ensure_ascii=False)
        os.replace(temporary, path)
    except OSError as error:
        logger.info("name pools not cached (%s): %s", path, error)
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
