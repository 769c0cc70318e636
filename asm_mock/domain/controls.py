"""What changes the mock's behaviour at run time, beyond its world: latency, injected errors,
the auth mode, and canned answers that scenarios put in front of operations.

One `Controls` object per running mock; the admin API and scenarios change it, the HTTP layer
reads it on every request. Changes replace whole values under a lock, so a reader never sees a
half-applied change.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "CannedAnswer",
    "CannedRequest",
    "Controls",
    "Latency",
    "RequestMatch",
    "RuntimeSettings",
]


@dataclass(frozen=True, slots=True)
class Latency:
    """A fixed delay (low == high) or a uniform range, in milliseconds."""

    low_ms: int = 0
    high_ms: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.low_ms <= self.high_ms <= 60_000:
            raise ValueError("latency must satisfy 0 <= low <= high <= 60000 ms")

    @classmethod
    def parse(cls, text: str) -> Latency:
        """'120' (fixed) or '50-300' (uniform range), in ms."""
        low, sep, high = text.strip().partition("-")
        try:
            return cls(int(low), int(high) if sep else int(low))
        except ValueError as error:
            raise ValueError(f"latency {text!r}: expected MS or LOW-HIGH in ms ({error})") from None

    def __str__(self) -> str:
        return str(self.low_ms) if self.low_ms == self.high_ms else f"{self.low_ms}-{self.high_ms}"


@dataclass(frozen=True, slots=True)
class CannedRequest:
    """What a canned answer is matched against: a request's path parameters, its query (the
    first value of each name) and its parsed body (None without one)."""

    path: Mapping[str, str]
    query: Mapping[str, str]
    body: Any = None


@dataclass(frozen=True, slots=True)
class RequestMatch:
    """The requests a canned answer answers: every path parameter, query parameter and
    top-level body field it names has exactly that value; what it does not name may be anything."""

    path: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, Any] | None = None

    @property
    def needs_body(self) -> bool:
        return self.body is not None

    def matches(self, request: CannedRequest) -> bool:
        if any(request.path.get(k) != v for k, v in self.path.items()):
            return False
        if any(request.query.get(k) != v for k, v in self.query.items()):
            return False
        if self.body is None:
            return True
        body = request.body
        return isinstance(body, dict) and all(
            k in body and body[k] == v for k, v in self.body.items()
        )


@dataclass(frozen=True, slots=True)
class CannedAnswer:
    """A fixed answer for an operation: a documented status and a contract-valid body; with a
    `match`, for the requests it matches only. `violations` marks a recorded body that breaks
    the contract, replayed as the upstream sent it."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)
    match: RequestMatch | None = None
    violations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RuntimeSettings:
    latency: Latency = Latency()
    error_rate: float = 0.0  # share of API requests answered 503, seeded
    permissive_auth: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError("error rate must be between 0 and 1")


class Controls:
    def __init__(self, settings: RuntimeSettings, *, seed: int) -> None:
        self._lock = threading.Lock()
        self._settings = settings
        self._initial = settings
        self._canned: dict[str, tuple[CannedAnswer, ...]] = {}
        self._initial_canned: dict[str, tuple[CannedAnswer, ...]] = {}
        self._seed = seed
        self._rng = random.Random(f"controls:{seed}")

    @property
    def settings(self) -> RuntimeSettings:
        return self._settings

    def update(self, **changes: Any) -> RuntimeSettings:
        """Change some settings (validated as a whole), returning the new ones."""
        with self._lock:
            self._settings = replace(self._settings, **changes)
            return self._settings

    def canned_answers(self, operation_id: str | None) -> tuple[CannedAnswer, ...]:
        """Every canned answer of the operation, in the order they are tried (none: ())."""
        return self._canned.get(operation_id or "", ())

    def canned(
        self, operation_id: str | None, request: CannedRequest | None = None
    ) -> CannedAnswer | None:
        """The first canned answer of the operation that answers `request` (without one: the
        first that answers every request), or None: the world answers."""
        for answer in self.canned_answers(operation_id):
            if answer.match is None or (request is not None and answer.match.matches(request)):
                return answer
        return None

    def set_canned(self, operation_id: str, answers: CannedAnswer | Sequence[CannedAnswer]) -> None:
        """Put `answers` (tried in order) in front of the operation, replacing its former ones."""
        given = (answers,) if isinstance(answers, CannedAnswer) else tuple(answers)
        with self._lock:
            self._canned = {**self._canned, operation_id: given}

    def mark_start(self) -> None:
        """Make the current settings and canned answers what `reset()` returns to."""
        with self._lock:
            self._initial = self._settings
            self._initial_canned = dict(self._canned)

    def as_started(self) -> Controls:
        """New controls at what `reset()` returns to (a new tenant's): the started settings and
        canned answers, the seeded draws from their start."""
        with self._lock:
            started = Controls(self._initial, seed=self._seed)
            started._canned = dict(self._initial_canned)
        started.mark_start()
        return started

    def reset(self) -> None:
        """Back to the settings (and canned answers) the mock started with; the seeded draws."""
        with self._lock:
            self._settings = self._initial
            self._canned = dict(self._initial_canned)
            self._rng = random.Random(f"controls:{self._seed}")

    @property
    def draws_nothing(self) -> bool:
        """No latency and no error rate: `draw_delay_ms()` and `draw_injected_error()` would
        answer 0 and False without drawing."""
        settings = self._settings
        return settings.latency.high_ms == 0 and settings.error_rate <= 0.0

    def draw_delay_ms(self) -> int:
        latency = self._settings.latency
        if latency.high_ms == 0:
            return 0
        with self._lock:
            return self._rng.randint(latency.low_ms, latency.high_ms)

    def draw_injected_error(self) -> bool:
        rate = self._settings.error_rate
        if rate <= 0.0:
            return False
        with self._lock:
            return self._rng.random() < rate
