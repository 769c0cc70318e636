"""One GET of an asm-mock admin path from the command line (`asm-mock wait`, `asm-mock report`).

urllib rather than httpx: one GET at a time needs nothing more, and httpx is a development
dependency only; these commands must work from a plain `pip install asm-mock`.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AdminAnswer",
    "AdminUnreachable",
    "admin_get",
    "is_admin_answer",
    "one_line",
    "parsed",
    "refusal",
    "what_was_said",
]

_MAX_LINE_CHARS = 300
_MAX_REFUSAL_BYTES = 64 * 1024

# Straight to the mock: a CI runner's HTTP_PROXY must not carry requests to a local service
# (urllib, like curl, would send even 127.0.0.1 to it unless NO_PROXY says otherwise).
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class AdminAnswer:
    status: int
    body: bytes


class AdminUnreachable(Exception):
    """No answer at all (refused, unknown host, TLS, timeout); the message is one line."""


def one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MAX_LINE_CHARS else line[: _MAX_LINE_CHARS - 3] + "..."


def parsed(raw: bytes) -> Any:
    """The JSON in `raw`, or None."""
    try:
        return json.loads(raw)
    except ValueError:
        return None


def what_was_said(raw: bytes) -> str:
    """An OCC error body's first `type: message`, else the body as text."""
    body = parsed(raw)
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return f"{errors[0].get('type', '')}: {errors[0].get('message', '')}"
    return raw.decode("utf-8", "replace")


def refusal(status: int, raw: bytes) -> str:
    """A refused admin request in one line: the status, what the mock said, and for the admin
    guard's 401/403 what would let the request through."""
    said = what_was_said(raw)
    if status in (401, 403):
        hint = "the mock's --admin-token (ASM_MOCK_ADMIN_TOKEN) is needed, or a loopback client"
        said = f"{said} ({hint})"
    return one_line(f"{status} {said}")


def admin_get(
    base_url: str, path: str, *, token: str | None, timeout: float, limit: int
) -> AdminAnswer:
    """GET base_url + path (at most `limit` bytes of a 2xx body): the answer, whatever its
    status, or AdminUnreachable saying in one line why there was none."""
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base_url + path, headers=headers)
    try:
        with _DIRECT.open(request, timeout=timeout) as answer:
            return AdminAnswer(answer.status, answer.read(limit))
    except urllib.error.HTTPError as answer:
        with answer:
            return AdminAnswer(answer.code, answer.read(_MAX_REFUSAL_BYTES))
    except urllib.error.URLError as error:  # refused, unknown host, TLS...
        reason = error.reason
        text = reason.strerror if isinstance(reason, OSError) and reason.strerror else reason
        raise AdminUnreachable(one_line(str(text)).lower()) from None
    except TimeoutError:
        raise AdminUnreachable(f"no answer within {timeout:g} s") from None
    except (http.client.HTTPException, OSError) as error:  # e.g. closed without an answer
        raise AdminUnreachable(one_line(str(error) or type(error).__name__).lower()) from None


def is_admin_answer(document: Any, operation_id: str) -> bool:
    """Whether `document` is the 200 answer admin.yaml documents for `operation_id`: what a
    command renders must be one, so another server's JSON is a refusal line, not a traceback."""
    from asm_mock.http.admin_document import admin_answer_schema

    return admin_answer_schema(operation_id, 200).first_error(document) is None
