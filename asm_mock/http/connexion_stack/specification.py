"""The 3.1 contract as Connexion's specification object.

Connexion 3.3's specification class validates documents against the OpenAPI 3.0 meta-schema
(spec-first/connexion#1396). `ContractSpecification` keeps everything else of Connexion's OpenAPI
handling (routing, parameters, security) and validates with openapi-spec-validator's 3.1
validator instead (`asm_mock.contract.load.check_contract`).
"""

from __future__ import annotations

from typing import Any

from connexion.exceptions import InvalidSpecification
from connexion.spec import OpenAPISpecification

from asm_mock.contract.load import Contract, check_contract, check_version, copy_document
from asm_mock.domain.errors import InvalidContractError

__all__ = ["ContractSpecification", "specification_of"]


class ContractSpecification(OpenAPISpecification):  # type: ignore[misc]
    @classmethod
    def _validate_spec(cls, spec: dict[str, Any]) -> None:
        try:
            check_contract(spec)
        except InvalidContractError as error:
            raise InvalidSpecification(str(error)) from None


class _CheckedSpecification(ContractSpecification):
    """A document `load_contract` has checked already."""

    @classmethod
    def _validate_spec(cls, spec: dict[str, Any]) -> None:
        check_version(spec)


def specification_of(contract: Contract) -> ContractSpecification:
    # a copy: Connexion sets defaults on the document it is given, and the contract is shared
    return _CheckedSpecification(copy_document(contract.raw), base_uri=contract.base_uri)
