"""Run-time changes that reach every replica: settings, scenarios applied, reset, restored state.

The replica that takes the admin request changes the shared store once (sessions, tokens), then
writes the new control state under its namespace in one transaction and publishes it:

    asm:{ns}:control:epoch     counts resets: a replica on another epoch starts again from its
                           seeded world (a Redis emptied by a restart is a reset too)
    asm:{ns}:control:steps     what changed the world since the last reset, in order: a scenario
                           by name, or a restored state (by id: the list stays small)
    asm:{ns}:control:states    the restored state documents, by id
    asm:{ns}:control:settings  the run-time settings as the admin API shows them (none: each
                           replica's start-up settings)
    asm:{ns}:control       the channel: "look again"

Every replica's subscriber then reads the control state and catches up: its world is rebuilt
from the seeded world and the steps it has not applied (only those, when what it applied is a
prefix of them), scenarios' canned answers included; the settings are replaced. The same
catch-up runs at start-up and after every reconnection, so a replica misses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from asm_mock.domain.controls import Controls
from asm_mock.domain.scenarios import (
    CannedCheck,
    apply,
    load_scenarios,
    scenario_named,
    settings_changes,
)
from asm_mock.domain.service import MockService
from asm_mock.domain.world import World
from asm_mock.http.settings_format import settings_view
from asm_mock.shared.connection import RedisConnection
from asm_mock.shared.store import DEFAULT_NAMESPACE, key_prefix
from asm_mock.shared.tenant_expiry import REGISTRY

__all__ = ["ControlState", "ControlSync"]

_RECONNECT_S = 0.25
_WAIT_S = 1.0  # the subscriber's longest wait for a message before it looks again
_log = logging.getLogger("asm_mock.shared")
Step = dict[str, Any]  # {"scenario": name} or {"state": document}


@dataclass(frozen=True)
class ControlState:
    generation: int  # counts every change: a replica on this one has nothing to catch up
    epoch: int
    steps: tuple[Step, ...]
    settings: Mapping[str, Any] | None


def _control_key(part: str) -> str:
    """A part of the control state: its key under the namespace's prefix."""
    return f"control:{part}"


