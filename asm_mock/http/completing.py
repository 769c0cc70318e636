"""The mock's own handlers, their answers fitted to the contract revision being served.

A world-backed handler answers in the shape of the packaged contract. When the served revision
differs (`--contract`), `CompletedAnswers.wrap` puts a `Completion` (asm_mock/contract/
complete.py) behind the handlers of the operations it changes; the others are handed back as
they are, so the packaged contract costs nothing. Answers that are pure functions of the world
come from the world memo as shared objects: each is completed once and the result kept beside
it, so the fast lane's per-object verdict and JSON are reused too.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from asm_mock.contract.complete import Completions

__all__ = ["CompletedAnswers"]

Handler = Callable[..., Awaitable[tuple[Any, int]]]


class CompletedAnswers:
    _KEPT = 1024  # completed shared answers, as many as the world memo keeps

    def __init__(self, plans: Completions, *, seed: Callable[[], int]) -> None:
        self._plans = plans
        self._seed = seed
        self._changed = frozenset(operation_id for operation_id, _ in plans.changed)
        # id(answer) -> (answer, completed): the answer is held, so its id is not reused
        self._done: OrderedDict[int, tuple[Any, Any]] = OrderedDict()

    @property
    def changes_answers(self) -> bool:
        """Whether any answer is completed (the served contract is not the packaged one)."""
        return bool(self._changed)

    def wrap(self, operation_id: str, handler: Handler) -> Handler:
        """`handler`, its answers completed; `handler` itself where nothing changes them.

        `functools.wraps` keeps the handler's signature visible, which is what Connexion and
        the fast lane read the arguments to pass from."""
        if operation_id not in self._changed:
            return handler

        @functools.wraps(handler)
        async def completed(*args: Any, **kwargs: Any) -> tuple[Any, int]:
            answer, status = await handler(*args, **kwargs)
            return self.complete(operation_id, status, answer), status

        return completed

    def complete(self, operation_id: str, status: int, answer: Any) -> Any:
        plan = self._plans(operation_id, status)
        if not plan.changes_answers:
            return answer
        kept = self._done.get(id(answer))
        if kept is not None and kept[0] is answer:
            self._done.move_to_end(id(answer))
            return kept[1]
        completed = plan.apply(answer, seed=self._seed())
        self._done[id(answer)] = (answer, completed)
        if len(self._done) > self._KEPT:
            self._done.popitem(last=False)
        return completed
