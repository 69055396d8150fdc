"""The tickets sink: validate each record, then write each batch to HubSpot without loss.

A drained batch is first cut into HubSpot batches, then each HubSpot batch goes through its own
steps, many at once, and settles as soon as its last step is done (`_write_job`):

1. `_dedupe`: the latest record per ticket (id or unique key) wins; earlier ones are superseded.
   A record with an id and nothing to write is `unchanged` (`_plan`). With `max_archives`,
   archives wait for the end of the input, where they are counted first (`write_held_archives`).
2. Current values: updates and upserts leave out what HubSpot holds already (`current`).
3. Properties: batch create / update / upsert / archive, 100 inputs per call, calls in flight
   together within the shared rate budget, each kind by its writer (`_writers`). Per-input
   failures (207) come back to their record through its unique trace id, and a
   whole-batch refusal is split until the bad records stand alone (`batches.BatchWriter`).
   Updates and upserts are `updates`; creates without a source id go through
   `creates.CreateWriter`, which reconciles a create whose outcome is unknown instead of
   resending it blindly. Archives are checked against HubSpot first, since its batch archive
   ignores unknown ids (`archives`).
4. Associations: link (and, with `replace_associations`, unlink) existing tickets
   (`associations`).
5. Pins: `hs_pinned_engagement_id`, which needs its engagement associated first (`pins`).
6. `_settle`: every record ends in one outcome of `rejects.OUTCOMES` and one line of the
   results file (`results`); then the records count as settled for `checkpoints`, which emits
   the upstream STATE they complete once the rejects and results files are synced. A run
   killed at any point has handed back a state that covers only settled records. Room for a
   drain's outcomes is held in both files before any of it is sent, and a failure to write
   one stops the run before its next call (`hubspot_api.outputs`).

A dry run (`dry_run`) takes the same steps with writers that send nothing (`plan`): the reads
of steps 2 and 3 decide each record's action, and the results file becomes the plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from singer_sdk.helpers.conform import DatetimeErrorTreatmentEnum
from singer_sdk.sinks import BatchSink
from singer_sdk.sinks.core import BaseJSONSchemaValidator
from typing_extensions import override

from hubspot_api.outputs import OutputFileError
from hubspot_api.paging import BATCH_LIMIT, chunked
from hubspot_api.records import DELETED_AT, ID, SDC_PREFIX, is_metadata_column
from target_hubspot_tickets.archives import ArchiveWriter, archived_earlier, refuse_over_limit
from target_hubspot_tickets.associations import AssociationWriter
from target_hubspot_tickets.current import LINKS_ONLY, CurrentValues
from target_hubspot_tickets.input import InputError
from target_hubspot_tickets.pins import PinWriter
from target_hubspot_tickets.plan import NO_WRITE
from target_hubspot_tickets.rejects import Reject
from target_hubspot_tickets.results import ACTIONS, UNCHANGED, action_of
from target_hubspot_tickets.schema_check import SchemaErrorCollector, short
from target_hubspot_tickets.updates import UpdateWriter, UpsertWriter
from target_hubspot_tickets.validation import UNKEYED_CREATE_FIX
from target_hubspot_tickets.writes import Operation, RecordInvalid, TicketWrite, describe_record
from target_hubspot_tickets.writing import Pending, RunContext, RunOwner

if TYPE_CHECKING:
    from singer_sdk.target_base import Target

# Records with an id and nothing to write are named one by one up to this many, then counted.
UNCHANGED_NAMED = 5

# A job of the links-only kind (`LINKS_ONLY`): updates with associations or a pin, no properties.
_Job = tuple[Operation | None, list[Pending]]


class _Writer(Protocol):
    def write(self, items: list[Pending], /) -> None: ...


class TicketsSink(BatchSink):
    """Write `tickets` records to HubSpot: creates, updates, upserts, archives, associations."""

    # Larger than one HubSpot batch so a drain sends many batch calls at once (100 each).
    MAX_SIZE_DEFAULT = 1000

    @override
    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict[str, Any],
        key_properties: Sequence[str] | None,
    ) -> None:
        """Take the run context (client, validator, rejects, tally) from the target, once.

        The target builds it with its first sink, fetching the portal's metadata before the
        first record: a wrong token or api_url fails here, in one line (the SDK would add its
        own log line to a failing `setup`).
        """
        if not isinstance(target, RunOwner):
            raise TypeError(f"{type(self).__name__} needs a target that owns a run context")
        self.run = target.run_context()
        self._unchanged_named = 0
        super().__init__(target, stream_name, schema, key_properties)
        # A column the portal lacks is named once here, not in every row's reject.
        self.run.validator.check_columns(self.schema.get("properties") or {})
        self._writers = self._make_writers(self.run)
        self._current = CurrentValues(self.run, stream_name)
        dry = self.run.options.dry_run
        self._associations: _Writer = NO_WRITE if dry else AssociationWriter(self.run, stream_name)
        self._pins: _Writer = NO_WRITE if dry else PinWriter(self.run, stream_name, self.logger)

    def _make_writers(self, run: RunContext) -> dict[Operation, _Writer]:
        """Choose the writer of each operation's properties (step 2)."""
        name, logger, options = self.stream_name, self.logger, run.options
        assert run.creates is not None  # built with the run context
        if options.dry_run:  # archives still read which tickets exist; nothing else is sent
            archive = ArchiveWriter(run, name, logger)
            return {op: archive if op is Operation.ARCHIVE else NO_WRITE for op in Operation}
        writers: dict[Operation, _Writer] = {
            Operation.ARCHIVE: ArchiveWriter(run, name, logger),
            Operation.UPDATE: UpdateWriter(run, name, logger),
            Operation.CREATE: run.creates,
        }
        if options.id_property is not None:  # routing only makes upserts when it is set
            writers[Operation.UPSERT] = UpsertWriter.by_id_property(
                run, name, logger, options.id_property
            )
        if options.source_id_property is not None:
            # A create keyed by a unique source id is an upsert: resending it is harmless.
            writers[Operation.CREATE] = UpsertWriter.by_source_id(
                run, name, logger, options.source_id_property
            )
        return writers

    # -- SDK hooks: records --------------------------------------------------------------------
    @property
    @override
    def include_sdc_metadata_properties(self) -> bool:
        """Keep `_sdc_*` fields: `_sdc_deleted_at` means archive (the rest are ignored)."""
        return True

    @property
    @override
    def datetime_error_treatment(self) -> DatetimeErrorTreatmentEnum:
        """Leave a bad date-time for the schema check to reject, instead of stopping the run."""
        return DatetimeErrorTreatmentEnum.NULL

    @override
    def get_validator(self) -> BaseJSONSchemaValidator | None:
        """Check the stream schema (formats included) and keep the error for the reject."""
        if not self.validate_schema:
            return None
        return SchemaErrorCollector(self.schema)

    @override
    def _parse_timestamps_in_record(
        self, record: dict[str, Any], schema: dict[str, Any], treatment: DatetimeErrorTreatmentEnum
    ) -> None:
        """Leave date values as given: validation checks them and the writes convert them.

        The SDK's own parsing raises on a number or an object in a date-time column, which
        would stop the run over one record; its checks are repeated by `SchemaErrorCollector`.
        """

    @override
    def _singer_validate_message(self, record: dict[str, Any]) -> None:
        """Accept records without their key: a record without an `id` is a create."""

    @override
    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        """Validate the record now; a valid one waits in the batch, an invalid one is rejected."""
        run = self.run
        clean = {k: v for k, v in record.items() if not is_metadata_column(k)}
        if clean.get(DELETED_AT) is None:
            clean.pop(DELETED_AT, None)
        if run.validator.refuses_unkeyed_create(clean):
            name = describe_record(self.stream_name, run.last_position + 1, run.line_number())
            raise InputError(
                f"{name} has no id, so it would be created, but no source_id_property is set "
                f"and the same input sent again would create it again; {UNKEYED_CREATE_FIX}"
            )
        position = run.next_position()
        line = run.line_number()
        run.tally.add_received()
        trace_id = f"{run.run_id}-{self.stream_name}-{position}"
        collector = self._validator
        schema_error = collector.last_error if isinstance(collector, SchemaErrorCollector) else None
        try:
            write = run.validator.prepare(clean, position, trace_id, line)
        except RecordInvalid as exc:
            self._reject_now(clean, position, line, _with_schema_error(schema_error, exc))
            return
        if schema_error is not None:
            self._reject_now(clean, position, line, schema_error)
            return
        after_archive = archived_earlier(run, write)
        if after_archive is not None:
            self._reject_now(clean, position, line, after_archive)
            return
        if (
            run.source_ids is not None
            and write.operation is Operation.CREATE
            and write.source_key is None
        ):
            run.source_ids.hold(write)  # sent once its input segment ends (`source_ids`)
            return
        context.setdefault("writes", []).append(write)

    def _reject_now(
        self, record: Mapping[str, Any], position: int, line: int, exc: RecordInvalid
    ) -> None:
        ident = record.get(ID)
        shown = short(str(ident), 40) if isinstance(ident, str | int) and ident != "" else None
        name = describe_record(self.stream_name, position, line, id=shown)
        reject = Reject(
            f"{name}: {exc.reason}",
            field=exc.field,
            category=exc.category,
            problems=tuple({"field": p.field, "reason": p.reason} for p in exc.problems),
        )
        self._reject(record, reject)
        if self.run.results is not None:
            self.run.results.invalid(record, position, line, reject)
        # Written already; synced before the state that covers it goes out (`_emit_state`).
        self.run.checkpoints.settle((position,))

    def _reject(self, record: Mapping[str, Any], reject: Reject, *, quiet: bool = False) -> None:
        run = self.run
        run.rejects.write(self.stream_name, record, reject)
        run.tally.count("rejected")
        if not quiet:
            self.logger.warning("Rejected %s", run.client.redact(reject.reason))

    # -- SDK hooks: batches --------------------------------------------------------------------
    @override
    def process_batch(self, context: dict[str, Any]) -> None:
        """Write one drained batch: HubSpot batches run their steps at once, each settling alone."""
        writes: list[TicketWrite] = context.get("writes", [])
        if self.run.source_ids is not None:
            writes = sorted([*self.run.source_ids.take_ready(), *writes], key=lambda w: w.position)
        # Room for every outcome of the drain is held before any of it is sent: when there is
        # none, nothing of it goes out, and the states handed back cover every earlier drain.
        with self.run.room_for([write.record for write in writes]):
            jobs = self._plan(self._dedupe(writes))
            # An archive goes out after the batch's other writes: an update of its ticket that
            # comes before it in the input lands first, as it does in any other batch.
            for archives in (False, True):
                wave = [job for job in jobs if (job[0] is Operation.ARCHIVE) is archives]
                if wave:
                    list(self.run.client.map_concurrent(self._write_job, wave))

    def write_held_archives(self) -> int:
        """Write the archives held for the end of the input; return how many were refused."""
        held, self.run.held_archives = self.run.held_archives, []
        if not held:
            return 0
        pending = self._dedupe([item.write for item in held])
        refused = refuse_over_limit(pending, self.run.options.max_archives, self.stream_name)
        with self.run.room_for([item.write.record for item in pending]):
            if refused:  # one line for them all, from the target
                self._settle(pending, quiet=True)
            else:
                jobs = [(Operation.ARCHIVE, chunk) for chunk in chunked(pending, BATCH_LIMIT)]
                list(self.run.client.map_concurrent(self._write_job, jobs))
        return len(pending) if refused else 0

    def _write_job(self, job: _Job) -> None:
        """Take one HubSpot batch through steps 2 to 6.

        An outcome that fails to be written (room was held for it, but a disk can still fail)
        stops every later call of the run (`HubSpotClient.halt`).
        """
        op, items = job
        try:
            with self.run.progress.batch():
                self._current.compare(op, items)
                if not self.run.options.dry_run:
                    self.run.sending(items)
                if op is not LINKS_ONLY:
                    todo = [i for i in items if not i.unchanged and i.failure is None]
                    self._writers[op].write(todo)
                self._associations.write(items)
                self._pins.write(items)
                self._settle(items)
        except OutputFileError as exc:
            self.run.client.halt(exc)
            raise

    # -- step 1: dedupe and plan ---------------------------------------------------------------
    def _dedupe(self, writes: list[TicketWrite]) -> list[Pending]:
        """Keep the latest write per ticket and, apart, its latest archive (sent after it).

        So a ticket ends the same whether its write and archive share a batch or not, and
        whether the archive is then refused (`max_archives`) or not.
        """
        dropped = _superseded(writes)
        kept: list[Pending] = []
        superseded: list[int] = []
        for index, write in enumerate(writes):
            if index in dropped:
                superseded.append(write.position)
                if self.run.results is not None:
                    self.run.results.superseded(write)
                continue
            kept.append(Pending(write))
        if superseded:
            self.run.tally.count("superseded", len(superseded))
            self.tally_duplicate_merged(len(superseded))
            # The record that supersedes each comes later in the input: a state emitted before
            # it settles does not cover it.
            self.run.checkpoints.settle(superseded)
        return kept

    def _plan(self, pending: list[Pending]) -> list[_Job]:
        """Cut the batch into HubSpot batches by operation; settle records with nothing to do."""
        by_op: dict[Operation | None, list[Pending]] = {op: [] for op in Operation}
        by_op[LINKS_ONLY] = []
        unchanged: list[Pending] = []
        for item in pending:
            write = item.write
            if write.operation is Operation.UPDATE and not write.properties:
                if write.associations is not None or write.pinned_engagement_id:
                    item.associated_only = write.associations is not None
                    by_op[LINKS_ONLY].append(item)
                else:
                    unchanged.append(item)
                continue
            by_op[write.operation].append(item)
        if self.run.options.max_archives is not None:  # counted at the end of the input
            self.run.held_archives.extend(by_op.pop(Operation.ARCHIVE))
        if unchanged:
            self._settle_unchanged(unchanged)
        return [(op, chunk) for op, items in by_op.items() for chunk in chunked(items, BATCH_LIMIT)]

    def _settle_unchanged(self, items: list[Pending]) -> None:
        columns = ", ".join(
            sorted(c for c in self.schema.get("properties") or {} if not c.startswith(SDC_PREFIX))
        )
        for item in items:
            if self._unchanged_named < UNCHANGED_NAMED:
                self._unchanged_named += 1
                self.logger.warning(
                    "%s has an id and nothing to write; counted as unchanged (%s)",
                    item.write.describe(self.stream_name),
                    _why_nothing(item.write, short(columns, 300)),
                )
        self.run.tally.count("unchanged", len(items))
        if self.run.results is not None:
            for item in items:
                self.run.results.settled(item, UNCHANGED)
        self.run.checkpoints.settle(item.write.position for item in items)

    # -- step 5: settle ------------------------------------------------------------------------
    def _settle(self, pending: list[Pending], *, quiet: bool = False) -> None:
        tally = self.run.tally
        replays = 0
        # A record settles once its outcome is written; when a write fails, the ones written
        # before it still settle, and the state that covers them may go out (synced first).
        recorded: list[int] = []
        try:
            for item in pending:
                action = action_of(item, self.run.options)
                if item.failure is not None:
                    self._reject(item.write.record, item.failure, quiet=quiet)  # counts it
                if self.run.results is not None:
                    self.run.results.settled(item, action)
                if item.failure is None:
                    tally.count(ACTIONS[action])
                    replays += item.write.operation is Operation.CREATE and item.matched_existing
                recorded.append(item.write.position)
        finally:
            self.run.checkpoints.settle(recorded)
        if replays:
            self.logger.info(
                "%d create(s) found the ticket that the same input record made before (same "
                "source id): updated, not created again",
                replays,
            )


