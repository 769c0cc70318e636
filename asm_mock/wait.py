"""`asm-mock wait`: poll a mock's GET /__admin/ready until it answers 200, or give up.

urllib rather than httpx: one GET at a time needs nothing more, and httpx is a development
dependency only; `wait` must work from a plain `pip install asm-mock`.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["READY_PATH", "Attempt", "ask_once", "wait_until_ready"]

READY_PATH = "/__admin/ready"
POLL_INTERVAL_S = 0.1
MAX_ATTEMPT_S = 5.0  # one hung connection must not use up the whole --timeout
_MAX_BODY_BYTES = 64 * 1024
_MAX_LINE_CHARS = 300

# Straight to the mock: a CI runner's HTTP_PROXY must not carry polls of a local service
# (urllib, like curl, would send even 127.0.0.1 to it unless NO_PROXY says otherwise).
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Attempt:
    """One poll: ready or not, whether asking again could change that, and why, in a line."""

    ready: bool
    why: str
    final: bool = False


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MAX_LINE_CHARS else line[: _MAX_LINE_CHARS - 3] + "..."


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _not_ready(status: int, raw: bytes) -> Attempt:
    body = _json(raw)
    if status == 503 and isinstance(body, dict) and isinstance(body.get("waitingFor"), list):
        listed = body.get("failed")
        failed = [f for f in listed if isinstance(f, dict)] if isinstance(listed, list) else []
        if failed:  # a part that failed to load never loads: waiting longer cannot help
            problems = "; ".join(
                f"{f.get('part')} failed to load: {f.get('error')}" for f in failed
            )
            return Attempt(False, _one_line(f"503: {problems}"), final=True)
        loading = ", ".join(map(str, body["waitingFor"]))
        return Attempt(False, _one_line(f"503: still loading: {loading}"))
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        said = f"{errors[0].get('type', '')}: {errors[0].get('message', '')}"
    else:
        said = raw.decode("utf-8", "replace")
    if status in (401, 403):  # the admin guard's verdict does not change while we wait
        hint = "the mock's --admin-token (ASM_MOCK_ADMIN_TOKEN) is needed, or a loopback client"
        return Attempt(False, _one_line(f"{status} {said} ({hint})"), final=True)
    return Attempt(False, _one_line(f"{status} {said}"))


def ask_once(base_url: str, *, token: str | None, timeout: float) -> Attempt:
    """GET base_url + /__admin/ready once."""
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base_url + READY_PATH, headers=headers)
    try:
        with _DIRECT.open(request, timeout=timeout) as answer:
            return Attempt(True, f"{answer.status} ready")
    except urllib.error.HTTPError as answer:
        with answer:
            return _not_ready(answer.code, answer.read(_MAX_BODY_BYTES))
    except urllib.error.URLError as error:  # no answer at all: refused, unknown host, TLS...
        reason = error.reason
        text = reason.strerror if isinstance(reason, OSError) and reason.strerror else reason
        return Attempt(False, _one_line(str(text)).lower())
    except TimeoutError:
        return Attempt(False, f"no answer within {timeout:g} s")
    except (http.client.HTTPException, OSError) as error:  # e.g. closed without an answer
        return Attempt(False, _one_line(str(error) or type(error).__name__).lower())


def wait_until_ready(
    base_url: str,
    *,
    timeout: float,
    token: str | None = None,
    clock: Callable[[], float] = time.monotonic,
    pause: Callable[[float], None] = time.sleep,
) -> Attempt:
    """Poll until the mock is ready, a poll says it never will be, or `timeout` seconds have
    passed (at least one poll either way); the last poll."""
    deadline = clock() + timeout
    while True:
        remaining = deadline - clock()
        attempt = ask_once(
            base_url, token=token, timeout=min(MAX_ATTEMPT_S, max(remaining, POLL_INTERVAL_S))
        )
        remaining = deadline - clock()
        if attempt.ready or attempt.final or remaining <= 0:
            return attempt
        pause(min(POLL_INTERVAL_S, remaining))
