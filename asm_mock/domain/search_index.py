"""An n-gram index over search haystacks: exact substring search without scanning them.

`SearchIndex(haystacks).matches(needle)` answers exactly what
`[i for i, h in enumerate(haystacks) if needle in h]` answers, for a non-empty needle without a
NUL, from posting lists (numpy arrays in CSR form) instead of a scan:

- Text is UTF-8 (`surrogatepass`, so any str encodes). Matching UTF-8 bytes is matching
  characters: UTF-8 is self-synchronising, so a needle's bytes occur only where its characters do.
- 1- and 2-grams (bytes, pairs of bytes): the haystacks containing each, ascending. A needle of
  one or two bytes is answered by its list alone.
- 3-grams: every *position* each occurs at, ascending. Position = haystack << shift | offset,
  with 2**shift longer than any haystack, so a position's haystack is one shift away. A needle of
  L >= 3 bytes starts at position p iff each of its trigrams occurs at p + its offset; trigrams at
  offsets 0, 3, 6, ... and L - 3 cover every byte, so checking those is exact (no string compare).
  The rarest one proposes start positions, the others confirm them: by binary search in their
  list, or, for the few very frequent trigrams (the `example.com` of every email), by one bit in
  a bitmap over all positions, which costs O(1) instead of O(log n) per candidate.
- No n-gram holding a NUL is indexed (the haystacks' field separator): a needle never holds one,
  so, as with `needle in haystack` on `name\\0uid\\0customerId`, no match spans two fields.

numpy is imported only here, and this module only for worlds large enough to want an index (see
`World`), so the default 200-customer world starts without paying numpy's import.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["SearchIndex"]

# A 3-gram gets a bitmap of all positions when its list is at least this share of them: the
# bitmap then costs at most 8x the list's memory (1 bit per position vs 32 bits per entry).
_BITMAP_SHARE = 256


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


class _Postings:
    """Posting lists in CSR form: sorted distinct n-gram codes, and per code a slice of values."""

    __slots__ = ("_codes", "_offsets", "_values")

    def __init__(self, keys: NDArray[np.int64], codes: NDArray[np.int64]) -> None:
        """From keys `code << 32 | value` sorted ascending, and their distinct codes ascending."""
        self._codes = codes
        self._offsets: NDArray[np.int64] = np.append(np.searchsorted(keys, codes << 32), len(keys))
        keys &= 0xFFFFFFFF
        self._values: NDArray[np.uint32] = keys.astype(np.uint32)

    def get(self, code: int) -> NDArray[np.uint32]:
        at = int(np.searchsorted(self._codes, code))
        if at == len(self._codes) or int(self._codes[at]) != code:
            return self._values[:0]
        return self._values[int(self._offsets[at]) : int(self._offsets[at + 1])]

    def frequent(self, at_least: int) -> list[int]:
        """The codes with at least this many values."""
        return [int(c) for c in self._codes[np.diff(self._offsets) >= at_least]]

    @property
    def nbytes(self) -> int:
        return int(self._codes.nbytes + self._offsets.nbytes + self._values.nbytes)


def _distinct(values: NDArray[np.int64]) -> NDArray[np.int64]:
    """Sorted values, each once (np.unique took seconds for millions of int64 here, numpy 2.4)."""
    if len(values) < 2:
        return values
    return values[np.concatenate(([True], values[1:] != values[:-1]))]


class SearchIndex:
    """Which haystacks contain a needle, ascending (the haystacks' order), without scanning."""

    __slots__ = ("_bitmaps", "_count", "_docs1", "_docs2", "_positions3", "_shift")

    _CHUNK = 4096  # haystacks per step of the build: its scratch arrays stay small

    def __init__(self, haystacks: Sequence[str]) -> None:
        count = len(haystacks)
        encoded = [_encode(h) for h in haystacks]
        lengths = np.fromiter((len(e) + 1 for e in encoded), dtype=np.int64, count=count)
        shift = int(lengths.max(initial=1) - 1).bit_length()  # 2**shift > every haystack
        if count << shift > 2**32:
            raise ValueError("too much text for one search index (positions are 32-bit)")
        self._count = count
        self._shift = shift
        # One n-gram size after the other, so that only one size's keys exist at a time.
        self._docs1 = self._postings(1, encoded, lengths)
        self._docs2 = self._postings(2, encoded, lengths)
        self._positions3 = self._postings(3, encoded, lengths)
        self._bitmaps: dict[int, NDArray[np.uint8]] = {}
        space = count << shift
        for code in self._positions3.frequent(max(space // _BITMAP_SHARE, 1)):
            bits = np.zeros(space, dtype=np.bool_)
            bits[self._positions3.get(code)] = True
            self._bitmaps[code] = np.packbits(bits, bitorder="little")

    def _postings(
        self, size: int, encoded: Sequence[bytes], lengths: NDArray[np.int64]
    ) -> _Postings:
        """The posting lists of one n-gram size, built chunk by chunk of haystacks.

        Each chunk's keys arrive sorted and are copied into one array (there are fewer n-grams
        than bytes); one stable sort then merges these sorted runs (Timsort: near-linear).
        """
        keys = np.empty(int(lengths.sum()), dtype=np.int64)
        codes = []
        filled = 0
        for first in range(0, len(encoded), self._CHUNK):
            last = first + self._CHUNK
            chunk = self._chunk_keys(size, encoded[first:last], lengths[first:last], first)
            keys[filled : filled + len(chunk)] = chunk
            filled += len(chunk)
            codes.append(_distinct(chunk >> 32))
            del chunk
        keys = keys[:filled]
        keys.sort(kind="stable")
        all_codes = np.concatenate(codes) if codes else keys[:0]
        all_codes.sort()
        return _Postings(keys, _distinct(all_codes))

    def _chunk_keys(
        self, size: int, encoded: Sequence[bytes], lengths: NDArray[np.int64], first: int
    ) -> NDArray[np.int64]:
        """Sorted keys `code << 32 | value` of the chunk's n-grams of `size` bytes.

        1- and 2-grams: value = haystack, each (code, haystack) once (a chunk holds whole
        haystacks, so no repeat spans two chunks); 3-grams: value = position, that is
        haystack << shift | offset in the haystack.
        """
        # Each haystack followed by a NUL, so no n-gram without a NUL spans two of them.
        buffer = np.frombuffer(b"\0".join(encoded) + b"\0", dtype=np.uint8)
        doc = np.repeat(np.arange(first, first + len(encoded), dtype=np.int64), lengths)
        byte = buffer.astype(np.int64)
        live = buffer != 0
        if size == 1:
            keys = (byte << 32 | doc)[live]
        elif size == 2:
            keys = (byte[:-1] << 40 | byte[1:] << 32 | doc[:-1])[live[:-1] & live[1:]]
        else:
            offset = np.arange(len(buffer), dtype=np.int64)
            offset -= np.repeat(np.cumsum(lengths) - lengths, lengths)
            position = doc << self._shift | offset
            codes = byte[:-2] << 48 | byte[1:-1] << 40 | byte[2:] << 32
            keys = (codes | position[:-2])[live[:-2] & live[1:-1] & live[2:]]
        keys.sort()
        return _distinct(keys) if size < 3 else keys

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        """What the index's arrays hold, in bytes."""
        bitmaps = sum(b.nbytes for b in self._bitmaps.values())
        return self._docs1.nbytes + self._docs2.nbytes + self._positions3.nbytes + bitmaps

    def matches(self, needle: str) -> NDArray[np.uint32]:
        """Ascending indexes of the haystacks containing `needle` (non-empty, no NUL in it)."""
        if not needle or "\0" in needle:
            raise ValueError("the needle must be non-empty and hold no NUL")
        data = _encode(needle)
        if len(data) == 1:
            return self._docs1.get(data[0])
        if len(data) == 2:
            return self._docs2.get(data[0] << 8 | data[1])
        return self._long_matches(data)

    def page(self, needle: str, start: int, size: int) -> tuple[int, list[int]]:
        """How many haystacks contain `needle`, and the indexes of hits start..start+size-1."""
        found = self.matches(needle)
        return len(found), found[start : start + size].tolist()

    def _long_matches(self, data: bytes) -> NDArray[np.uint32]:
        last = len(data) - 3
        stride = 1 << self._shift
        if last >= stride:  # longer than any haystack
            return np.zeros(0, dtype=np.uint32)
        checks = []
        for j in sorted({*range(0, last + 1, 3), last}):
            code = data[j] << 16 | data[j + 1] << 8 | data[j + 2]
            checks.append((self._positions3.get(code), self._bitmaps.get(code), j))
        checks.sort(key=lambda check: len(check[0]))  # the rarest trigram proposes
        anchor, _, anchor_offset = checks[0]
        # Start positions if the anchor is the needle's: within the anchor's haystack, with room
        # for the whole needle below the next haystack's positions. (The checks alone would
        # already fail across haystacks: they are at most 3 apart, and every haystack ends with
        # at least 3 positions where no trigram starts. The guard states it, for two compares.)
        offsets = anchor & np.uint32(stride - 1)
        fits = (offsets >= anchor_offset) & (offsets < stride - last + anchor_offset)
        starts = anchor[fits] - np.uint32(anchor_offset)
        for positions, bitmap, offset in checks[1:]:
            if len(starts) == 0:
                break
            wanted = starts + np.uint32(offset)
            if bitmap is not None:
                found = (bitmap[wanted >> 3] >> (wanted & 7).astype(np.uint8)) & 1
                starts = starts[found.astype(np.bool_)]
            else:
                at = np.searchsorted(positions, wanted)
                at[at == len(positions)] = 0
                starts = starts[positions[at] == wanted]
        docs: NDArray[np.uint32] = starts >> np.uint32(self._shift)
        if len(docs) > 1:
            docs = docs[np.concatenate(([True], docs[1:] != docs[:-1]))]
        return docs
