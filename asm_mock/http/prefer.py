"""Per-request control, a superset of Prism's: `Prefer: code=404, dynamic=true, delay=300, ...`.

The same preferences come from the `Prefer` header (RFC 7240), the `asm-mock-prefer` cookie (for
browsers that cannot set headers; URL-encoded, same syntax) or the query parameters `__code`,
`__example`, `__dynamic`, `__seed`, `__delay`, `__fault`, which are removed before the request
reaches validation. Later sources win: cookie, then header, then query. An unknown or malformed
preference is a 400, never silently ignored — except RFC 7240's own registered preferences
(return, respond-async, wait, handling), which clients may send for other servers' sake.

`PreferenceGate` (outside Connexion) parses them and applies what concerns the transport: delays,
server-wide latency and injected errors, and faults outside the contract.
`asm_mock.http.preferred.PreferredAnswer` (inside Connexion, so request and response validation
still apply) answers `code`, `example` and `dynamic` — and scenarios' canned answers — instead
of the handler.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

from starlette.types import ASGIApp, Receive, Scope, Send

from asm_mock.domain.controls import Controls
from asm_mock.domain.errors import ApiError, ServiceUnavailableError, ValidationError
from asm_mock.http.headers import RawHeaders, first_header, header_values
from asm_mock.http.send import (
    ResponseHeaders,
    editing_headers,
    send_answer,
    send_error,
    send_json,
)

__all__ = [
    "EXTENSION",
    "PREFER_COOKIE",
    "Preferences",
    "PreferenceGate",
    "invalid_preference",
    "parse_preferences",
]

PREFER_COOKIE = "asm-mock-prefer"
EXTENSION = "asm_mock.prefer"
QUERY_PREFIX = "__"
FAULTS = ("reset", "empty", "malformed")
MAX_DELAY_MS = 60_000
_KNOWN = ("code", "example", "dynamic", "seed", "delay", "fault")
_RFC7240 = ("return", "respond-async", "wait", "handling")
_EXAMPLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


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


def invalid_preference(message: str, source: str) -> ValidationError:
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
        raise invalid_preference(
            f"Preference {name}={value!r} must be a whole number {low}..{high}", source
        )
    return int(value)


def _apply(prefs: dict[str, Any], name: str, value: str, source: str) -> None:
    if name in _RFC7240:
        return
    if name not in _KNOWN:
        raise invalid_preference(
            f"Unknown preference {name!r}; asm-mock knows {', '.join(_KNOWN)}", source
        )
    if name == "code":
        prefs["code"] = _int(name, value, 100, 599, source)
    elif name == "example":
        if not _EXAMPLE_NAME.match(value):
            raise invalid_preference(f"Preference example={value!r} is not an example name", source)
        prefs["example"] = value
    elif name == "dynamic":
        if value.lower() not in ("true", "false"):
            raise invalid_preference(f"Preference dynamic={value!r} must be true or false", source)
        prefs["dynamic"] = value.lower() == "true"
    elif name == "seed":
        prefs["seed"] = _int(name, value, 0, 2**63 - 1, source)
    elif name == "delay":
        prefs["delay_ms"] = _int(name, value, 0, MAX_DELAY_MS, source)
    elif value not in FAULTS:
        raise invalid_preference(
            f"Preference fault={value!r}; faults are {', '.join(FAULTS)}", source
        )
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
        controls: Callable[[], Controls],
        is_operation: Callable[[str, str], bool],
    ) -> None:
        self._app = app
        self._controls = controls
        self._is_operation = is_operation

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        query_string: bytes = scope.get("query_string", b"")
        headers = scope["headers"]
        may_prefer = _may_prefer(query_string, headers)
        controls = self._controls()  # the request's tenant's
        if not may_prefer and controls.draws_nothing:  # most requests: nothing to do
            await self._app(scope, receive, send)
            return
        if not self._is_operation(scope["method"], scope["path"]):
            await self._app(scope, receive, send)
            return
        if may_prefer:
            query = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
            ours = [(k, v) for k, v in query if k.startswith(QUERY_PREFIX)]
            try:
                prefs = parse_preferences(
                    header_values(headers, b"prefer"), first_header(headers, b"cookie"), ours
                )
            except ApiError as error:
                await send_error(send, error)
                return
            if ours:
                kept = [(k, v) for k, v in query if not k.startswith(QUERY_PREFIX)]
                scope = {**scope, "query_string": urlencode(kept).encode("latin-1")}
            scope = {**scope, "extensions": {**scope.get("extensions", {}), EXTENSION: prefs}}
        else:
            prefs = _NONE  # and no extension: its readers take its absence for no preferences

        delay_ms = prefs.delay_ms if prefs.delay_ms is not None else controls.draw_delay_ms()
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        if controls.draw_injected_error():
            await _send_injected_error(send)
            return
        if prefs.fault:
            await _send_fault(send, prefs.fault)
            return
        if prefs is _NONE:
            await self._app(scope, receive, send)
            return
        applied = prefs.applied()
        await self._app(scope, receive, _with_header(send, b"preference-applied", applied))


_NONE = Preferences()
_PREFERENCE_HEADERS = frozenset((b"prefer", b"cookie"))
_QUERY_MARK = QUERY_PREFIX.encode()


def _may_prefer(query_string: bytes, headers: RawHeaders) -> bool:
    """False when no source of preferences is present: most requests skip parsing them.

    Deliberately loose (a `__` anywhere, any Prefer header, any cookie): a false True only
    costs the full parse, which decides.
    """
    # find(), not `in`: on 3.11, `bytes in bytes` first tries the operand as an int and
    # raises and swallows a TypeError each time (about 2k instructions)
    if query_string and (
        query_string.find(_QUERY_MARK) >= 0
        or query_string.find(b"%5F") >= 0  # _ encoded
        or query_string.find(b"%5f") >= 0
    ):
        return True
    for name, _ in headers:  # a loop, not any(): every request passes here
        if name in _PREFERENCE_HEADERS:
            return True
    return False


def _with_header(send: Send, name: bytes, value: str) -> Send:
    if not value:
        return send
    header = (name, value.encode())

    def adding(headers: ResponseHeaders) -> ResponseHeaders:
        headers.append(header)
        return headers

    return editing_headers(send, adding)


_INJECTED = ((b"retry-after", b"1"), (b"x-asm-mock-injected", b"error-rate"))


async def _send_injected_error(send: Send) -> None:
    error = ServiceUnavailableError("Service unavailable (injected by asm-mock --error-rate)")
    await send_error(send, error, _INJECTED)


async def _send_fault(send: Send, fault: str) -> None:
    """Outside the contract on purpose, and marked so: X-Asm-Mock-Fault names the fault."""
    marker = (b"x-asm-mock-fault", fault.encode())
    if fault == "malformed":
        await send_json(send, 200, b'{"entries": [{"uid": "broken', [marker])
    elif fault == "empty":
        await send_answer(send, 200, [(b"content-length", b"0"), (b"connection", b"close"), marker])
    else:  # reset: promise a body, then drop the connection half-way through it
        headers = [(b"content-type", b"application/json"), (b"content-length", b"4096"), marker]
        await send_answer(send, 200, headers, b'{"entries": [', more_body=True)
