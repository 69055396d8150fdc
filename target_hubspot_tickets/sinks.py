"""The tickets sink: validate each record, then write each batch to HubSpot without loss.

A drained batch is first cut into HubSpot batches, then each HubSpot batch goes through its own
steps, many at once, and settles as soon as its last step is done:

1. `_dedupe`: the latest record per ticket (id or unique key) wins; earlier ones are superseded.
   A record with an id and nothing to write is `unchanged` (`_plan`).
2. Properties: batch create / update / upsert / archive, 100 inputs per call, calls in flight
   together within the shared rate budget. Per-input failures (207) come back to their record
   through its unique `objectWriteTraceId` (`writing.map_answer`); a whole-batch refusal is
   split until the bad records stand alone (`splitting`). Creates without a source id go
   through `creates.CreateWriter`, which reconciles a create whose outcome is unknown instead of
   resending it blindly. Archives are checked against HubSpot first, since its batch archive
   ignores unknown ids (`archives`).
3. Associations: link (and, with `replace_associations`, unlink) existing tickets
   (`associations`).
4. `_write_pins`: `hs_pinned_engagement_id`, which needs its engagement associated first.
5. `_settle`: every record ends in one outcome of `rejects.OUTCOMES`; rejects are made durable,
   then the records count as settled for `checkpoints`, which emits the upstream STATE they
   complete. A run killed at any point has handed back a state that covers only settled records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from singer_sdk.exceptions import InvalidRecord
from singer_sdk.helpers.conform import DatetimeErrorTreatmentEnum
from singer_sdk.sinks import BatchSink
from singer_sdk.sinks.core import BaseJSONSchemaValidator, JSONSchemaValidator
from typing_extensions import override

from hubspot_api.errors import HubSpotAPIError
from hubspot_api.paging import BATCH_LIMIT, chunked
from hubspot_api.paths import Call
from target_hubspot_tickets.archives import NOT_FOUND, ArchiveWriter, archived_among
from target_hubspot_tickets.associations import AssociationWriter
from target_hubspot_tickets.rejects import Reject
from target_hubspot_tickets.splitting import isolate_refusals
from target_hubspot_tickets.validation import (
    PINNED_ENGAGEMENT,
    Operation,
    RecordInvalid,
    TicketWrite,
    describe_record,
)
from target_hubspot_tickets.writing import (
    Pending,
    RunContext,
    json_or_empty,
    map_answer,
    reject_from,
)

if TYPE_CHECKING:
    from singer_sdk.target_base import Target

_DATE_PARSERS: dict[str, Callable[[str], Any]] = {
    "date-time": dt.datetime.fromisoformat,
    "date": dt.date.fromisoformat,
}
# Records with an id and nothing to write are named one by one up to this many, then counted.
UNCHANGED_NAMED = 5

_OUTCOME_OF = {
    Operation.CREATE: "created",
    Operation.UPDATE: "updated",
    Operation.UPSERT: "upserted",
    Operation.ARCHIVE: "archived",
}
# A job of the links-only kind: updates that carry associations or a pin and no properties.
LINKS_ONLY = None
_Job = tuple[Operation | None, list[Pending]]


class _SchemaErrorCollector(BaseJSONSchemaValidator):
    """Check records against the stream schema, keeping the error instead of raising.

    A schema violation then becomes a reject of that one record, like every other check,
    rather than an exception that stops the run.
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        super().__init__(schema)
        self._inner = JSONSchemaValidator(schema, validate_formats=True)
        self.last_error: RecordInvalid | None = None
        # jsonschema checks `date-time` only when an optional package is installed. Check
        # those formats here instead, with the parser the writes use.
        self._datelike = {
            name: fmt
            for name, prop in (schema.get("properties") or {}).items()
            if isinstance(prop, Mapping) and (fmt := prop.get("format")) in _DATE_PARSERS
        }

    @override
    def validate(self, record: dict[str, Any]) -> None:
        try:
            self._inner.validate(record)
        except InvalidRecord as exc:
            cause = exc.__cause__
            steps = getattr(cause, "absolute_path", None) or ()
            path = ".".join(str(p) for p in steps) or None
            where = f"field {path!r}: " if path else ""
            message = getattr(cause, "message", None) or str(exc)
            self.last_error = RecordInvalid(f"{where}{_short(message)} (stream schema)", path)
        except Exception as exc:  # a value jsonschema itself cannot handle (a huge number)
            self.last_error = RecordInvalid(f"cannot be checked against the stream schema ({exc})")
        else:
            self.last_error = self._check_dates(record)

    def _check_dates(self, record: Mapping[str, Any]) -> RecordInvalid | None:
        for name, fmt in self._datelike.items():
            value = record.get(name)
            if not isinstance(value, str):
                continue
            try:
                _DATE_PARSERS[fmt](value)
            except ValueError:
                return RecordInvalid(
                    f"field {name!r}: {_short(ascii(value))} is not a valid {fmt} (stream schema)",
                    name,
                )
        return None


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
        """Keep the target: the run context (client, rejects, tally) lives there."""
        self._target = target
        self._unchanged_named = 0
        super().__init__(target, stream_name, schema, key_properties)
        # Fetch the portal's metadata now, before the first record: a wrong token or api_url
        # fails here, in one line (the SDK would add its own log line to a failing `setup`).
        _ = self.run

    @property
    def run(self) -> RunContext:
        """Return the run context, set up by the target on first use."""
        run: RunContext = self._target.run_context()  # type: ignore[attr-defined]
        return run

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
        return _SchemaErrorCollector(self.schema)

    @override
    def _parse_timestamps_in_record(
        self, record: dict[str, Any], schema: dict[str, Any], treatment: DatetimeErrorTreatmentEnum
    ) -> None:
        """Leave date values as given: validation checks them and the writes convert them.

        The SDK's own parsing raises on a number or an object in a date-time column, which
        would stop the run over one record; its checks are repeated by `_SchemaErrorCollector`.
        """

    @override
    def _singer_validate_message(self, record: dict[str, Any]) -> None:
        """Accept records without their key: a record without an `id` is a create."""

    @override
    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        """Validate the record now; a valid one waits in the batch, an invalid one is rejected."""
        run = self.run
        position = run.next_position()
        line = run.line_number()
        run.tally.add_received()
        trace_id = f"{run.run_id}-{self.stream_name}-{position}"
        clean = {k: v for k, v in record.items() if not k.startswith("_sdc_") or _is_deleted(k)}
        if clean.get("_sdc_deleted_at") is None:
            clean.pop("_sdc_deleted_at", None)
        collector = self._validator
        schema_error = (
            collector.last_error if isinstance(collector, _SchemaErrorCollector) else None
        )
        try:
            if schema_error is not None:
                raise schema_error
            write = run.validator.prepare(clean, position, trace_id, line)
        except RecordInvalid as exc:
            self._reject_now(clean, position, line, exc)
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
        ident = record.get("id")
        shown = _short(str(ident), 40) if isinstance(ident, str | int) and ident != "" else None
        name = describe_record(self.stream_name, position, line, id=shown)
        self._reject(
            record, Reject(f"{name}: {exc.reason}", field=exc.field, category="VALIDATION")
        )
        # Flushed already; durable with the next batch. Nothing is pending before it.
        self.run.checkpoints.settle((position,))

    def _reject(self, record: Mapping[str, Any], reject: Reject) -> None:
        run = self.run
        run.rejects.write(self.stream_name, record, reject)
        run.tally.count("rejected")
        self.logger.warning("Rejected %s", run.client.redact(reject.reason))

    # -- SDK hooks: batches --------------------------------------------------------------------
    @override
    def process_batch(self, context: dict[str, Any]) -> None:
        """Write one drained batch: HubSpot batches run their steps at once, each settling alone."""
        writes: list[TicketWrite] = context.get("writes", [])
        if self.run.source_ids is not None:
            writes = sorted([*self.run.source_ids.take_ready(), *writes], key=lambda w: w.position)
        try:
            jobs = self._plan(self._dedupe(writes))
            if jobs:
                list(self.run.client.map_concurrent(self._write_job, jobs))
        finally:
            self.run.rejects.sync()

    def _dedupe(self, writes: list[TicketWrite]) -> list[Pending]:
        latest: dict[tuple[str, str], int] = {}
        for index, write in enumerate(writes):
            key = write.dedupe_key
            if key is not None:
                latest[key] = index
        kept: list[Pending] = []
        superseded: list[int] = []
        for index, write in enumerate(writes):
            key = write.dedupe_key
            if key is not None and latest[key] != index:
                superseded.append(write.position)
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
        if unchanged:
            self._settle_unchanged(unchanged)
        return [(op, chunk) for op, items in by_op.items() for chunk in chunked(items, BATCH_LIMIT)]

    def _settle_unchanged(self, items: list[Pending]) -> None:
        columns = ", ".join(
            sorted(c for c in self.schema.get("properties") or {} if not c.startswith("_sdc_"))
        )
        for item in items:
            if self._unchanged_named < UNCHANGED_NAMED:
                self._unchanged_named += 1
                self.logger.warning(
                    "%s has an id and nothing to write; counted as unchanged (%s)",
                    item.write.describe(self.stream_name),
                    _why_nothing(item.write, _short(columns, 300)),
                )
        self.run.tally.count("unchanged", len(items))
        self.run.checkpoints.settle(item.write.position for item in items)

    def _write_job(self, job: _Job) -> None:
        op, items = job
        if op is Operation.ARCHIVE:
            ArchiveWriter(self.run, self.stream_name, self.logger).write(items)
        elif op is Operation.UPDATE:
            self._send_batch(Call.BATCH_UPDATE, items, _update_input, _match_by_id)
            self._explain_archived(items)
        elif op is Operation.UPSERT:
            key = self.run.options.id_property
            assert key is not None  # routing only makes upserts when it is set
            self._send_batch(Call.BATCH_UPSERT, items, _upsert_input(key), _match_by_id)
        elif op is Operation.CREATE and self.run.options.source_id_property is not None:
            # A create keyed by a unique source id is an upsert: resending it is harmless.
            key = self.run.options.source_id_property
            self._send_batch(Call.BATCH_UPSERT, items, _create_as_upsert_input(key), None)
        elif op is Operation.CREATE:
            creates = self.run.creates
            assert creates is not None  # built with the run context
            creates.write(items)
        AssociationWriter(self.run, self.stream_name).write(items)
        self._write_pins(items)
        self._settle(items)

    def _explain_archived(self, items: list[Pending]) -> None:
        """Say so when an update was refused because its ticket is archived, not unknown.

        HubSpot answers both with the same "Object not found"; one batch read of the archived
        tickets tells them apart.
        """
        missing = [
            i
            for i in items
            if i.failure is not None and i.failure.category == NOT_FOUND and i.write.ticket_id
        ]
        if not missing:
            return
        archived = archived_among(self.run, [i.write.ticket_id or "" for i in missing])
        for item in missing:
            if item.write.ticket_id in archived:
                item.failure = Reject(
                    f"{item.write.describe(self.stream_name)}: ticket {item.write.ticket_id} is "
                    "archived (deleted in HubSpot); restore it there before updating it",
                    field="id",
                    category="ARCHIVED",
                )

    def _settle(self, pending: list[Pending]) -> None:
        tally = self.run.tally
        replays = 0
        for item in pending:
            if item.failure is not None:
                self._reject(item.write.record, item.failure)
            elif item.associated_only:
                tally.count("associated")
            elif item.write.operation is Operation.CREATE and item.matched_existing:
                replays += 1
                tally.count("upserted")
            else:
                tally.count(_OUTCOME_OF[item.write.operation])
        if replays:
            self.logger.info(
                "%d create(s) found the ticket that the same input record made before (same "
                "source id): updated, not created again",
                replays,
            )
        self.run.rejects.sync()
        self.run.checkpoints.settle(item.write.position for item in pending)

    def _send_batch(
        self,
        call: Call,
        items: list[Pending],
        build: Callable[[TicketWrite], dict[str, Any]],
        match: Callable[[Pending, Mapping[str, Any]], bool] | None,
        *,
        idempotent: bool | None = None,
    ) -> None:
        """Send one batch; map results and per-input errors back; split whole-batch refusals."""

        def send(batch: list[Pending]) -> Mapping[str, Any]:
            body = {"inputs": [build(item.write) for item in batch]}
            response = self.run.client.request("POST", call, json=body, idempotent=idempotent)
            return json_or_empty(response)

        outcome = isolate_refusals(items, send, on_split=self._log_split)
        for item, exc in outcome.refused:
            item.failure = reject_from(item.write, self.stream_name, exc)
        for batch, answer in outcome.accepted:
            for item in map_answer(self.run, self.stream_name, batch, answer, match):
                self._send_batch(call, [item], build, match, idempotent=idempotent)

    def _log_split(self, size: int, exc: HubSpotAPIError) -> None:
        self.logger.info(
            "HubSpot refused a batch of %d (%s); splitting it to find the bad records",
            size,
            exc.category or exc.status,
        )

    # -- step 4: pins --------------------------------------------------------------------------
    def _write_pins(self, pending: list[Pending]) -> None:
        items = [
            item
            for item in pending
            if item.failure is None and item.write.pinned_engagement_id and item.ticket_id
        ]
        if not items:
            return

        def pin_input(write: TicketWrite) -> dict[str, Any]:
            return {
                "id": write.result_id or write.ticket_id,
                "properties": {PINNED_ENGAGEMENT: write.pinned_engagement_id},
                "objectWriteTraceId": write.trace_id,
            }

        for chunk in chunked(items, BATCH_LIMIT):
            self._send_batch(Call.BATCH_UPDATE, chunk, pin_input, _match_by_result_id)
        for item in items:
            if item.failure is not None:
                # The ticket itself was written: say so, since a resend would only redo the pin.
                head, _, tail = item.failure.reason.partition(": ")
                item.failure = replace(
                    item.failure,
                    reason=f"{head}: ticket {item.ticket_id} written, but pinning failed: {tail}",
                    field=PINNED_ENGAGEMENT,
                )


