"""Tickets in batches (read, create, update, upsert, archive), merges, and search."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from hubspot_emulator.errors import ApiError, not_found, validation_error
from hubspot_emulator.portal_state import (
    JSON,
    TICKETS,
    Ticket,
    batch_inputs,
)
from hubspot_emulator.portal_tickets import API_SOURCE, PortalTickets
from hubspot_emulator.properties import Source, iso_from_ms

MAX_BATCH_INPUTS = 100

MERGE_SOURCE: Source = ("MERGE", None, None, None)

Changes = dict[str, str | None]
Staged = dict[str, set[str]]  # unique values earlier inputs of the batch would write
Links = list[tuple[str, int, list[int]]]
Failure = tuple[ApiError, str | None]  # the error and the input's objectWriteTraceId
P = TypeVar("P")


def _missing_tickets(ids: list[str]) -> ApiError:
    return not_found(
        "Could not get some TICKET objects, they may be deleted or not exist. Check that ids "
        "are valid.",
        context={"ids": ids},
    )


def _trace_id(item: JSON) -> str | None:
    trace = item.get("objectWriteTraceId")
    return None if trace is None else str(trace)


def _check_duplicates(keys: list[str]) -> None:
    seen: set[str] = set()
    duplicates: list[str] = []
    for key in keys:
        if key in seen and key not in duplicates:
            duplicates.append(key)
        seen.add(key)
    if duplicates:
        raise validation_error(
            f"Duplicate IDs found in batch input: [{', '.join(duplicates)}]. IDs must be unique",
            context={"ids": duplicates},
        )


class PortalBatches(PortalTickets):
    """Apply batches as HubSpot does: all-or-nothing or per input (207), merge, search."""

    def batch_read(self, body: JSON, *, archived: bool) -> tuple[int, JSON]:
        """POST .../batch/read -> (200 or 207, body)."""
        with self._lock:
            started = iso_from_ms(self._clock())
            inputs = batch_inputs(body, MAX_BATCH_INPUTS)
            id_property = body.get("idProperty")
            names = self._names(body.get("properties"))
            history = body.get("propertiesWithHistory")
            results: list[JSON] = []
            missing: list[str] = []
            seen: set[int] = set()
            for item in inputs:
                key = str(item.get("id"))
                try:
                    ticket = self._find(key, id_property, archived=archived)
                except ApiError as error:
                    if error.status != 404:
                        raise
                    missing.append(key)
                    continue
                if ticket.id not in seen:
                    seen.add(ticket.id)
                    results.append(self._render(ticket, names, history))
            # HubSpot answers every missing id in one entry.
            errors = [] if not missing else [_missing_tickets(missing).entry()]
            return self._batch_answer(200, results, errors, started)

    def _batch_outcome(
        self,
        ok: int,
        results: list[JSON],
        failures: list[Failure],
        started: str,
    ) -> tuple[int, JSON]:
        errors = [error.entry(trace) for error, trace in failures]
        return self._batch_answer(ok, results, errors, started)

    def _refuse_untraced(self, failures: list[Failure]) -> None:
        # Without objectWriteTraceId HubSpot cannot say which input failed: the whole batch
        # fails and nothing is written. With every failure traced, the rest is applied (207).
        # `whole_batch_errors` makes any failure fail the batch whole, as some HubSpot errors do
        # whatever the trace ids, so clients can prove they isolate the bad input themselves.
        for error, trace in failures:
            if trace is None or self._whole_batch_errors:
                raise error

    def _prepare_each(
        self, inputs: list[JSON], prepare: Callable[[JSON, Staged], tuple[P, Changes]]
    ) -> tuple[list[tuple[P, Changes]], list[Failure]]:
        """Check every input of a batch write before any is applied.

        `prepare` validates one input against the values earlier inputs stage, and returns what
        to apply with its changes. Returns the inputs that passed and the failures, unless a
        failure fails the batch whole (see `_refuse_untraced`).
        """
        staged: Staged = {}
        accepted: list[tuple[P, Changes]] = []
        failures: list[Failure] = []
        for item in inputs:
            try:
                plan, changes = prepare(item, staged)
            except ApiError as error:
                failures.append((error, _trace_id(item)))
                continue
            self._stage_unique(changes, staged)
            accepted.append((plan, changes))
        self._refuse_untraced(failures)
        return accepted, failures

    def _stage_unique(self, changes: Changes, staged: Staged) -> None:
        for name in self._unique:
            value = changes.get(name)
            if value is not None:
                staged.setdefault(name, set()).add(value)

    def batch_create(self, body: JSON, *, api_version: str) -> tuple[int, JSON]:
        """POST .../batch/create -> (201 or 207, body)."""

        def prepare(item: JSON, staged: Staged) -> tuple[Links, Changes]:
            changes, links = self._prepare_create(item, api_version, staged)
            return links, changes

        with self._lock:
            started = iso_from_ms(self._clock())
            inputs = batch_inputs(body, MAX_BATCH_INPUTS)
            accepted, failures = self._prepare_each(inputs, prepare)
            results = [
                self._render(self._commit_create(changes, links), None)
                for links, changes in accepted
            ]
            return self._batch_outcome(201, results, failures, started)

    def batch_update(self, body: JSON, *, api_version: str) -> tuple[int, JSON]:
        """POST .../batch/update -> (200 or 207, body)."""

        def prepare(item: JSON, staged: Staged) -> tuple[Ticket, Changes]:
            id_property = item.get("idProperty", body.get("idProperty"))
            ticket = self._find(str(item.get("id")), id_property, archived=False)
            changes = self._validate(item.get("properties"), ticket=ticket, api_version=api_version)
            self._check_unique(changes, ticket.id, staged)
            return ticket, changes

        with self._lock:
            started = iso_from_ms(self._clock())
            inputs = batch_inputs(body, MAX_BATCH_INPUTS)
            _check_duplicates([str(item.get("id")) for item in inputs])
            accepted, failures = self._prepare_each(inputs, prepare)
            now = self._clock()
            results = []
            for ticket, changes in accepted:
                self._write(ticket, changes, now, API_SOURCE)
                results.append(self._render(ticket, None))
            return self._batch_outcome(200, results, failures, started)

    def batch_upsert(self, body: JSON, *, api_version: str) -> tuple[int, JSON]:
        """POST .../batch/upsert -> (200 or 207, body)."""

        def prepare(item: JSON, staged: Staged) -> tuple[Ticket | None, Changes]:
            return self._prepare_upsert(item, body.get("idProperty"), api_version, staged)

        with self._lock:
            started = iso_from_ms(self._clock())
            inputs = batch_inputs(body, MAX_BATCH_INPUTS)
            for item in inputs:
                self._check_upsert_key(item.get("idProperty", body.get("idProperty")))
            _check_duplicates([str(item.get("id")) for item in inputs])
            accepted, failures = self._prepare_each(inputs, prepare)
            now = self._clock()
            results = []
            for ticket, changes in accepted:
                if ticket is None:
                    created = self._new_ticket(changes, now, API_SOURCE)
                    results.append({**self._render(created, None), "new": True})
                else:
                    self._write(ticket, changes, now, API_SOURCE)
                    results.append({**self._render(ticket, None), "new": False})
            return self._batch_outcome(200, results, failures, started)

    def _check_upsert_key(self, name: object) -> None:
        defn = self._props.get(name) if isinstance(name, str) else None
        if defn is None or not defn.has_unique_value:
            raise validation_error(
                f"idProperty {name!r} must name a property with unique values "
                "(hasUniqueValue) to upsert",
                context={"idProperty": [str(name)]},
            )

    def _prepare_upsert(
        self, item: JSON, default_property: object, api_version: str, staged: Staged
    ) -> tuple[Ticket | None, Changes]:
        """Validate one upsert input: the ticket holding its key (None: a new one), changes."""
        name = str(item.get("idProperty", default_property))
        key = str(item.get("id"))
        holder = self._unique[name].get(key)
        ticket = self._tickets[holder] if holder is not None else None
        properties = dict(item.get("properties") or {})
        if properties.get(name, key) != key:
            raise validation_error(
                f"{name} in properties ({properties[name]!r}) differs from the input's id "
                f"({key!r})",
                context={"propertyName": [name]},
            )
        properties[name] = key
        changes = self._validate(properties, ticket=ticket, api_version=api_version)
        self._check_unique(
            {k: v for k, v in changes.items() if k != name},
            None if ticket is None else ticket.id,
            staged,
        )
        return ticket, changes

    def batch_archive(self, body: JSON) -> None:
        """POST .../batch/archive (204); unknown ids are ignored, as HubSpot does."""
        with self._lock:
            inputs = batch_inputs(body, MAX_BATCH_INPUTS)
            now = self._clock()
            for item in inputs:
                try:
                    ticket = self._find(str(item.get("id")), None, archived=False)
                except ApiError:
                    continue
                self._archive(ticket, now)

    def merge(self, body: JSON) -> JSON:
        """POST .../merge -> the surviving ticket."""
        with self._lock:
            primary_id = body.get("primaryObjectId")
            merged_id = body.get("objectIdToMerge")
            if primary_id in (None, "") or merged_id in (None, ""):
                raise validation_error("primaryObjectId and objectIdToMerge are both required")
            primary = self._find(str(primary_id), None, archived=False)
            merged = self._find(str(merged_id), None, archived=False)
            if primary.id == merged.id:
                raise validation_error("A ticket cannot be merged into itself")
            now = self._clock()
            changes: dict[str, str | None] = {}
            for name, value in merged.values.items():
                defn = self._props[name]
                # The primary's values win; the merged ticket only fills the primary's blanks.
                if not defn.read_only_value and name not in primary.values:
                    changes[name] = value
            merged_ids = primary.values.get("hs_merged_object_ids", "").split(";")
            merged_ids += [
                str(merged.id),
                *merged.values.get("hs_merged_object_ids", "").split(";"),
            ]
            changes["hs_merged_object_ids"] = ";".join(i for i in dict.fromkeys(merged_ids) if i)
            self._archive(merged, now)
            merged.merged_into = primary.id
            self._write(primary, changes, now, MERGE_SOURCE)
            for kind, linked in list(merged.associations.items()):
                for object_id, type_ids in list(linked.items()):
                    if kind == TICKETS and object_id == primary.id:
                        self._unlink(merged, kind, object_id, None)
                        continue
                    self._unlink(merged, kind, object_id, None)
                    self._link(primary, kind, object_id, sorted(type_ids))
            return self._render(primary, None)

    def search(self, body: JSON) -> JSON:
        """POST .../search -> {total, results, paging?}; sees writes only after the lag."""
        if not isinstance(body, dict):
            raise validation_error("The search request body must be an object")
        with self._lock:
            return self._index.search(body, self._props, self._clock())
