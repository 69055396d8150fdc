"""What every write step shares: the run's context, each record's outcome so far, and rejects.

The sink drives the steps; the steps (`updates`, `creates`, `archives`, `associations`, `pins`)
record on each `Pending` what happened to its record, and turn HubSpot's refusals into
`Reject`s with the helpers here, so every reason names the record the same way.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from hubspot_api.client import SERVER_CLOCK_UNCERTAINTY_MS, HubSpotClient
from hubspot_api.errors import HubSpotAPIError
from hubspot_api.instants import epoch_ms, parse_iso
from hubspot_api.outputs import OutputFileError
from hubspot_api.progress import SettleProgress
from hubspot_api.records import TICKETS_STREAM
from target_hubspot_tickets.checkpoints import Checkpoints
from target_hubspot_tickets.rejects import Reject, RejectsFile, Tally
from target_hubspot_tickets.validation import RecordValidator
from target_hubspot_tickets.writes import TicketWrite

if TYPE_CHECKING:
    from target_hubspot_tickets.creates import CreateWriter
    from target_hubspot_tickets.results import ResultsFile
    from target_hubspot_tickets.source_ids import SourceIds


# Ties each batch input to its result or error in HubSpot's answer; unique per record of a run.
TRACE_ID = "objectWriteTraceId"


@dataclass
class WriteOptions:
    """The target settings the sink's write steps use."""

    id_property: str | None = None
    source_id_property: str | None = None
    replace_associations: bool = False
    association_types: tuple[str, ...] = ()
    unknown_outcome_wait_s: float = 30.0
    # Read, validate and plan, but send no write (`plan`).
    dry_run: bool = False
    # Archives allowed in one input; None: no limit (`held_archives`).
    max_archives: int | None = None


@dataclass
class RunContext:
    """What all batches of one run share: client, validator, rejects file and tally."""

    client: HubSpotClient
    validator: RecordValidator
    rejects: RejectsFile
    tally: Tally
    options: WriteOptions
    checkpoints: Checkpoints
    # The input line being read (for reasons that say where a record came from).
    line_number: Callable[[], int] = lambda: 0
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    # When the run started, on HubSpot's clock (`HubSpotClient.server_now_ms`).
    started_ms: int = 0
    # The run's create writer (`creates.CreateWriter`), shared by every sink of the run.
    creates: CreateWriter | None = None
    # Source ids for creates that bring none (with `source_id_property` only).
    source_ids: SourceIds | None = None
    # Where each record's outcome (or, in a dry run, its plan) is written (`results`).
    results: ResultsFile | None = None
    # `source_id_property` does not exist yet: a dry run that would create it reads nothing by it.
    source_property_planned: bool = False
    # Archives wait here for the end of the input when `max_archives` limits them.
    held_archives: list[Pending] = field(default_factory=list)
    # Each ticket an archive of the input names so far (by id or by key): the archive's position.
    archived_in_input: dict[tuple[str, str], int] = field(default_factory=dict)
    # The run's progress lines; the tally pokes it, the sink counts its batches in flight.
    progress: SettleProgress = field(default_factory=lambda: SettleProgress.silent(TICKETS_STREAM))
    last_position: int = 0
    # The records whose writes went out (or began to): once sent, a write may have landed even
    # when the run stops before its outcome is recorded (`Target._finish` says so).
    sent: set[int] = field(default_factory=set)
    _positions: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)
    _position_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @contextmanager
    def room_for(self, records: Sequence[Mapping[str, Any]]) -> Iterator[None]:
        """Hold room in the rejects and results files for the outcomes of `records`."""
        with ExitStack() as stack:
            stack.enter_context(self.rejects.room_for(records))
            if self.results is not None:
                stack.enter_context(self.results.room_for(records))
            yield

    def sync_outputs(self) -> None:
        """Make every outcome written so far durable (before a state that covers it goes out)."""
        self.rejects.sync()
        if self.results is not None:
            self.results.sync()

    def close_outputs(self) -> OutputFileError | None:
        """Sync and close the rejects and results files; return the first failure, if any."""
        failure: OutputFileError | None = None
        for output in (self.rejects, self.results):
            try:
                if output is not None:
                    output.close()
            except OutputFileError as exc:
                failure = failure or exc
        return failure

    def sending(self, items: Iterable[Pending]) -> None:
        """Note the records of `items` that send something to HubSpot from now on."""
        positions = [
            item.write.position
            for item in items
            if item.failure is None
            and (
                not item.unchanged
                or item.write.associations is not None
                or item.write.pinned_engagement_id
            )
        ]
        with self._position_lock:
            self.sent.update(positions)

    def next_position(self) -> int:
        """Number the next record of the input (1, 2, ...), across every sink of the run."""
        with self._position_lock:
            self.last_position = next(self._positions)
            return self.last_position


@runtime_checkable
class RunOwner(Protocol):
    """What builds a run's context and hands it to each sink it makes (the target)."""

    def run_context(self) -> RunContext:
        """Return the run's context, built on first use."""
        ...


@dataclass
class Pending:
    """A write on its way: its outcome so far."""

    write: TicketWrite
    failure: Reject | None = None
    associated_only: bool = False
    # A create sent as an upsert by its source id landed on a ticket that already existed.
    matched_existing: bool = False
    # Whether the ticket existed when its current values were read (None: not read).
    exists: bool | None = None
    # Each property whose value changes: (HubSpot's value now, the value written), once read.
    changes: dict[str, tuple[str | None, str]] | None = None
    # Every property it writes holds that value already: nothing is sent for them (`current`).
    unchanged: bool = False

    @property
    def ticket_id(self) -> str | None:
        """Return the ticket the write landed on (or targets), once known."""
        return self.write.result_id or self.write.ticket_id


