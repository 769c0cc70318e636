"""Customer search as ASM's agents use it: one query box over name, email/uid and customer id."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import compress, repeat
from operator import contains

from asm_mock.domain.errors import ValidationError
from asm_mock.domain.model import BaseSite, Customer
from asm_mock.domain.world import World

__all__ = ["MAX_PAGE", "MAX_PAGE_SIZE", "SearchPage", "search_customers"]

MAX_PAGE_SIZE = 100
MAX_PAGE = 2**31 - 1  # SAP parses currentPage as a Java int


@dataclass(frozen=True, slots=True)
class SearchPage:
    entries: tuple[Customer, ...]
    current_page: int
    page_size: int
    total_results: int

    @property
    def total_pages(self) -> int:
        return -(-self.total_results // self.page_size)


def _matches(customer: Customer, needle: str) -> bool:
    return (
        needle in customer.name.lower() or needle in customer.uid or needle in customer.customer_id
    )


def search_customers(
    world: World, site: BaseSite, query: str, *, current_page: int = 0, page_size: int = 20
) -> SearchPage:
    """Case-insensitive substring search; an empty query lists every customer of the site.

    Results keep the world's order (name, then uid), so paging is stable. A large world answers
    from its search index (`asm_mock.domain.search_index`), a small one scans the haystacks;
    both find exactly the customers whose haystack holds the query.
    """
    if page_size <= 0:
        raise ValidationError(
            "Request parameter pageSize must be greater than 0",
            reason="invalid",
            subject="pageSize",
            subject_type="parameter",
        )
    if page_size > MAX_PAGE_SIZE:
        raise ValidationError(
            f"Request parameter pageSize must not be greater than {MAX_PAGE_SIZE}",
            reason="invalid",
            subject="pageSize",
            subject_type="parameter",
        )
    if current_page > MAX_PAGE:
        raise ValidationError(
            f"Request parameter currentPage must not be greater than {MAX_PAGE}",
            reason="invalid",
            subject="currentPage",
            subject_type="parameter",
        )
    if current_page < 0:
        raise ValidationError(
            "Request parameter currentPage must not be negative",
            reason="invalid",
            subject="currentPage",
            subject_type="parameter",
        )
    needle = query.strip().lower()
    candidates = world.customers_on(site)
    start = current_page * page_size
    if needle and "\0" not in needle:
        index = world.search_index(site)
        if index is not None:  # a large world: the same hits, from posting lists
            found = index.matches(needle)
            page = tuple(candidates[i] for i in found[start : start + page_size].tolist())
            return SearchPage(page, current_page, page_size, len(found))
    if not needle:
        hits = candidates
    elif "\0" in needle:
        hits = ()
    else:
        haystacks = world.search_haystacks(site)
        assert len(haystacks) == len(candidates)
        # `needle in text` for every haystack, iterated in C: about half a generator's time
        hits = tuple(compress(candidates, map(contains, haystacks, repeat(needle))))
    return SearchPage(hits[start : start + page_size], current_page, page_size, len(hits))
