"""The parsed contract is cached under its text's digest: the same document, without YAML."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from asm_mock.contract.load import load_contract
from asm_mock.resources import contract_path


def _refuse_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("YAML was parsed although the cache had the document")

    monkeypatch.setattr(yaml, "load", refused)


def test_a_second_load_reads_the_cached_document_and_gets_the_same_contract(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load_contract(contract_path(), cache_dir=tmp_path)
    digest = hashlib.sha256(contract_path().read_bytes()).hexdigest()
    assert (tmp_path / "documents" / f"{digest}.json").is_file()
    _refuse_yaml(monkeypatch)
    second = load_contract(contract_path(), cache_dir=tmp_path)
    assert (second.raw, second.spec, second.base_path) == (first.raw, first.spec, first.base_path)


def test_an_edited_document_is_parsed_again_not_served_from_the_cache(tmp_path: Path) -> None:
    load_contract(contract_path(), cache_dir=tmp_path)
    edited = tmp_path / "openapi.yaml"
    edited.write_text(contract_path().read_text().replace("title:", "title: Edited", 1))
    assert load_contract(edited, cache_dir=tmp_path).raw["info"]["title"].startswith("Edited")
    assert len(list((tmp_path / "documents").glob("*.json"))) == 2


def test_a_corrupt_cache_file_is_ignored_and_rewritten(tmp_path: Path) -> None:
    digest = hashlib.sha256(contract_path().read_bytes()).hexdigest()
    cached = tmp_path / "documents" / f"{digest}.json"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b'{"openapi": "3.1.0", "paths": {')
    contract = load_contract(contract_path(), cache_dir=tmp_path)
    assert contract.raw == load_contract(contract_path()).raw
    assert cached.read_bytes().startswith(b'{"sha256"') and cached.stat().st_size > 1000


@pytest.mark.parametrize(
    "entry",
    [
        {"openapi": "3.1.0"},  # valid JSON, not an entry of this cache
        {"sha256": "0" * 64, "document": {"openapi": "3.1.0", "paths": {}}},  # another text's
        {"sha256": "DIGEST", "document": {"openapi": "3.1.0", "paths": {"/x": {"$ref": "#/no"}}}},
    ],
    ids=["not-an-entry", "other-digest", "does-not-resolve"],
)
def test_a_cache_entry_that_does_not_hold_up_is_a_miss_and_is_rewritten(
    tmp_path: Path, entry: dict[str, object]
) -> None:
    digest = hashlib.sha256(contract_path().read_bytes()).hexdigest()
    cached = tmp_path / "documents" / f"{digest}.json"
    cached.parent.mkdir(parents=True)
    cached.write_text(json.dumps(entry).replace("DIGEST", digest))
    contract = load_contract(contract_path(), cache_dir=tmp_path)
    assert contract.raw == load_contract(contract_path()).raw
    assert json.loads(cached.read_text())["document"] == contract.raw


def test_a_document_json_cannot_carry_is_not_cached(tmp_path: Path) -> None:
    document = tmp_path / "dated.yaml"
    # an unquoted date and an integer key: YAML types JSON would turn into strings
    document.write_text(
        contract_path().read_text() + "\nx-released: 2026-01-15\nx-codes: {200: ok}\n"
    )
    contract = load_contract(document, cache_dir=tmp_path)
    assert contract.raw["x-codes"] == {200: "ok"}
    assert list((tmp_path / "documents").glob("*.json")) == []