class ControlSync:
    """One replica's side of the control state: publishes its admin changes, applies others'."""

    def __init__(
        self,
        connection: RedisConnection,
        *,
        service: MockService,
        controls: Controls,
        scenarios: Path,
        canned: Callable[[], CannedCheck],
        on_reset: Callable[[], None] = lambda: None,
        namespace: str = DEFAULT_NAMESPACE,
        tenant: str | None = None,
    ) -> None:
        """`canned()` checks scenarios' canned answers (asked once a scenario is replayed);
        `on_reset` runs when this replica learns of a reset (its unshipped journal goes);
        `tenant`: the named tenant these controls are, marked served at each `refresh()`
        (`tenant_expiry.py`)."""
        self._connection = connection
        self._prefix = key_prefix(namespace)
        self._tenant = tenant
        self._keys = {
            part: self._prefix + _control_key(part)
            for part in ("epoch", "steps", "settings", "states", "ids", "generation")
        }
        self._channel = f"{self._prefix}control"
        self._service = service
        self._controls = controls
        self._scenarios = scenarios
        self._canned = canned
        self._on_reset = on_reset
        self._seeded: World = service.world()
        self._epoch = 0
        self._steps: list[Step] = []
        self._generation = -1  # of the control state last caught up with (-1: none yet)
        self._applying = asyncio.Lock()
        self._listener: asyncio.Task[None] | None = None
        self.applied = 0  # control states caught up with (for tests and health)

    def mark_start(self) -> None:
        """The current world is the seeded one a reset returns to (after start-up scenarios)."""
        self._seeded = self._service.world()

    # -- the originating replica --------------------------------------------------------------

    async def reset(self) -> None:
        async with self._applying:
            epoch = await self._write(lambda pipe: pipe.incr(self._keys["epoch"]), reset=True)
            self._epoch, self._steps = int(epoch), []
        await self.catch_up()

    async def settings_changed(self) -> None:
        await self._write(None)
        await self.catch_up()

    async def scenario_applied(self, name: str) -> None:
        await self._add_step({"scenario": name})

    async def state_restored(self, document: Mapping[str, Any]) -> None:
        state_id = int(await self._connection.run(lambda client: client.incr(self._keys["ids"])))
        await self._add_step({"state": state_id}, orjson.dumps(document))

    async def _add_step(self, step: Step, document: bytes | None = None) -> None:
        encoded = orjson.dumps(step)

        def change(pipe: Any) -> None:
            pipe.rpush(self._keys["steps"], encoded)
            if document is not None:
                pipe.hset(self._keys["states"], str(step["state"]), document)

        async with self._applying:
            await self._write(change)
            self._steps.append(step)
        await self.catch_up()

    async def _write(self, change: Callable[[Any], Any] | None, *, reset: bool = False) -> Any:
        """One transaction: the change, the settings as they are here now, the message."""
        settings = orjson.dumps(settings_view(self._controls.settings))

        async def write(client: Any) -> Any:
            async with client.pipeline(transaction=True) as pipe:
                if change is not None:
                    change(pipe)
                if reset:
                    pipe.delete(self._keys["steps"], self._keys["settings"], self._keys["states"])
                else:
                    pipe.set(self._keys["settings"], settings)
                pipe.incr(self._keys["generation"])
                pipe.publish(self._channel, b"changed")
                return (await pipe.execute())[0]

        return await self._connection.run(write)

    # -- every replica ----------------------------------------------------------------------------

    async def read(self) -> ControlState:
        async def read(client: Any) -> list[Any]:
            async with client.pipeline(transaction=True) as pipe:
                pipe.get(self._keys["epoch"])
                pipe.lrange(self._keys["steps"], 0, -1)
                pipe.get(self._keys["settings"])
                pipe.get(self._keys["generation"])
                return list(await pipe.execute())

        epoch, steps, settings, generation = await self._connection.run(read)
        return ControlState(
            generation=int(generation or 0),
            epoch=int(epoch or 0),
            steps=tuple(orjson.loads(step) for step in steps),
            settings=None if settings is None else orjson.loads(settings),
        )

    async def catch_up(self) -> None:
        """Make this replica's world, canned answers and settings those of the control state."""
        state = await self.read()
        async with self._applying:
            await self._apply(state)
            self._generation = state.generation
            self.applied += 1

    async def refresh(self) -> None:
        """Catch up if anything changed since the last catch-up: one GET when nothing did
        (a named tenant's requests ask it, as only the default tenant's changes are pushed)."""
        if self._tenant is None:
            key = self._keys["generation"]
            generation = await self._connection.run(lambda client: client.get(key))
        else:  # the step that reads it marks the tenant served: one round trip for both
            generation = await self._connection.step(
                "tenant_generation",
                self._prefix,
                _control_key("generation"),
                REGISTRY,
                self._tenant,
            )
        if int(generation or 0) != self._generation:
            await self.catch_up()

    async def _apply(self, state: ControlState) -> None:
        steps = list(state.steps)
        if state.epoch != self._epoch or steps[: len(self._steps)] != self._steps:
            if state.epoch != self._epoch:
                self._on_reset()
            self._controls.reset()  # start-up settings and canned answers, the seeded draws
            world, applied = self._seeded, []
        else:
            world, applied = self._service.world(), self._steps
        for step in steps[len(applied) :]:
            world = await self._replayed(step, world)
        if world is not self._service.world():
            self._service.adopt_world(world)
        if state.settings is not None:
            self._controls.update(**settings_changes(state.settings))
        self._epoch, self._steps = state.epoch, steps

    async def _replayed(self, step: Step, world: World) -> World:
        """`world` after `step`, without touching the store: the originator changed it once."""
        if "state" in step:
            from asm_mock.http.state_format import load_state

            document = await self._connection.run(
                lambda client: client.hget(self._keys["states"], str(step["state"]))
            )
            if document is None:  # a reset since: the next message says so
                return world
            return load_state(orjson.loads(document)).world
        scenario = scenario_named(
            load_scenarios(self._scenarios, canned=self._canned()), step["scenario"]
        )
        scratch = MockService(world)  # its store is its own: sessions and tokens are shared
        await apply(scenario, service=scratch, controls=self._controls)
        return scratch.world()

    # -- the subscriber ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Catch up with the control state now (a replica started later), then listen."""
        try:
            await self.catch_up()
        except Exception as error:  # the listener keeps trying
            _log.warning("control state not read at start-up (%s); retrying", error)
        self._listener = asyncio.create_task(self._listen(), name="asm-mock control listener")

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None

    async def _listen(self) -> None:
        while True:
            pubsub: Any = None
            try:
                client = await self._connection.client()
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                await pubsub.subscribe(self._channel)
                # what changed before the subscription (or while Redis was away)
                await self.catch_up()
                while True:
                    message = await pubsub.get_message(timeout=_WAIT_S)
                    if message is not None:
                        await self.catch_up()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # Redis away, or a step this replica cannot replay
                _log.warning("control listener: %s; reconnecting", type(error).__name__)
                await asyncio.sleep(_RECONNECT_S)
            finally:
                if pubsub is not None:
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()
