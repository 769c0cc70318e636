"""The contract, compiled once: what asm-mock knows of the OpenAPI 3.1 document it serves.

- `load.py`: reading a document (YAML, cached parse), bundling the files its relative `$ref`s
  reach, OpenAPI 3.1 validation, `$ref` resolution as Connexion resolves them, and
  `resolve_pointer`, the one JSON-pointer walker.
- `schemas.py`: `CompiledSchema(s)`, 2020-12 schemas compiled once (jsonschema-rs judges,
  jsonschema explains), shared by the fast lane and Connexion's validators.
- `operations.py`: `Operation`, one operation as every consumer reads it (method, template,
  compiled parameters, body, responses per status with schema, headers and named examples,
  security), built by the one walk over the document's operations.
- `router.py`: `Router`, the one router of asm-mock's own (fast lane, journal names, `Allow`).
- `compiled.py`: `CompiledContract`, all of the above for one document (`compile_contract`).
- `canned.py`: scenarios' canned answers checked against a compiled contract.

Connexion-free and HTTP-free, so the fast lane serves before Connexion has loaded.
"""

from asm_mock.contract.compiled import CompiledContract, compile_contract, load_compiled
from asm_mock.contract.load import Contract, InvalidContractError, load_contract
from asm_mock.contract.operations import INVALID, Body, Operation, Parameter, Response
from asm_mock.contract.router import Route, Router
from asm_mock.contract.schemas import CompiledSchema, CompiledSchemas

__all__ = [
    "INVALID",
    "Body",
    "CompiledContract",
    "CompiledSchema",
    "CompiledSchemas",
    "Contract",
    "InvalidContractError",
    "Operation",
    "Parameter",
    "Response",
    "Route",
    "Router",
    "compile_contract",
    "load_compiled",
    "load_contract",
]
