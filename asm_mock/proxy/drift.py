"""`DriftLog`: how the upstream's answers differ from the contract, aggregated.

One row per operation, status, kind and place (a body field with `[]` for an array's items, a
header): how often, first and last seen, and the newest exchange that showed it (its query
scrubbed). Counting is per answer: twenty items of one list lacking the same property are one
answer with that drift. `drift_document` is GET /__admin/drift's body (admin.yaml's Drift).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from asm_mock.domain.conformance import scrubbed_query
from asm_mock.http.serialize import timestamp
from asm_mock.proxy.validate import Finding

__all__ = ["DriftLog", "DriftRow", "drift_document"]

_MAX_ROWS = 10_000  # an upstream answering ever-new field names cannot grow it without bound


@dataclass(slots=True)
class DriftRow:
    operation_id: str
    status: int
    finding: Finding
    count: int
    first_seen: datetime
    last_seen: datetime
    example: tuple[str, str, str]  # method, path, query (scrubbed) of the newest


class DriftLog:
    def __init__(self) -> None:
        self._rows: dict[tuple[str, int, str, str], DriftRow] = {}
        self._answers: Counter[tuple[str, int]] = Counter()
        self._lock = threading.Lock()

    def note(
        self,
        operation_id: str,
        status: int,
        findings: Iterable[Finding],
        *,
        at: datetime,
        request: tuple[str, str, str],
    ) -> None:
        """One checked answer of `operation_id` with `status`, and what differed in it."""
        example = (request[0], request[1], scrubbed_query(request[2]))
        with self._lock:
            self._answers[operation_id, status] += 1
            for finding in findings:
                key = (operation_id, status, finding.kind, finding.where)
                row = self._rows.get(key)
                if row is not None:
                    row.count += 1
                    row.last_seen = at
                    row.example = example
                elif len(self._rows) < _MAX_ROWS:
                    self._rows[key] = DriftRow(operation_id, status, finding, 1, at, at, example)

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()
            self._answers.clear()

    def snapshot(self) -> tuple[list[DriftRow], dict[tuple[str, int], int]]:
        """The rows (most frequent first) and the answers checked per operation and status."""
        with self._lock:
            rows = [replace(row) for row in self._rows.values()]  # copies: rows change later
            answers = dict(self._answers)
        rows.sort(key=lambda r: (-r.count, r.operation_id, r.status, r.finding.kind))
        return rows, answers


def _row(row: DriftRow) -> dict[str, Any]:
    method, path, query = row.example
    return {
        "operationId": row.operation_id,
        "status": row.status,
        "kind": row.finding.kind,
        "where": row.finding.where,
        "detail": row.finding.detail,
        "breaksContract": row.finding.breaks_contract,
        "count": row.count,
        "firstSeen": timestamp(row.first_seen),
        "lastSeen": timestamp(row.last_seen),
        "example": {"method": method, "path": path, "query": query, "status": row.status},
    }


def drift_document(log: DriftLog, *, upstream: str) -> dict[str, Any]:
    rows, answers = log.snapshot()
    return {
        "upstream": upstream,
        "summary": {
            "answers": sum(answers.values()),
            "kinds": len(rows),
            "breakingKinds": sum(r.finding.breaks_contract for r in rows),
        },
        "answers": [
            {"operationId": op, "status": status, "count": n}
            for (op, status), n in sorted(answers.items())
        ],
        "drift": [_row(r) for r in rows],
    }
