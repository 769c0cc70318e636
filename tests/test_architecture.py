"""The import rules of ARCHITECTURE.md, enforced."""

from __future__ import annotations

import ast
from collections.abc import Iterator
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


CONTRACT_FILES = sorted((PACKAGE / "contract").glob("*.py"))


@pytest.mark.parametrize("path", CONTRACT_FILES, ids=lambda p: p.name)
def test_the_contract_model_imports_no_http_library(path: Path) -> None:
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
    assert {"app.py", "fast_lane.py", "load.py", "cli.py"} <= names
    assert not any(STACK in p.parents for p in OUTSIDE_THE_STACK)
    assert len(list(STACK.glob("*.py"))) >= 5


SHARED = PACKAGE / "shared"
OUTSIDE_SHARED = sorted(p for p in PACKAGE.rglob("*.py") if SHARED not in p.parents)
# the shared package's modules that import redis (url.py does not: settings and the CLI use it)
REDIS_MODULES = {f"asm_mock.shared.{name}" for name in ("connection", "store", "scripts", "wire")}


@pytest.mark.parametrize("path", OUTSIDE_SHARED, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_shared_package_imports_redis(path: Path) -> None:
    assert offending(imported_modules(path), {"redis"}) == set()


@pytest.mark.parametrize("path", DOMAIN_FILES, ids=lambda p: p.name)
def test_the_domain_knows_no_concrete_shared_store(path: Path) -> None:
    assert offending(imported_modules(path), {"asm_mock.shared"}) == set()


@pytest.mark.parametrize("path", OUTSIDE_SHARED, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_redis_is_imported_only_when_a_redis_store_is_asked_for(path: Path) -> None:
    """A module-level import would make every memory-store start pay for redis-py."""
    assert offending(top_level_imports(path), REDIS_MODULES) == set()


def test_the_shared_rules_see_the_modules_they_guard() -> None:
    assert {p.stem for p in SHARED.glob("*.py")} >= {"url", "connection", "store"}
    assert not any(SHARED in p.parents for p in OUTSIDE_SHARED)
    assert offending(imported_modules(SHARED / "connection.py"), {"redis"})


ROOT = PACKAGE.parent
FIRST_PARTY = ("asm_mock", "tests", "fuzz", "bench")
OUR_FILES = sorted(p for d in FIRST_PARTY for p in (ROOT / d).rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def first_party_imports(source: str) -> Iterator[tuple[str, str]]:
    """(module, name) for every `from <first-party module> import name`, and (module, "") for
    every `import <first-party module>`."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in FIRST_PARTY:
                yield from ((node.module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in FIRST_PARTY:
                    yield alias.name, ""


def private_imports(source: str, own_module: str) -> list[str]:
    """Another module's `_private` names imported (ruff's PLC2701 sees only other projects')."""
    return [
        f"{module}.{name}"
        for module, name in first_party_imports(source)
        if name.startswith("_") and not name.startswith("__") and module != own_module
    ]


@pytest.mark.parametrize("path", OUR_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_another_modules_private_names(path: Path) -> None:
    assert private_imports(path.read_text(), module_name(path)) == []


def declared_all(module: str) -> set[str] | None:
    """The literal `__all__` of a first-party module; None when it declares none."""
    path = ROOT.joinpath(*module.split("."))
    source = path.with_suffix(".py") if path.with_suffix(".py").is_file() else path / "__init__.py"
    if not source.is_file():
        return None
    for node in ast.parse(source.read_text()).body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                assert node.value is not None
                return set(ast.literal_eval(node.value))
    return None


def names_outside_all(source: str) -> list[str]:
    """Public names imported from a first-party module whose `__all__` does not list them
    (a submodule of a package is not a name its `__all__` must list)."""
    found = []
    for module, name in first_party_imports(source):
        public = declared_all(module)
        if not name or name.startswith("_") or public is None or name in public:
            continue
        submodule = ROOT.joinpath(*module.split("."), name)
        if not (submodule.with_suffix(".py").is_file() or submodule.is_dir()):
            found.append(f"{module}.{name}")
    return found


@pytest.mark.parametrize("path", OUR_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_honour_the_modules_all(path: Path) -> None:
    assert names_outside_all(path.read_text()) == []


TEST_FILES = sorted((ROOT / "tests").glob("*.py"))
SHARED_TEST_MODULES = {"tests", "tests.helpers"}


def imported_test_modules(source: str) -> set[str]:
    return {m for m, _ in first_party_imports(source) if m.split(".")[0] == "tests"}


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
def test_no_test_module_imports_another(path: Path) -> None:
    """Shared test code lives in tests/helpers.py or asm_mock.testing, never in a test module."""
    assert imported_test_modules(path.read_text()) - SHARED_TEST_MODULES == set()


def test_the_project_rules_catch_violations() -> None:
    source = (
        "from asm_mock.http.cors import _vary\n"
        "from asm_mock.cli import Path\n"
        "import tests.conftest\n"
        "from tests.helpers import BASE\n"
    )
    assert private_imports(source, "tests.test_x") == ["asm_mock.http.cors._vary"]
    assert names_outside_all(source) == ["asm_mock.cli.Path"]
    assert imported_test_modules(source) == {"tests.conftest", "tests.helpers"}


RECORDING_FILES = sorted((PACKAGE / "recording").glob("*.py"))


@pytest.mark.parametrize("path", RECORDING_FILES, ids=lambda p: p.name)
def test_the_recording_imports_no_http_library(path: Path) -> None:
    """It writes what the proxy hands it: the proxy speaks HTTP, the recording only files."""
    assert offending(imported_modules(path), HTTP_LIBRARIES) == set()