def _superseded(writes: list[TicketWrite]) -> set[int]:
    """Return the indexes of the writes a later write of the same key supersedes."""
    latest: dict[tuple[str, str, bool], int] = {}
    for index, write in enumerate(writes):
        key = _dedupe_key(write)
        if key is not None:
            latest[key] = index
    return {i for i, w in enumerate(writes) if (k := _dedupe_key(w)) is not None and latest[k] != i}


def _dedupe_key(write: TicketWrite) -> tuple[str, str, bool] | None:
    """Return the key that writes superseding each other share: the ticket, and archive or not."""
    key = write.dedupe_key
    return None if key is None else (*key, write.operation is Operation.ARCHIVE)


def _with_schema_error(schema_error: RecordInvalid | None, exc: RecordInvalid) -> RecordInvalid:
    """Return `exc` with the stream schema's complaint first, when the schema has one."""
    if schema_error is None:
        return exc
    named = {p.field for p in schema_error.problems}
    rest = [p for p in exc.problems if p.field is None or p.field not in named]
    return RecordInvalid.of([*schema_error.problems, *rest])


def _why_nothing(write: TicketWrite, columns: str) -> str:
    """Say why a record with an id writes nothing: its columns, or the stream's."""
    if write.dropped:
        shown = ", ".join(f"{name}: {why}" for name, why in sorted(write.dropped.items()))
        return f"its other columns are not written: {shown}"
    empty = sorted(k for k, v in write.record.items() if v in (None, "") and k != ID)
    if empty:
        return (
            'its other columns are empty (null or ""), which leaves HubSpot\'s values '
            f"(empty_string_values / null_values: clear would clear them): {', '.join(empty)}"
        )
    return f"the stream's schema has only: {columns}; a column missing there was dropped upstream"
