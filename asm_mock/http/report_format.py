"""The admin API's Report document (GET /__admin/report): a ConformanceReport in admin.yaml's
field names. `asm_mock.report_render` turns this document into JUnit XML and markdown."""

from __future__ import annotations

from typing import Any

from asm_mock.contract import CompiledContract
from asm_mock.domain.conformance import (
    ConformanceReport,
    Coverage,
    DocumentedOperation,
    ViolationGroup,
)

__all__ = ["documented_operations", "report_document"]


def documented_operations(contract: CompiledContract) -> list[DocumentedOperation]:
    return [
        DocumentedOperation(op.operation_id, op.method, op.template, op.statuses)
        for op in contract.operations
    ]


def _violation(group: ViolationGroup) -> dict[str, Any]:
    example = group.example
    return {
        "operationId": group.operation_id,
        "location": group.location,
        "name": group.name,
        "problem": group.problem,
        "count": group.count,
        "example": {
            "method": example.method,
            "path": example.path,
            "query": example.query,
            "status": example.status,
        },
    }


def _coverage(coverage: Coverage) -> dict[str, Any]:
    op = coverage.operation
    return {
        "operationId": op.operation_id,
        "method": op.method,
        "path": op.template,
        "statuses": [{"status": s, "count": n} for s, n in coverage.exercised.items()],
        "undocumented": [{"status": s, "count": n} for s, n in coverage.undocumented.items()],
    }


def report_document(report: ConformanceReport, *, total: int, capacity: int) -> dict[str, Any]:
    """`total`: requests journaled in the window, of which the journal keeps `capacity`."""
    documented = sum(len(c.exercised) for c in report.coverage)
    return {
        "window": {
            "requests": total,
            "reported": report.requests,
            "complete": total <= capacity,
        },
        "summary": {
            "violatingRequests": report.violating_requests,
            "violationKinds": len(report.violations),
            "operations": len(report.coverage),
            "documentedStatuses": documented,
            "exercisedStatuses": documented - report.uncovered,
            "uncoveredStatuses": report.uncovered,
        },
        "violations": [_violation(g) for g in report.violations],
        "coverage": [_coverage(c) for c in report.coverage],
        "controls": [
            {"kind": u.kind, "detail": u.detail, "operationId": u.operation_id, "count": u.count}
            for u in report.controls
        ],
    }
