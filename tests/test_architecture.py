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


STACK = PACKAGE / "http" / "connexion_stack"
OUTSIDE_THE_STACK = sorted(p for p in PACKAGE.rglob("*.py") if STACK not in p.parents)


def top_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", OUTSIDE_THE_STACK, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_connexion_stack_imports_connexion(path: Path) -> None:
    assert offending(imported_modules(path), {"connexion"}) == set()


@pytest.mark.parametrize("path", OUTSIDE_THE_STACK, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_connexion_stack_is_imported_only_when_it_is_loaded(path: Path) -> None:
    """A module-level import would load Connexion before the server can answer."""
    assert offending(top_level_imports(path), {"asm_mock.http.connexion_stack"}) == set()


def test_the_stack_rules_see_the_modules_they_guard() -> None:
    names = {p.name for p in OUTSIDE_THE_STACK}
    assert {"app.py", "fast_lane.py", "contract.py", "cli.py"} <= names
    assert not any(STACK in p.parents for p in OUTSIDE_THE_STACK)
    assert len(list(STACK.glob("*.py"))) >= 5
