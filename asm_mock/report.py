"""`asm-mock report`: fetch a mock's conformance report (GET /__admin/report), say it in the
format CI reads, and give CI an exit status for the conditions it fails on.

urllib, as `asm_mock.wait`: httpx is a development dependency only.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["FAIL_CONDITIONS", "REPORT_PATH", "ReportUnavailable", "failed_conditions", "fetch"]

REPORT_PATH = "/__admin/report"
FAIL_CONDITIONS = ("violations", "uncovered")
_MAX_BODY_BYTES = 64 * 1024 * 1024
_MAX_LINE_CHARS = 300
# Straight to the mock, as `asm-mock wait` does: a CI runner's HTTP_PROXY must not carry it.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ReportUnavailable(Exception):
    """No report: the mock could not be reached, or it refused; the message is one line."""


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MAX_LINE_CHARS else line[: _MAX_LINE_CHARS - 3] + "..."


def _refusal(status: int, raw: bytes) -> str:
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        said = f"{errors[0].get('type', '')}: {errors[0].get('message', '')}"
    else:
        said = raw.decode("utf-8", "replace")
    if status in (401, 403):
        said += " (the mock's --admin-token is needed, or a loopback client)"
    return _one_line(f"{status} {said}")


def fetch(base_url: str, *, token: str | None, timeout: float = 30.0) -> dict[str, Any]:
    """The report document, or ReportUnavailable saying why not."""
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base_url + REPORT_PATH, headers=headers)
    try:
        with _DIRECT.open(request, timeout=timeout) as answer:
            raw = answer.read(_MAX_BODY_BYTES)
    except urllib.error.HTTPError as answer:
        with answer:
            raise ReportUnavailable(_refusal(answer.code, answer.read(64 * 1024))) from None
    except urllib.error.URLError as error:  # refused, unknown host, TLS...
        reason = error.reason
        text = reason.strerror if isinstance(reason, OSError) and reason.strerror else reason
        raise ReportUnavailable(_one_line(str(text)).lower()) from None
    except TimeoutError:
        raise ReportUnavailable(f"no answer within {timeout:g} s") from None
    except (http.client.HTTPException, OSError) as error:
        raise ReportUnavailable(_one_line(str(error) or type(error).__name__).lower()) from None
    try:
        report = json.loads(raw)
    except ValueError:
        report = None
    if not isinstance(report, dict) or not isinstance(report.get("summary"), dict):
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
