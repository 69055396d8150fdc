"""`ticket_associations`: every link of every active ticket, read in full on every run.

Every active ticket's associations are read on every run (association changes do not bump the
ticket, airbytehq/airbyte#44554) and the stream is FULL_TABLE, so with ACTIVATE_VERSION removed
associations disappear downstream. Its ticket ids come from a list walk up and a search walk
down meeting in the middle, ids only, while v4 batch reads of 1,000 ids run behind them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import Future
from typing import TYPE_CHECKING, ClassVar

from singer_sdk.helpers.types import Context, Record
from typing_extensions import override

from hubspot_api.associations import ASSOCIATION_BATCH_LIMIT, AssociationLink
from hubspot_api.frontier import Frontier, claim_down, claim_up
from hubspot_api.paging import chunked
from hubspot_api.records import ASSOCIATION_KEY
from tap_hubspot_tickets.pipelining import ReadAhead
from tap_hubspot_tickets.report import Part, ticket_ids_part
from tap_hubspot_tickets.runtime import TapRuntime
from tap_hubspot_tickets.schemas import (
    ASSOCIATION_SCHEMA,
    ASSOCIATIONS_STREAM,
    association_records,
)
from tap_hubspot_tickets.streams.base import (
    ID_ONLY,
    JSON,
    READ_AHEAD_PAGES,
    HubSpotStream,
)

if TYPE_CHECKING:
    from singer_sdk import Tap

# Association batches (1,000 tickets each) in flight ahead of the one being emitted.
ASSOCIATION_BATCHES_AHEAD = 2


class TicketAssociationsStream(HubSpotStream):
    """Every association of every active ticket to the `associations` object types.

    FULL_TABLE on purpose: association changes do not bump the ticket, so no bookmark can
    find them; with `emit_activate_version_messages` removed associations disappear downstream.
    """

    name = ASSOCIATIONS_STREAM
    primary_keys: ClassVar[list[str]] = list(ASSOCIATION_KEY)

    def __init__(self, tap: Tap, runtime: TapRuntime) -> None:
        """Use the fixed associations schema."""
        super().__init__(tap, runtime, ASSOCIATION_SCHEMA)

    def _id_walks(self) -> tuple[Iterator[list[JSON]], ...]:
        """Return the walks that together yield every active ticket id exactly once.

        The list walks up from the lowest id and search down from the highest on its own
        budget, both asking for ids only, until they meet (`Frontier`, as in the first
        tickets sync). A ticket created within the search lag may be missing from the search
        side; the tickets stream, whose windows also read through search, has not emitted it
        yet either, and the next run reads both.
        """
        frontier = Frontier()
        walks = [self._ids_up(frontier)]
        if self.runtime.options.full_sync_search_assist:
            walks.append(self._ids_down(frontier))
        return tuple(walks)

    def _ids_up(self, frontier: Frontier) -> Iterator[list[JSON]]:
        pages = self.runtime.source.list_pages(properties=ID_ONLY)
        for claim in claim_up(frontier, pages):
            yield claim.results

    def _ids_down(self, frontier: Frontier) -> Iterator[list[JSON]]:
        pages = self.runtime.source.search_pages(properties=ID_ONLY, descending=True)
        for claim in claim_down(frontier, pages):
            yield claim.results

    def _walked_ids(self) -> Generator[str, None, None] | None:
        """Return the ids the tickets stream walked in this run, when it walked them all.

        Its full walk is counted in the run report already; a ticket created since is read
        by the next run, as by the tickets stream.
        """
        ids = self.runtime.walked_ids
        if ids is None:
            return None
        count = f"{len(ids):,}"
        self.logger.info("Reading the associations of the %s tickets walked in this run", count)
        return (str(ticket_id) for ticket_id in sorted(ids))

    def _ids(self, part: Part) -> Generator[str, None, None]:
        """Yield every live ticket id once, counting them for the run report."""
        first, *more = self._id_walks()
        pages = ReadAhead(first, READ_AHEAD_PAGES, name=f"{self.name}-pages", more=tuple(more))
        try:
            for page in pages:
                for ticket in page:
                    part.emit(ticket)
                    yield str(ticket["id"])
        finally:
            pages.close()

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        types = self.runtime.options.associations
        if not types:
            return
        source = self.runtime.source
        report = self.runtime.report
        emitted = 0
        walked = self._walked_ids() or self._ids(
            report.add(ticket_ids_part(self.runtime.hubspot_now()))
        )
        batches = chunked(walked, ASSOCIATION_BATCH_LIMIT)
        with self._pool() as pool:
            try:
                pending: deque[list[Future[list[AssociationLink]]]] = deque()
                for ids in batches:
                    pending.append([pool.submit(source.associations, kind, ids) for kind in types])
                    if len(pending) > ASSOCIATION_BATCHES_AHEAD:
                        for record in self._records(pending.popleft()):
                            emitted += 1
                            yield record
                while pending:
                    for record in self._records(pending.popleft()):
                        emitted += 1
                        yield record
            finally:
                walked.close()
                pool.shutdown(wait=True, cancel_futures=True)
        report.uncounted[self.name] = emitted
        report.count(source.count)
        report.publish()

    @staticmethod
    def _records(batch: list[Future[list[AssociationLink]]]) -> Iterator[Record]:
        for future in batch:
            yield from association_records(future.result())
