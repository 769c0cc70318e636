"""Schemathesis against the in-process mock, with a real agent token: every operation, both
positive and negative generated data, and the conformance checks CI relies on."""

from __future__ import annotations

import asyncio

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from asm_mock.http.app import create_app
from asm_mock.settings import Settings

APP = create_app(Settings(customers=40))
GRANT = APP.service.tokens.grant(
    {
        "grant_type": "password",
        "client_id": "mobile_android",
        "client_secret": "secret",
        "username": "asagent",
        "password": "pw4all",
    }
)
TOKEN = asyncio.run(GRANT).token.access_token
schema = schemathesis.openapi.from_asgi("/assistedservicewebservices/openapi.json", APP)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms_to_the_contract(case: schemathesis.Case) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS)
