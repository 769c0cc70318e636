"""Answers that are pure functions of the world, computed once per world and reused.

The world is immutable: a search page, a customer's carts or the world's part of a 360 view
cannot change until the world itself is replaced (reset, a scenario, PUT state), which empties
the memo. Only the work is saved: every request is still authenticated and its parameters
checked, and each answer is validated against the contract before it is first sent (the fast lane
keeps a shared answer's verdict and JSON). Memoized values are shared between requests, so
nothing may modify them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from asm_mock.domain.world import World

__all__ = ["WorldMemo"]

T = TypeVar("T")


class WorldMemo:
    """A bounded least-recently-used memo, emptied whenever the world changes.

    1,024 answers: a full search page (100 entries) is ~14 KB, so at most ~14 MB, which a
    100k-customer world (~370 MiB) can afford under the 400 MB budget.
    """

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._world: World | None = None
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, world: World, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if world is self._world and key in self._values:
                self._values.move_to_end(key)
                return self._values[key]  # type: ignore[no-any-return]
        value = compute()  # outside the lock; errors are not memoized
        with self._lock:
            if world is not self._world:
                self._values.clear()
                self._world = world
            self._values[key] = value
            if len(self._values) > self._size:
                self._values.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._values)
