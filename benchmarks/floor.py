"""The fewest seconds HubSpot's budgets and latency allow a sync: the floor a run is judged by.

A tap's wall time means little alone: 8 s is slow for 2,000 tickets and fast for 20,000. The
floor is what no client could beat on the same portal, so `wall / floor` says how much is left
to win. It is a lower bound built from these assumptions, each of them generous to the client:

1. Page sizes are HubSpot's largest: list pages of 100 tickets (50 with
   `propertiesWithHistory`), search pages of 200, batch reads of 100 (history by
   `propertiesWithHistory`), association batch reads of 1,000 tickets per object type.
2. Ordinary calls (list, batch reads, associations, pipelines, properties) share one rolling
   budget of 190 calls per 10 s; searches have their own of 5 per second. A budget of `B` calls
   per window `W` lets the `k`-th call leave no sooner than `(ceil(k / B) - 1) * W` (a full
   burst at once, then a full burst each window): the earliest schedule a rolling window allows.
3. Every call takes at least one round trip at the scenario's mean latency `L`; calls that do
   not depend on each other may all be in flight at once (no cap on concurrency), and CPU,
   process start-up and the network beyond the latency cost nothing.
4. A cursor walk is a chain: a list page's `after` (or the next search page's bound) is known
   only from the page before, so `p` pages take at least `p * L`, and a search chain also waits
   for its budget: `max(p * L, (ceil(p / 5) - 1) * 1 s + L)`.
5. A first sync may walk the list up from the lowest id while search walks down from the
   highest, on their two budgets at once, meeting in the middle; the floor takes the best
   split (every split, to the page, is tried).
6. History and association reads need the ids of a page, so the last of them answers at least
   one round trip after the walk's last page. History by batch reads of 100 is never slower than
   list pages of 50 with history: the call count is the same, and the chain is half as long.
7. An incremental run finds its changes by search alone (the list cannot filter by
   modification time); the floor is the lower of that and a full two-ended walk of the portal.
8. With `start_date`, only the matching tickets are counted, as if the list could skip the
   rest: lower than any real walk, so still a floor.
9. `ticket_associations` is a full-table stream: every run re-reads the associations of the
   whole portal, so an incremental run with it also walks the portal's ids (two-ended, as in a
   first sync) and reads associations for all of them, beside its search for the changes.

The module is pure: no clock, no I/O; `tests/unit/test_bench_floor.py` checks it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hubspot_api.associations import ASSOCIATION_BATCH_LIMIT
from hubspot_api.config import DEFAULT_REQUESTS_PER_10_SECONDS, DEFAULT_SEARCH_REQUESTS_PER_SECOND
from hubspot_api.paging import BATCH_LIMIT, LIST_PAGE_LIMIT, SEARCH_PAGE_LIMIT

ORDINARY_WINDOW_S = 10.0
SEARCH_WINDOW_S = 1.0
# The goal printed beside each ratio: within 15% of the floor.
GOAL = 1.15


@dataclass(frozen=True)
class Budgets:
    """HubSpot's two budgets, as calls per window."""

    ordinary_per_10s: int = DEFAULT_REQUESTS_PER_10_SECONDS
    search_per_s: int = DEFAULT_SEARCH_REQUESTS_PER_SECOND


@dataclass(frozen=True)
class Workload:
    """What one run must read: the tickets it emits and the streams beside them."""

    tickets: int  # tickets to emit: the portal's (full sync), or the matching ones
    latency_s: float  # mean round trip of one call
    history: bool = False  # ticket_property_history selected
    association_types: int = 0  # object types read for ticket_associations
    fixed_calls: int = 0  # ordinary calls besides the walk and its batch reads
    incremental: bool = False  # only changes: search alone can find them
    portal_tickets: int = 0  # incremental: the portal's size, for the full-walk alternative


@dataclass(frozen=True)
class Floor:
    """The floor's seconds and the plan that reaches it."""

    seconds: float
    list_pages: int
    search_pages: int
    ordinary_calls: int


def budget_seconds(calls: int, per_window: int, window_s: float, latency_s: float) -> float:
    """Seconds until `calls` on one budget have all answered, sent as early as it allows."""
    if calls <= 0:
        return 0.0
    if per_window <= 0:  # no budget: all at once
        return latency_s
    return (math.ceil(calls / per_window) - 1) * window_s + latency_s


