"""Create tickets without a source id, and never count a create that did not happen.

Without `source_id_property` a batch create cannot be resent safely: when its answer is lost
(a dropped connection, a timeout, a 5xx after HubSpot applied it) the tickets may exist. Such a
batch is reconciled instead: search is asked for tickets created since just before the call
whose subject, pipeline, stage and content match each record, and only the records still
missing after `unknown_outcome_wait_s` (search trails writes) are sent again.

Two rules keep reconciliation from claiming a ticket that is not its own:

1. Clock. "Created since just before the call" is measured on HubSpot's clock (the `Date` header
   of its answers, `HubSpotClient.server_now_ms`), widened by that clock's uncertainty and a
   small margin, so a machine whose clock runs ahead or behind does not miss its tickets.
2. Ownership. Every ticket an answer accounts for is claimed before any search may look at it:
   searches take the `CreateGate` exclusively, while sends (from the moment a create batch goes
   out until its answer is tied to its records) hold it shared. A search therefore never sees a
   ticket made by a batch whose answer has not been read yet, and each ticket found is claimed by
   at most one record (`_claimed`). Records with identical values cannot be told apart; each of
   them gets its own ticket all the same.

A create whose outcome stays unknown after `MAX_CREATE_ATTEMPTS` sends is rejected as
`OUTCOME_UNKNOWN` rather than risk a duplicate. `source_id_property` avoids all of this: its
creates are upserts, which can always be resent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from hubspot_api.client import SERVER_CLOCK_UNCERTAINTY_MS
from hubspot_api.errors import OutcomeUnknownError
from hubspot_api.paging import SEARCH_MAX_FILTER_GROUPS, chunked, iter_keyset_search
from hubspot_api.paths import Call
from hubspot_api.properties import CONTENT, CREATE_DATE, PIPELINE, PIPELINE_STAGE, SUBJECT
from target_hubspot_tickets.rejects import Reject
from target_hubspot_tickets.splitting import isolate_refusals, split_logger
from target_hubspot_tickets.writes import TicketWrite
from target_hubspot_tickets.writing import (
    Pending,
    RunContext,
    answer_object,
    map_answer,
    reject_from,
    reject_from_entry,
    traced_input,
)

# Added to the server clock's own uncertainty: HubSpot stamps `createdate` when it applies the
# create, which is after the answer that dated the clock, never much before.
CREATE_WINDOW_MARGIN_MS = 2_000
# How often reconciliation polls search while waiting for it to catch up.
RECONCILE_POLL_S = 0.25
# A create that keeps ending with an unknown outcome is given up (rejected) after this many
# sends rather than looping.
MAX_CREATE_ATTEMPTS = 4
# Compared when a create's outcome is unknown: the values HubSpot keeps as given.
FINGERPRINT_PROPERTIES = (SUBJECT, PIPELINE, PIPELINE_STAGE, CONTENT)


class CreateGate:
    """Shared for create sends (until their answers are claimed), exclusive for searches."""

    def __init__(self) -> None:
        """Start with nothing in flight."""
        self._cond = threading.Condition()
        self._sending = 0
        self._searching = False
        self._searches_waiting = 0

    @contextmanager
    def sending(self) -> Iterator[None]:
        """Hold the gate shared while a create batch is out and its answer is being claimed."""
        with self._cond:
            # Searches waiting go first, so a steady stream of creates cannot starve them.
            while self._searching or self._searches_waiting:
                self._cond.wait()
            self._sending += 1
        try:
            yield
        finally:
            with self._cond:
                self._sending -= 1
                self._cond.notify_all()

    @contextmanager
    def searching(self) -> Iterator[None]:
        """Hold the gate alone: no create is out whose tickets are not claimed yet."""
        with self._cond:
            self._searches_waiting += 1
            while self._searching or self._sending:
                self._cond.wait()
            self._searches_waiting -= 1
            self._searching = True
        try:
            yield
        finally:
            with self._cond:
                self._searching = False
                self._cond.notify_all()


@dataclass(frozen=True)
class _CreateAnswer:
    """What one batch create came back with: its answer, or why its outcome is unknown."""

    started_ms: int  # HubSpot's clock, for the `createdate` filter
    answer: Mapping[str, Any] = field(default_factory=dict)
    unknown: OutcomeUnknownError | None = None
    # This machine's monotonic clock when the call went out: search gets its full wait from it.
    sent_at: float = 0.0


class CreateWriter:
    """Create tickets by batch create, reconciling batches whose outcome is unknown."""

    def __init__(self, run: RunContext, stream_name: str, logger: logging.Logger) -> None:
        """Share one gate and one set of claimed tickets across all batches of the run."""
        self.run = run
        self.stream_name = stream_name
        self.logger = logger
        self.gate = CreateGate()
        self._claim_lock = threading.Lock()
        self._claimed: set[str] = set()

    def write(self, items: list[Pending], *, attempt: int = 1) -> None:
        """Create the tickets of `items` (one HubSpot batch at most)."""
        outcome = isolate_refusals(
            items, self._send, on_split=split_logger(self.logger, "a create")
        )
        for item, exc in outcome.refused:
            item.failure = reject_from(item.write, self.stream_name, exc)
        for batch, result in outcome.accepted:
            if result.unknown is not None:
                self._reconcile(batch, result, result.unknown, attempt=attempt)

    def _send(self, batch: list[Pending]) -> _CreateAnswer:
        body = {"inputs": [create_input(item.write) for item in batch]}
        with self.gate.sending():
            started_ms = self.run.client.server_now_ms()
            sent_at = time.monotonic()
            try:
                answer = answer_object(self.run.client.call(Call.BATCH_CREATE, json=body))
            except OutcomeUnknownError as exc:
                return _CreateAnswer(started_ms, unknown=exc, sent_at=sent_at)
            # Claimed before the gate opens to searches (rule 2 of the module docstring).
            self._settle(batch, answer)
            return _CreateAnswer(started_ms, answer=answer)

    def _settle(self, items: list[Pending], answer: Mapping[str, Any]) -> None:
        """Tie a batch create's answer to its records; reject those it refused."""
        unresolved = map_answer(self.run, self.stream_name, items, answer, None)
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
                if fingerprint_matches(item.write, props) and result.get("id") is not None:
                    item.write.result_id = str(result["id"])
                else:
                    leftovers.append(result)
        else:
            leftovers = results
        for result in leftovers:
            props = result.get("properties") or {}
            for item in waiting:
                if item.write.result_id is None and fingerprint_matches(item.write, props):
                    item.write.result_id = str(result.get("id"))
                    break
        with self._claim_lock:
            self._claimed.update(i.write.result_id for i in items if i.write.result_id)

    def _reconcile(
        self,
        items: list[Pending],
        sent: _CreateAnswer,
        exc: OutcomeUnknownError,
        *,
        attempt: int,
    ) -> None:
        """Find which creates of a batch with an unknown outcome landed; resend only the rest.

        Search trails writes, so it is polled until every create is found, and at least once
        `unknown_outcome_wait_s` after the create went out (time spent waiting for other
        batches, rate limits and retries does not shorten that); what is still missing then was
        not applied.
        """
        self.logger.warning(
            "Outcome of a create batch of %d is unknown (%s); looking for its tickets",
            len(items),
            self.run.client.redact(str(exc)),
        )
        deadline = sent.sent_at + self.run.options.unknown_outcome_wait_s
        since_ms = sent.started_ms - SERVER_CLOCK_UNCERTAINTY_MS - CREATE_WINDOW_MARGIN_MS
        missing = list(items)
        while True:
            searched_at = self._find_created(missing, since_ms)
            missing = [i for i in missing if i.write.result_id is None]
            if not missing or searched_at >= deadline:
                break
            time.sleep(min(RECONCILE_POLL_S, max(0.0, deadline - time.monotonic())))
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
        self.write(missing, attempt=attempt + 1)

    def _claim_found(self, group: list[Pending], found: list[dict[str, Any]]) -> None:
        """Tie each ticket found to the first unclaimed create of `group` whose values it has."""
        with self._claim_lock:
            for result in found:
                tid = str(result.get("id"))
                if tid in self._claimed:
                    continue
                props = result.get("properties") or {}
                for item in group:
                    if item.write.result_id is None and fingerprint_matches(item.write, props):
                        item.write.result_id = tid
                        self._claimed.add(tid)
                        break

    def _find_created(self, items: list[Pending], since_ms: int) -> float:
        """Search for tickets made since `since_ms` (HubSpot's clock) matching each create.

        Return when the earliest of the searches went out (this machine's monotonic clock).
        """
        first: float | None = None
        for group in chunked(items, SEARCH_MAX_FILTER_GROUPS):
            groups = [
                {
                    "filters": [
                        {"propertyName": CREATE_DATE, "operator": "GTE", "value": str(since_ms)},
                        {
                            "propertyName": SUBJECT,
                            "operator": "EQ",
                            "value": item.write.properties[SUBJECT],
                        },
                    ]
                }
                for item in group
            ]
            properties = sorted({k for item in group for k in item.write.properties})
            pages = iter_keyset_search(self.run.client, groups, properties)
            while True:
                with self.gate.searching():
                    if first is None:
                        first = time.monotonic()
                    page = next(pages, None)
                    if page is None:
                        break
                    self._claim_found(group, page.results)
        return first if first is not None else time.monotonic()


def create_input(write: TicketWrite) -> dict[str, Any]:
    """Build one batch-create input: properties, trace id, and the record's links."""
    body = traced_input(write, properties=write.properties)
    if write.associations:
        body["associations"] = [
            {"to": {"id": link.to_object_id}, "types": link.types_json()}
            for link in write.associations
        ]
    return body


def fingerprint_matches(write: TicketWrite, found: Mapping[str, Any]) -> bool:
    """Return whether a ticket's values are those `write` sent (see `FINGERPRINT_PROPERTIES`)."""
    for name in FINGERPRINT_PROPERTIES:
        sent = write.properties.get(name)
        if sent is not None and (found.get(name) or "") != sent:
            return False
    return True
