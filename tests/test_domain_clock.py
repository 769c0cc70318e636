"""The service's clock: UTC to the second, as SAP's timestamps are."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from asm_mock.domain.service import utc_now


def test_the_clock_tells_the_current_second_in_utc() -> None:
    for _ in range(3):
        before = datetime.now(UTC).replace(microsecond=0)
        now = utc_now()
        after = datetime.now(UTC).replace(microsecond=0)
        assert before <= now <= after
        assert now.tzinfo is UTC and now.microsecond == 0
        time.sleep(0.4)  # across a second's boundary at least once


def test_the_clock_moves_on_with_the_seconds() -> None:
    first = utc_now()
    time.sleep(1.05)
    assert utc_now() > first
