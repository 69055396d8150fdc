"""The walks that produce pages of tickets, and the side reads each page starts.

A page is produced on the read-ahead thread and emitted by `TicketsStream._emit`: first its
tickets, then its companions' records, then its checkpoint (`TicketPage.mark`).
"""

from __future__ import annotations

import itertools
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hubspot_api.errors import ConfigError
from hubspot_api.frontier import Claim, Frontier, claim_down, claim_up
from hubspot_api.instants import parse_instant
from hubspot_api.paging import BATCH_LIMIT, ListPage, PagingLoopError, chunked
from tap_hubspot_tickets.source import TicketSource, fits_in_query
from tap_hubspot_tickets.streams.base import ID_ONLY, JSON
from tap_hubspot_tickets.windows import (
    STATE_WAY_OUT,
    SearchWindow,
    TicketsCheckpoint,
    modified_at_or_after,
    modified_since,
)

if TYPE_CHECKING:
    from tap_hubspot_tickets.streams.tickets import TicketCompanionStream, TicketsStream


@dataclass
class TicketPage:
    """A page of tickets to emit, and how to record it as done once emitted."""

    tickets: list[JSON]
    mark: Callable[[TicketsCheckpoint], None]
    # Properties read by POST because they did not fit in the GET query (else None).
    fill: Future[list[JSON]] | None = None
    # Companion stream name -> the batch token its prefetched reads are kept under.
    batches: dict[str, int] = field(default_factory=dict)
    # On the first page of a search walk: HubSpot's count of the tickets that walk reads.
    counted: int | None = None


