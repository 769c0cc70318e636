"""Per-request control, a superset of Prism's: `Prefer: code=404, dynamic=true, delay=300, ...`.

The same preferences come from the `Prefer` header (RFC 7240), the `asm-mock-prefer` cookie (for
browsers that cannot set headers; URL-encoded, same syntax) or the query parameters `__code`,
`__example`, `__dynamic`, `__seed`, `__delay`, `__fault`, which are removed before the request
reaches validation. Later sources win: cookie, then header, then query. An unknown or malformed
preference is a 400, never silently ignored — except RFC 7240's own registered preferences
(return, respond-async, wait, handling), which clients may send for other servers' sake.

`PreferenceGate` (outside Connexion) parses them and applies what concerns the transport: delays,
server-wide latency and injected errors, and faults outside the contract. `PreferredAnswer`
(inside Connexion, so request and response validation still apply) answers `code`, `example` and
`dynamic` — and scenarios' canned answers — instead of the handler.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from asm_mock.domain.controls import Controls
from asm_mock.domain.dynamic import generate
from asm_mock.domain.errors import ApiError, ValidationError
from asm_mock.http.errors import send_error

__all__ = ["PREFER_COOKIE", "Preferences", "PreferenceGate", "PreferredAnswer", "parse_preferences"]

PREFER_COOKIE = "asm-mock-prefer"
EXTENSION = "asm_mock.prefer"
QUERY_PREFIX = "__"
FAULTS = ("reset", "empty", "malformed")
MAX_DELAY_MS = 60_000
_KNOWN = ("code", "example", "dynamic", "seed", "delay", "fault")
_RFC7240 = ("return", "respond-async", "wait", "handling")
_EXAMPLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


class ServiceUnavailableError(ApiError):
    status_code = 503
    error_type = "ServiceUnavailableError"


@dataclass(frozen=True, slots=True)
class Preferences:
    code: int | None = None
    example: str | None = None
    dynamic: bool = False
    seed: int | None = None
    delay_ms: int | None = None
    fault: str | None = None

    @property
    def shapes_the_answer(self) -> bool:
        return self.code is not None or self.example is not None or self.dynamic

    def applied(self) -> str:
        """For the `Preference-Applied` header."""
        parts = [
            f"code={self.code}" if self.code is not None else "",
            f"example={self.example}" if self.example is not None else "",
            "dynamic=true" if self.dynamic else "",
            f"seed={self.seed}" if self.seed is not None else "",
            f"delay={self.delay_ms}" if self.delay_ms is not None else "",
            f"fault={self.fault}" if self.fault else "",
        ]
        return ", ".join(p for p in parts if p)


def _invalid(message: str, source: str) -> ValidationError:
    return ValidationError(message, reason="invalid", subject=source, subject_type="header")


def _split(text: str) -> list[tuple[str, str]]:
    pairs = []
    for item in text.split(","):
        token = item.split(";", 1)[0].strip()  # RFC 7240 parameters after ';' carry nothing here
        if not token:
            continue
        name, sep, value = token.partition("=")
        pairs.append((name.strip().lower(), value.strip().strip('"') if sep else "true"))
    return pairs


def _int(name: str, value: str, low: int, high: int, source: str) -> int:
    if not re.fullmatch(r"[0-9]{1,19}", value) or not low <= int(value) <= high:
        raise _invalid(f"Preference {name}={value!r} must be a whole number {low}..{high}", source)
    return int(value)


def _apply(prefs: dict[str, Any], name: str, value: str, source: str) -> None:
    if name in _RFC7240:
        return
    if name not in _KNOWN:
        raise _invalid(f"Unknown preference {name!r}; asm-mock knows {', '.join(_KNOWN)}", source)
    if name == "code":
        prefs["code"] = _int(name, value, 100, 599, source)
    elif name == "example":
        if not _EXAMPLE_NAME.match(value):
            raise _invalid(f"Preference example={value!r} is not an example name", source)
        prefs["example"] = value
    elif name == "dynamic":
        if value.lower() not in ("true", "false"):
            raise _invalid(f"Preference dynamic={value!r} must be true or false", source)
        prefs["dynamic"] = value.lower() == "true"
    elif name == "seed":
        prefs["seed"] = _int(name, value, 0, 2**63 - 1, source)
    elif name == "delay":
        prefs["delay_ms"] = _int(name, value, 0, MAX_DELAY_MS, source)
    elif value not in FAULTS:
        raise _invalid(f"Preference fault={value!r}; faults are {', '.join(FAULTS)}", source)
    else:
        prefs["fault"] = value


def parse_preferences(
    headers: list[str], cookie_header: str | None, query: list[tuple[str, str]]
) -> Preferences:
    """All preferences of a request, or a ValidationError naming the source and the problem."""
    prefs: dict[str, Any] = {}
    if cookie_header:
        try:
            cookies = SimpleCookie(cookie_header)
        except CookieError:
            cookies = SimpleCookie()
        if PREFER_COOKIE in cookies:
            for name, value in _split(unquote(cookies[PREFER_COOKIE].value)):
                _apply(prefs, name, value, f"Cookie {PREFER_COOKIE}")
    for header in headers:
        for name, value in _split(header):
            _apply(prefs, name, value, "Prefer")
    for key, value in query:
        _apply(prefs, key[len(QUERY_PREFIX) :].lower(), value, key)
    return Preferences(**prefs)


class PreferenceGate:
    """Parses preferences of API operations; applies delay, latency, injected errors and faults."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        controls: Controls,
        is_operation: Callable[[str, str], bool],
    ) -> None:
        self._app = app
        self._controls = controls
        self._is_operation = is_operation

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._is_operation(scope["method"], scope["path"]):
            await self._app(scope, receive, send)
            return
        query_string: bytes = scope.get("query_string", b"")
        headers = scope["headers"]
        if _may_prefer(query_string, headers):
            query = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
            ours = [(k, v) for k, v in query if k.startswith(QUERY_PREFIX)]
            try:
                prefs = parse_preferences(
                    [v.decode("latin-1") for k, v in headers if k == b"prefer"],
                    next((v.decode("latin-1") for k, v in headers if k == b"cookie"), None),
                    ours,
                )
            except ApiError as error:
                await send_error(send, error)
                return
            if ours:
                kept = [(k, v) for k, v in query if not k.startswith(QUERY_PREFIX)]
                scope = {**scope, "query_string": urlencode(kept).encode("latin-1")}
        else:
            prefs = _NONE
        scope = {**scope, "extensions": {**scope.get("extensions", {}), EXTENSION: prefs}}

        delay_ms = prefs.delay_ms if prefs.delay_ms is not None else self._controls.draw_delay_ms()
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        if self._controls.draw_injected_error():
            await _send_injected_error(send)
            return
        if prefs.fault:
            await _send_fault(send, prefs.fault)
            return
        applied = prefs.applied()
        await self._app(scope, receive, _with_header(send, b"preference-applied", applied))


