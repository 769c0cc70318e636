"""The import rules of ARCHITECTURE.md, enforced."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "asm_mock"
HTTP_LIBRARIES = {"connexion", "starlette", "uvicorn", "httpx", "asm_mock.http"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def offending(names: set[str], forbidden: set[str]) -> set[str]:
    return {n for n in names if any(n == f or n.startswith(f + ".") for f in forbidden)}


DOMAIN_FILES = sorted((PACKAGE / "domain").glob("*.py"))


def test_the_domain_package_is_not_empty() -> None:
    assert len(DOMAIN_FILES) >= 8


@pytest.mark.parametrize("path", DOMAIN_FILES, ids=lambda p: p.name)
def test_domain_imports_no_http_library(path: Path) -> None:
    assert offending(imported_modules(path), HTTP_LIBRARIES) == set()


def test_the_rule_checker_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import starlette.requests\nfrom connexion import AsyncApp\nimport json\n")
    assert offending(imported_modules(bad), HTTP_LIBRARIES) == {"starlette.requests", "connexion"}


def test_domain_modules_declare_their_public_names() -> None:
    missing = [
        p.name for p in DOMAIN_FILES if p.name != "__init__.py" and "__all__" not in p.read_text()
    ]
    assert missing == []
