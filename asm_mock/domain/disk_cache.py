"""Small JSON files that spare a start the same work again (name pools, parsed documents).

A cache is only ever a shortcut: a missing, unreadable or corrupt file reads as a miss, and a
file that cannot be written only costs the time. Writes are atomic, so concurrent starts (CI
shards) never read a half-written file.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import orjson

__all__ = ["default_cache_dir", "read_cached", "write_cached"]

logger = logging.getLogger("asm_mock.cache")


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/asm-mock, or ~/.cache/asm-mock."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "asm-mock"


def read_cached(path: Path) -> Any | None:
    """The JSON document at `path`, or None when there is none or it cannot be read."""
    try:
        return orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        logger.warning("ignoring the unreadable cache file %s: %s", path, error)
        return None


def write_cached(path: Path, document: Any) -> None:
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as stream:
            temporary = stream.name
            stream.write(orjson.dumps(document))
        os.replace(temporary, path)
    except (OSError, TypeError) as error:
        logger.info("not cached (%s): %s", path, error)
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
