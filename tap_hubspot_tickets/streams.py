"""The tap's streams: declarations over one base that owns reading, pipelining and state.

How tickets are read (docs/hubspot-api.md has the reasons):

- First run (no bookmark): the list API walks up from the lowest id (pages of 100 with the
  selected properties) while the search API, on its own rate budget, walks down from the
  highest (pages of 200); they stop where they meet (`Frontier`). Both positions are saved
  after each page, so a killed run resumes where it stopped. With `start_date`, a search window
  from `start_date` replaces the walks.
- Later runs: one search window `[bookmark, now]` (see `windows.py`), checkpointed after every
  page by the last ticket id emitted; its bookmark settles at `now - margin`, so changes search
  had not indexed yet are read again by the next run.
- Then the archived list (`archived=true` lists only archived tickets, and archiving does not
  bump `hs_lastmodifieddate`): every archived ticket with `archivedAt` at or after the archived
  bookmark, emitted with `archived = true`.

`ticket_property_history` rides on that walk: for each page of tickets, batch reads with
`propertiesWithHistory` (100 ids per POST) start as soon as the page arrives and are emitted
right after the page's tickets, before the page is checkpointed; it is one sync per run (one
SCHEMA), not one per page. `ticket_associations` reads every active ticket's associations on
every run (association changes do not bump the ticket, airbytehq/airbyte#44554) and is
FULL_TABLE, so with ACTIVATE_VERSION removed associations disappear downstream. Its ticket ids
come from a list walk up and a search walk down meeting in the middle, ids only, while v4 batch
reads of 1,000 ids run behind them.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import Stream, metrics
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.helpers.types import Context, Record
from singer_sdk.singerlib.catalog import Metadata, MetadataMapping
from typing_extensions import override

from hubspot_api.associations import ASSOCIATION_BATCH_LIMIT, AssociationLink
from hubspot_api.frontier import Claim, Frontier, claim_down, claim_up
from hubspot_api.paging import BATCH_LIMIT, OBJECT_ID, chunked
from hubspot_api.properties import PropertyDefinition
from tap_hubspot_tickets.pipelining import ReadAhead
from tap_hubspot_tickets.runtime import TapRuntime
from tap_hubspot_tickets.schemas import (
    ASSOCIATION_SCHEMA,
    HISTORY_KEY,
    HISTORY_SCHEMA,
    PIPELINE_SCHEMA,
    PROPERTY_SCHEMA,
    STAGE_SCHEMA,
    TICKET_BASE_COLUMNS,
    TicketRecordBuilder,
    association_records,
    history_records,
    pipeline_record,
    property_record,
    stage_records,
    ticket_schema,
)
from tap_hubspot_tickets.source import fits_in_query
from tap_hubspot_tickets.values import SurrogateSafeWriter, ValueProblems, surrogate_warning
from tap_hubspot_tickets.windows import (
    SearchWindow,
    TicketsCheckpoint,
    parse_instant,
    plan_window,
)

if TYPE_CHECKING:
    from singer_sdk import Tap

JSON = dict[str, Any]

# Pages fetched ahead of the one being emitted: enough to hide a request's latency behind the
# emitting of the page before, few enough that memory stays flat.
READ_AHEAD_PAGES = 3
# Association batches (1,000 tickets each) in flight ahead of the one being emitted.
ASSOCIATION_BATCHES_AHEAD = 2
# The property a list call is asked for when the real ones travel in a POST body instead.
ID_ONLY = (OBJECT_ID,)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class HubSpotStream(Stream):
    """Base of every stream: access to the run's shared HubSpot connection."""

    # Columns emitted however narrow the selection, besides the keys and the replication key:
    # above all the ones that say a row was deleted. A Meltano `select` of `tickets.subject`
    # alone must still tell a deleted ticket from a live one.
    always_emitted: ClassVar[tuple[str, ...]] = ()

    def __init__(self, tap: Tap, runtime: TapRuntime, schema: dict[str, Any]) -> None:
        """Keep the run's runtime; the schema comes from the subclass."""
        self.runtime = runtime
        # Values emitted as null because their column's type cannot hold them (values.py).
        self.value_problems = ValueProblems()
        super().__init__(tap=tap, schema=schema)

    @override
    def log_sync_costs(self) -> None:
        """Also warn, once per field, about values this run could not emit as stored.

        The SDK calls this once per stream, at the end of the run.
        """
        super().log_sync_costs()
        for line in self.value_problems.warnings():
            self.logger.warning("%s", line)
        writer = getattr(self._tap, "message_writer", None)
        if isinstance(writer, SurrogateSafeWriter) and writer.replaced[self.name]:
            self.logger.warning("%s", surrogate_warning(self.name, writer.replaced[self.name]))

    def automatic_columns(self) -> list[str]:
        """Return the columns always emitted: keys, replication key, `always_emitted`."""
        names = [*(self.primary_keys or ()), self.replication_key, *self.always_emitted]
        known = self.schema.get("properties", {})
        return [name for name in dict.fromkeys(names) if name and name in known]

    @property
    @override
    def metadata(self) -> MetadataMapping:
        """Return the catalog metadata, with `automatic_columns` always `inclusion: automatic`.

        The SDK marks keys and the replication key automatic only in the catalog it discovers;
        a catalog given to the tap (Meltano's, or one saved before a column became automatic)
        wins over that. Automatic inclusion is the tap's to declare, so it is applied to
        either: a selection then cannot drop these columns.
        """
        mapping = super().metadata
        for name in self.automatic_columns():
            breadcrumb = ("properties", name)
            entry = mapping.get(breadcrumb)
            if entry is None:
                mapping[breadcrumb] = Metadata(inclusion=Metadata.InclusionType.AUTOMATIC)
            elif entry.inclusion != Metadata.InclusionType.AUTOMATIC:
                entry.inclusion = Metadata.InclusionType.AUTOMATIC
        return mapping

    def _pool(self) -> ThreadPoolExecutor:
        """Return a worker pool sized to the client's concurrency."""
        return ThreadPoolExecutor(
            max_workers=self.runtime.settings.max_concurrency,
            thread_name_prefix=self.name,
        )


