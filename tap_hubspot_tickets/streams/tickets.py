"""The tickets stream, and the base of the streams that ride on its walk.

How tickets are read (docs/hubspot-api.md has the reasons):

- First run (no bookmark): the list API walks up from the lowest id (pages of 100 with the
  selected properties) while the search API, on its own rate budget, walks down from the
  highest (pages of 200); they stop where they meet (`Frontier`). Both positions are saved
  after each page, so a killed run resumes where it stopped. With `start_date`, both walks keep
  to tickets modified since it (search is asked for those alone), and the list walk ends as soon
  as search has read its last match (`TicketWalk.full_walks`).
- Later runs: one search window `[bookmark, now]` (see `windows.py`), checkpointed after every
  page by the last ticket id emitted; its bookmark settles at `now - margin`, so changes search
  had not indexed yet are read again by the next run.
- Then the archived list (`archived=true` lists only archived tickets, and archiving does not
  bump `hs_lastmodifieddate`): every archived ticket with `archivedAt` at or after the archived
  bookmark, emitted with `archived = true`.

`ticket_property_history` rides on that walk: for each page of tickets, batch reads with
`propertiesWithHistory` (100 ids per POST) start as soon as the page arrives and are emitted
right after the page's tickets, before the page is checkpointed; it is one sync per run (one
SCHEMA), not one per page (`TicketCompanionStream`).
"""

from __future__ import annotations

import itertools
import threading
from array import array
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import metrics
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.helpers.types import Context, Record
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib.encoding.simple import RecordMessage
from typing_extensions import override

from hubspot_api.errors import ConfigError
from hubspot_api.instants import parse_instant, to_iso, truncate_ms
from hubspot_api.paging import BATCH_LIMIT, chunked
from hubspot_api.properties import PropertyDefinition
from hubspot_api.records import ID, TICKET_BASE_COLUMNS, TICKETS_STREAM, UPDATED_AT
from tap_hubspot_tickets.pipelining import ReadAhead
from tap_hubspot_tickets.report import (
    Part,
    archived_part,
    check_full_walk,
    full_walk_part,
    modified_from,
    window_part,
)
from tap_hubspot_tickets.runtime import TapRuntime
from tap_hubspot_tickets.schemas import TicketRecordBuilder, fit_to_catalog, ticket_schema
from tap_hubspot_tickets.streams.base import JSON, READ_AHEAD_PAGES, HubSpotStream, utc_now
from tap_hubspot_tickets.streams.walk import TicketPage, TicketWalk
from tap_hubspot_tickets.windows import TicketsCheckpoint, plan_window

if TYPE_CHECKING:
    from singer_sdk import Tap


