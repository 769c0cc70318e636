"""The service's clock: UTC to the second, as SAP's timestamps are."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from asm_mock.domain.clock import Clock, iso_text
from asm_mock.domain.service import MockService
from asm_mock.domain.world import World


class HandMovedTime:
    """A time source the test moves: seconds since the epoch."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_clock_tells_the_current_second_in_utc() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    now = Clock()()
    after = datetime.now(UTC).replace(microsecond=0)
    assert before <= now <= after
    assert now.tzinfo is UTC and now.microsecond == 0


def test_the_clock_drops_the_fraction_of_the_second() -> None:
    clock = Clock(HandMovedTime(1_700_000_000.999))
    assert clock() == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


def test_the_clock_moves_on_with_the_seconds() -> None:
    time = HandMovedTime(1_700_000_000.2)
    clock = Clock(time)
    first = clock()
    time.now = 1_700_000_000.9
    assert clock() == first  # the same second
    time.now = 1_700_000_001.0
    assert clock() == datetime(2023, 11, 14, 22, 13, 21, tzinfo=UTC)
    time.now = 1_700_000_063.5
    assert clock() == datetime(2023, 11, 14, 22, 14, 23, tzinfo=UTC)


def test_each_clock_keeps_its_own_second() -> None:
    early, late = Clock(HandMovedTime(0.5)), Clock(HandMovedTime(86_400.5))
    assert early() == datetime(1970, 1, 1, tzinfo=UTC)
    assert late() == datetime(1970, 1, 2, tzinfo=UTC)
    assert early() == datetime(1970, 1, 1, tzinfo=UTC)


def test_the_service_reads_the_clock_it_is_given(world: World) -> None:
    time = HandMovedTime(1_700_000_000.0)
    service = MockService(world, clock=Clock(time))
    assert service.clock() == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    time.now += 3600
    assert service.clock() == datetime(2023, 11, 14, 23, 13, 20, tzinfo=UTC)


class LaterDatetime(datetime):
    """A datetime subclass (as time-freezing libraries make): orjson does not write it."""


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 12, 7, 19, 14, 11, tzinfo=UTC),
        datetime(2026, 12, 7, 19, 14, 11, 1000, tzinfo=UTC),
        datetime(2026, 12, 7, 19, 14, 11),
        datetime(2026, 6, 7, 19, 14, 11, tzinfo=ZoneInfo("Europe/Berlin")),
        datetime(2026, 12, 7, 19, 14, 11, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
        # offsets of seconds (historical local mean times): orjson would round them away
        datetime(2026, 12, 7, 19, 14, 11, tzinfo=timezone(timedelta(seconds=-3661))),
        datetime(1880, 1, 1, 12, tzinfo=ZoneInfo("Europe/Amsterdam")),
        LaterDatetime(2026, 12, 7, 19, 14, 11, tzinfo=UTC),
        date(2026, 12, 7),
    ],
    ids=repr,
)
def test_iso_text_is_isoformats_text(moment: date) -> None:
    assert iso_text(moment) == moment.isoformat()
