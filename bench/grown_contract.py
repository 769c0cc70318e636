"""A grown revision of the packaged contract, as a frontend team's next sprint might write it.

Made from the packaged openapi.yaml when the bench runs (not kept beside it), so it grows
whatever the contract is today. What grows is what the issue's new user tries: `Agent` gets a
`phone` and a required `region` enum; each search entry a `loyaltyTier` enum; each order of the
360 view's `recentOrders` a required `shipping: {carrier}` object; and one whole new operation,
`GET /customers/{customerId}/coupons`, which no handler of asm-mock implements (it is answered
from the contract) and which has no example (both servers make its body from the schema).

`python bench/grown_contract.py OUT.yaml` writes it, to read or to serve by hand.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import yaml

__all__ = ["NEW_OPERATION_ID", "NEW_OPERATION_PATH", "grown", "write_grown"]

NEW_OPERATION_PATH = "/customers/{customerId}/coupons"
NEW_OPERATION_ID = "getCustomerCoupons"

PROPERTIES: dict[str, dict[str, Any]] = {  # schema -> properties it gains
    "Agent": {
        "phone": {"type": "string", "description": "Agent's desk phone number"},
        "region": {
            "type": "string",
            "enum": ["EMEA", "AMER", "APJ"],
            "description": "Region the agent serves",
        },
    },
    "CustomerSearchEntry": {
        "loyaltyTier": {
            "type": "string",
            "enum": ["BRONZE", "SILVER", "GOLD", "PLATINUM"],
            "description": "Customer's loyalty programme tier",
        },
    },
    "OrderSummary": {
        "shipping": {
            "type": "object",
            "required": ["carrier"],
            "properties": {"carrier": {"type": "string", "description": "Carrier's name"}},
        },
    },
}
REQUIRED: dict[str, list[str]] = {"Agent": ["region"], "OrderSummary": ["shipping"]}

COUPON_LIST: dict[str, Any] = {
    "type": "object",
    "required": ["coupons"],
    "properties": {
        "coupons": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "discount", "validUntil"],
                "properties": {
                    "code": {"type": "string", "description": "Coupon code"},
                    "description": {"type": "string"},
                    "discount": {
                        "type": "object",
                        "required": ["value", "currency"],
                        "properties": {
                            "value": {"type": "number", "minimum": 0},
                            "currency": {"type": "string", "description": "ISO 4217 code"},
                        },
                    },
                    "validUntil": {"type": "string", "format": "date-time"},
                },
            },
        }
    },
}


def new_operation() -> dict[str, Any]:
    """The new path item: the 360 view's parameters and error answers, a coupon list."""
    return {
        "get": {
            "operationId": NEW_OPERATION_ID,
            "summary": "Coupons a customer can redeem",
            "tags": ["Customers"],
            "parameters": [
                {"$ref": "#/components/parameters/customerId"},
                {"name": "baseSite", "in": "query", "required": True, "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {
                    "description": "The customer's coupons",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/CouponList"}}
                    },
                },
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "404": {
                    "description": "Customer not found",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorList"}}
                    },
                },
            },
        }
    }


def grown(document: dict[str, Any]) -> dict[str, Any]:
    """`document` (the packaged contract, parsed) with the additions above."""
    revision = copy.deepcopy(document)
    schemas = revision["components"]["schemas"]
    for name, properties in PROPERTIES.items():
        schemas[name].setdefault("properties", {}).update(copy.deepcopy(properties))
    for name, required in REQUIRED.items():
        schemas[name]["required"] = [*schemas[name].get("required", []), *required]
    schemas["CouponList"] = copy.deepcopy(COUPON_LIST)
    revision["paths"][NEW_OPERATION_PATH] = new_operation()
    revision["info"]["version"] = f"{revision['info']['version']}-grown"
    return revision


def write_grown(source: Path, target: Path) -> Path:
    document = yaml.safe_load(source.read_text())
    target.write_text(yaml.safe_dump(grown(document), sort_keys=False, allow_unicode=True))
    return target


def main(argv: list[str]) -> int:
    from asm_mock.resources import contract_path

    if len(argv) != 1:
        print("usage: python bench/grown_contract.py OUT.yaml", file=sys.stderr)
        return 2
    print(write_grown(contract_path(), Path(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