def chain_seconds(
    pages: int, latency_s: float, per_window: int = 0, window_s: float = 1.0
) -> float:
    """Seconds for a cursor walk of `pages` pages, one after another, on an optional budget."""
    if pages <= 0:
        return 0.0
    return max(pages * latency_s, budget_seconds(pages, per_window, window_s, latency_s))


def _side_calls(work: Workload, tickets: int) -> int:
    """Ordinary calls besides the list pages: history, associations, fixed."""
    history = math.ceil(tickets / BATCH_LIMIT) if work.history else 0
    associations = work.association_types * math.ceil(tickets / ASSOCIATION_BATCH_LIMIT)
    return history + associations + work.fixed_calls


def _plan(work: Workload, budgets: Budgets, tickets: int, list_pages: int) -> Floor:
    listed = min(tickets, list_pages * LIST_PAGE_LIMIT)
    search_pages = math.ceil((tickets - listed) / SEARCH_PAGE_LIMIT)
    walk = max(
        chain_seconds(list_pages, work.latency_s),
        chain_seconds(search_pages, work.latency_s, budgets.search_per_s, SEARCH_WINDOW_S),
    )
    side = _side_calls(work, tickets)
    if side > work.fixed_calls and walk:
        walk += work.latency_s  # the last page's ids still need their batch reads
    ordinary = list_pages + side
    spent = budget_seconds(ordinary, budgets.ordinary_per_10s, ORDINARY_WINDOW_S, work.latency_s)
    return Floor(max(walk, spent), list_pages, search_pages, ordinary)


def _with_portal_ids(work: Workload, budgets: Budgets, portal: int, list_pages: int) -> Floor:
    """An incremental run's search for its changes beside a two-ended walk of the portal's ids
    for the full-table associations (assumption 9); both searches share one budget."""
    latency = work.latency_s
    listed = min(portal, list_pages * LIST_PAGE_LIMIT)
    id_pages = math.ceil((portal - listed) / SEARCH_PAGE_LIMIT)
    change_pages = math.ceil(work.tickets / SEARCH_PAGE_LIMIT)
    searches = max(
        chain_seconds(id_pages, latency),
        chain_seconds(change_pages, latency),
        budget_seconds(id_pages + change_pages, budgets.search_per_s, SEARCH_WINDOW_S, latency),
    )
    walk = max(chain_seconds(list_pages, latency), searches) + latency
    history = math.ceil(work.tickets / BATCH_LIMIT) if work.history else 0
    associations = work.association_types * math.ceil(portal / ASSOCIATION_BATCH_LIMIT)
    ordinary = list_pages + history + associations + work.fixed_calls
    spent = budget_seconds(ordinary, budgets.ordinary_per_10s, ORDINARY_WINDOW_S, latency)
    return Floor(max(walk, spent), list_pages, id_pages + change_pages, ordinary)


def two_ended(work: Workload, tickets: int, budgets: Budgets) -> Floor:
    """The best split of `tickets` between a list walk up and a search walk down."""
    most = math.ceil(tickets / LIST_PAGE_LIMIT)
    plans = (_plan(work, budgets, tickets, pages) for pages in range(most + 1))
    return min(plans, key=lambda plan: (plan.seconds, plan.ordinary_calls))


def floor(work: Workload, budgets: Budgets | None = None) -> Floor:
    """The floor of one run (see the module docstring for every assumption)."""
    budgets = budgets or Budgets()
    if not work.incremental:
        return two_ended(work, work.tickets, budgets)
    portal = max(work.portal_tickets, work.tickets)
    walk = two_ended(work, portal, budgets)
    if work.association_types:
        both = min(
            (_with_portal_ids(work, budgets, portal, pages) for pages in range(portal // 100 + 2)),
            key=lambda plan: (plan.seconds, plan.ordinary_calls),
        )
        return min(both, walk, key=lambda plan: plan.seconds)
    by_search = _plan(work, budgets, work.tickets, 0)
    return min(by_search, walk, key=lambda plan: plan.seconds)


def versus_floor(wall_s: float, floor_s: float) -> str:
    """`wall / floor` for a table, with the goal beside it."""
    if floor_s <= 0:
        return "-"
    ratio = wall_s / floor_s
    verdict = "meets" if ratio <= GOAL else "misses"
    return f"{ratio:.2f}x ({verdict} {GOAL:.2f}x)"
