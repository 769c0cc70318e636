"""`Recorder`: the proxy's exchanges written as a scenario file that `asm-mock serve` replays.

`Recorder(directory, contract)` keeps `directory/scenarios/recorded.yaml` (another `name` may be
given): per operation a list of canned answers, one per distinct request (its `match`), the
more specific first. The same request recorded again changes nothing; a new answer to it
replaces the old one (the newest answer is the upstream's current behaviour). What the file held
before is kept, its description and anything else included. `directory` is a fixtures
directory: when it has no fixture files, the packaged ones (the demo agents and clients the
replay logs in with) are copied there, so `asm-mock serve --fixtures DIR --scenario recorded`
replays at once. Exchanges are recorded and written on a thread of the recorder's own, so the
client's answer never waits for them. Every write is a whole new file renamed over the old one,
so a crash leaves the previous file or the next, never half of one; a write that fails is
logged and retried with the next exchange.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import orjson
import yaml

from asm_mock.contract.compiled import CompiledContract
from asm_mock.domain.errors import FixtureError
from asm_mock.domain.fixtures import StrictLoader
from asm_mock.proxy.exchange import Exchange
from asm_mock.recording.entries import NotRecorded, entry_of
from asm_mock.recording.pseudonyms import Pseudonyms
from asm_mock.resources import default_fixtures_dir

__all__ = ["DEFAULT_NAME", "Recorder"]

DEFAULT_NAME = "recorded"
logger = logging.getLogger("asm_mock.recording")
_HEADER = (
    "# Recorded by asm-mock from an upstream: canned answers per operation and request, tried\n"
    "# in order (the first whose match fits answers; other requests are answered by the world).\n"
    "# Re-recording rewrites this file (comments are not kept); edit answers freely.\n"
)
_DESCRIPTION = "Answers recorded from an upstream; requests not recorded are answered by the world."


def _key(entry: dict[str, Any]) -> str:
    return orjson.dumps(entry.get("match", {}), option=orjson.OPT_SORT_KEYS).decode()


def _specificity(entry: dict[str, Any]) -> int:
    return sum(len(part) for part in entry.get("match", {}).values())


class Recorder:
    """An `on_exchange` hook of the proxy: `recorder(exchange)` records one exchange."""

    def __init__(
        self,
        directory: Path,
        contract: CompiledContract,
        *,
        pseudonymize: bool = False,
        name: str = DEFAULT_NAME,
    ) -> None:
        self.directory = directory
        self.path = directory / "scenarios" / f"{name}.yaml"
        self._contract = contract
        self._pseudonyms = Pseudonyms() if pseudonymize else None
        self._lock = threading.Lock()  # guards the queue; the document is the worker's own
        self._pending: list[Exchange] = []
        self._worker: threading.Thread | None = None
        self._document = self._read()
        self._dirty = False  # the document holds answers the file does not

    def _read(self) -> dict[str, Any]:
        """What the file holds already (a new document without one); refuses a file it would
        otherwise overwrite with less."""
        if not self.path.exists():
            return {"description": _DESCRIPTION, "responses": {}}
        file = self.path.name
        try:
            document = yaml.load(self.path.read_text("utf-8"), Loader=StrictLoader)  # noqa: S506
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            raise FixtureError(file, "", f"cannot record into it: {error}") from None
        if not isinstance(document, dict) or not isinstance(document.get("responses", {}), dict):
            raise FixtureError(file, "", "cannot record into it: not a scenario file")
        responses = document.setdefault("responses", {})
        for operation_id, answers in responses.items():
            if not isinstance(answers, dict | list):
                raise FixtureError(file, f"/responses/{operation_id}", "not a canned answer")
            responses[operation_id] = answers if isinstance(answers, list) else [answers]
        return document

    def __call__(self, exchange: Exchange) -> None:
        """Queue `exchange` for the writer thread: the proxy's event loop never waits for a
        file (nor for Faker's first import)."""
        with self._lock:
            self._pending.append(exchange)
            if self._worker is None or not self._worker.is_alive():
                # not a daemon: an exiting process finishes writing what it was handed
                self._worker = threading.Thread(target=self._work, name="asm-mock-recorder")
                self._worker.start()

    def flush(self) -> None:
        """Return once everything handed over so far is recorded (or its write failed)."""
        while (worker := self._worker) is not None and worker.is_alive():
            worker.join()

    def _work(self) -> None:
        while True:
            with self._lock:
                batch, self._pending = self._pending, []
                if not batch:
                    self._worker = None
                    return
            for exchange in batch:
                self._record(exchange)
            if self._dirty:
                self._write()

    def _record(self, exchange: Exchange) -> None:
        try:
            recorded = entry_of(exchange, self._contract, self._pseudonyms)
        except Exception as error:  # a bug: logged without the values it may have met
            logger.error("not recorded: %s failed on it (%s)", exchange.operation_id, type(error))
            return
        if isinstance(recorded, NotRecorded):
            logger.info("not recorded: %s", recorded.reason)
            return
        answers: list[dict[str, Any]] = self._document["responses"].setdefault(
            recorded.operation_id, []
        )
        same = next((i for i, a in enumerate(answers) if _key(a) == recorded.key), None)
        if same is None:
            answers.append(recorded.entry)
            answers.sort(key=_specificity, reverse=True)  # stable: the file's order stays
            self._dirty = True
        elif answers[same] != recorded.entry:
            answers[same] = recorded.entry
            self._dirty = True

    def _write(self) -> None:
        text = _HEADER + yaml.safe_dump(
            self._document, sort_keys=False, allow_unicode=True, width=100
        )
        temporary: str | None = None
        try:
            self._fixtures()
            with tempfile.NamedTemporaryFile(
                "w", encoding="utf-8", dir=self.path.parent, delete=False, suffix=".tmp"
            ) as stream:
                temporary = stream.name
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self.path)
            self._dirty = False
        except OSError as error:
            logger.error(
                "recording not written to %s (retried with the next answer): %s",
                self.path,
                error.strerror or error,
            )
            if temporary is not None:
                Path(temporary).unlink(missing_ok=True)

    def _fixtures(self) -> None:
        """The packaged fixtures, copied where `directory` has none of its own."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not any(self.directory.glob("*.yaml")):
            for source in default_fixtures_dir().glob("*.yaml"):
                shutil.copyfile(source, self.directory / source.name)
