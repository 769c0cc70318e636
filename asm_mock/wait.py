"""`asm-mock wait`: poll a mock's GET /__admin/ready until it answers 200, or give up.

Each poll is one `admin_get` (asm_mock/admin_client.py: urllib, no proxy, one-line failures).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from asm_mock.admin_client import AdminUnreachable, admin_get, one_line, parsed, refusal

__all__ = ["READY_PATH", "Attempt", "ask_once", "wait_until_ready"]

READY_PATH = "/__admin/ready"
POLL_INTERVAL_S = 0.1
MAX_ATTEMPT_S = 5.0  # one hung connection must not use up the whole --timeout
_MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class Attempt:
    """One poll: ready or not, whether asking again could change that, and why, in a line."""

    ready: bool
    why: str
    final: bool = False


def _not_ready(status: int, raw: bytes) -> Attempt:
    body = parsed(raw)
    if status == 503 and isinstance(body, dict) and isinstance(body.get("waitingFor"), list):
        listed = body.get("failed")
        failed = [f for f in listed if isinstance(f, dict)] if isinstance(listed, list) else []
        if failed:  # a part that failed to load never loads: waiting longer cannot help
            problems = "; ".join(
                f"{f.get('part')} failed to load: {f.get('error')}" for f in failed
            )
            return Attempt(False, one_line(f"503: {problems}"), final=True)
        loading = ", ".join(map(str, body["waitingFor"]))
        return Attempt(False, one_line(f"503: still loading: {loading}"))
    # the admin guard's verdict (401/403) does not change while we wait
    return Attempt(False, refusal(status, raw), final=status in (401, 403))


def ask_once(base_url: str, *, token: str | None, timeout: float) -> Attempt:
    """GET base_url + /__admin/ready once."""
    try:
        answer = admin_get(
            base_url, READY_PATH, token=token, timeout=timeout, limit=_MAX_BODY_BYTES
        )
    except AdminUnreachable as error:
        return Attempt(False, str(error))
    if 200 <= answer.status < 300:
        return Attempt(True, f"{answer.status} ready")
    return _not_ready(answer.status, answer.body)


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
