"""`ProxyApp`: the validating proxy's ASGI app.

```
client -> ProxyApp
  |-- /__admin/... -> AdminGuard -> report, drift, ready (everything else: an OCC 404/405)
  `-- every other request: read whole -> check_request (journal's ErrorDetails)
        -> Upstream.forward (httpx) -> check_answer (Findings -> DriftLog)
        -> on_exchange hooks (Exchange) -> the upstream's answer, byte for byte
           (--strict: a 502 OCC body for an answer that breaks the contract)
```

It never answers in the upstream's place: an invalid request is forwarded and flagged. Its own
answers (upstream unreachable, timed out, --strict) are OCC bodies sent by `send_error`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from asm_mock.contract import CompiledContract
from asm_mock.domain.conformance import conformance_report, scrubbed_query
from asm_mock.domain.errors import (
    ApiError,
    BadGatewayError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
)
from asm_mock.domain.journal import ErrorDetail, Journal, JournalEntry
from asm_mock.http.admin_guard import ADMIN_PATH, AdminGuard, is_admin_path
from asm_mock.http.limits import MAX_BODY_BYTES, read_within
from asm_mock.http.report_format import documented_operations, report_document
from asm_mock.http.send import send_answer, send_error, send_json
from asm_mock.proxy.drift import DriftLog, drift_document
from asm_mock.proxy.exchange import Exchange
from asm_mock.proxy.forward import Answer, Upstream
from asm_mock.proxy.validate import TOKEN_OPERATION, Finding, check_answer, check_request

__all__ = ["ExchangeHook", "ProxyApp"]

logger = logging.getLogger("asm_mock.proxy")

ExchangeHook = Callable[[Exchange], None]
_ADMIN = {  # path -> methods the proxy serves there; the mock's other admin paths are not its
    ADMIN_PATH + "/report": ("GET", "DELETE"),
    ADMIN_PATH + "/drift": ("GET", "DELETE"),
    ADMIN_PATH + "/ready": ("GET",),
}


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    path: str
    raw_path: bytes
    query: bytes
    headers: tuple[tuple[str, str], ...]
    body: bytes


def _request(scope: Scope, body: bytes) -> _Request:
    return _Request(
        scope["method"],
        scope["path"],
        scope.get("raw_path") or scope["path"].encode(),
        scope.get("query_string", b""),
        tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]),
        body,
    )


class ProxyApp:
    def __init__(
        self,
        upstream: Upstream,
        contract: CompiledContract,
        *,
        strict: bool = False,
        journal: Journal | None = None,
        drift: DriftLog | None = None,
        on_exchange: Sequence[ExchangeHook] = (),
        admin_token: str | None = None,
    ) -> None:
        """`on_exchange`: called with every forwarded request and the upstream's answer (a
        recorder plugs in here); each must scrub what it writes."""
        self.upstream = upstream
        self.contract = contract
        self.strict = strict
        self.journal = journal if journal is not None else Journal()
        self.drift = drift if drift is not None else DriftLog()
        self.on_exchange = tuple(on_exchange)
        self._operations = documented_operations(contract)
        self._admin = AdminGuard(self._serve_admin, token=admin_token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            if is_admin_path(scope["path"]):
                await self._admin(scope, receive, send)
            else:
                await self._read_and_forward(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.upstream.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- forwarding -------------------------------------------------------------------------

    async def _read_and_forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The request read whole, within the mock's body limit: the proxy validates whole
        bodies, and a client's 50 MiB must not sit in its memory. Above the limit it answers
        the mock's 413 itself (and closes: the rest of the body is never read)."""
        started = time.perf_counter()
        try:
            body = await read_within(receive, MAX_BODY_BYTES)
        except PayloadTooLargeError as error:
            request = _request(scope, b"")
            await send_error(send, error, close=True)
            operation_id, _ = check_request(
                self.contract, request.method, request.path, "", request.headers, b""
            )
            self._journal(request, operation_id, error.status_code, started, (), [])
            return
        await self._forward(_request(scope, body), send)

    async def _forward(self, request: _Request, send: Send) -> None:
        started = time.perf_counter()
        query = request.query.decode("latin-1")
        operation_id, asked_wrong = check_request(
            self.contract, request.method, request.path, query, request.headers, request.body
        )
        try:
            answer = await self.upstream.forward(
                request.method, request.raw_path, request.query, request.headers, request.body
            )
        except ApiError as error:  # the upstream left no answer: the proxy's own
            await send_error(send, error)
            self._journal(request, operation_id, error.status_code, started, asked_wrong, [])
            return
        findings: list[Finding] = []
        if operation_id is not None and operation_id != TOKEN_OPERATION:
            operation = self.contract.by_id[operation_id]
            findings = check_answer(
                operation,
                answer.status,
                answer.headers,
                answer.body,
                with_body=request.method != "HEAD",  # a HEAD answer's body is never sent
            )
            self.drift.note(
                operation_id,
                answer.status,
                findings,
                at=datetime.now(UTC),
                request=(request.method, request.path, query),
            )
        self._hand_on(request, answer, operation_id, conforms=not asked_wrong)
        breaking = [f for f in findings if f.breaks_contract]
        if self.strict and breaking:
            await send_error(send, _strict_refusal(operation_id, answer.status, breaking))
        else:
            headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers]
            await send_answer(send, answer.status, headers, answer.body)
        self._journal(request, operation_id, answer.status, started, asked_wrong, findings)

    def _hand_on(
        self, request: _Request, answer: Answer, operation_id: str | None, *, conforms: bool
    ) -> None:
        exchange = Exchange(
            request.method,
            request.path,
            request.query.decode("latin-1"),
            request.headers,
            request.body,
            answer.status,
            answer.headers,
            answer.body,
            operation_id,
            conforms,
        )
        for hook in self.on_exchange:
            try:
                hook(exchange)
            except Exception:  # a hook's bug must not cost the client its answer
                logger.exception("an exchange hook failed on %s %s", request.method, request.path)

    def _journal(
        self,
        request: _Request,
        operation_id: str | None,
        status: int,
        started: float,
        asked_wrong: tuple[ErrorDetail, ...],
        findings: list[Finding],
    ) -> None:
        duration_ms = (time.perf_counter() - started) * 1000
        problems = (
            *(
                " ".join(filter(None, ("request", d.subject_type, d.subject))) + f": {d.reason}"
                for d in asked_wrong
            ),
            *(f"answer {f.line()}" for f in findings),
        )
        self.journal.record(
            JournalEntry(
                datetime.now(UTC),
                request.method,
                request.path,
                scrubbed_query(request.query.decode("latin-1")),
                operation_id,
                status,
                duration_ms,
                problems,
                asked_wrong,
            )
        )
        # the path only: a query can carry secrets, and the journal has it scrubbed
        logger.info(
            "%s %s -> %s %.1f ms%s",
            request.method,
            request.path,
            status,
            duration_ms,
            f" ({len(problems)} problem{'s' if len(problems) > 1 else ''})" if problems else "",
        )

    # -- the admin API the proxy serves -----------------------------------------------------

    async def _serve_admin(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"].rstrip("/"), scope["method"]
        methods = _ADMIN.get(path)
        if methods is None:
            served = ", ".join(sorted(_ADMIN))
            await send_error(
                send,
                NotFoundError(
                    f"The validating proxy serves {served} under {ADMIN_PATH}; "
                    f"{path} is the mock's (asm-mock serve)"
                ),
            )
            return
        if method not in methods:
            allowed = ", ".join(methods)
            error = MethodNotAllowedError(f"Request method is not supported; allowed: {allowed}")
            await send_error(send, error, [(b"allow", allowed.encode())])
            return
        await send_json(send, 200, orjson.dumps(self._admin_document(path, method)))

    def _admin_document(self, path: str, method: str) -> dict[str, Any]:
        if path.endswith("/ready"):
            return {"ready": True, "loaded": ["contract"], "waitingFor": []}
        if path.endswith("/drift"):
            if method == "DELETE":
                self.drift.clear()
            return drift_document(self.drift, upstream=self.upstream.base_url)
        if method == "DELETE":
            self.journal.clear()
        report = conformance_report(self.journal.entries(), self._operations)
        total = max(self.journal.total, report.requests)
        return report_document(report, total=total, capacity=self.journal.capacity)


def _strict_refusal(operation_id: str | None, status: int, breaking: list[Finding]) -> ApiError:
    more = f" (and {len(breaking) - 1} more, see /__admin/drift)" if len(breaking) > 1 else ""
    return BadGatewayError(
        f"The upstream's answer broke the contract: {operation_id} answered {status}: "
        f"{breaking[0].line()}{more}",
        reason="invalid",
        subject=breaking[0].where or None,
        subject_type="answer",
    )
