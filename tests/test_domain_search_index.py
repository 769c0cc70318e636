"""The customer search index answers exactly what scanning the haystacks answers."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

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


def test_the_index_finds_what_a_scan_finds_in_awkward_text() -> None:
    index = SearchIndex(AWKWARD)
    needles = {
        text[i:j]
        for text in AWKWARD
        for i in range(len(text))
        for j in range(i + 1, min(len(text), i + 12) + 1)
    }
    needles |= {"zz", "q", "müller", "ß", "🙂", "\ud800", "a" * 91, "a" * 92, "abcab", "bca"}
    needles = {n for n in needles if "\0" not in n}
    for needle in sorted(needles):
        assert index.matches(needle).tolist() == scan(AWKWARD, needle), needle


def test_a_needle_never_matches_across_fields_or_haystacks() -> None:
    index = SearchIndex(("ab\0cd", "ef"))
    assert index.matches("bc").tolist() == []
    assert index.matches("b").tolist() == [0]
    assert index.matches("de").tolist() == []  # the end of one haystack, the start of the next
    assert index.matches("dxe").tolist() == []


def test_an_index_of_nothing_finds_nothing() -> None:
    assert SearchIndex(()).matches("abc").tolist() == []
    assert len(SearchIndex(())) == 0


def test_the_index_refuses_needles_search_never_asks_for() -> None:
    index = SearchIndex(("abc",))
    for needle in ("", "a\0b"):
        with pytest.raises(ValueError):
            index.matches(needle)


# -- search in a world large enough to be indexed ----------------------------------------------


@pytest.fixture(scope="module")
def indexed_world(shipped_fixtures: Fixtures) -> World:
    return build_world(seed=5, customers=SEARCH_INDEX_MIN_CUSTOMERS, fixtures=shipped_fixtures)


def test_a_large_world_has_an_index_per_site_and_a_small_one_none(
    indexed_world: World, world: World
) -> None:
    for site in indexed_world.sites.values():
        index = indexed_world.search_index(site)
        assert index is not None
        assert len(index) == len(indexed_world.customers_on(site))
    assert all(world.search_index(site) is None for site in world.sites.values())


def test_indexed_search_answers_like_a_scan_across_sites_and_pages(indexed_world: World) -> None:
    rng = random.Random(20260115)
    for site in indexed_world.sites.values():
        customers = indexed_world.customers_on(site)
        names = tuple(c.name for c in customers)
        queries = [*BENCH_QUERIES, *ODD_QUERIES, ""]
        queries += substrings(names, rng, 60)
        queries += substrings(tuple(c.uid for c in customers), rng, 60)
        queries += substrings(tuple(c.customer_id for c in customers), rng, 30)
        queries += [c.uid for c in rng.sample(customers, 5)]
        queries += [c.customer_id.upper() for c in rng.sample(customers, 5)]
        queries += [f" {q.upper()} " for q in substrings(names, rng, 10)]
        for query in queries:
            expected = reference_search(indexed_world, site, query)
            for page_size, current_page in ((20, 0), (7, 1), (100, 0), (3, len(expected) // 3)):
                page = search_customers(
                    indexed_world, site, query, current_page=current_page, page_size=page_size
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
