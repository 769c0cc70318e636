"""The mock's answers fitted to the contract revision being served: its handlers' and its errors'.

A world-backed handler answers in the shape of the packaged contract. When the served revision
differs (`--contract`), `CompletedAnswers.wrap` puts a `Completion` (asm_mock/contract/
complete.py) behind the handlers of the operations it changes; the others are handed back as
they are, so the packaged contract costs nothing. Answers that are pure functions of the world
come from the world memo as shared objects: each is completed once and the result kept beside
it, so the fast lane's per-object verdict and JSON are reused too. Error answers are made in
many places (guards, the lane, Connexion's handlers), so `CompletedErrors` fits them where they
leave the API, only when the revision changed an error schema.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from asm_mock.contract.complete import Completions
from asm_mock.http.headers import first_header

__all__ = ["CompletedAnswers", "CompletedErrors"]

Handler = Callable[..., Awaitable[tuple[Any, int]]]


class CompletedAnswers:
    _KEPT = 1024  # completed shared answers, as many as the world memo keeps

    def __init__(self, plans: Completions, *, seed: Callable[[], int]) -> None:
        self._plans = plans
        self._seed = seed
        self._changed = frozenset(operation_id for operation_id, _ in plans.changed)
        self._errors_changed = frozenset(op for op, status in plans.changed if status >= 400)
        # id(answer) -> (answer, completed): the answer is held, so its id is not reused
        self._done: OrderedDict[int, tuple[Any, Any]] = OrderedDict()

    @property
    def changes_answers(self) -> bool:
        """Whether any answer is completed (the served contract is not the packaged one)."""
        return bool(self._changed)

    def changes_errors(self, operation_id: str | None = None) -> bool:
        """Whether error answers (of `operation_id`, or of any operation) are completed."""
        if operation_id is None:
            return bool(self._errors_changed)
        return operation_id in self._errors_changed

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


class CompletedErrors:
    """ASGI, around the API: a JSON error answer (4xx/5xx) of an operation whose error schema the
    revision changed is completed like the handlers' answers before it leaves. Other answers
    pass untouched, and so does an error body that is not JSON (a fault)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        completed: CompletedAnswers,
        operation_of: Callable[[str, str], str | None],
    ) -> None:
        self._app = app
        self._completed = completed
        self._operation_of = operation_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        operation_id = (
            self._operation_of(scope["method"], scope["path"]) if scope["type"] == "http" else None
        )
        if operation_id is None or not self._completed.changes_errors(operation_id):
            await self._app(scope, receive, send)
            return
        held: list[Message] = []  # an error answer's start and body, until it is whole

        async def completing(message: Message) -> None:
            if message["type"] == "http.response.start":
                if message["status"] < 400 or _media_type(message) != "application/json":
                    await send(message)
                else:
                    held.append(message)
            elif not held:
                await send(message)
            else:
                held.append(message)
                if not message.get("more_body"):
                    await self._send_completed(operation_id, held, send)
                    held.clear()

        await self._app(scope, receive, completing)
        for message in held:  # an answer left unfinished (a fault): as it was
            await send(message)

    async def _send_completed(self, operation_id: str, held: list[Message], send: Send) -> None:
        start, body = held[0], b"".join(m.get("body", b"") for m in held[1:])
        try:
            answer = orjson.loads(body)
        except orjson.JSONDecodeError:
            completed = body
        else:
            done = self._completed.complete(operation_id, start["status"], answer)
            completed = body if done is answer else orjson.dumps(done)
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(completed)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": completed})


def _media_type(start: Message) -> str:
    return (first_header(start["headers"], b"content-type") or "").split(";")[0].strip()
