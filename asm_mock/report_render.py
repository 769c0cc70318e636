"""The conformance report (GET /__admin/report's JSON document) as CI reads it: JUnit XML, which
GitHub, GitLab and Jenkins render as tests, and markdown for a job summary.

JUnit: one testsuite per operation; in it a testcase per documented status (skipped when no
request was answered with it, so missing coverage shows) and a testcase per kind of violation,
failed, with its count and newest example. Requests no operation documents have a suite of
their own. Valid against Jenkins' junit-10.xsd (tests/data holds it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree import ElementTree

__all__ = ["FORMATS", "render", "render_drift", "violation_title"]

FORMATS = ("json", "junit", "markdown")
_NO_OPERATION = "(no operation)"
_SUITES = "asm-mock client conformance"


def violation_title(violation: Mapping[str, Any]) -> str:
    """`body customerId: missing`, `path: no operation documents this path`."""
    name = violation.get("name")
    where = f"{violation['location']} {name}" if name else str(violation["location"])
    return f"{where}: {violation['problem']}"


def _example(violation: Mapping[str, Any]) -> str:
    example = violation["example"]
    query = f"?{example['query']}" if example["query"] else ""
    return f"{example['method']} {example['path']}{query} -> {example['status']}"


def _requests(count: int) -> str:
    return f"{count} request" if count == 1 else f"{count} requests"


def _violation_lines(violation: Mapping[str, Any]) -> str:
    return (
        f"{_requests(violation['count'])} broke the contract at "
        f"{violation_title(violation)}\nnewest: {_example(violation)}\n"
    )


def _suite(
    name: str, statuses: Sequence[Mapping[str, Any]], label: str, violations: list[Any]
) -> ElementTree.Element:
    suite = ElementTree.Element("testsuite", name=name)
    skipped = 0
    for entry in statuses:
        case = ElementTree.SubElement(
            suite, "testcase", name=f"{label} answers {entry['status']}", classname=name
        )
        if entry["count"] == 0:
            skipped += 1
            ElementTree.SubElement(case, "skipped", message="never exercised")
        else:
            ElementTree.SubElement(case, "system-out").text = _requests(entry["count"])
    for violation in violations:
        case = ElementTree.SubElement(
            suite, "testcase", name=f"requests conform: {violation_title(violation)}"
        )
        case.set("classname", name)
        failure = ElementTree.SubElement(
            case,
            "failure",
            type=str(violation["location"]),
            message=f"{violation['count']} x {violation_title(violation)}",
        )
        failure.text = _violation_lines(violation)
    suite.set("tests", str(len(statuses) + len(violations)))
    suite.set("failures", str(len(violations)))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    return suite


def junit(report: Mapping[str, Any]) -> str:
    by_operation: dict[str | None, list[Any]] = {}
    for violation in report["violations"]:
        by_operation.setdefault(violation["operationId"], []).append(violation)
    root = ElementTree.Element("testsuites", name=_SUITES)
    for coverage in report["coverage"]:
        label = f"{coverage['method']} {coverage['path']}"
        violations = by_operation.pop(coverage["operationId"], [])
        root.append(_suite(coverage["operationId"], coverage["statuses"], label, violations))
    for operation_id, violations in by_operation.items():  # not in the served contract
        root.append(_suite(operation_id or _NO_OPERATION, [], "", violations))
    for total in ("tests", "failures", "errors"):
        root.set(total, str(sum(int(s.get(total, "0")) for s in root)))
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, "unicode")


def _cell(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def _statuses(entries: Sequence[Mapping[str, Any]], *, exercised: bool) -> str:
    picked = [e for e in entries if (e["count"] > 0) == exercised]
    if exercised:
        return ", ".join(f"{e['status']} ({e['count']})" for e in picked) or "-"
    return ", ".join(str(e["status"]) for e in picked) or "-"


def markdown(report: Mapping[str, Any]) -> str:
    summary, window = report["summary"], report["window"]
    lines = [
        "## asm-mock client conformance",
        "",
        f"{window['requests']} requests: {summary['violatingRequests']} broke the contract "
        f"({summary['violationKinds']} kinds); {summary['exercisedStatuses']} of "
        f"{summary['documentedStatuses']} documented statuses of {summary['operations']} "
        "operations exercised.",
        "",
    ]
    if not window["complete"]:
        lines += [f"Only the newest {window['reported']} requests are reported on.", ""]
    lines += ["### Contract violations", ""]
    if report["violations"]:
        lines += _table(
            ("Operation", "Where", "Problem", "Count", "Newest example"),
            [
                (
                    v["operationId"] or _NO_OPERATION,
                    f"{v['location']} {v['name'] or ''}".strip(),
                    v["problem"],
                    v["count"],
                    f"`{_example(v)}`",
                )
                for v in report["violations"]
            ],
        )
    else:
        lines += ["None.", ""]
    lines += ["### Coverage of documented statuses", ""]
    lines += _table(
        ("Operation", "Request", "Exercised (requests)", "Never exercised", "Undocumented"),
        [
            (
                c["operationId"],
                f"`{c['method']} {c['path']}`",
                _statuses(c["statuses"], exercised=True),
                _statuses(c["statuses"], exercised=False),
                _statuses(c["undocumented"], exercised=True),
            )
            for c in report["coverage"]
        ],
    )
    if report["controls"]:
        lines += ["### Controls used", ""]
        lines += _table(
            ("Control", "Detail", "Operation", "Count"),
            [
                (u["kind"], u["detail"], u["operationId"] or "-", u["count"])
                for u in report["controls"]
            ],
        )
    return "\n".join(lines)


def render(report: Mapping[str, Any], output_format: str) -> str:
    if output_format == "junit":
        return junit(report)
    if output_format == "markdown":
        return markdown(report)
    return json.dumps(report, indent=2)


# -- the validating proxy's drift report (GET /__admin/drift) ----------------------------------

_DRIFT_SUITES = "asm-mock upstream drift"


def _drift_suite(
    operation_id: str, answers: Sequence[Mapping[str, Any]], drift: Sequence[Mapping[str, Any]]
) -> ElementTree.Element:
    """A testcase per status the upstream answered, passing; a failed one per kind of drift."""
    suite = ElementTree.Element("testsuite", name=operation_id)
    for entry in answers:
        case = ElementTree.SubElement(
            suite, "testcase", name=f"upstream answers {entry['status']}", classname=operation_id
        )
        ElementTree.SubElement(case, "system-out").text = f"{entry['count']} answers"
    for row in drift:
        where = f" {row['where']}" if row["where"] else ""
        title = f"{row['status']} {row['kind']}{where}: {row['detail']}"
        case = ElementTree.SubElement(
            suite, "testcase", name=f"answers conform: {title}", classname=operation_id
        )
        failure = ElementTree.SubElement(
            case, "failure", type=str(row["kind"]), message=f"{row['count']} x {title}"
        )
        failure.text = (
            f"{row['count']} answers drifted at {title} "
            f"({'breaks the contract' if row['breaksContract'] else 'the contract allows it'})\n"
            f"first seen {row['firstSeen']}, last seen {row['lastSeen']}\n"
            f"newest: {_example(row)}\n"
        )
    suite.set("tests", str(len(answers) + len(drift)))
    suite.set("failures", str(len(drift)))
    suite.set("errors", "0")
    suite.set("skipped", "0")
    return suite


def drift_junit(document: Mapping[str, Any]) -> str:
    root = ElementTree.Element("testsuites", name=_DRIFT_SUITES)
    operations = sorted(
        {a["operationId"] for a in document["answers"]}
        | {d["operationId"] for d in document["drift"]}
    )
    for operation_id in operations:
        answers = [a for a in document["answers"] if a["operationId"] == operation_id]
        drift = [d for d in document["drift"] if d["operationId"] == operation_id]
        root.append(_drift_suite(operation_id, answers, drift))
    for total in ("tests", "failures", "errors"):
        root.set(total, str(sum(int(s.get(total, "0")) for s in root)))
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, "unicode")


def render_drift(document: Mapping[str, Any], output_format: str) -> str:
    if output_format == "junit":
        return drift_junit(document)
    return json.dumps(document, indent=2)
