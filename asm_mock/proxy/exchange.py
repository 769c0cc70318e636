"""One request forwarded to the upstream and what the upstream answered, as bytes on the wire.

The record the proxy hands to whatever keeps exchanges (the journal, the drift report, a
recording); it holds secrets as they came, so whoever writes it anywhere scrubs it first.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Exchange"]


@dataclass(frozen=True, slots=True)
class Exchange:
    method: str
    path: str  # as the client sent it, without the query
    query: str  # the raw query string (latin-1 decoded), "" for none
    request_headers: tuple[tuple[str, str], ...]  # names lowercase, in the order sent
    request_body: bytes
    status: int
    response_headers: tuple[tuple[str, str], ...]  # names lowercase, in the order answered
    response_body: bytes
    operation_id: str | None  # the contract's operationId, None where no route matches
    request_conforms: bool = True  # False: the request broke the contract (flagged, forwarded)