_NONE = Preferences()


def _may_prefer(query_string: bytes, headers: list[tuple[bytes, bytes]]) -> bool:
    """False when no source of preferences is present: most requests skip parsing them.

    Deliberately loose (a `__` anywhere, any Prefer header, any cookie): a false True only
    costs the full parse, which decides.
    """
    if QUERY_PREFIX.encode() in query_string or b"%5F" in query_string.upper():  # _ encoded
        return True
    return any(k.lower() in (b"prefer", b"cookie") for k, _ in headers)


def _with_header(send: Send, name: bytes, value: str) -> Send:
    if not value:
        return send

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message["headers"], (name, value.encode())]}
        await send(message)

    return sending


async def _send_injected_error(send: Send) -> None:
    error = ServiceUnavailableError("Service unavailable (injected by asm-mock --error-rate)")
    body = orjson.dumps({"errors": [error.to_dict()]})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", b"1"),
        (b"x-asm-mock-injected", b"error-rate"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_fault(send: Send, fault: str) -> None:
    """Outside the contract on purpose, and marked so: X-Asm-Mock-Fault names the fault."""
    marker = (b"x-asm-mock-fault", fault.encode())
    if fault == "malformed":
        body = b'{"entries": [{"uid": "broken'
        headers = [(b"content-type", b"application/json"), (b"content-length", b"28"), marker]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    elif fault == "empty":
        headers = [(b"content-length", b"0"), (b"connection", b"close"), marker]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
    else:  # reset: promise a body, then drop the connection half-way through it
        headers = [(b"content-type", b"application/json"), (b"content-length", b"4096"), marker]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        # Returning with the body unfinished makes the server close the connection mid-answer.
        await send({"type": "http.response.body", "body": b'{"entries": [', "more_body": True})


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
        payload = b"" if body is None else orjson.dumps(body)
        headers = [(b"content-length", str(len(payload)).encode())]
        if body is not None:
            headers.append((b"content-type", b"application/json"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def _preferred(self, operation_id: str, prefs: Preferences, scope: Scope) -> tuple[int, Any]:
        responses = self._responses[operation_id]
        documented = sorted(int(code) for code in responses if code.isdigit())
        if prefs.code is not None and prefs.code not in documented:
            raise _invalid(
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
            raise _invalid(
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
    names = {400: "ValidationError", 401: "UnauthorizedError", 403: "ForbiddenError",
             404: "NotFoundError", 413: "PayloadTooLargeError", 415: "UnsupportedMediaTypeError",
             503: "ServiceUnavailableError"}  # fmt: skip
    error = ApiError(f"Answered {status} as asked for (Prefer: code={status})")
    error.error_type = names.get(status, "Error")
    error.status_code = status
    return error


def _request_seed(scope: Scope) -> int:
    """The same request gets the same dynamic answer, run after run."""
    key = f"{scope['method']} {scope['path']}?{scope.get('query_string', b'').decode('latin-1')}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
