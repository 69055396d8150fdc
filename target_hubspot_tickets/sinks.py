"""The tickets sink: validate each record, then write each batch to HubSpot without loss.

A drained batch goes through four named steps, each for the records still standing:

1. `_dedupe`: the latest record per ticket (id or unique key) wins; earlier ones are superseded.
2. `_write_properties`: batch create / update / upsert / archive, 100 inputs per call, calls in
   flight together within the shared rate budget. Per-input failures (207) come back to their
   record through its unique `objectWriteTraceId`; a whole-batch refusal is split until the bad
   records stand alone (`splitting`). A create whose outcome is unknown is reconciled, never
   resent blindly. Archives are checked against HubSpot first, since its batch archive
   ignores unknown ids (`archives`): a record whose ticket does not exist is rejected.
3. Associations: link (and, with `replace_associations`, unlink) existing tickets
   (`associations`).
4. `_write_pins`: `hs_pinned_engagement_id`, which needs its engagement associated first.

Every record ends in one outcome of `rejects.OUTCOMES`; the rejects file is synced before the
SDK may emit the state that follows the batch.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from singer_sdk.exceptions import InvalidRecord
from singer_sdk.helpers.conform import DatetimeErrorTreatmentEnum
from singer_sdk.sinks import BatchSink
from singer_sdk.sinks.core import BaseJSONSchemaValidator, JSONSchemaValidator
from typing_extensions import override

from hubspot_api.errors import HubSpotAPIError, OutcomeUnknownError
from hubspot_api.paging import BATCH_LIMIT, SEARCH_PAGE_LIMIT, chunked
from hubspot_api.paths import Call
from target_hubspot_tickets.archives import ArchiveWriter
from target_hubspot_tickets.associations import AssociationWriter
from target_hubspot_tickets.rejects import Reject
from target_hubspot_tickets.splitting import isolate_refusals
from target_hubspot_tickets.validation import (
    PINNED_ENGAGEMENT,
    PIPELINE,
    STAGE,
    SUBJECT,
    Operation,
    RecordInvalid,
    TicketWrite,
)
from target_hubspot_tickets.writing import (
    Pending,
    RunContext,
    context_values,
    json_or_empty,
    reject_from,
    reject_from_entry,
)

if TYPE_CHECKING:
    from singer_sdk.target_base import Target

# Search takes at most this many filter groups per request (HubSpot's search limits).
SEARCH_FILTER_GROUPS = 5
# Clocks of this machine and HubSpot may differ; a created ticket may carry a createdate up to
# this much earlier than our own "before the call" time.
CLOCK_SKEW_MS = 5_000
# How often reconciliation polls search while waiting for it to catch up.
RECONCILE_POLL_S = 0.25
# A create that keeps ending with an unknown outcome is given up (rejected) after this many
# tries rather than looping.
MAX_CREATE_ATTEMPTS = 4
_DATE_PARSERS: dict[str, Callable[[str], Any]] = {
    "date-time": dt.datetime.fromisoformat,
    "date": dt.date.fromisoformat,
}


@dataclass(frozen=True)
class _CreateAnswer:
    """What one batch create came back with: its answer, or why its outcome is unknown."""

    started_ms: int
    answer: Mapping[str, Any] = field(default_factory=dict)
    unknown: OutcomeUnknownError | None = None


_OUTCOME_OF = {
    Operation.CREATE: "created",
    Operation.UPDATE: "updated",
    Operation.UPSERT: "upserted",
    Operation.ARCHIVE: "archived",
}


class _SchemaErrorCollector(BaseJSONSchemaValidator):
    """Check records against the stream schema, keeping the error instead of raising.

    A schema violation then becomes a reject of that one record, like every other check,
    rather than an exception that stops the run.
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        super().__init__(schema)
        self._inner = JSONSchemaValidator(schema, validate_formats=True)
        self.last_error: RecordInvalid | None = None
        # jsonschema checks `date-time` only when an optional package is installed; the SDK
        # would then turn an unparsable value into null. Check those formats here instead.
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
            self.last_error = RecordInvalid(f"{where}{message} (stream schema)", path)
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
                    f"field {name!r}: {value!r} is not a valid {fmt} (stream schema)", name
                )
        return None


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
        self._position = 0
        # Ticket ids already matched to a create whose outcome was unknown; batches reconcile
        # on several threads, and one ticket must never be claimed by two records.
        self._claim_lock = threading.Lock()
        self._claimed: set[str] = set()
        super().__init__(target, stream_name, schema, key_properties)

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
    def setup(self) -> None:
        """Fetch the portal's metadata before the first record (fails fast on bad config)."""
        super().setup()
        _ = self.run

    @override
    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        """Validate the record now; a valid one waits in the batch, an invalid one is rejected."""
        run = self.run
        self._position += 1
        run.tally.add_received()
        trace_id = f"{run.run_id}-{self.stream_name}-{self._position}"
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
            write = run.validator.prepare(clean, self._position, trace_id)
        except RecordInvalid as exc:
            self._reject_now(clean, self._position, exc)
            return
        context.setdefault("writes", []).append(write)

    def _reject_now(self, record: Mapping[str, Any], position: int, exc: RecordInvalid) -> None:
        ident = record.get("id")
        name = f"{self.stream_name} record #{position}" + (f" (id {ident})" if ident else "")
        reason = f"{name}: {exc.reason}"
        self._reject(record, Reject(reason, field=exc.field, category="VALIDATION"))

    def _reject(self, record: Mapping[str, Any], reject: Reject) -> None:
        run = self.run
        run.rejects.write(self.stream_name, record, reject)
        run.tally.count("rejected")
        self.logger.warning("Rejected %s", run.client.redact(reject.reason))

    # -- SDK hooks: batches --------------------------------------------------------------------
    @override
    def process_batch(self, context: dict[str, Any]) -> None:
        """Write one batch: dedupe, properties, associations, pins; then settle each record."""
        writes: list[TicketWrite] = context.get("writes", [])
        try:
            pending = self._dedupe(writes)
            self._write_properties(pending)
            AssociationWriter(self.run, self.stream_name).write(pending)
            self._write_pins(pending)
            self._settle(pending)
        finally:
            self.run.rejects.sync()

    def _dedupe(self, writes: list[TicketWrite]) -> list[Pending]:
        latest: dict[tuple[str, str], int] = {}
        for index, write in enumerate(writes):
            key = write.dedupe_key
            if key is not None:
                latest[key] = index
        kept: list[Pending] = []
        superseded = 0
        for index, write in enumerate(writes):
            key = write.dedupe_key
            if key is not None and latest[key] != index:
                superseded += 1
                continue
            kept.append(Pending(write))
        if superseded:
            self.run.tally.count("superseded", superseded)
            self.tally_duplicate_merged(superseded)
        return kept

    def _settle(self, pending: list[Pending]) -> None:
        tally = self.run.tally
        for item in pending:
            if item.failure is not None:
                self._reject(item.write.record, item.failure)
            elif item.associated_only:
                tally.count("associated")
            else:
                tally.count(_OUTCOME_OF[item.write.operation])

    # -- step 2: properties --------------------------------------------------------------------
    def _write_properties(self, pending: list[Pending]) -> None:
        jobs: list[tuple[Operation, list[Pending]]] = []
        by_op: dict[Operation, list[Pending]] = {op: [] for op in Operation}
        for item in pending:
            write = item.write
            if (
                write.operation is Operation.UPDATE
                and not write.properties
                and (write.associations is not None or write.pinned_engagement_id)
            ):
                item.associated_only = write.associations is not None
                continue  # nothing to write beyond links and the pin
            by_op[write.operation].append(item)
        for op, items in by_op.items():
            jobs.extend((op, chunk) for chunk in chunked(items, BATCH_LIMIT))
        if jobs:
            list(self.run.client.map_concurrent(self._send_job, jobs))

    def _send_job(self, job: tuple[Operation, list[Pending]]) -> None:
        op, items = job
        if op is Operation.ARCHIVE:
            ArchiveWriter(self.run, self.stream_name, self.logger).write(items)
        elif op is Operation.UPDATE:
            self._send_batch(Call.BATCH_UPDATE, items, _update_input, _match_by_id)
        elif op is Operation.UPSERT:
            key = self.run.options.id_property
            assert key is not None  # routing only makes upserts when it is set
            self._send_batch(Call.BATCH_UPSERT, items, _upsert_input(key), _match_by_id)
        elif self.run.options.source_id_property is not None:
            # A create keyed by a unique source id is an upsert: resending it is harmless.
            key = self.run.options.source_id_property
            self._send_batch(Call.BATCH_UPSERT, items, _create_as_upsert_input(key), None)
        else:
            self._send_creates(items, attempt=1)

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
            for item in self._map_answer(batch, answer, match):
                self._send_batch(call, [item], build, match, idempotent=idempotent)

    def _log_split(self, size: int, exc: HubSpotAPIError) -> None:
        self.logger.info(
            "HubSpot refused a batch of %d (%s); splitting it to find the bad records",
            size,
            exc.category or exc.status,
        )

    def _map_answer(
        self,
        items: list[Pending],
        answer: Mapping[str, Any],
        match: Callable[[Pending, Mapping[str, Any]], bool] | None,
    ) -> list[Pending]:
        """Attach results and per-input errors to their records.

        Return the records left unexplained when HubSpot reported errors it did not tie to an
        input: the caller resends those one by one so each gets its own answer.
        """
        by_trace = {item.write.trace_id: item for item in items}
        unmatched_errors: list[Mapping[str, Any]] = []
        for error in answer.get("errors") or []:
            traces = context_values(error, "objectWriteTraceId")
            hit = [by_trace[t] for t in traces if t in by_trace]
            if not hit and match is None:
                unmatched_errors.append(error)
            for item in hit:
                item.failure = reject_from_entry(item.write, self.stream_name, error)
            if not hit and match is not None:
                ids = set(context_values(error, "ids")) | set(context_values(error, "id"))
                found = [i for i in items if i.write.ticket_id in ids]
                for item in found:
                    item.failure = reject_from_entry(item.write, self.stream_name, error)
                if not found:
                    unmatched_errors.append(error)
        results = [r for r in answer.get("results") or [] if isinstance(r, Mapping)]
        for result in results:
            trace = result.get("objectWriteTraceId")
            owner: Pending | None = by_trace.get(trace) if isinstance(trace, str) else None
            if owner is None and match is not None:
                owner = next((i for i in items if match(i, result)), None)
            if owner is None:
                owner = self._match_result_by_unique(items, result)
            if owner is not None and owner.failure is None and result.get("id") is not None:
                owner.write.result_id = str(result["id"])
        if not unmatched_errors:
            return []
        unresolved = [i for i in items if i.failure is None and i.write.result_id is None]
        if len(unresolved) == 1:
            unresolved[0].failure = reject_from_entry(
                unresolved[0].write, self.stream_name, unmatched_errors[0]
            )
            return []
        return unresolved

    def _match_result_by_unique(
        self, items: list[Pending], result: Mapping[str, Any]
    ) -> Pending | None:
        props = result.get("properties")
        if not isinstance(props, Mapping):
            return None
        for key in (self.run.options.source_id_property, self.run.options.id_property):
            if key is None or props.get(key) in (None, ""):
                continue
            for item in items:
                if (
                    item.write.properties.get(key) == props[key]
                    or item.write.upsert_key == props[key]
                ):
                    return item
        return None

    # -- creates without a unique source id -------------------------------------------------
    def _send_creates(self, items: list[Pending], *, attempt: int) -> None:
        def send(batch: list[Pending]) -> _CreateAnswer:
            started_ms = int(time.time() * 1000)
            body = {"inputs": [_create_input(item.write) for item in batch]}
            try:
                response = self.run.client.request("POST", Call.BATCH_CREATE, json=body)
            except OutcomeUnknownError as exc:
                return _CreateAnswer(started_ms, unknown=exc)
            return _CreateAnswer(started_ms, answer=json_or_empty(response))

        outcome = isolate_refusals(items, send, on_split=self._log_split)
        for item, exc in outcome.refused:
            item.failure = reject_from(item.write, self.stream_name, exc)
        # Claim the tickets of every answered batch before looking for those of unanswered
        # ones, so a lookup cannot take a ticket that an answer already accounts for.
        for batch, result in outcome.accepted:
            if result.unknown is None:
                self._settle_creates(batch, result.answer)
        for batch, result in outcome.accepted:
            if result.unknown is not None:
                self._reconcile_creates(batch, result.started_ms, result.unknown, attempt=attempt)

    def _settle_creates(self, items: list[Pending], answer: Mapping[str, Any]) -> None:
        """Tie a batch create's answer to its records; reject those it refused."""
        unresolved = self._map_answer(items, answer, None)
        self._match_created(items, answer)
        if unresolved:
            # HubSpot reported failures it tied to no input, and some records got no result:
            # those were not created (a 207 accounts for every input), but resending could
            # duplicate a result that was merely not recognised, so they are rejected.
            error: Mapping[str, Any] = next(iter(answer.get("errors") or []), {})
            for item in unresolved:
                if item.write.result_id is None and item.failure is None:
                    item.failure = reject_from_entry(item.write, self.stream_name, error)

    def _match_created(self, items: list[Pending], answer: Mapping[str, Any]) -> None:
        """Tie batch-create results (which carry no trace id) to their records.

        HubSpot answers successes in input order; each pairing is checked against the values
        sent, and any that does not fit is matched by those values instead.
        """
        results = [r for r in answer.get("results") or [] if isinstance(r, Mapping)]
        waiting = [i for i in items if i.failure is None and i.write.result_id is None]
        leftovers: list[Mapping[str, Any]] = []
        if len(results) == len(waiting):
            for item, result in zip(waiting, results, strict=True):
                props = result.get("properties") or {}
                if _fingerprint_matches(item.write, props) and result.get("id") is not None:
                    item.write.result_id = str(result["id"])
                else:
                    leftovers.append(result)
        else:
            leftovers = results
        for result in leftovers:
            props = result.get("properties") or {}
            for item in waiting:
                if item.write.result_id is None and _fingerprint_matches(item.write, props):
                    item.write.result_id = str(result.get("id"))
                    break
        with self._claim_lock:
            self._claimed.update(i.write.result_id for i in items if i.write.result_id)

    def _reconcile_creates(
        self,
        items: list[Pending],
        started_ms: int,
        exc: OutcomeUnknownError,
        *,
        attempt: int,
    ) -> None:
        """Find which creates of a batch with an unknown outcome landed; resend only the rest.

        Search trails writes, so it is polled until every create is found or
        `unknown_outcome_wait_s` passes; what is still missing then was not applied.
        """
        self.logger.warning(
            "Outcome of a create batch of %d is unknown (%s); looking for its tickets",
            len(items),
            self.run.client.redact(str(exc)),
        )
        deadline = time.monotonic() + self.run.options.unknown_outcome_wait_s
        missing = list(items)
        while True:
            self._find_created(missing, started_ms)
            missing = [i for i in missing if i.write.result_id is None]
            if not missing or time.monotonic() >= deadline:
                break
            time.sleep(RECONCILE_POLL_S)
        if not missing:
            return
        if attempt >= MAX_CREATE_ATTEMPTS:
            for item in missing:
                item.failure = Reject(
                    f"{item.write.describe(self.stream_name)}: create outcome still unknown "
                    f"after {attempt} attempts; not resent to avoid a duplicate",
                    category="OUTCOME_UNKNOWN",
                    correlation_id=exc.correlation_id,
                )
            return
        self.logger.info("%d create(s) did not land; sending them again", len(missing))
        self._send_creates(missing, attempt=attempt + 1)

    def _find_created(self, items: list[Pending], started_ms: int) -> None:
        """Search for tickets made since `started_ms` that match each create's values."""
        for group in chunked(items, SEARCH_FILTER_GROUPS):
            body: dict[str, Any] = {
                "filterGroups": [
                    {
                        "filters": [
                            {
                                "propertyName": "createdate",
                                "operator": "GTE",
                                "value": str(started_ms - CLOCK_SKEW_MS),
                            },
                            {
                                "propertyName": SUBJECT,
                                "operator": "EQ",
                                "value": item.write.properties[SUBJECT],
                            },
                        ]
                    }
                    for item in group
                ],
                "properties": sorted({k for item in group for k in item.write.properties}),
                "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                "limit": SEARCH_PAGE_LIMIT,
            }
            answer = self.run.client.post_json(Call.SEARCH, body)
            found = answer.get("results") if isinstance(answer, Mapping) else None
            with self._claim_lock:
                for result in found or []:
                    tid = str(result.get("id"))
                    if tid in self._claimed:
                        continue
                    props = result.get("properties") or {}
                    for item in group:
                        if item.write.result_id is None and _fingerprint_matches(item.write, props):
                            item.write.result_id = tid
                            self._claimed.add(tid)
                            break

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

        def pin_job(chunk: list[Pending]) -> None:
            self._send_batch(Call.BATCH_UPDATE, chunk, pin_input, _match_by_result_id)

        list(self.run.client.map_concurrent(pin_job, list(chunked(items, BATCH_LIMIT))))
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
def _create_input(write: TicketWrite) -> dict[str, Any]:
    body: dict[str, Any] = {
        "properties": write.properties,
        "objectWriteTraceId": write.trace_id,
    }
    if write.associations:
        body["associations"] = [
            {"to": {"id": link.to_object_id}, "types": link.types_json()}
            for link in write.associations
        ]
    return body


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


# Compared when a create's outcome is unknown: the values HubSpot keeps as given.
_FINGERPRINT_PROPERTIES = (SUBJECT, PIPELINE, STAGE, "content")


def _fingerprint_matches(write: TicketWrite, found: Mapping[str, Any]) -> bool:
    for name in _FINGERPRINT_PROPERTIES:
        sent = write.properties.get(name)
        if sent is not None and (found.get(name) or "") != sent:
            return False
    return True


def _is_deleted(key: str) -> bool:
    return key == "_sdc_deleted_at"