def traced_input(write: TicketWrite, **fields: Any) -> dict[str, Any]:
    """Build one batch input: `fields`, then the record's trace id (`TRACE_ID`)."""
    return {**fields, TRACE_ID: write.trace_id}


def answer_object(answer: Any) -> Mapping[str, Any]:
    """Return a parsed answer as a mapping: an empty one for a 204 or a body that is no object."""
    return answer if isinstance(answer, Mapping) else {}


def context_values(error: Mapping[str, Any], key: str) -> list[str]:
    """Return the values an error entry's `context` lists under `key` (HubSpot uses lists)."""
    context = error.get("context")
    if not isinstance(context, Mapping):
        return []
    values = context.get(key)
    if isinstance(values, str):
        return [values]
    if isinstance(values, Iterable):
        return [str(v) for v in values]
    return []


def field_of(message: str, properties: Iterable[str]) -> str | None:
    """Return the longest of `properties` that `message` mentions, if any."""
    for name in sorted(properties, key=len, reverse=True):
        if name in message:
            return name
    return None


def reject_from_entry(write: TicketWrite, stream: str, error: Mapping[str, Any]) -> Reject:
    """Build the reject for one per-input error of a batch answer."""
    message = str(error.get("message") or "rejected by HubSpot")
    names = set(context_values(error, "propertyName"))
    field = next(iter(sorted(names)), None) or field_of(message, write.properties)
    category = error.get("category")
    return Reject(
        f"{write.describe(stream)}: {message}",
        field=field,
        category=category if isinstance(category, str) else None,
    )


def reject_from(
    write: TicketWrite,
    stream: str,
    exc: HubSpotAPIError,
    *,
    prefix: str = "",
    field: str | None = None,
) -> Reject:
    """Build the reject for a record HubSpot refused on its own."""
    return Reject(
        f"{write.describe(stream)}: {prefix}{exc.message}",
        field=field or field_of(exc.message, write.properties),
        category=exc.category,
        correlation_id=exc.correlation_id,
    )


def map_answer(
    run: RunContext,
    stream: str,
    items: list[Pending],
    answer: Mapping[str, Any],
    match: Callable[[Pending, Mapping[str, Any]], bool] | None,
) -> list[Pending]:
    """Attach a batch answer's results and per-input errors to their records.

    Results and errors are tied to inputs by their trace id (`TRACE_ID`); without one, by
    `match`, or by the unique property values sent. Return the records left unexplained when HubSpot
    reported errors it tied to no input: the caller resends those one by one so each gets its
    own answer (or rejects them, when resending is not safe).
    """
    by_trace = {item.write.trace_id: item for item in items}
    unmatched_errors: list[Mapping[str, Any]] = []
    for error in answer.get("errors") or []:
        if not isinstance(error, Mapping):
            continue
        traces = context_values(error, TRACE_ID)
        hit = [by_trace[t] for t in traces if t in by_trace]
        for item in hit:
            item.failure = reject_from_entry(item.write, stream, error)
        if hit:
            continue
        if match is not None:
            ids = set(context_values(error, "ids")) | set(context_values(error, "id"))
            found = [i for i in items if i.write.ticket_id in ids]
            for item in found:
                item.failure = reject_from_entry(item.write, stream, error)
            if found:
                continue
        unmatched_errors.append(error)
    results = [r for r in answer.get("results") or [] if isinstance(r, Mapping)]
    for result in results:
        trace = result.get(TRACE_ID)
        owner: Pending | None = by_trace.get(trace) if isinstance(trace, str) else None
        if owner is None and match is not None:
            owner = next((i for i in items if match(i, result)), None)
        if owner is None:
            owner = _owner_by_unique(run, items, result)
        if owner is not None and owner.failure is None and result.get("id") is not None:
            owner.write.result_id = str(result["id"])
            owner.matched_existing = result.get("new") is False and _created_before(
                result, run.started_ms
            )
    if not unmatched_errors:
        return []
    unresolved = [i for i in items if i.failure is None and i.write.result_id is None]
    if len(unresolved) == 1:
        unresolved[0].failure = reject_from_entry(unresolved[0].write, stream, unmatched_errors[0])
        return []
    return unresolved


def _created_before(result: Mapping[str, Any], started_ms: int) -> bool:
    """Return whether a result's ticket was created before the run (not by a resend of it).

    An upsert answers `new: false` for a ticket made by an earlier run from the same record, but
    also for one that this run's own first try made when that answer was lost and the client
    sent the upsert again; only the creation time tells them apart.
    """
    created = result.get("createdAt")
    if not isinstance(created, str):
        return False
    try:
        moment = parse_iso(created)
    except ValueError:
        return False
    return epoch_ms(moment) < started_ms - SERVER_CLOCK_UNCERTAINTY_MS


def _owner_by_unique(
    run: RunContext, items: list[Pending], result: Mapping[str, Any]
) -> Pending | None:
    props = result.get("properties")
    if not isinstance(props, Mapping):
        return None
    for key in (run.options.source_id_property, run.options.id_property):
        if key is None or props.get(key) in (None, ""):
            continue
        for item in items:
            if item.write.properties.get(key) == props[key] or item.write.upsert_key == props[key]:
                return item
    return None