class TicketsStream(HubSpotStream):
    """Tickets with one column per selected property; incremental by search windows."""

    name = TICKETS_STREAM
    primary_keys: ClassVar[list[str]] = [ID]
    replication_key = UPDATED_AT
    is_sorted = False
    # The base columns: the key, when the ticket was created and changed, whether it is deleted.
    always_emitted = TICKET_BASE_COLUMNS

    def __init__(self, tap: Tap, runtime: TapRuntime) -> None:
        """Build the schema from the portal's property definitions."""
        super().__init__(tap, runtime, ticket_schema(runtime.definitions.values()))
        self._plain = False
        self._batching = False

    # State is kept by `TicketsCheckpoint`, per page. The SDK's own per-record bookmark would
    # be the largest `updated_at` seen, which can lie past the window's upper bound (search
    # lag) and, since the SDK does not filter by bookmark, lose changes
    # (tests/unit/test_sdk_hooks.py lists the SDK members overridden and why).
    @override
    def _increment_stream_state(
        self, latest_record: Record, *, context: Context | None = None
    ) -> None:
        return

    def selected_definitions(self) -> list[PropertyDefinition]:
        """Return the selected properties, each read as the catalog's schema types it.

        Raise `ConfigError` in one line when a property's type changed since the catalog was
        discovered in a way no value can follow without loss (`fit_to_catalog`).
        """
        given = self.effective_schema.get("properties") or {}
        chosen = []
        for name, current in self.runtime.definitions.items():
            if name not in self.schema["properties"] or not self.mask[("properties", name)]:
                continue
            defn = current
            if name in given:
                try:
                    defn = fit_to_catalog(current, given[name])
                except ValueError as exc:
                    raise ConfigError(
                        f"the catalog types tickets property {name!r} {exc}: its type changed "
                        "since the catalog was discovered; discover again (`--discover`; with "
                        "Meltano, `meltano run --refresh-catalog ...`) and run with that catalog"
                    ) from None
            chosen.append(defn)
        return chosen

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
        columns the catalog lacks (a column typed otherwise is read as `fit_to_catalog` says).
        """
        given = self.effective_schema.get("properties", {})
        ours = self.schema["properties"]
        kept = (name for name in builder.columns if self.mask[("properties", name)])
        if all(given.get(name) == ours[name] for name in kept):
            return TypeConformanceLevel.NONE
        return TypeConformanceLevel.RECURSIVE

    def _plain_output(self) -> bool:
        """Tell whether the SDK's per-record steps would hand each record on unchanged.

        Deselection cannot drop a column (the builder fills only selected and automatic ones),
        conformance is off (`_conformance_level`), and the one stream map is the identity,
        without flattening; then records skip those steps.
        """
        maps = self.stream_maps
        return (
            self.TYPE_CONFORMANCE_LEVEL is TypeConformanceLevel.NONE
            and len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and maps[0].stream_alias == self.name
            and not maps[0].flattening_enabled
        )

    @override
    def _generate_record_messages(self, record: Record) -> Generator[RecordMessage, None, None]:
        if not self._plain:
            yield from super()._generate_record_messages(record)
            return
        yield RecordMessage(
            stream=self.name,
            record=record,
            version=self._stream_version,
            time_extracted=utc_now(),
        )

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
        builder = TicketRecordBuilder(self.selected_definitions(), self.value_problems)
        self.TYPE_CONFORMANCE_LEVEL = self._conformance_level(builder)
        self._batching = bool(self.get_batch_config(self.config))
        self._plain = self._plain_output()
        with self._pool() as pool, ExitStack() as companions:
            for companion in self._companions():
                companions.enter_context(companion.emitting(self.name))
            walk = TicketWalk(self, builder.names, pool, self._companions())
            try:
                yield from self._read(walk, builder, checkpoint)
            finally:
                pool.shutdown(wait=True, cancel_futures=True)

    def _read(
        self, walk: TicketWalk, builder: TicketRecordBuilder, checkpoint: TicketsCheckpoint
    ) -> Iterator[Record]:
        """Read the parts of this run in order, then report them (`report.py`)."""
        options = self.runtime.options
        report = self.runtime.report
        self._forget_future(checkpoint)
        walked = False
        if checkpoint.bookmark is None:
            # A first sync bounded by start_date walks only tickets modified since it: modified
            # covers created, as creating a ticket sets hs_lastmodifieddate.
            whole = checkpoint.full_sync is None and options.start_date is None
            walks = walk.full_walks(checkpoint, since=options.start_date)
            part = report.add(full_walk_part(checkpoint.full_sync or {}))
            # A walk of every live ticket from its start hands its ids to ticket_associations.
            ids: array[int] | None = (
                array("q") if whole and self.runtime.associations_selected else None
            )
            if walks:  # none left when a killed run had done both and was healing
                first, *more = walks
                yield from self._emit(first, builder, checkpoint, part, more=tuple(more), ids=ids)
            if checkpoint.walks_done and self.ABORT_AT_RECORD_COUNT is None:
                yield from self._heal(walk, builder, checkpoint, part, ids)
            self.runtime.walked_ids = ids
            walked = True
        # One "now" for the run: windows planned against a moving clock would never end. It is
        # HubSpot's, known to within its uncertainty: a window reads to the latest it can be,
        # and leaves a bookmark no later than the earliest, so never past what HubSpot has.
        now, settle_by = self.runtime.hubspot_clock()
        resumed = checkpoint.window
        if resumed is not None:  # a killed run's window: finish it first
            part = report.add(window_part(resumed))
            yield from self._emit(walk.window_pages(resumed), builder, checkpoint, part)
        bookmark = checkpoint.bookmark
        if bookmark is None and self.ABORT_AT_RECORD_COUNT is not None:
            return  # `--test` read part of the walk: it was not checkpointed (`_emit`)
        assert bookmark is not None  # set by the full walk
        # Up to now, once: its bookmark settles a margin before now (`windows.py`). A run that
        # just walked every ticket has read up to now already: the window from its bookmark (a
        # margin before the walk began) waits for the next run.
        window = (
            None
            if walked
            else plan_window(bookmark, now, options.search_lag_margin, settle_by=settle_by)
        )
        if window is not None:
            checkpoint.set_window(window)
            part = report.add(window_part(window))
            yield from self._emit(walk.window_pages(window), builder, checkpoint, part)
        since = checkpoint.archived_since or options.start_date
        part = report.add(archived_part(since))
        yield from self._emit(walk.archived_pages(checkpoint), builder, checkpoint, part)
        for companion in self._companions():
            if companion.selected:
                report.uncounted[companion.name] = companion.emitted
        report.count(self.runtime.source.count)
        report.publish()

    def _heal(
        self,
        walk: TicketWalk,
        builder: TicketRecordBuilder,
        checkpoint: TicketsCheckpoint,
        part: Part,
        ids: array[int] | None,
    ) -> Iterator[Record]:
        """Close the full walk, or first let the list read what search counted but left out.

        The walk closes only when it read what HubSpot counts for it (`check_full_walk`);
        otherwise the run stops in one line and the state keeps the walk open.
        """
        full = checkpoint.full_sync or {}
        part.emitted, part.listed = checkpoint.counts(part.name)  # earlier runs' included
        count = self.runtime.source.count
        hubspot = count(part.count_filter or [])
        if part.emitted < hubspot and not full.get("healed"):
            self.logger.info(
                "tickets, full walk: HubSpot counts %s, the two walks read %s: the list walk "
                "goes on over the ids search walked, for tickets search counts but did not "
                "return",
                f"{hubspot:,}",
                f"{part.emitted:,}",
            )
            yield from self._emit(walk.heal_pages(checkpoint), builder, checkpoint, part, ids=ids)
            hubspot = count(part.count_filter or [])
        part.hubspot = hubspot  # the report's count of the part: taken after it was read
        bookmark = parse_instant(full["started_at"]) - self.runtime.options.search_lag_margin
        check_full_walk(
            part,
            lambda: count(modified_from(part.count_filter or [], bookmark)),
            walk.resumed_from,
        )
        checkpoint.finish_full_sync(bookmark)
        if not self._batching:
            self._flush_state()

    def _forget_future(self, checkpoint: TicketsCheckpoint) -> None:
        """Drop the state's instants past HubSpot's clock, in one warning (`forget_future`)."""
        latest = self.runtime.hubspot_clock()[0]
        dropped = checkpoint.forget_future(latest)
        if not dropped:
            return
        named = ", ".join(f"tickets {key} {value}" for key, value in dropped)
        start = self.runtime.options.start_date
        again = "from the start" if start is None else f"from start_date {to_iso(start)}"
        self.logger.warning(
            "the state's %s %s past HubSpot's clock (%s), as a run on a machine whose clock ran "
            "ahead leaves it: it cannot tell which changes were read, so this run reads what it "
            "covered again (%s) and skips none",
            named,
            "lies" if len(dropped) == 1 else "lie",
            to_iso(truncate_ms(latest)),
            again,
        )

    def _emit(
        self,
        pages: Iterator[TicketPage],
        builder: TicketRecordBuilder,
        checkpoint: TicketsCheckpoint,
        part: Part,
        *,
        more: tuple[Iterator[TicketPage], ...] = (),
        ids: array[int] | None = None,
    ) -> Iterator[Record]:
        """Emit each page's tickets, then its companions' records, then checkpoint it.

        `ids`, when given, collects the id of every ticket of every page.
        """
        part.emitted, part.listed = checkpoint.counts(part.name)
        # HubSpot counts a part read by search on its first page; the list reads uncounted.
        before = self.progress.count
        self.progress.expect(None)
        # `--test` reads a record or so of each stream: the SDK stops a stream past this many.
        limit = self.ABORT_AT_RECORD_COUNT
        ahead = ReadAhead(pages, READ_AHEAD_PAGES, name=f"{self.name}-pages", more=more)
        for page in ahead:
            if page.counted is not None:
                self.progress.expect(before + page.counted)
            tickets = page.tickets if page.fill is None else page.fill.result()
            if limit is not None:
                tickets = tickets[:limit]
            part.listed += len(page.tickets)
            if ids is not None:
                ids.extend(int(ticket["id"]) for ticket in page.tickets)
            for ticket in tickets:
                record = builder.record(ticket)
                part.emit(record)
                yield record
            for companion in self._companions():
                token = page.batches.get(companion.name)
                if token is not None:
                    companion.emit(token)
            if limit is not None and tickets:
                # The companions' records of the tickets emitted are out; the page was not
                # read whole, so it is not checkpointed. The SDK stops at the next ticket.
                continue
            # Kept before the mark: the mark that ends the part clears them.
            checkpoint.set_counts(part.name, part.emitted, part.listed)
            page.mark(checkpoint)
            # With `batch_config`, the page's tickets are in a batch file not yet handed over:
            # the SDK writes the state after each BATCH message, never before it.
            if not self._batching:
                self._flush_state()


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
        self.emitted = 0  # records written this run, for the run report

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
        limit = self.ABORT_AT_RECORD_COUNT  # `--test`: a record or so of each stream
        for record in self.get_records({"batch": token}):
            if limit is not None and self.emitted >= limit:
                break
            processed = self.post_process(record, None)
            if processed is not None and self.selected:
                self._write_record_message(processed)
                self._counter.increment()
                self.emitted += 1

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