class TicketWalk:
    """Produce pages of tickets (on the read-ahead thread) and start their side reads."""

    def __init__(
        self,
        stream: TicketsStream,
        names: list[str],
        pool: ThreadPoolExecutor,
        companions: list[TicketCompanionStream],
    ) -> None:
        self.stream = stream
        self.source = stream.runtime.source
        self.options = stream.runtime.options
        self.names = names
        self.pool = pool
        self.companions = companions
        # Too many selected properties for a GET query: list ids only, read the properties by
        # POST (airbytehq/airbyte#13691 is the 414 this avoids).
        self.list_names = names if fits_in_query(names) else list(ID_ONLY)
        # The ids the search walk emitted, in the order it read them (descending): the list
        # walk that heals a short search skips them (`heal_pages`). Complete only when this
        # run's search walk began the full walk; otherwise the heal asks search again.
        self.search_ids: array[int] = array("q")
        self.search_ids_complete = False
        # The state's `full_sync` this run's walk resumed from (None: it began in this run).
        self.resumed_from: dict[str, Any] | None = None

    def _page(
        self,
        tickets: list[JSON],
        mark: Callable[[TicketsCheckpoint], None],
        *,
        archived: bool,
        fill: bool,
        counted: int | None = None,
    ) -> TicketPage:
        ids = [str(ticket["id"]) for ticket in tickets]
        page = TicketPage(tickets, mark, counted=counted)
        if fill and ids and self.list_names is not self.names:
            page.fill = self.pool.submit(self._read_properties, ids, archived)
        for companion in self.companions:
            if ids:
                page.batches[companion.name] = companion.prefetch(self.pool, ids, archived)
        return page

    def _read_properties(self, ids: list[str], archived: bool) -> list[JSON]:
        found: dict[str, JSON] = {}
        for chunk in chunked(ids, BATCH_LIMIT):
            for ticket in self.source.batch_read(chunk, properties=self.names, archived=archived):
                found[str(ticket["id"])] = ticket
        # Keep the list's order; a ticket deleted in between is skipped here and read by the
        # archived pass.
        return [found[ticket_id] for ticket_id in ids if ticket_id in found]

    def full_walks(
        self, checkpoint: TicketsCheckpoint, since: datetime | None = None
    ) -> tuple[Iterator[TicketPage], ...]:
        """Return the walks of a full sync: the list from the bottom, search from the top.

        The list walk is a chain of cursors, one request at a time; search has its own budget
        (HubSpot: ~19 list calls and 5 searches per second), so a second walk down from the
        highest id through search reads twice as fast, and the two stop where they meet
        (`Frontier`). Values search returns may trail recent writes by the search lag: the
        window after the full sync starts a margin before the walk began, and re-reads them.

        `since` (the first sync of a `start_date`) bounds both walks to tickets modified at or
        after it: search is asked for those alone, the list keeps those alone, and the list
        stops as soon as search has read its last match. So a `start_date` that covers little
        of the portal costs little more than its search pages, and one that covers most of it
        costs what reading everything costs: never more than either plan alone. A resumed walk
        keeps the bound it began with.
        """
        saved = checkpoint.full_sync or {}
        self.resumed_from = dict(saved) if saved else None
        started = parse_instant(saved["started_at"]) if saved else self.stream.runtime.hubspot_now()
        bookmark = started - self.options.search_lag_margin
        if not saved:
            self.search_ids_complete = True
            checkpoint.set_full_sync(None, started, since)
            checkpoint.update_full_sync(
                bookmark, list_done=False, search_done=not self.options.full_sync_search_assist
            )
        full = checkpoint.full_sync or {}
        bound = parse_instant(full["since"]) if full.get("since") else None
        frontier = Frontier(
            int(full.get("list_high") or 0),
            full.get("search_below"),
            search_exhausted=bool(full.get("search_exhausted")),
        )
        walks: list[Iterator[TicketPage]] = []
        if not full.get("list_done"):
            # Once search is done, the list alone owns the ids above its own, below search's.
            owned = bool(saved) and bool(full.get("search_done", True))
            walks.append(self._list_up(frontier, full.get("after"), bookmark, bound, owned))
        if not full.get("search_done", True):
            walks.append(self._search_down(frontier, bookmark, bound))
        return tuple(walks)

    def _list_up(
        self,
        frontier: Frontier,
        after: str | None,
        bookmark: datetime,
        since: datetime | None,
        check_cursor: bool = False,
    ) -> Iterator[TicketPage]:
        pages = ascending(
            self.source.list_pages(properties=self.list_names, after=after),
            after,
            resumed_high=frontier.list_high,
        )
        if check_cursor and after is not None:
            pages = self._from_next_id(pages, after, frontier.list_high, frontier.search_low)
        fetched_with = [after]  # the cursor of the page being claimed

        def cursors() -> Iterator[ListPage]:
            for page in pages:
                yield page
                fetched_with[0] = page.next_after

        for claim in claim_up(frontier, cursors()):

            def mark(
                cp: TicketsCheckpoint, claim: Claim = claim, cursor: str | None = fetched_with[0]
            ) -> None:
                progress: dict[str, Any] = {"list_done": claim.done}
                if claim.done:
                    # Where the list stopped: it goes on from there if search fell short.
                    progress["heal_after"] = cursor
                cp.update_full_sync(
                    bookmark, after=claim.next_after, list_high=claim.bound, **progress
                )

            kept = claim.results if since is None else modified_since(claim.results, since)
            yield self._page(kept, mark, archived=False, fill=True)

    def _from_next_id(
        self, pages: Iterator[ListPage], after: str, high: int, below: int | None
    ) -> Iterator[ListPage]:
        """Refuse, in one line, a resumed list cursor that passes over the next ticket.

        The list walk resumes from the state's cursor; once the search walk is done, the list
        alone reads the ids above `list_high` (below `search_below`). Its first page must start
        at the lowest such id HubSpot has: a cursor past it (edited, or carried from another
        portal) would skip every ticket in between for good. One search asks for that id.
        """
        first = next(pages, None)
        found = next(iter(self.source.search_pages(properties=ID_ONLY, key=high)), None)
        lowest = int(found.results[0]["id"]) if found is not None and found.results else None
        starts = int(first.results[0]["id"]) if first is not None and first.results else None
        if (
            lowest is not None
            and (below is None or lowest < below)
            and (starts is None or starts > lowest)
        ):
            where = "is empty" if starts is None else f"starts at id {starts}"
            raise ConfigError(
                f"state: bookmarks.tickets.full_sync.after {after!r} is corrupt: the ticket "
                f"list from it {where}, past ticket {lowest}, the next after "
                f"full_sync.list_high {high}, so the walk would skip the tickets in between"
                f"{STATE_WAY_OUT}"
            )
        if first is not None:
            yield first
            yield from pages

    def _search_down(
        self, frontier: Frontier, bookmark: datetime, since: datetime | None
    ) -> Iterator[TicketPage]:
        pages = self.source.search_pages(
            properties=self.names,
            filter_groups=() if since is None else modified_at_or_after(since),
            descending=True,
            key=frontier.search_low,
        )
        for number, claim in enumerate(claim_down(frontier, pages)):

            def mark(cp: TicketsCheckpoint, claim: Claim = claim) -> None:
                cp.update_full_sync(
                    bookmark,
                    search_below=claim.bound,
                    search_done=claim.done,
                    search_exhausted=frontier.search_exhausted,
                )

            # Search's first count covers the whole walk, list side included.
            counted = claim.total if number == 0 else None
            self.search_ids.extend(int(ticket["id"]) for ticket in claim.results)
            yield self._page(claim.results, mark, archived=False, fill=False, counted=counted)

    def heal_pages(self, checkpoint: TicketsCheckpoint) -> Iterator[TicketPage]:
        """Walk the list on from where the full walk's list stopped, for what search missed.

        Search can count a ticket it never returns (a document missing from its index): the
        search walk then leaves it out of its half of the ids. Once HubSpot's count says the
        two walks read fewer tickets than it has, the list goes on over the search's half and
        emits the tickets above the list's own that the search walk did not return (and, for
        a bounded walk, modified since its bound). When the list ends, the heal is done
        (`healed`); the stream then closes the walk if it read what HubSpot counts.
        """
        full = checkpoint.full_sync or {}
        bookmark = parse_instant(full["started_at"]) - self.options.search_lag_margin
        bound = parse_instant(full["since"]) if full.get("since") else None
        high = int(full.get("list_high") or 0)
        returned = (
            array("q", reversed(self.search_ids))  # ascending, for `bisect`
            if self.search_ids_complete
            else _search_returns(self.source, high, bound)
        )

        def missed(ticket_id: int) -> bool:
            at = bisect_left(returned, ticket_id)
            return ticket_id > high and not (at < len(returned) and returned[at] == ticket_id)

        after = full.get("heal_after")
        pages = ascending(self.source.list_pages(properties=self.list_names, after=after), after)
        for page in pages:
            kept = [ticket for ticket in page.results if missed(int(ticket["id"]))]
            if bound is not None:
                kept = modified_since(kept, bound)

            def mark(cp: TicketsCheckpoint, after: str | None = page.next_after) -> None:
                if after is None:
                    cp.update_full_sync(bookmark, healed=True)
                else:
                    cp.update_full_sync(bookmark, heal_after=after)

            yield self._page(kept, mark, archived=False, fill=True)

    def window_pages(self, window: SearchWindow) -> Iterator[TicketPage]:
        """Walk one search window in id order, resuming after the last id it emitted."""
        pages = self.source.search_pages(
            properties=self.names, filter_groups=window.filter_groups(), key=window.after_id
        )
        for number, page in enumerate(pages):
            counted = page.total if number == 0 else None
            if page.final:

                def finish(cp: TicketsCheckpoint, final: SearchWindow = window) -> None:
                    cp.finish_window(final)

                yield self._page(page.results, finish, archived=False, fill=False, counted=counted)
                return
            assert page.key is not None  # a full page moved the key (or the walk raised)
            window = window.advanced(page.key)

            def progress(cp: TicketsCheckpoint, at: SearchWindow = window) -> None:
                cp.set_window(at)

            yield self._page(page.results, progress, archived=False, fill=False, counted=counted)

    def archived_pages(self, checkpoint: TicketsCheckpoint) -> Iterator[TicketPage]:
        """Walk the archived list; emit tickets archived since the archived bookmark."""
        saved = checkpoint.archived_pass or {}
        started = parse_instant(saved["started_at"]) if saved else self.stream.runtime.hubspot_now()
        since = checkpoint.archived_since or self.options.start_date
        margin = self.options.search_lag_margin
        if not saved:
            checkpoint.set_archived_pass(None, started)
        pages = ascending(
            self.source.list_pages(
                properties=self.list_names, after=saved.get("after"), archived=True
            ),
            saved.get("after"),
            what="archived ticket list",
        )
        for page in pages:
            after = page.next_after
            wanted = [
                ticket
                for ticket in page.results
                if since is None
                or not ticket.get("archivedAt")
                or parse_instant(ticket["archivedAt"]) >= since
            ]

            def mark(cp: TicketsCheckpoint, after: str | None = after) -> None:
                if after is None:
                    cp.finish_archived_pass(started - margin)
                else:
                    cp.set_archived_pass(after, started)

            yield self._page(wanted, mark, archived=True, fill=True)


