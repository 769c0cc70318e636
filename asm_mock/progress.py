"""Progress on stderr while a world's customers are generated: a bar on a terminal (rich's when
it is installed), a line every 10% elsewhere, and nothing for small worlds off a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from asm_mock.domain.generate import Progress

__all__ = ["LARGE_WORLD", "TextProgress", "world_progress"]

LARGE_WORLD = 20_000  # customers; a world this large shows progress even without a terminal


class TextProgress:
    """A bar redrawn in place (carriage return) on a terminal; elsewhere, a line every 10%."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._shown = -1

    def __call__(self, done: int, total: int) -> None:
        percent = done * 100 // max(total, 1)
        if self._tty:
            filled = percent * 30 // 100
            bar = "#" * filled + "." * (30 - filled)
            self._stream.write(
                f"\rbuilding the world [{bar}] {percent:3d}% {done}/{total} customers"
            )
        elif percent // 10 > self._shown // 10:
            self._stream.write(f"asm-mock: building the world: {done}/{total} customers\n")
        else:
            return
        self._shown = percent
        self._stream.flush()

    def close(self) -> None:
        if self._tty and self._shown >= 0:
            self._stream.write("\n")
            self._stream.flush()


@contextmanager
def world_progress(customers: int) -> Iterator[Progress | None]:
    """Progress on stderr while customers are generated: on a terminal, or for a large world."""
    stream = sys.stderr
    if customers == 0 or not (stream.isatty() or customers >= LARGE_WORLD):
        yield None
        return
    if stream.isatty():
        try:
            from rich.console import Console
            from rich.progress import Progress as RichProgress
        except ImportError:
            pass
        else:
            with RichProgress(console=Console(file=stream), transient=True) as bar:
                task = bar.add_task("building the world", total=customers)
                yield lambda done, total: bar.update(task, completed=done, total=total)
            return
    text = TextProgress(stream)
    try:
        yield text
    finally:
        text.close()
