"""`CompiledContract`: the contract compiled once, read by every consumer.

`compile_contract()` walks the operations once (`operations.operations`) and builds from them the
router, the documented statuses and the compiled schemas every consumer shares: the fast lane,
Connexion's validators (`CompiledContract.schemas` is their `validator_map`'s cache), preferred
and canned answers, the admin API and the journal's operation names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from asm_mock.contract.load import Contract, load_contract
from asm_mock.contract.operations import Operation, operations
from asm_mock.contract.router import Router
from asm_mock.contract.schemas import CompiledSchemas

__all__ = ["CompiledContract", "compile_contract", "load_compiled"]


@dataclass(frozen=True, eq=False)
class CompiledContract:
    """One contract document, compiled: `operations` in the contract's order, by id in
    `by_id`; `router` routes them; `schemas` holds every compiled schema."""

    document: Contract
    operations: tuple[Operation, ...]
    router: Router
    schemas: CompiledSchemas
    by_id: Mapping[str, Operation] = field(repr=False)
    statuses: Mapping[str, frozenset[int]] = field(repr=False)  # documented, per operationId

    @property
    def base_path(self) -> str:
        return self.document.base_path

    @property
    def files(self) -> tuple[Path, ...]:
        """Every file the contract was read from (the main one first)."""
        return self.document.files

    def operation(self, operation_id: str) -> Operation | None:
        return self.by_id.get(operation_id)


def compile_contract(
    contract: Contract, *, schemas: CompiledSchemas | None = None
) -> CompiledContract:
    """`contract` compiled; `schemas`, a cache to share with another contract (the admin API's)."""
    schemas = schemas if schemas is not None else CompiledSchemas()
    compiled = tuple(operations(contract, schemas))
    return CompiledContract(
        document=contract,
        operations=compiled,
        router=Router(compiled, contract.base_path),
        schemas=schemas,
        by_id=MappingProxyType({op.operation_id: op for op in compiled}),
        statuses=MappingProxyType({op.operation_id: op.statuses for op in compiled}),
    )


def load_compiled(path: Path, *, cache_dir: Path | None = None) -> CompiledContract:
    """The document at `path`, loaded (`load_contract`) and compiled."""
    return compile_contract(load_contract(path, cache_dir=cache_dir))
