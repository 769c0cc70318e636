"""`asm-mock report`: fetch a mock's conformance report (GET /__admin/report), say it in the
format CI reads, and give CI an exit status for the conditions it fails on.

The GET is `admin_get` (asm_mock/admin_client.py), as `asm-mock wait`'s polls are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from asm_mock.admin_client import (
    AdminUnreachable,
    admin_get,
    is_admin_answer,
    parsed,
    refusal,
)

__all__ = ["FAIL_CONDITIONS", "REPORT_PATH", "ReportUnavailable", "failed_conditions", "fetch"]

REPORT_PATH = "/__admin/report"
FAIL_CONDITIONS = ("violations", "uncovered")
_MAX_BODY_BYTES = 64 * 1024 * 1024


class ReportUnavailable(Exception):
    """No report: the mock could not be reached, or it refused; the message is one line."""


def fetch(base_url: str, *, token: str | None, timeout: float = 30.0) -> dict[str, Any]:
    """The report document, or ReportUnavailable saying why not."""
    try:
        answer = admin_get(
            base_url, REPORT_PATH, token=token, timeout=timeout, limit=_MAX_BODY_BYTES
        )
    except AdminUnreachable as error:
        raise ReportUnavailable(str(error)) from None
    if not 200 <= answer.status < 300:
        raise ReportUnavailable(refusal(answer.status, answer.body))
    report = parsed(answer.body)
    if not isinstance(report, dict) or not is_admin_answer(report, "getReport"):
        raise ReportUnavailable("the answer is not a conformance report (is that an asm-mock?)")
    return report


def failed_conditions(report: Mapping[str, Any], conditions: Iterable[str]) -> list[str]:
    """Which of `conditions` hold: one line each, e.g. `violations: 3 requests broke the
    contract (2 kinds)`."""
    summary = report["summary"]
    held = []
    for condition in conditions:
        if condition == "violations" and summary["violatingRequests"] > 0:
            held.append(
                f"violations: {summary['violatingRequests']} requests broke the contract "
                f"({summary['violationKinds']} kinds)"
            )
        elif condition == "uncovered" and summary["uncoveredStatuses"] > 0:
            held.append(
                f"uncovered: {summary['uncoveredStatuses']} of {summary['documentedStatuses']} "
                "documented statuses never exercised"
            )
    return held
