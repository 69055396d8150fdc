"""The two-ended walk: a list walk up from the lowest id meets a search walk down from the top.

The list API and the search API have separate rate budgets (docs/hubspot-api.md), so reading
every record from both ends at once takes about half the time of either alone. `Frontier` gives
every id to exactly one side; `claim_up` and `claim_down` turn each side's pages into the part
of them that side owns, and end the walk where the two meet. The search side may be filtered
(tickets modified since a bound) while the list side keeps the same matches itself: the list
walk then ends as soon as the search has read its last match (`Frontier.search_exhausted`).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from hubspot_api.paging import ListPage, SearchPage


class Frontier:
    """Where a list walk up from the lowest id meets a search walk down from the highest.

    Each walk claims the records of a page it fetched under one lock: the list walk takes ids
    below the lowest id the search walk has taken, the search walk ids above the highest the
    list walk has taken. Claims are monotone, so every id is taken exactly once; a walk stops
    at the first id the other side owns. Relies on the list returning ids in ascending order,
    which `claim_from_bottom` checks.
    """

    def __init__(
        self, list_high: int = 0, search_low: int | None = None, *, search_exhausted: bool = False
    ) -> None:
        """Start from saved bounds (a resumed walk) or from nothing claimed."""
        self.list_high = list_high
        self.search_low = search_low
        # The search walk read its last page: every match above `list_high` is taken.
        self.search_exhausted = search_exhausted
        self._lock = threading.Lock()

    def claim_from_bottom(self, ids: list[int]) -> tuple[list[int], bool]:
        """Claim a list page's ids; return those taken and whether the list walk is done.

        Once the search walk is exhausted, the list walk is done: every match of the search
        above the ids the list has taken is the search's already. With a search filtered to
        what the list would keep (a lower bound on the modification time), the list walk then
        stops however far below it the search's last match was.
        """
        if any(b <= a for a, b in itertools.pairwise(ids)) or (ids and ids[0] <= self.list_high):
            raise ValueError("the list is not in ascending id order")
        with self._lock:
            if self.search_exhausted:
                return [], True
            bound = self.search_low
            taken = [i for i in ids if bound is None or i < bound]
            if taken:
                self.list_high = max(self.list_high, taken[-1])
            return taken, len(taken) < len(ids)

    def claim_from_top(self, ids: list[int], *, last: bool = False) -> tuple[list[int], bool]:
        """Claim a search page's ids; return those taken and whether the walks have met.

        `last` says the search has no page after this one (see `search_exhausted`).
        """
        with self._lock:
            self.search_exhausted = self.search_exhausted or last
            taken = [i for i in ids if i > self.list_high]
            if taken:
                low = min(taken)
                self.search_low = low if self.search_low is None else min(self.search_low, low)
            return taken, len(taken) < len(ids)


@dataclass(frozen=True)
class Claim:
    """The records of one page that its side owns, and whether that side's walk is over.

    `bound` is the side's bound after the claim (`list_high` up, `search_low` down) and
    `next_after` the list cursor after the page (None down): what a checkpoint keeps.
    `total` is the search page's count of the matches past where it began (None up).
    """

    results: list[dict[str, Any]]
    done: bool
    bound: int | None
    next_after: str | None = None
    total: int | None = None


def claim_up(frontier: Frontier, pages: Iterable[ListPage]) -> Iterator[Claim]:
    """Claim each list page from the bottom until the walks meet or the list ends."""
    for page in pages:
        taken, met = frontier.claim_from_bottom([int(r["id"]) for r in page.results])
        done = met or page.next_after is None
        yield Claim(_kept(page.results, taken), done, frontier.list_high, page.next_after)
        if done:
            return


def claim_down(frontier: Frontier, pages: Iterable[SearchPage]) -> Iterator[Claim]:
    """Claim each descending search page from the top until the walks meet or search ends."""
    for page in pages:
        taken, met = frontier.claim_from_top([int(r["id"]) for r in page.results], last=page.final)
        done = met or page.final
        yield Claim(_kept(page.results, taken), done, frontier.search_low, total=page.total)
        if done:
            return


def _kept(results: list[dict[str, Any]], taken: list[int]) -> list[dict[str, Any]]:
    owned = set(taken)
    return [r for r in results if int(r["id"]) in owned]