# -- tickets and the streams that ride on its walk ----------------------------------------------
@dataclass
class TicketPage:
    """A page of tickets to emit, and how to record it as done once emitted."""

    tickets: list[JSON]
    mark: Callable[[TicketsCheckpoint], None]
    # Properties read by POST because they did not fit in the GET query (else None).
    fill: Future[list[JSON]] | None = None
    # Companion stream name -> the batch token its prefetched reads are kept under.
    batches: dict[str, int] = field(default_factory=dict)


class TicketsStream(HubSpotStream):
    """Tickets with one column per selected property; incremental by search windows."""

    name = "tickets"
    primary_keys: ClassVar[list[str]] = ["id"]
    replication_key = "updated_at"
    is_sorted = False
    # The base columns: the key, when the ticket was created and changed, whether it is deleted.
    always_emitted = TICKET_BASE_COLUMNS

    def __init__(self, tap: Tap, runtime: TapRuntime) -> None:
        """Build the schema from the portal's property definitions."""
        super().__init__(tap, runtime, ticket_schema(runtime.definitions.values()))

    # State is kept by `TicketsCheckpoint`, per page. The SDK's own per-record bookmark would
    # be the largest `updated_at` seen, which can lie past the window's upper bound (search
    # lag) and, since the SDK does not filter by bookmark, lose changes
    # (tests/unit/test_sdk_hooks.py lists the SDK members overridden and why).
    @override
    def _increment_stream_state(
        self, latest_record: Record, *, context: Context | None = None
    ) -> None:
        return

    def _selected_definitions(self) -> list[PropertyDefinition]:
        return [
            defn
            for name, defn in self.runtime.definitions.items()
            if name in self.schema["properties"] and self.mask[("properties", name)]
        ]

    def _companions(self) -> list[TicketCompanionStream]:
        return [
            child
            for child in self.child_streams
            if isinstance(child, TicketCompanionStream)
            and (child.selected or child.has_selected_descendents)
        ]

    def _conformance_level(self, builder: TicketRecordBuilder) -> TypeConformanceLevel:
        """Skip the SDK's per-value type conformance where it cannot change a record.

        The builder's values already fit the discovered schema as JSON: strings, ints, finite
        Decimals, booleans and None, never dates, bytes or floats. The SDK conforms against the
        catalog's schema instead, so this holds only if every column left after deselection is
        there, typed exactly as discovered. Otherwise the SDK conforms as usual: it drops the
        columns the catalog lacks and coerces values to the catalog's booleans.
        """
        given = self.effective_schema.get("properties", {})
        ours = self.schema["properties"]
        kept = (name for name in builder.columns if self.mask[("properties", name)])
        if all(given.get(name) == ours[name] for name in kept):
            return TypeConformanceLevel.NONE
        return TypeConformanceLevel.RECURSIVE

    def _flush_state(self) -> None:
        """Write a STATE message now, even if no record was written since the last one."""
        self.state_manager.is_flushed = False
        self._write_state_message()

    @override
    def generate_child_contexts(
        self, record: Record, context: Context | None
    ) -> Iterable[Context | None]:
        # Companions are synced once per page by `_emit`, never once per ticket.
        return ()

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        checkpoint = TicketsCheckpoint(self.stream_state)
        builder = TicketRecordBuilder(self._selected_definitions(), self.value_problems)
        self.TYPE_CONFORMANCE_LEVEL = self._conformance_level(builder)
        options = self.runtime.options
        with self._pool() as pool, ExitStack() as companions:
            for companion in self._companions():
                companions.enter_context(companion.emitting(self.name))
            walk = _TicketWalk(self, builder.names, pool, self._companions())
            try:
                walked = False
                if checkpoint.bookmark is None:
                    if checkpoint.full_sync is None and options.start_date is not None:
                        # A first sync bounded by start_date is a window from it: modified
                        # covers created, as creating a ticket sets hs_lastmodifieddate.
                        checkpoint.set_bookmark(options.start_date)
                    else:
                        first, *more = walk.full_walks(checkpoint)
                        yield from self._emit(first, builder, checkpoint, more=tuple(more))
                        walked = True
                # One "now" for the run: windows planned against a moving clock would never end.
                now = _utc_now()
                resumed = checkpoint.window
                if resumed is not None:  # a killed run's window: finish it first
                    yield from self._emit(walk.window_pages(resumed), builder, checkpoint)
                bookmark = checkpoint.bookmark
                assert bookmark is not None  # set by the full walk or start_date
                # Up to now, once: its bookmark settles a margin before now (`windows.py`). A
                # run that just walked every ticket has read up to now already: the window from
                # its bookmark (a margin before the walk began) waits for the next run.
                window = None if walked else plan_window(bookmark, now, options.search_lag_margin)
                if window is not None:
                    checkpoint.set_window(window)
                    yield from self._emit(walk.window_pages(window), builder, checkpoint)
                yield from self._emit(walk.archived_pages(checkpoint), builder, checkpoint)
            finally:
                pool.shutdown(wait=True, cancel_futures=True)

    def _emit(
        self,
        pages: Iterator[TicketPage],
        builder: TicketRecordBuilder,
        checkpoint: TicketsCheckpoint,
        more: tuple[Iterator[TicketPage], ...] = (),
    ) -> Iterator[Record]:
        """Emit each page's tickets, then its companions' records, then checkpoint it."""
        ahead = ReadAhead(pages, READ_AHEAD_PAGES, name=f"{self.name}-pages", more=more)
        for page in ahead:
            tickets = page.tickets if page.fill is None else page.fill.result()
            for ticket in tickets:
                yield builder.record(ticket)
            for companion in self._companions():
                token = page.batches.get(companion.name)
                if token is not None:
                    companion.emit(token)
            page.mark(checkpoint)
            self._flush_state()


