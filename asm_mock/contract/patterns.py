"""Strings that match a JSON Schema `pattern`, drawn with rstr from a seeded `random.Random`.

rstr (maintained, typed, no dependencies) turns a regex into a random matching string; two of its
methods are extended here for reproducible, realistic output, so it is pinned exactly.
JSON Schema patterns are ECMA-262 and searched, not matched; Python's `re` reads most of them,
and named groups `(?<name>...)` are respelled for it.
"""

from __future__ import annotations

import random
import re
import warnings
from typing import Any

from rstr.xeger import Xeger

__all__ = ["matching_string", "search"]

_PLAIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_NAMED_GROUP = re.compile(r"\(\?<([A-Za-z_][A-Za-z0-9_]*)>")


class _Xeger(Xeger):
    """rstr's Xeger with reproducible, realistic output.

    rstr draws negated classes from a `set`, whose order depends on PYTHONHASHSEED, and repeats
    `*`/`+` up to 100 times; here classes are sorted and open repeats stay short. Lookarounds
    generate nothing: the caller's `re.search` check and redraws enforce them.
    """

    def __init__(self, rng: random.Random) -> None:
        super().__init__(
            rng,
            printable=_PLAIN + " -_.",
            nonword=" -.,:;/@#",
            whitespace=" ",
            nonwhitespace=_PLAIN + "-_.",
        )

    def _handle_in(self, value: Any) -> Any:
        candidates = [c for state in value for c in self._handle_state(state)]
        if candidates and candidates[0] is False:
            excluded = set(candidates[1:])
            candidates = [c for c in _PLAIN + " -_." if c not in excluded]
        return self._random.choice(candidates)

    stretch = 0  # at least this many repeats where a quantifier allows: for a long minLength

    def _handle_repeat(self, start_range: int, end_range: int, value: Any) -> str:
        least = max(start_range, min(self.stretch, end_range))
        times = self._random.randint(least, min(end_range, least + 6))
        return "".join("".join(self._handle_state(s) for s in value) for _ in range(times))

    def _handle_state(self, state: Any) -> Any:
        if state[0].name.lower() in ("assert", "assert_not"):
            return ""
        return super()._handle_state(state)


def _python_regex(pattern: str) -> str:
    """An ECMA-262 pattern in Python's syntax, where they differ in a way that matters here."""
    return _NAMED_GROUP.sub(r"(?P<\1>", pattern)


def _compile(pattern: str) -> re.Pattern[str]:
    with warnings.catch_warnings():  # "possible nested set" and the like: the pattern is the
        warnings.simplefilter("ignore", FutureWarning)  # contract's, nothing to act on here
        return re.compile(_python_regex(pattern))


def search(pattern: str, text: str) -> bool:
    try:
        return _compile(pattern).search(text) is not None
    except re.error:
        return False


def matching_string(pattern: str, rng: random.Random, low: float, high: float) -> str | None:
    """A string `pattern` matches (searched, as JSON Schema means it), of length low..high, or
    None if none was found in a bounded number of draws."""
    with warnings.catch_warnings():  # rstr parses the pattern again: the same warnings
        warnings.simplefilter("ignore", FutureWarning)
        try:
            return _draw_matching(_compile(pattern), rng, low, high)
        except (re.error, KeyError, IndexError, ValueError, TypeError):
            return None


def _draw_matching(
    compiled: re.Pattern[str], rng: random.Random, low: float, high: float
) -> str | None:
    xeger = _Xeger(rng)
    for attempt in range(40):
        xeger.stretch = 0 if attempt < 10 else int(low * (attempt - 9) / 10)
        text = xeger.xeger(compiled.pattern)
        if not compiled.search(text):
            continue
        if len(text) < low and not compiled.pattern.endswith("$"):
            text += "".join(rng.choice(_PLAIN) for _ in range(int(low) - len(text)))
        if low <= len(text) <= high and compiled.search(text):
            return text
    return None
