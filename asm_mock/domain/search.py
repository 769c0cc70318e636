"""Customer search as ASM's agents use it: one query box over name, email/uid and customer id."""

from __future__ import annotations

from dataclasses import dataclass

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


def search_customers(
    world: World, site: BaseSite, query: str, *, current_page: int = 0, page_size: int = 20
) -> SearchPage:
    """Case-insensitive substring search; an empty query lists every customer of the site.

    Results keep the world's order (name, then uid), so paging is stable. The site's search
    index (`World.search_index`) finds exactly the customers whose haystack holds the query.
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
    customers = world.customers_on(site)
    start = current_page * page_size
    if not needle:
        page = customers[start : start + page_size]
        return SearchPage(page, current_page, page_size, len(customers))
    if "\0" in needle:  # the haystacks' field separator: never part of a match
        return SearchPage((), current_page, page_size, 0)
    total, found = world.search_index(site).page(needle, start, page_size)
    return SearchPage(tuple(customers[i] for i in found), current_page, page_size, total)