class _TicketWalk:
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

    def _page(
        self,
        tickets: list[JSON],
        mark: Callable[[TicketsCheckpoint], None],
        *,
        archived: bool,
        fill: bool,
    ) -> TicketPage:
        ids = [str(ticket["id"]) for ticket in tickets]
        page = TicketPage(tickets, mark)
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

    def full_walks(self, checkpoint: TicketsCheckpoint) -> tuple[Iterator[TicketPage], ...]:
        """Return the walks of a full sync: the list from the bottom, search from the top.

        The list walk is a chain of cursors, one request at a time; search has its own budget
        (HubSpot: ~19 list calls and 5 searches per second), so a second walk down from the
        highest id through search reads twice as fast, and the two stop where they meet
        (`Frontier`). Values search returns may trail recent writes by the search lag: the
        window after the full sync starts a margin before the walk began, and re-reads them.
        """
        saved = checkpoint.full_sync or {}
        started = parse_instant(saved["started_at"]) if saved else _utc_now()
        bookmark = started - self.options.search_lag_margin
        if not saved:
            checkpoint.set_full_sync(None, started)
            checkpoint.update_full_sync(
                bookmark, list_done=False, search_done=not self.options.full_sync_search_assist
            )
        full = checkpoint.full_sync or {}
        frontier = Frontier(int(full.get("list_high") or 0), full.get("search_below"))
        walks: list[Iterator[TicketPage]] = []
        if not full.get("list_done"):
            walks.append(self._list_up(frontier, full.get("after"), bookmark))
        if not full.get("search_done", True):
            walks.append(self._search_down(frontier, bookmark))
        return tuple(walks)

    def _list_up(
        self, frontier: Frontier, after: str | None, bookmark: datetime
    ) -> Iterator[TicketPage]:
        pages = self.source.list_pages(properties=self.list_names, after=after)
        for claim in claim_up(frontier, pages):

            def mark(cp: TicketsCheckpoint, claim: Claim = claim) -> None:
                cp.update_full_sync(
                    bookmark, after=claim.next_after, list_high=claim.bound, list_done=claim.done
                )

            yield self._page(claim.results, mark, archived=False, fill=True)

    def _search_down(self, frontier: Frontier, bookmark: datetime) -> Iterator[TicketPage]:
        pages = self.source.search_pages(
            properties=self.names, descending=True, key=frontier.search_low
        )
        for claim in claim_down(frontier, pages):

            def mark(cp: TicketsCheckpoint, claim: Claim = claim) -> None:
                cp.update_full_sync(bookmark, search_below=claim.bound, search_done=claim.done)

            yield self._page(claim.results, mark, archived=False, fill=False)

    def window_pages(self, window: SearchWindow) -> Iterator[TicketPage]:
        """Walk one search window in id order, resuming after the last id it emitted."""
        pages = self.source.search_pages(
            properties=self.names, filter_groups=window.filter_groups(), key=window.after_id
        )
        for page in pages:
            if page.final:

                def finish(cp: TicketsCheckpoint, final: SearchWindow = window) -> None:
                    cp.finish_window(final)

                yield self._page(page.results, finish, archived=False, fill=False)
                return
            assert page.key is not None  # a full page moved the key (or the walk raised)
            window = window.advanced(page.key)

            def progress(cp: TicketsCheckpoint, at: SearchWindow = window) -> None:
                cp.set_window(at)

            yield self._page(page.results, progress, archived=False, fill=False)

    def archived_pages(self, checkpoint: TicketsCheckpoint) -> Iterator[TicketPage]:
        """Walk the archived list; emit tickets archived since the archived bookmark."""
        saved = checkpoint.archived_pass or {}
        started = parse_instant(saved["started_at"]) if saved else _utc_now()
        since = checkpoint.archived_since or self.options.start_date
        margin = self.options.search_lag_margin
        if not saved:
            checkpoint.set_archived_pass(None, started)
        pages = self.source.list_pages(
            properties=self.list_names, after=saved.get("after"), archived=True
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


class TicketCompanionStream(HubSpotStream):
    """A stream read per page of the tickets walk, from reads started when the page arrived.

    Its records are emitted right after the page's tickets and before the page's checkpoint,
    so a resumed run never skips them. Its state is the tickets stream's. It is one sync per
    run, not one per page: `emitting` wraps the tickets walk (SCHEMA once, one record count)
    and `emit` writes each page's batch.
    """

    parent_stream_type = TicketsStream

    def __init__(self, tap: Tap, runtime: TapRuntime, schema: dict[str, Any]) -> None:
        """Start with no batches in flight."""
        super().__init__(tap, runtime, schema)
        # One bookmark for the stream, not one per batch context.
        self.state_partitioning_keys = []
        self._tokens = itertools.count()
        self._batches: dict[int, list[Future[list[JSON]]]] = {}
        self._lock = threading.Lock()
        self._counter: metrics.Counter | None = None

    def read(self, ids: list[str], archived: bool) -> list[JSON]:
        """Read the data of up to one batch of ticket ids (runs on a worker thread)."""
        raise NotImplementedError

    def records_of(self, item: JSON) -> Iterator[Record]:
        """Turn one item returned by `read` into records."""
        raise NotImplementedError

    batch_size: ClassVar[int] = BATCH_LIMIT

    def prefetch(self, pool: ThreadPoolExecutor, ids: list[str], archived: bool) -> int:
        """Start reading for these tickets; return the token `get_records` finds them by."""
        futures = [
            pool.submit(self.read, chunk, archived) for chunk in chunked(ids, self.batch_size)
        ]
        with self._lock:
            token = next(self._tokens)
            self._batches[token] = futures
        return token

    @contextmanager
    def emitting(self, parent: str) -> Iterator[None]:
        """Open this stream's sync for the length of the parent's walk: SCHEMA goes out once."""
        self.logger.info("Beginning sync of '%s' alongside '%s'", self.name, parent)
        if self.selected:
            self._write_schema_message()
        with self.get_record_counter() as counter:
            self._counter = counter
            try:
                yield
            finally:
                self._counter = None

    def emit(self, token: int) -> None:
        """Write the records of one prefetched batch (inside `emitting`)."""
        if self._counter is None:
            raise RuntimeError(f"{self.name}: emit() outside emitting()")
        for record in self.get_records({"batch": token}):
            processed = self.post_process(record, None)
            if processed is not None and self.selected:
                self._write_record_message(processed)
                self._counter.increment()

    @override
    def _increment_stream_state(
        self, latest_record: Record, *, context: Context | None = None
    ) -> None:
        # Progress is the tickets stream's checkpoint, written after these records.
        return

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        if not context or "batch" not in context:
            return
        with self._lock:
            futures = self._batches.pop(int(context["batch"]), [])
        for future in futures:
            for item in future.result():
                yield from self.records_of(item)


class TicketPropertyHistoryStream(TicketCompanionStream):
    """Every recorded value of the `history_properties` of each ticket read."""

    name = "ticket_property_history"
    primary_keys: ClassVar[list[str]] = list(HISTORY_KEY)
    replication_key = "timestamp"
    is_sorted = False

    def __init__(self, tap: Tap, runtime: TapRuntime) -> None:
        """Use the fixed history schema."""
        super().__init__(tap, runtime, HISTORY_SCHEMA)

    @override
    def read(self, ids: list[str], archived: bool) -> list[JSON]:
        history = self.runtime.options.history_properties
        if not history:
            return []
        # History only comes from list/read/batch read, never search (docs/hubspot-api.md).
        return self.runtime.source.batch_read(
            ids, properties=ID_ONLY, history=history, archived=archived
        )

    @override
    def records_of(self, item: JSON) -> Iterator[Record]:
        return history_records(item, self.value_problems)


# -- associations -------------------------------------------------------------------------------
class TicketAssociationsStream(HubSpotStream):
    """Every association of every active ticket to the `associations` object types.

    FULL_TABLE on purpose: association changes do not bump the ticket, so no bookmark can
    find them; with `emit_activate_version_messages` removed associations disappear downstream.
    """

    name = "ticket_associations"
    primary_keys: ClassVar[list[str]] = [
        "ticket_id",
        "to_object_type",
        "to_object_id",
        "association_category",
        "association_type_id",
    ]

    def __init__(self, tap: Tap, runtime: TapRuntime) -> None:
        """Use the fixed associations schema."""
        super().__init__(tap, runtime, ASSOCIATION_SCHEMA)

    def _id_walks(self) -> tuple[Iterator[list[str]], ...]:
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

    def _ids_up(self, frontier: Frontier) -> Iterator[list[str]]:
        pages = self.runtime.source.list_pages(properties=ID_ONLY)
        for claim in claim_up(frontier, pages):
            yield [str(ticket["id"]) for ticket in claim.results]

    def _ids_down(self, frontier: Frontier) -> Iterator[list[str]]:
        pages = self.runtime.source.search_pages(properties=ID_ONLY, descending=True)
        for claim in claim_down(frontier, pages):
            yield [str(ticket["id"]) for ticket in claim.results]

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        types = self.runtime.options.associations
        if not types:
            return
        source = self.runtime.source
        first, *more = self._id_walks()
        pages = ReadAhead(first, READ_AHEAD_PAGES, name=f"{self.name}-pages", more=tuple(more))
        batches = chunked(itertools.chain.from_iterable(pages), ASSOCIATION_BATCH_LIMIT)
        with self._pool() as pool:
            try:
                pending: deque[list[Future[list[AssociationLink]]]] = deque()
                for ids in batches:
                    pending.append([pool.submit(source.associations, kind, ids) for kind in types])
                    if len(pending) > ASSOCIATION_BATCHES_AHEAD:
                        yield from self._records(pending.popleft())
                while pending:
                    yield from self._records(pending.popleft())
            finally:
                pages.close()
                pool.shutdown(wait=True, cancel_futures=True)

    @staticmethod
    def _records(batch: list[Future[list[AssociationLink]]]) -> Iterator[Record]:
        for future in batch:
            yield from association_records(future.result())


# -- metadata streams ---------------------------------------------------------------------------
class TicketPipelinesStream(HubSpotStream):
    """Ticket pipelines, so stage and pipeline ids reach the warehouse with labels."""

    name = "ticket_pipelines"
    primary_keys: ClassVar[list[str]] = ["id"]
    always_emitted = ("archived",)

    def __init__(self, tap: Tap, runtime: TapRuntime) -> None:
        """Use the fixed pipeline schema."""
        super().__init__(tap, runtime, PIPELINE_SCHEMA)

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        for pipeline in self.runtime.source.pipelines():
            yield pipeline_record(pipeline)


class TicketPipelineStagesStream(HubSpotStream):
    """The stages of every ticket pipeline, keyed by pipeline and stage id."""

    name = "ticket_pipeline_stages"
    primary_keys: ClassVar[list[str]] = ["pipeline_id", "stage_id"]
    always_emitted = ("archived",)

    def __init__(self, tap: Tap, runtime: TapRuntime) -> None:
        """Use the fixed stage schema."""
        super().__init__(tap, runtime, STAGE_SCHEMA)

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        for pipeline in self.runtime.source.pipelines():
            yield from stage_records(pipeline)


class TicketPropertiesStream(HubSpotStream):
    """The definitions of every ticket property (read once per run, at discovery)."""

    name = "ticket_properties"
    primary_keys: ClassVar[list[str]] = ["name"]
    always_emitted = ("archived",)

    def __init__(self, tap: Tap, runtime: TapRuntime) -> None:
        """Use the fixed property schema."""
        super().__init__(tap, runtime, PROPERTY_SCHEMA)

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        for defn in self.runtime.definitions.values():
            yield property_record(defn)