def ascending(
    pages: Iterable[ListPage],
    after: str | None,
    *,
    resumed_high: int = 0,
    what: str = "ticket list",
) -> Iterator[ListPage]:
    """Yield a tickets list's pages, refusing in one line a page that goes back.

    The list answers ids in ascending order, page after page (live or archived): the walk's
    `Frontier` relies on it. HubSpot's cursors are opaque, so a cursor that repeats or cycles
    under fresh strings shows only as a page of ids already passed: the run stops there,
    before emitting any of it, and its last STATE covers what was read. On the first page of
    a resumed walk, ids at or below the state's `list_high` mean that bookmark claims tickets
    the list never gave: the state is named as corrupt.
    """
    high, cursor = resumed_high, after
    for number, page in enumerate(pages):
        ids = [int(ticket["id"]) for ticket in page.results]
        for before, at in itertools.pairwise([high, *ids]):
            if at > before:
                continue
            if number == 0 and resumed_high and before == resumed_high:
                raise ConfigError(
                    f"state: bookmarks.tickets.full_sync.list_high {resumed_high} is corrupt: "
                    f"the ticket list from the state's cursor ({cursor!r}) starts at id {at}, "
                    f"at or below it, so the walk cannot tell which tickets it read"
                    f"{STATE_WAY_OUT}"
                )
            raise PagingLoopError(
                f"the {what} went back to id {at} after id {before} (page at cursor "
                f"{cursor!r}): its paging cursor repeats or cycles, so the walk stops here; the "
                "last STATE covers every ticket emitted, run again from it"
            )
        if ids:
            high = ids[-1]
        yield page
        cursor = page.next_after


def _search_returns(source: TicketSource, above: int, since: datetime | None) -> array[int]:
    """Return, ascending, the ids above `above` search returns: its walk, ids only.

    For a heal whose search walk began in an earlier run (resumed after a kill): what that
    run's search emitted is known to search alone.
    """
    found: list[int] = []
    pages = source.search_pages(
        properties=ID_ONLY,
        filter_groups=() if since is None else modified_at_or_after(since),
        descending=True,
    )
    for page in pages:
        ids = [int(ticket["id"]) for ticket in page.results]
        found += [ticket_id for ticket_id in ids if ticket_id > above]
        if ids and min(ids) <= above:
            break
    return array("q", sorted(found))
