"""Faker's first names, last names and towns per locale: the pools generated customers draw from.

Drawing them costs ~0.2 s per start-up (Faker's import, then ~2,000 weighted draws), about
as much as the rest of a default start. They depend only on the pool seed and Faker's version,
so they are kept in a small JSON file per (Faker version, seed) under a cache directory: later
starts read it (~1 ms) and never import Faker. A missing, unreadable or corrupt file is
recomputed with Faker and rewritten; an unwritable directory only costs the time.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from asm_mock.domain.disk_cache import read_cached, write_cached

__all__ = ["Pools", "faker_version", "name_pools"]

_DRAWS = {"first_names": 240, "last_names": 360, "towns": 120}


@dataclass(frozen=True)
class Pools:
    first_names: Sequence[str]
    last_names: Sequence[str]
    towns: Sequence[str]


def name_pools(seed: int, locales: Sequence[str], cache_dir: Path | None) -> dict[str, Pools]:
    """The pools of each locale for `seed`, from the cache when it has them."""
    version = faker_version() if cache_dir is not None else None
    if cache_dir is None or version is None:
        return _draw(seed, locales)
    path = cache_dir / f"faker-{version}" / f"name-pools-{seed}.json"
    cached = _from_document(read_cached(path), locales)
    if cached is not None:
        return cached
    pools = _draw(seed, locales)
    write_cached(path, _document(pools))
    return pools


def faker_version() -> str | None:
    """The installed Faker's version, read from its `.dist-info` directory's name beside the
    package (`{name}-{version}.dist-info`). importlib.metadata would say the same, but its import
    and its scan of every path entry cost ~25 ms, a twentieth of a start; it is asked only when
    there is no such directory (e.g. an egg install)."""
    spec = importlib.util.find_spec("faker")
    if spec is None:
        return None
    for location in spec.submodule_search_locations or ():
        try:
            entries = os.scandir(Path(location).parent)
        except OSError:
            continue
        with entries:
            for entry in entries:
                name = entry.name
                if name.lower().startswith("faker-") and name.endswith(".dist-info"):
                    return name[len("faker-") : -len(".dist-info")]
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("Faker")
    except PackageNotFoundError:
        return None


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


def _from_document(document: object, locales: Sequence[str]) -> dict[str, Pools] | None:
    if not isinstance(document, dict):
        return None
    try:
        return {locale: _pools(document[locale]) for locale in locales}
    except (KeyError, TypeError, ValueError):
        return None  # a cache file of another shape: drawn again and rewritten


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


def _document(pools: Mapping[str, Pools]) -> dict[str, dict[str, list[str]]]:
    return {
        locale: {field: list(getattr(p, field)) for field in _DRAWS} for locale, p in pools.items()
    }
