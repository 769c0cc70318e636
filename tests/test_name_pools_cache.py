"""Faker's name pools are cached per (Faker version, seed); the world is the same either way."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from asm_mock.domain.fixtures import Fixtures
from asm_mock.domain.generate import build_world
from asm_mock.domain.name_pools import name_pools

LOCALES = ("en_US", "en_GB")


def _cache_file(cache: Path) -> Path:
    (path,) = cache.glob("faker-*/name-pools-*.json")
    return path


def test_a_cached_world_is_the_world_faker_draws(
    tmp_path: Path, shipped_fixtures: Fixtures
) -> None:
    drawn = build_world(seed=11, customers=300, fixtures=shipped_fixtures)
    first = build_world(seed=11, customers=300, fixtures=shipped_fixtures, pools_cache=tmp_path)
    cached = build_world(seed=11, customers=300, fixtures=shipped_fixtures, pools_cache=tmp_path)
    assert drawn.customers == first.customers == cached.customers
    assert _cache_file(tmp_path).name.startswith("name-pools-")


def test_the_cache_is_keyed_by_seed(tmp_path: Path) -> None:
    one, two = name_pools(1, LOCALES, tmp_path), name_pools(2, LOCALES, tmp_path)
    assert one != two
    assert len(list(tmp_path.glob("faker-*/name-pools-*.json"))) == 2
    assert name_pools(1, LOCALES, tmp_path) == one


@pytest.mark.parametrize(
    "content",
    ["", "{not json", "[]", '{"en_US": {}}', json.dumps({"en_US": {"first_names": [1]}})],
    ids=["empty", "broken", "a list", "missing fields", "not names"],
)
def test_a_corrupt_cache_file_is_drawn_again_and_rewritten(tmp_path: Path, content: str) -> None:
    drawn = name_pools(3, LOCALES, None)
    name_pools(3, LOCALES, tmp_path)
    _cache_file(tmp_path).write_text(content)
    assert name_pools(3, LOCALES, tmp_path) == drawn
    assert json.loads(_cache_file(tmp_path).read_text())["en_GB"]["towns"]


def test_an_unwritable_cache_directory_only_costs_time(tmp_path: Path) -> None:
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    assert name_pools(4, LOCALES, blocked) == name_pools(4, LOCALES, None)
    assert list(tmp_path.iterdir()) == [blocked]  # no half-written file left behind


def test_a_start_with_a_warm_cache_does_not_import_faker(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from asm_mock.http.app import create_app\n"
        f"create_app(customers=50, cache_dir=Path({str(tmp_path)!r}))\n"
        "print('faker' in sys.modules)\n"
    )
    runs = [
        subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
        for _ in range(2)
    ]
    assert [run.stdout.strip() for run in runs] == ["True", "False"], runs[1].stderr


def test_fakers_version_is_read_without_importlib_metadata() -> None:
    """importlib.metadata costs ~25 ms of a start; the dist-info directory names the version."""
    probe = (
        "import sys\n"
        "from asm_mock.domain.name_pools import faker_version\n"
        "print(faker_version(), 'importlib.metadata' in sys.modules)\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    import importlib.metadata

    assert run.stdout.split() == [importlib.metadata.version("Faker"), "False"], run.stderr
