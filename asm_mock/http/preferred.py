"""Preferred and canned answers: `Prefer: code=..., example=..., dynamic=true`, or a scenario's.

`PreferredAnswer` sits innermost in Connexion's stack, so request and response validation still
apply to what it answers; `asm_mock.http.prefer` parses the preferences.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from asm_mock.contract.generate import generate
from asm_mock.domain.controls import Controls
from asm_mock.domain.errors import ERROR_TYPES, ApiError
from asm_mock.http.prefer import EXTENSION, Preferences, invalid_preference
from asm_mock.http.send import send_answer, send_json

__all__ = ["PreferredAnswer"]


class PreferredAnswer:
    """Inside Connexion: answers a preferred code/example/dynamic body, or a scenario's canned
    answer, in place of the handler. Validation still runs around it."""

    def __init__(self, app: ASGIApp, *, controls: Controls, spec: Mapping[str, Any]) -> None:
        self._app = app
        self._controls = controls
        self._spec = spec
        self._responses = {
            op["operationId"]: op.get("responses", {})
            for item in spec["paths"].values()
            for op in item.values()
            if isinstance(op, dict) and "operationId" in op
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        operation_id = scope.get("extensions", {}).get("connexion_routing", {}).get("operation_id")
        prefs: Preferences | None = scope.get("extensions", {}).get(EXTENSION)
        if scope["type"] != "http" or operation_id not in self._responses:
            await self._app(scope, receive, send)
            return
        if prefs is not None and prefs.shapes_the_answer:
            status, body = self._preferred(operation_id, prefs, scope)
        elif (canned := self._controls.canned(operation_id)) is not None:
            status, body = canned.status, canned.body
        else:
            await self._app(scope, receive, send)
            return
        if body is None:
            await send_answer(send, status, [(b"content-length", b"0")])
        else:
            await send_json(send, status, orjson.dumps(body))

    def _preferred(self, operation_id: str, prefs: Preferences, scope: Scope) -> tuple[int, Any]:
        responses = self._responses[operation_id]
        documented = sorted(int(code) for code in responses if code.isdigit())
        if prefs.code is not None and prefs.code not in documented:
            raise invalid_preference(
                f"Prefer code={prefs.code}: {operation_id} does not document it; "
                f"it documents {', '.join(map(str, documented))}",
                "Prefer",
            )
        if prefs.example is not None:
            return self._named_example(operation_id, prefs, documented)
        status = prefs.code if prefs.code is not None else documented[0]
        media = self._media(responses[str(status)])
        if media is None:
            return status, None
        if not prefs.dynamic and status >= 300:
            example = next(iter(media.get("examples", {}).values()), None)
            if example is not None:
                return status, example.get("value")
            return status, {"errors": [_generic_error(status).to_dict()]}
        seed = prefs.seed if prefs.seed is not None else _request_seed(scope)
        return status, generate(media.get("schema", {}), seed=seed, root=self._spec)

    def _named_example(
        self, operation_id: str, prefs: Preferences, documented: list[int]
    ) -> tuple[int, Any]:
        available: dict[str, tuple[int, Any]] = {}
        for status in documented:
            media = self._media(self._responses[operation_id][str(status)]) or {}
            for name, example in media.get("examples", {}).items():
                if prefs.code in (None, status):
                    available.setdefault(name, (status, example.get("value")))
        if prefs.example not in available:
            names = ", ".join(sorted(available)) or "none"
            raise invalid_preference(
                f"Prefer example={prefs.example}: no such example for {operation_id}"
                + (f" with code={prefs.code}" if prefs.code is not None else "")
                + f"; available: {names}",
                "Prefer",
            )
        return available[prefs.example]

    def _media(self, response: Mapping[str, Any]) -> Mapping[str, Any] | None:
        while "$ref" in response:
            target: Any = self._spec
            for part in response["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            response = target
        media: Mapping[str, Any] | None = response.get("content", {}).get("application/json")
        return media


def _generic_error(status: int) -> ApiError:
    error = ApiError(f"Answered {status} as asked for (Prefer: code={status})")
    kind = ERROR_TYPES.get(status)
    error.error_type = kind.error_type if kind is not None else "Error"
    error.status_code = status
    return error


def _request_seed(scope: Scope) -> int:
    """The same request gets the same dynamic answer, run after run."""
    key = f"{scope['method']} {scope['path']}?{scope.get('query_string', b'').decode('latin-1')}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
