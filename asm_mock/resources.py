"""Where the contract and the default fixtures are, installed or in a source checkout."""

from __future__ import annotations

from pathlib import Path

__all__ = ["contract_path", "default_fixtures_dir"]

_PACKAGE = Path(__file__).resolve().parent
# A wheel carries both under asm_mock/_data; a source checkout (or editable install) has them
# at the repository's top level, where people edit them.
_CANDIDATES = (_PACKAGE / "_data", _PACKAGE.parent)


def _find(name: str) -> Path:
    for root in _CANDIDATES:
        if (root / name).exists():
            return root / name
    raise FileNotFoundError(f"{name} not found in {', '.join(str(c) for c in _CANDIDATES)}")


def contract_path() -> Path:
    return _find("openapi.yaml")


def default_fixtures_dir() -> Path:
    return _find("fixtures")
