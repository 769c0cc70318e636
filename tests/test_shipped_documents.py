"""The shipped OpenAPI documents are valid, so start-up may trust them; edited ones are checked.

Start-up skips openapi-spec-validator for documents whose sha256 is in VALIDATED_DOCUMENTS;
these tests are what makes that safe.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from asm_mock.contract.load import (
    VALIDATED_DOCUMENTS,
    InvalidContractError,
    check_contract,
    load_contract,
)
from asm_mock.resources import contract_path

SHIPPED = {
    "openapi.yaml": contract_path(),
    "admin.yaml": Path(__file__).resolve().parents[1] / "asm_mock" / "http" / "admin.yaml",
}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_a_shipped_document_passes_full_validation_and_its_digest_is_recorded(name: str) -> None:
    path = SHIPPED[name]
    # full openapi-spec-validator 3.1 validation, as for any document not recorded
    check_contract(load_contract(path).raw)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest in VALIDATED_DOCUMENTS, (
        f"{name} changed: it validates, so put {digest} in "
        "asm_mock.contract.load.VALIDATED_DOCUMENTS"
    )


def test_an_edited_contract_is_validated_in_full(tmp_path: Path) -> None:
    edited = tmp_path / "openapi.yaml"
    text = contract_path().read_text()
    edited.write_text(text.replace("type: oauth2", "type: oauth3", 1))
    with pytest.raises(InvalidContractError):
        load_contract(edited)


def test_an_edited_but_valid_contract_loads(tmp_path: Path) -> None:
    edited = tmp_path / "openapi.yaml"
    edited.write_text(contract_path().read_text() + "\n# a local note\n")
    assert load_contract(edited).raw["openapi"].startswith("3.1")


def test_serving_does_without_costly_imports_it_does_not_use() -> None:
    """The spec validator, Starlette's test client (Connexion's test_client()), httpx's
    command-line client (imported with httpx) and requests (with urllib3, for remote $refs)."""
    probe = (
        "import sys\n"
        "from asm_mock.http.app import create_app\n"
        "create_app(customers=10).load_fully()\n"
        "unused = ('openapi_spec_validator', 'starlette.testclient', 'httpx._main', 'urllib3')\n"
        "print(sorted(m for m in unused if m in sys.modules))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert run.stdout.strip() == "[]"


def test_the_httpx_command_line_still_works() -> None:
    probe = "import asm_mock.http.connexion_stack, httpx; httpx.main(['--help'])"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "Usage" in run.stdout


def test_connexion_still_fetches_remote_refs_with_requests() -> None:
    probe = (
        "import asm_mock.http.connexion_stack, connexion.json_schema as j, requests\n"
        "try:\n"
        "    j.URLHandler()('http://127.0.0.1:9/nothing-listens-here.yaml')\n"
        "except requests.ConnectionError:\n"
        "    print('requests.get was called')\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == "requests.get was called", run.stderr


def test_connexion_test_client_still_works() -> None:
    from connexion import AsyncApp
    from starlette.testclient import TestClient

    import asm_mock.http.connexion_stack  # noqa: F401 - the package that deferred it

    assert isinstance(AsyncApp(__name__).test_client(), TestClient)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_the_contract_resolves_refs_exactly_as_connexion_does(name: str) -> None:
    """The fast lane compiles `Contract.spec`; Connexion serves its own resolution of the same
    document. Any difference would let the two paths judge a request differently."""
    from asm_mock.http.connexion_stack.specification import specification_of

    contract = load_contract(SHIPPED[name])
    connexion = specification_of(contract)
    assert contract.spec == connexion.spec
    assert contract.raw == connexion.raw
    assert contract.base_path == connexion.base_path


def test_local_refs_are_resolved_with_their_siblings_as_connexion_resolves_them() -> None:
    from asm_mock.contract.load import resolve_references

    document = {
        "components": {"schemas": {"Name": {"type": "string"}, "Chain": {"$ref": "#/x/0"}}},
        "x": [{"minLength": 1}],
        "use": {"$ref": "#/components/schemas/Name", "description": "kept"},
        "chained": {"$ref": "#/components/schemas/Chain"},
    }
    resolved = resolve_references(document)
    assert resolved["use"] == {"type": "string", "description": "kept"}
    assert resolved["chained"] == {"minLength": 1}
    assert document["use"]["$ref"] == "#/components/schemas/Name"  # the input is untouched


@pytest.mark.parametrize(
    "reference",
    [
        "#/components/schemas/Missing",
        "other.yaml#/Thing",
        "#/x/9",
        "#/components/schemas/a~1b",  # escapes: Connexion would read these another way
        "#/components/schemas/p%20q",
    ],
)
def test_a_ref_to_nothing_or_elsewhere_is_a_clear_contract_error(reference: str) -> None:
    from asm_mock.contract.load import resolve_references

    with pytest.raises(InvalidContractError, match="ref"):
        resolve_references({"x": [1], "use": {"$ref": reference}})