# -- inputs -------------------------------------------------------------------------------------
def _update_input(write: TicketWrite) -> dict[str, Any]:
    return {
        "id": write.ticket_id,
        "properties": write.properties,
        "objectWriteTraceId": write.trace_id,
    }


def _upsert_input(id_property: str) -> Callable[[TicketWrite], dict[str, Any]]:
    def build(write: TicketWrite) -> dict[str, Any]:
        return {
            "idProperty": id_property,
            "id": write.upsert_key,
            "properties": write.properties,
            "objectWriteTraceId": write.trace_id,
        }

    return build


def _create_as_upsert_input(source_property: str) -> Callable[[TicketWrite], dict[str, Any]]:
    def build(write: TicketWrite) -> dict[str, Any]:
        return {
            "idProperty": source_property,
            "id": write.properties[source_property],
            "properties": write.properties,
            "objectWriteTraceId": write.trace_id,
        }

    return build


# -- answers ------------------------------------------------------------------------------------
def _match_by_id(item: Pending, result: Mapping[str, Any]) -> bool:
    return item.write.ticket_id is not None and str(result.get("id")) == item.write.ticket_id


def _match_by_result_id(item: Pending, result: Mapping[str, Any]) -> bool:
    return item.ticket_id is not None and str(result.get("id")) == item.ticket_id


def _why_nothing(write: TicketWrite, columns: str) -> str:
    """Say why a record with an id writes nothing: its columns, or the stream's."""
    if write.dropped:
        shown = ", ".join(f"{name}: {why}" for name, why in sorted(write.dropped.items()))
        return f"its other columns are not written: {shown}"
    nulls = sorted(k for k, v in write.record.items() if v is None and k != "id")
    if nulls:
        return f"its other columns are null, which leaves HubSpot's values: {', '.join(nulls)}"
    return f"the stream's schema has only: {columns}; a column missing there was dropped upstream"


def _is_deleted(key: str) -> bool:
    return key == "_sdc_deleted_at"
