"""The customer search indexes answer exactly what scanning the haystacks answers."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asm_mock.domain.bitset_index import BitsetIndex
from asm_mock.domain.fixtures import Fixtures
from asm_mock.domain.generate import build_world
from asm_mock.domain.model import BaseSite, Customer
from asm_mock.domain.search import search_customers
from asm_mock.domain.search_index import SearchIndex
from asm_mock.domain.world import SEARCH_INDEX_MIN_CUSTOMERS, World

BENCH_QUERIES = ("a", "we", "mar", "son", "lin", "example", "ber", "an", "mu", "ch", "wolf", "e")
ODD_QUERIES = (
    "ü",
    "ß",
    "é",
    "zzzzqqq",
    "mary ann",
    "  Mar  ",
    "EXAMPLE.COM",
    ".com",
    "@",
    "-4",
    "x" * 300,
    "a\0b",
    "\0",
)


def scan(haystacks: tuple[str, ...], needle: str) -> list[int]:
    """The reference: a plain linear scan."""
    return [i for i, text in enumerate(haystacks) if needle in text]


def reference_search(world: World, site: BaseSite, query: str) -> list[Customer]:
    needle = query.strip().lower()
    customers = world.customers_on(site)
    if not needle:
        return list(customers)
    if "\0" in needle:  # never matches, not even across two fields
        return []
    return [c for c in customers if needle in f"{c.name.lower()}\0{c.uid}\0{c.customer_id}"]


def substrings(texts: tuple[str, ...], rng: random.Random, count: int) -> list[str]:
    found = []
    for _ in range(count):
        text = rng.choice(texts)
        start = rng.randrange(len(text))
        found.append(text[start : start + rng.randint(1, 40)])
    return found


# -- the index alone, on awkward text ----------------------------------------------------------

AWKWARD = (
    "jürgen müller\0juergen.mueller@example.com\0a1b2",
    "straße ßß\0STRASSE@Example.COM\0UPPER-ID",
    "émile zola\0emile@example.org\0",
    "\0\0",
    "",
    "x",
    "xx",
    "ab\0ab\0ab",
    "🙂 smiley 🙂\0smile@example.net\0id-🙂",
    "lone \ud800 surrogate\0s@example.com\0id",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "abcabcabcabc\0abc\0cab",
)


INDEXES = pytest.mark.parametrize("make_index", [SearchIndex, BitsetIndex])
Index = type[SearchIndex] | type[BitsetIndex]


def matches(index: SearchIndex | BitsetIndex, needle: str) -> list[int]:
    found = index.matches(needle)
    return found if isinstance(found, list) else found.tolist()


@INDEXES
def test_the_index_finds_what_a_scan_finds_in_awkward_text(make_index: Index) -> None:
    index = make_index(AWKWARD)
    needles = {
        text[i:j]
        for text in AWKWARD
        for i in range(len(text))
        for j in range(i + 1, min(len(text), i + 12) + 1)
    }
    needles |= {"zz", "q", "müller", "ß", "🙂", "\ud800", "a" * 91, "a" * 92, "abcab", "bca"}
    needles = {n for n in needles if "\0" not in n}
    for needle in sorted(needles):
        assert matches(index, needle) == scan(AWKWARD, needle), needle


@INDEXES
def test_a_needle_never_matches_across_fields_or_haystacks(make_index: Index) -> None:
    index = make_index(("ab\0cd", "ef"))
    assert matches(index, "bc") == []
    assert matches(index, "b") == [0]
    assert matches(index, "de") == []  # the end of one haystack, the start of the next
    assert matches(index, "dxe") == []


@INDEXES
def test_an_index_of_nothing_finds_nothing(make_index: Index) -> None:
    assert matches(make_index(()), "abc") == []
    assert make_index(()).page("a", 0, 20) == (0, [])
    assert len(make_index(())) == 0


@INDEXES
def test_the_index_refuses_needles_search_never_asks_for(make_index: Index) -> None:
    index = make_index(("abc",))
    for needle in ("", "a\0b"):
        with pytest.raises(ValueError):
            index.matches(needle)
        with pytest.raises(ValueError):
            index.page(needle, 0, 20)


# Haystacks from a small alphabet, so that needles hit often, miss often, and a long needle's
# trigrams are often all present without the needle itself (candidates a check must drop).
_TEXT = st.text(alphabet="abc\0é", max_size=12)


@INDEXES
@given(
    haystacks=st.lists(_TEXT, max_size=70),
    needle=st.text(alphabet="abcé", min_size=1, max_size=6),
    start=st.integers(0, 80),
    size=st.integers(1, 30),
)
def test_a_page_of_hits_is_that_slice_of_a_scan(
    make_index: Index, haystacks: list[str], needle: str, start: int, size: int
) -> None:
    expected = scan(tuple(haystacks), needle)
    assert make_index(haystacks).page(needle, start, size) == (
        len(expected),
        expected[start : start + size],
    )


def test_a_long_needle_with_many_candidates_is_confirmed_by_a_scan() -> None:
    # "abcd" holds every trigram of "abcabc", but not the needle; most haystacks are candidates
    haystacks = ["abcabc"] * 30 + ["abcd", "xbcab"] * 10 + ["abcabc"]
    index = BitsetIndex(haystacks)
    assert index.page("abcabc", 0, 100) == (31, [*range(30), 50])
    assert index.page("abcabc", 29, 3) == (31, [29, 50])
    few = BitsetIndex(["zzzz"] * 40 + ["abcd", "abcabc", "bcab"])
    assert few.page("abcabc", 0, 100) == (1, [41])


def test_a_needle_longer_than_every_haystack_is_answered_without_reading_the_index() -> None:
    class Lookups(dict[str, int]):
        count = 0

        def get(self, key: str, default: int = 0) -> int:  # type: ignore[override]
            Lookups.count += 1
            return super().get(key, default)

    index = BitsetIndex(["aaaaaa", "baaaaaaa"])
    index._masks = Lookups(index._masks)  # type: ignore[misc]
    assert index.page("a" * 100_000, 0, 20) == (0, [])
    assert Lookups.count == 0
    assert index.page("a" * 7, 0, 20) == (1, [1])  # as long as the longest: still searched


# -- search in a world large enough to be indexed ----------------------------------------------


@pytest.fixture(scope="module")
def indexed_world(shipped_fixtures: Fixtures) -> World:
    return build_world(seed=5, customers=SEARCH_INDEX_MIN_CUSTOMERS, fixtures=shipped_fixtures)


def test_a_large_world_has_a_numpy_index_per_site_and_a_small_one_a_bitset_index(
    indexed_world: World, world: World
) -> None:
    for site in indexed_world.sites.values():
        index = indexed_world.search_index(site)
        assert isinstance(index, SearchIndex)
        assert len(index) == len(indexed_world.customers_on(site))
    for site in world.sites.values():
        index = world.search_index(site)
        assert isinstance(index, BitsetIndex)
        assert len(index) == len(world.customers_on(site))
        assert world.search_index(site) is index  # built on the first search, then kept


def PAGES(hits: int) -> tuple[tuple[int, int], ...]:  # noqa: N802 - reads as a table
    """(page size, current page): first pages, the last one, and one past every hit."""
    return ((20, 0), (7, 1), (100, 0), (3, hits // 3), (20, hits // 20 + 1), (1, hits))


@pytest.mark.parametrize("size", ["small", "large"])
def test_search_answers_like_a_scan_across_sites_and_pages(
    size: str, world: World, indexed_world: World
) -> None:
    searched = world if size == "small" else indexed_world
    rng = random.Random(20260115)
    for site in searched.sites.values():
        customers = searched.customers_on(site)
        names = tuple(c.name for c in customers)
        queries = [*BENCH_QUERIES, *ODD_QUERIES, ""]
        queries += substrings(names, rng, 60)
        queries += substrings(tuple(c.uid for c in customers), rng, 60)
        queries += substrings(tuple(c.customer_id for c in customers), rng, 30)
        queries += [c.uid for c in rng.sample(customers, 5)]
        queries += [c.customer_id.upper() for c in rng.sample(customers, 5)]
        queries += [f" {q.upper()} " for q in substrings(names, rng, 10)]
        for query in queries:
            expected = reference_search(searched, site, query)
            for page_size, current_page in PAGES(len(expected)):
                page = search_customers(
                    searched, site, query, current_page=current_page, page_size=page_size
                )
                start = current_page * page_size
                assert page.total_results == len(expected), query
                assert list(page.entries) == expected[start : start + page_size], query


def test_indexed_search_reads_no_haystack(
    indexed_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = indexed_world.sites["electronics-spa"]
    expected = {q: reference_search(indexed_world, site, q) for q in BENCH_QUERIES + ODD_QUERIES}

    def no_scan(self: World, site: BaseSite) -> tuple[str, ...]:
        raise AssertionError("search scanned the haystacks")

    monkeypatch.setattr(World, "search_haystacks", no_scan)
    for query, hits in expected.items():
        page = search_customers(indexed_world, site, query, page_size=100)
        assert (page.total_results, list(page.entries)) == (len(hits), hits[:100])


def test_the_default_world_starts_without_numpy() -> None:
    code = (
        "import sys\n"
        "from asm_mock.domain.fixtures import load_fixtures\n"
        "from asm_mock.domain.generate import build_world\n"
        "from asm_mock.domain.search import search_customers\n"
        "from asm_mock.resources import default_fixtures_dir\n"
        "w = build_world(customers=200, fixtures=load_fixtures(default_fixtures_dir()))\n"
        "search_customers(w, w.sites['electronics-spa'], 'mar')\n"
        "assert 'numpy' not in sys.modules, 'numpy imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_progress_reaches_100_percent_once_the_world_is_built(
    shipped_fixtures: Fixtures,
) -> None:
    reports: list[tuple[int, int]] = []
    build_world(
        customers=300, fixtures=shipped_fixtures, progress=lambda d, t: reports.append((d, t))
    )
    assert reports[-1] == (300, 300)
    assert [r for r in reports if r[0] == 300] == [(300, 300)]
    assert reports == sorted(reports)
