"""Run-time controls without HTTP: latency parsing, seeded draws, validated updates, reset."""

from __future__ import annotations

import pytest

from asm_mock.domain.controls import CannedAnswer, Controls, Latency, RuntimeSettings


def test_latency_parses_a_fixed_value_and_a_range() -> None:
    assert Latency.parse("120") == Latency(120, 120)
    assert Latency.parse(" 50-300 ") == Latency(50, 300)
    assert str(Latency(50, 300)) == "50-300"
    for bad in ("", "x", "300-50", "-5", "1-999999"):
        with pytest.raises(ValueError):
            Latency.parse(bad)


def test_draws_are_seeded_and_within_bounds() -> None:
    def draws(seed: int) -> list[int]:
        controls = Controls(RuntimeSettings(latency=Latency(50, 300)), seed=seed)
        return [controls.draw_delay_ms() for _ in range(50)]

    assert draws(1) == draws(1) != draws(2)
    assert all(50 <= d <= 300 for d in draws(3))


def test_error_rate_is_seeded_and_roughly_the_rate() -> None:
    controls = Controls(RuntimeSettings(error_rate=0.25), seed=4)
    hits = sum(controls.draw_injected_error() for _ in range(4000))
    assert 800 < hits < 1200
    assert not Controls(RuntimeSettings(), seed=4).draw_injected_error()


def test_updates_are_validated_and_reset_restores_the_start() -> None:
    controls = Controls(RuntimeSettings(), seed=1)
    with pytest.raises(ValueError):
        controls.update(error_rate=1.5)
    assert controls.settings.error_rate == 0.0
    controls.update(error_rate=0.5, permissive_auth=True)
    controls.set_canned("getAgent", CannedAnswer(404, {"errors": [{"type": "NotFoundError"}]}))
    assert controls.canned("getAgent") is not None
    controls.reset()
    assert controls.settings == RuntimeSettings()
    assert controls.canned("getAgent") is None


def test_draws_nothing_exactly_while_no_latency_and_no_error_rate_are_set() -> None:
    controls = Controls(RuntimeSettings(), seed=1)
    assert controls.draws_nothing
    controls.update(latency=Latency(0, 5))
    assert not controls.draws_nothing
    controls.update(latency=Latency(0, 0), error_rate=0.01)
    assert not controls.draws_nothing
    controls.reset()
    assert controls.draws_nothing
    assert controls.draw_delay_ms() == 0 and not controls.draw_injected_error()
