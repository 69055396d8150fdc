"""The portal's state and HubSpot's ticket semantics, independent of HTTP.

Every public method takes and returns plain JSON-able values in HubSpot's own API shapes and
raises `ApiError` for anything HubSpot would refuse. The HTTP layer only parses the wire and
calls these. All methods are thread-safe (one lock per portal).

Tickets keep their current values as strings (absent means null) and every value they ever had,
oldest first in memory and newest first on the wire, as HubSpot's `propertiesWithHistory`
reports them. Search reads a separate, lagging index (`search.SearchIndex`).
"""

from __future__ import annotations

import json
from bisect import bisect_left, insort
from collections.abc import Iterable
from typing import Any

from hubspot_emulator import seed as seeding
from hubspot_emulator.association_types import (
    ASSOCIATION_TYPES,
    DEFAULT_TYPE,
    PRIMARY_COMPANY_TYPE,
    TYPES_BY_ID,
    TYPES_BY_NAME,
    USER_DEFINED,
)
from hubspot_emulator.associations import PortalAssociations
from hubspot_emulator.errors import ApiError, conflict, not_found, validation_error
from hubspot_emulator.pipelines import DEFAULT_PIPELINE_ID, Pipeline
from hubspot_emulator.portal_state import (
    ENGAGEMENTS,
    JSON,
    OBJECT_ALIASES,
    TICKETS,
    Ticket,
    batch_inputs,
    resolve_object_type,
)
from hubspot_emulator.properties import (
    FIELD_TYPES,
    MAX_UNIQUE_PROPERTIES,
    PROPERTY_GROUPS,
    PROPERTY_NAME,
    HistoryEntry,
    Option,
    PropertyDef,
    PropertyValueError,
    iso_from_ms,
    normalise_value,
)

Source = tuple[str, str | None, str | None, int | None]

# Limits HubSpot enforces on the objects API.
DEFAULT_LIST_LIMIT = 10
MAX_LIST_LIMIT = 100
MAX_LIST_LIMIT_WITH_HISTORY = 50  # observed by several connectors, not in HubSpot's docs
MAX_BATCH_INPUTS = 100

# From this API version on, admin-required properties are enforced on writes.
REQUIRED_PROPERTIES_SINCE = "2026-09"

API_SOURCE: Source = ("API", None, None, None)
CALCULATED: Source = ("CALCULATED", None, None, None)
MERGE_SOURCE: Source = ("MERGE", None, None, None)


def _is_versioned_at_least(api_version: str, version: str) -> bool:
    # Date versions ("2026-03") compare as text; legacy versions ("v3", "v4") predate them all.
    return api_version[:1].isdigit() and api_version >= version


def _error_entry(error: ApiError, trace_id: str | None) -> JSON:
    """Render an ApiError as one item of a batch response's `errors`."""
    context: dict[str, list[str]] = dict(error.context or {})
    if trace_id is not None:
        context["objectWriteTraceId"] = [trace_id]
    entry: JSON = {"status": "error", "category": error.category, "message": error.message}
    if error.sub_category:
        entry["subCategory"] = error.sub_category
    if context:
        entry["context"] = context
    if error.errors:
        entry["errors"] = error.errors
    return entry


def _property_errors(problems: list[PropertyValueError]) -> ApiError:
    """Build HubSpot's 400 for invalid property values: a summary plus one error each."""
    results = [
        {
            "isValid": False,
            "message": problem.message,
            "error": problem.code,
            "name": problem.name,
            "localizedErrorMessage": problem.message,
        }
        for problem in problems
    ]
    return validation_error(
        f"Property values were not valid: {json.dumps(results)}",
        errors=[
            {
                "message": problem.message,
                "code": problem.code,
                "context": {"propertyName": [problem.name]},
            }
            for problem in problems
        ],
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


class Portal(PortalAssociations):
    """One HubSpot account: tickets, their history and associations, properties, pipelines."""

    # -- validation -----------------------------------------------------------------------------
    def _validate(
        self,
        raw: Any,
        *,
        ticket: Ticket | None,
        api_version: str,
        engagements: set[tuple[str, int]] | None = None,
    ) -> dict[str, str | None]:
        """Check written properties as HubSpot does; return them normalised (None clears)."""
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise validation_error("properties must be an object of name to value")
        creating = ticket is None
        problems: list[PropertyValueError] = []
        changes: dict[str, str | None] = {}
        for name, value in raw.items():
            defn = self._props.get(name)
            if defn is None:
                problems.append(
                    PropertyValueError(
                        name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'
                    )
                )
                continue
            if defn.read_only_value:
                problems.append(
                    PropertyValueError(
                        name,
                        "READ_ONLY_VALUE",
                        f'"{name}" is a read only property; its value cannot be set.',
                    )
                )
                continue
            try:
                changes[name] = normalise_value(defn, value)
            except PropertyValueError as problem:
                problems.append(problem)
        if not problems:
            problems += self._check_required(changes, creating=creating, api_version=api_version)
        if not problems:
            problems += self._check_pipeline(changes, ticket)
            problems += self._check_pin(changes, ticket, engagements or set())
        if problems:
            raise _property_errors(problems)
        return changes

    def _check_pipeline(
        self, changes: dict[str, str | None], ticket: Ticket | None
    ) -> list[PropertyValueError]:
        current = ticket.values if ticket is not None else {}
        if ticket is None and changes.get("hs_pipeline") is None:
            # HubSpot files a ticket without a pipeline in the default one.
            changes["hs_pipeline"] = DEFAULT_PIPELINE_ID
        if "hs_pipeline" not in changes and "hs_pipeline_stage" not in changes:
            return []
        pipeline_id = changes.get("hs_pipeline", current.get("hs_pipeline"))
        if pipeline_id is None:
            return [
                PropertyValueError(
                    "hs_pipeline", "REQUIRED_FIELD", "hs_pipeline is required and cannot be empty"
                )
            ]
        stage_id = changes.get("hs_pipeline_stage", current.get("hs_pipeline_stage"))
        if stage_id is None:
            return [
                PropertyValueError(
                    "hs_pipeline_stage",
                    "REQUIRED_FIELD",
                    "hs_pipeline_stage is required and cannot be empty",
                )
            ]
        pipeline = self._pipeline(pipeline_id)
        if pipeline is None or pipeline.stage(stage_id) is None:
            return [
                PropertyValueError(
                    "hs_pipeline_stage",
                    "INVALID_OPTION",
                    f"{stage_id} is not a valid pipeline stage of pipeline {pipeline_id}",
                )
            ]
        return []

    def _check_required(
        self, changes: dict[str, str | None], *, creating: bool, api_version: str
    ) -> list[PropertyValueError]:
        problems: list[PropertyValueError] = []
        required: list[str] = []
        if creating:
            required += ["subject", "hs_pipeline_stage"]
        if _is_versioned_at_least(api_version, REQUIRED_PROPERTIES_SINCE):
            required += [name for name in self._required if name not in required]
        for name in required:
            # Creates must set them; updates may leave them out but not clear them.
            missing = changes.get(name) is None if creating else changes.get(name, "-") is None
            if missing:
                problems.append(
                    PropertyValueError(
                        name, "REQUIRED_FIELD", f"{name} is required and cannot be empty"
                    )
                )
        return problems

    def _check_pin(
        self,
        changes: dict[str, str | None],
        ticket: Ticket | None,
        engagements: set[tuple[str, int]],
    ) -> list[PropertyValueError]:
        pinned = changes.get("hs_pinned_engagement_id")
        if pinned is None:
            return []
        linked = set(engagements)
        if ticket is not None:
            for kind in ENGAGEMENTS:
                linked.update((kind, object_id) for object_id in ticket.associations.get(kind, ()))
        try:
            engagement_id = int(float(pinned))
        except ValueError:
            engagement_id = -1
        if any(object_id == engagement_id for _, object_id in linked):
            return []
        return [
            PropertyValueError(
                "hs_pinned_engagement_id",
                "INVALID_PINNED_ENGAGEMENT",
                f"Engagement {pinned} is not associated with this ticket; only an associated "
                "activity can be pinned",
            )
        ]

    def _check_unique(
        self, changes: dict[str, str | None], ticket_id: int | None, staged: dict[str, set[str]]
    ) -> None:
        """Refuse a unique-valued property whose value another ticket holds (409)."""
        for name, index in self._unique.items():
            value = changes.get(name)
            if value is None:
                continue
            holder = index.get(value)
            if (holder is not None and holder != ticket_id) or value in staged.get(name, ()):
                raise conflict(
                    f'A ticket with {name} "{value}" already exists'
                    + (f" (id {holder})" if holder is not None else "")
                    + f"; {name} must be unique.",
                    context={"propertyName": [name]},
                )

    def _pipeline(self, pipeline_id: str) -> Pipeline | None:
        return next((p for p in self._pipelines if p.id == pipeline_id), None)

    # -- writes ---------------------------------------------------------------------------------
    def _write(
        self, ticket: Ticket, changes: dict[str, str | None], now: int, source: Source
    ) -> bool:
        """Apply changed values with history; bump the modified date when anything changed."""
        values = ticket.values
        old_stage = values.get("hs_pipeline_stage")
        changed = False
        for name, value in changes.items():
            if values.get(name) == value:
                continue  # HubSpot records no history for an unchanged value
            changed = True
            self._set(ticket, name, value, now, source)
        if not changed:
            return False
        new_stage = values.get("hs_pipeline_stage")
        if new_stage != old_stage:
            self._derive_closed(ticket, now, explicit_close="closed_date" in changes)
        if "hubspot_owner_id" in changes and changes["hubspot_owner_id"] is not None:
            owners = values.get("hs_all_owner_ids", "")
            owner_list = owners.split(";") if owners else []
            if changes["hubspot_owner_id"] not in owner_list:
                owner_list.append(str(changes["hubspot_owner_id"]))
                self._set(ticket, "hs_all_owner_ids", ";".join(owner_list), now, CALCULATED)
        stamp = iso_from_ms(now)
        self._set(ticket, "hs_lastmodifieddate", stamp, now, source)
        if source[3] is not None:
            self._set(ticket, "hs_updated_by_user_id", str(source[3]), now, source)
        ticket.updated_ms = now
        ticket.updated_at = stamp
        self._publish(ticket)
        return True

    def _set(self, ticket: Ticket, name: str, value: str | None, now: int, source: Source) -> None:
        index = self._unique.get(name)
        old = ticket.values.get(name)
        if index is not None and old is not None and index.get(old) == ticket.id:
            del index[old]
        if value is None:
            ticket.values.pop(name, None)
        else:
            ticket.values[name] = value
            if index is not None and ticket.archived_ms is None:
                index[value] = ticket.id
        ticket.history.setdefault(name, []).append(HistoryEntry(value or "", now, *source))

    def _derive_closed(self, ticket: Ticket, now: int, *, explicit_close: bool) -> None:
        """Keep the close date, time to close and closed flag in step with the stage."""
        values = ticket.values
        pipeline = self._pipeline(values.get("hs_pipeline", DEFAULT_PIPELINE_ID))
        stage = pipeline.stage(values.get("hs_pipeline_stage", "")) if pipeline else None
        closed = stage is not None and stage.is_closed
        was_closed = values.get("hs_is_closed") == "true"
        if closed and not was_closed:
            if not explicit_close or "closed_date" not in values:
                self._set(ticket, "closed_date", iso_from_ms(now), now, CALCULATED)
            self._set(ticket, "time_to_close", str(now - ticket.created_ms), now, CALCULATED)
            self._set(ticket, "hs_is_closed", "true", now, CALCULATED)
        elif not closed and was_closed:
            self._set(ticket, "closed_date", None, now, CALCULATED)
            self._set(ticket, "time_to_close", None, now, CALCULATED)
            self._set(ticket, "hs_is_closed", "false", now, CALCULATED)
        elif not closed and "hs_is_closed" not in values:
            self._set(ticket, "hs_is_closed", "false", now, CALCULATED)

    def _new_ticket(self, changes: dict[str, str | None], now: int, source: Source) -> Ticket:
        """Create a ticket from validated values, as an API create does."""
        ticket_id = self._next_id
        self._next_id += 1
        stamp = iso_from_ms(now)
        ticket = Ticket(ticket_id, {}, {}, now, stamp, now, stamp)
        self._tickets[ticket_id] = ticket
        insort(self._active, ticket_id)
        self._objects[TICKETS].add(ticket_id)
        initial: dict[str, str | None] = {
            "hs_object_id": str(ticket_id),
            "createdate": stamp,
            "hs_object_source": source[0],
        }
        for name, value in {**initial, **changes}.items():
            if value is not None:
                self._set(ticket, name, value, now, source)
        self._derive_closed(ticket, now, explicit_close="closed_date" in changes)
        self._set(ticket, "hs_lastmodifieddate", stamp, now, source)
        self._publish(ticket)
        return ticket

    def _archive(self, ticket: Ticket, now: int) -> None:
        # Archiving leaves hs_lastmodifieddate and updatedAt alone, as in HubSpot.
        self._unindex_unique(ticket)
        ticket.archived_ms = now
        at = bisect_left(self._active, ticket.id)
        if at < len(self._active) and self._active[at] == ticket.id:
            del self._active[at]
        insort(self._archived, ticket.id)
        self._objects[TICKETS].discard(ticket.id)
        self._publish(ticket)

    # -- tickets --------------------------------------------------------------------------------
    def list_tickets(
        self,
        *,
        limit: int,
        after: str | None,
        properties: list[str] | None,
        properties_with_history: list[str] | None,
        associations: list[str] | None,
        archived: bool,
    ) -> JSON:
        """GET /crm/v3/objects/tickets -> {results, paging?}."""
        maximum = MAX_LIST_LIMIT_WITH_HISTORY if properties_with_history else MAX_LIST_LIMIT
        if limit < 1 or limit > maximum:
            raise validation_error(
                f"limit must be between 1 and {maximum}"
                + (" when propertiesWithHistory is requested" if properties_with_history else "")
                + f", got {limit}",
                context={"limit": [str(limit)]},
            )
        start_id = 0
        if after:
            try:
                start_id = int(after)
            except ValueError:
                raise validation_error(
                    f"after {after!r} is not a valid paging cursor", context={"after": [after]}
                ) from None
        with self._lock:
            ids = self._archived if archived else self._active
            start = bisect_left(ids, start_id)
            page = ids[start : start + limit]
            names = self._names(properties)
            out: JSON = {
                "results": [
                    self._render(
                        self._tickets[ticket_id], names, properties_with_history, associations
                    )
                    for ticket_id in page
                ]
            }
            if start + limit < len(ids):
                cursor = str(ids[start + limit])
                out["paging"] = {"next": {"after": cursor, "link": f"?after={cursor}"}}
            return out

    def get_ticket(
        self,
        ticket_id: str,
        *,
        id_property: str | None,
        properties: list[str] | None,
        properties_with_history: list[str] | None,
        associations: list[str] | None,
        archived: bool,
    ) -> JSON:
        """GET /crm/v3/objects/tickets/{id}."""
        with self._lock:
            ticket = self._find(ticket_id, id_property, archived=archived)
            return self._render(
                ticket, self._names(properties), properties_with_history, associations
            )

    def create_ticket(self, body: JSON, *, api_version: str) -> JSON:
        """POST /crm/v3/objects/tickets -> the created ticket (201)."""
        with self._lock:
            ticket = self._create(body, api_version, {})
            return self._render(ticket, None)

    def _prepare_create(
        self, body: JSON, api_version: str, staged: dict[str, set[str]]
    ) -> tuple[dict[str, str | None], list[tuple[str, int, list[int]]]]:
        if not isinstance(body, dict):
            raise validation_error("The request body must be an object")
        links = self._parse_create_associations(body.get("associations"))
        engagements = {(kind, object_id) for kind, object_id, _ in links if kind in ENGAGEMENTS}
        changes = self._validate(
            body.get("properties"), ticket=None, api_version=api_version, engagements=engagements
        )
        self._check_unique(changes, None, staged)
        return changes, links

    def _create(self, body: JSON, api_version: str, staged: dict[str, set[str]]) -> Ticket:
        changes, links = self._prepare_create(body, api_version, staged)
        return self._commit_create(changes, links)

    def _commit_create(
        self, changes: dict[str, str | None], links: list[tuple[str, int, list[int]]]
    ) -> Ticket:
        ticket = self._new_ticket(changes, self._clock(), API_SOURCE)
        for kind, object_id, type_ids in links:
            self._link(ticket, kind, object_id, type_ids)
        return ticket

    def update_ticket(
        self, ticket_id: str, body: JSON, *, id_property: str | None, api_version: str
    ) -> JSON:
        """PATCH /crm/v3/objects/tickets/{id} -> the updated ticket."""
        with self._lock:
            if not isinstance(body, dict):
                raise validation_error("The request body must be an object")
            ticket = self._find(ticket_id, id_property, archived=False)
            changes = self._validate(body.get("properties"), ticket=ticket, api_version=api_version)
            self._check_unique(changes, ticket.id, {})
            self._write(ticket, changes, self._clock(), API_SOURCE)
            return self._render(ticket, None)

    def archive_ticket(self, ticket_id: str) -> None:
        """DELETE /crm/v3/objects/tickets/{id} (204); an unknown id is not an error."""
        with self._lock:
            try:
                ticket = self._find(ticket_id, None, archived=False)
            except ApiError:
                return
            self._archive(ticket, self._clock())

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
            out = self._batch_body(results, started)
            if not missing:
                return 200, out
            out["numErrors"] = 1
            out["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": "Could not get some TICKET objects, they may be deleted or not "
                    "exist. Check that ids are valid.",
                    "context": {"ids": missing},
                }
            ]
            return 207, out

    def _batch_outcome(
        self,
        ok: int,
        results: list[JSON],
        failures: list[tuple[ApiError, str | None]],
        started: str,
    ) -> tuple[int, JSON]:
        out = self._batch_body(results, started)
        if not failures:
            return ok, out
        out["numErrors"] = len(failures)
        out["errors"] = [_error_entry(error, trace) for error, trace in failures]
        return 207, out

    def _refuse_untraced(self, failures: list[tuple[ApiError, str | None]]) -> None:
        # Without objectWriteTraceId HubSpot cannot say which input failed: the whole batch
        # fails and nothing is written. With every failure traced, the rest is applied (207).
        # `whole_batch_errors` makes any failure fail the batch whole, as some HubSpot errors do
        # whatever the trace ids, so clients can prove they isolate the bad input themselves.
        for error, trace in failures:
            if trace is None or self._whole_batch_errors:
                raise error

    def batch_create(self, body: JSON, *, api_version: str) -> tuple[int, JSON]:
        """POST .../batch/create -> (201 or 207, body)."""
        with self._lock:
            started = iso_from_ms(self._clock())
            inputs = batch_inputs(body, MAX_BATCH_INPUTS)
            staged: dict[str, set[str]] = {}
            accepted: list[tuple[dict[str, str | None], list[tuple[str, int, list[int]]]]] = []
            failures: list[tuple[ApiError, str | None]] = []
            for item in inputs:
                try:
                    changes, links = self._prepare_create(item, api_version, staged)
                except ApiError as error:
                    failures.append((error, _trace_id(item)))
                    continue
                self._stage_unique(changes, staged)
                accepted.append((changes, links))
            self._refuse_untraced(failures)
            results = [self._render(self._commit_create(*pair), None) for pair in accepted]
            return self._batch_outcome(201, results, failures, started)

    def _stage_unique(self, changes: dict[str, str | None], staged: dict[str, set[str]]) -> None:
        for name in self._unique:
            value = changes.get(name)
            if value is not None:
                staged.setdefault(name, set()).add(value)

    def batch_update(self, body: JSON, *, api_version: str) -> tuple[int, JSON]:
        """POST .../batch/update -> (200 or 207, body)."""
        with self._lock:
            started = iso_from_ms(self._clock())
            inputs = batch_inputs(body, MAX_BATCH_INPUTS)
            default_property = body.get("idProperty")
            _check_duplicates([str(item.get("id")) for item in inputs])
            staged: dict[str, set[str]] = {}
            accepted: list[tuple[Ticket, dict[str, str | None]]] = []
            failures: list[tuple[ApiError, str | None]] = []
            for item in inputs:
                try:
                    ticket = self._find(
                        str(item.get("id")),
                        item.get("idProperty", default_property),
                        archived=False,
                    )
                    changes = self._validate(
                        item.get("properties"), ticket=ticket, api_version=api_version
                    )
                    self._check_unique(changes, ticket.id, staged)
                except ApiError as error:
                    failures.append((error, _trace_id(item)))
                    continue
                self._stage_unique(changes, staged)
                accepted.append((ticket, changes))
            self._refuse_untraced(failures)
            now = self._clock()
            results = []
            for ticket, changes in accepted:
                self._write(ticket, changes, now, API_SOURCE)
                results.append(self._render(ticket, None))
            return self._batch_outcome(200, results, failures, started)

    def batch_upsert(self, body: JSON, *, api_version: str) -> tuple[int, JSON]:
        """POST .../batch/upsert -> (200 or 207, body)."""
        with self._lock:
            started = iso_from_ms(self._clock())
            inputs = batch_inputs(body, MAX_BATCH_INPUTS)
            for item in inputs:
                name = item.get("idProperty", body.get("idProperty"))
                defn = self._props.get(name) if isinstance(name, str) else None
                if defn is None or not defn.has_unique_value:
                    raise validation_error(
                        f"idProperty {name!r} must name a property with unique values "
                        "(hasUniqueValue) to upsert",
                        context={"idProperty": [str(name)]},
                    )
            _check_duplicates([str(item.get("id")) for item in inputs])
            staged: dict[str, set[str]] = {}
            plans: list[tuple[Ticket | None, dict[str, str | None], JSON]] = []
            failures: list[tuple[ApiError, str | None]] = []
            for item in inputs:
                name = str(item.get("idProperty", body.get("idProperty")))
                key = str(item.get("id"))
                holder = self._unique[name].get(key)
                ticket = self._tickets[holder] if holder is not None else None
                properties = dict(item.get("properties") or {})
                try:
                    if properties.get(name, key) != key:
                        raise validation_error(
                            f"{name} in properties ({properties[name]!r}) differs from the "
                            f"input's id ({key!r})",
                            context={"propertyName": [name]},
                        )
                    properties[name] = key
                    changes = self._validate(properties, ticket=ticket, api_version=api_version)
                    self._check_unique(
                        {k: v for k, v in changes.items() if k != name},
                        None if ticket is None else ticket.id,
                        staged,
                    )
                except ApiError as error:
                    failures.append((error, _trace_id(item)))
                    continue
                self._stage_unique(changes, staged)
                plans.append((ticket, changes, item))
            self._refuse_untraced(failures)
            now = self._clock()
            results = []
            for ticket, changes, _item in plans:
                if ticket is None:
                    created = self._new_ticket(changes, now, API_SOURCE)
                    results.append({**self._render(created, None), "new": True})
                else:
                    self._write(ticket, changes, now, API_SOURCE)
                    results.append({**self._render(ticket, None), "new": False})
            return self._batch_outcome(200, results, failures, started)

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

    # -- properties and pipelines ---------------------------------------------------------------
    def list_properties(self, *, archived: bool = False) -> JSON:
        """GET /crm/v3/properties/tickets -> {results}."""
        with self._lock:
            if archived:
                return {"results": []}  # this portal has no archived ticket properties
            return {"results": [defn.to_json() for defn in self._props.values()]}

    def get_property(self, name: str) -> JSON:
        """GET /crm/v3/properties/tickets/{name}."""
        with self._lock:
            defn = self._props.get(name)
            if defn is None:
                raise not_found(
                    f'Unable to find property "{name}" on object type tickets',
                    context={"propertyName": [name]},
                )
            return defn.to_json()

    def list_legacy_properties(self) -> list[JSON]:
        """GET /properties/v2/tickets/properties -> a bare array in the legacy v2 shape."""
        with self._lock:
            return [defn.to_legacy_json() for defn in self._props.values()]

    def list_other_properties(self, object_type: str, *, archived: bool = False) -> JSON:
        """GET /crm/v3/properties/{objectType} for a standard type other than tickets."""
        defs = self._other_props[object_type]
        if archived:
            return {"results": []}
        return {"results": [defn.to_json() for defn in defs.values()]}

    def get_other_property(self, object_type: str, name: str) -> JSON:
        """GET /crm/v3/properties/{objectType}/{name} for a standard type other than tickets."""
        defn = self._other_props[object_type].get(name)
        if defn is None:
            raise not_found(
                f'Unable to find property "{name}" on object type {object_type}',
                context={"propertyName": [name]},
            )
        return defn.to_json()

    def list_schemas(self) -> JSON:
        """GET /crm-object-schemas/v3/schemas -> {results}: this portal has no custom objects."""
        return {"results": []}

    def create_property(self, body: JSON) -> JSON:
        """POST /crm/v3/properties/tickets (201)."""
        with self._lock:
            defn = self._parse_property(body)
            self._props[defn.name] = defn
            if defn.has_unique_value:
                self._unique[defn.name] = {}
            return defn.to_json()

    def _parse_property(self, body: JSON) -> PropertyDef:
        if not isinstance(body, dict):
            raise validation_error("The property definition must be an object")
        name = body.get("name")
        if not isinstance(name, str) or not PROPERTY_NAME.fullmatch(name):
            raise validation_error(
                f"Property name {name!r} is invalid: use lowercase letters, digits and "
                "underscores, starting with a letter",
                context={"name": [str(name)]},
            )
        if name in self._props:
            raise conflict(
                f"A property named '{name}' already exists on object type tickets",
                context={"name": [name]},
            )
        for required in ("label", "type", "fieldType", "groupName"):
            if not isinstance(body.get(required), str) or not body[required]:
                raise validation_error(
                    f"{required} is required", context={"propertyName": [required]}
                )
        kind, field_type = body["type"], body["fieldType"]
        if kind not in FIELD_TYPES:
            raise validation_error(
                f"{kind!r} is not a valid property type; use one of {sorted(FIELD_TYPES)}"
            )
        if field_type not in FIELD_TYPES[kind]:
            raise validation_error(
                f"fieldType {field_type!r} cannot be used with type {kind!r}; use one of "
                f"{sorted(FIELD_TYPES[kind])}"
            )
        unique = bool(body.get("hasUniqueValue", False))
        if unique and len(self._unique) >= MAX_UNIQUE_PROPERTIES:
            raise validation_error(
                f"An object type may have at most {MAX_UNIQUE_PROPERTIES} properties with "
                "unique values",
                sub_category="crm.properties.TOO_MANY_UNIQUE_PROPERTIES",
            )
        choices: list[Option] = []
        for order, raw in enumerate(body.get("options") or []):
            if not isinstance(raw, dict) or not raw.get("label") or raw.get("value") is None:
                raise validation_error("Each option needs a label and a value")
            choices.append(
                Option(
                    str(raw["label"]),
                    str(raw["value"]),
                    int(raw.get("displayOrder", order)),
                    bool(raw.get("hidden", False)),
                )
            )
        if kind == "bool" and not choices:
            choices = [Option("Yes", "true", 0), Option("No", "false", 1)]
        if kind == "enumeration" and not choices:
            raise validation_error("An enumeration property needs options")
        now = self._clock()
        return PropertyDef(
            name,
            body["label"],
            kind,
            field_type,
            group_name=body["groupName"],
            description=str(body.get("description") or ""),
            options=choices,
            display_order=int(body.get("displayOrder", -1)),
            has_unique_value=unique,
            hidden=bool(body.get("hidden", False)),
            hubspot_defined=False,
            archivable=True,
            read_only_definition=False,
            form_field=bool(body.get("formField", False)),
            created_ms=now,
            updated_ms=now,
        )

    def batch_read_properties(self, body: JSON) -> tuple[int, JSON]:
        """POST /crm/v3/properties/tickets/batch/read {inputs: [{name}], archived} -> 200/207."""
        if not isinstance(body, dict):
            raise validation_error("The request body must be an object")
        archived = body.get("archived", False)
        if not isinstance(archived, bool):
            raise validation_error(
                "archived must be true or false", context={"archived": [str(archived)[:100]]}
            )
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            raise validation_error("inputs must be a list", context={"inputs": ["missing"]})
        names: list[str] = []
        for item in inputs:
            name = item.get("name") if isinstance(item, dict) else None
            if not isinstance(name, str):
                raise validation_error("Each input must be an object with a property name")
            names.append(name)
        with self._lock:
            started = iso_from_ms(self._clock())
            # This portal has no archived ticket properties: every name is missing then.
            found = {} if archived else self._props
            results = [found[name].to_json() for name in dict.fromkeys(names) if name in found]
            missing = [name for name in dict.fromkeys(names) if name not in found]
            out = self._batch_body(results, started)
            if not missing:
                return 200, out
            out["numErrors"] = len(missing)
            out["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": f'Unable to find property "{name}" on object type tickets',
                    "context": {"propertyName": [name]},
                }
                for name in missing
            ]
            return 207, out

    def list_property_groups(self) -> JSON:
        """GET /crm/v3/properties/tickets/groups -> {results: [{name, label, ...}]}."""
        with self._lock:
            used = dict.fromkeys(defn.group_name for defn in self._props.values())
        names = list(dict.fromkeys([*PROPERTY_GROUPS, *used]))
        return {"results": [_property_group(name, order) for order, name in enumerate(names)]}

    def get_property_group(self, name: str) -> JSON:
        """GET /crm/v3/properties/tickets/groups/{groupName}."""
        groups: list[JSON] = self.list_property_groups()["results"]
        for group in groups:
            if group["name"] == name:
                return group
        raise not_found(
            f"Unable to find property group {name!r} on object type tickets",
            context={"groupName": [name]},
        )

    def list_pipelines(self) -> JSON:
        """GET /crm/v3/pipelines/tickets -> {results}."""
        stamp = iso_from_ms(self._created_ms)
        return {"results": [pipeline.to_json(stamp) for pipeline in self._pipelines]}

    def get_pipeline(self, pipeline_id: str) -> JSON:
        """GET /crm/v3/pipelines/tickets/{id}."""
        pipeline = self._pipeline(pipeline_id)
        if pipeline is None:
            raise not_found(
                f"Unable to find pipeline {pipeline_id} for object type tickets",
                context={"pipelineId": [pipeline_id]},
            )
        return pipeline.to_json(iso_from_ms(self._created_ms))

    def list_stages(self, pipeline_id: str) -> JSON:
        """GET /crm/v3/pipelines/tickets/{pipelineId}/stages -> {results}."""
        pipeline = self.get_pipeline(pipeline_id)
        return {"results": pipeline["stages"]}

    def get_stage(self, pipeline_id: str, stage_id: str) -> JSON:
        """GET /crm/v3/pipelines/tickets/{pipelineId}/stages/{stageId}."""
        for stage in self.list_stages(pipeline_id)["results"]:
            if stage["id"] == stage_id:
                return dict(stage)
        raise not_found(
            f"Unable to find stage {stage_id} in pipeline {pipeline_id} for object type tickets",
            context={"pipelineId": [pipeline_id], "stageId": [stage_id]},
        )

    # -- records tickets associate with ---------------------------------------------------------
    def object_ids(self, object_type: str) -> list[str]:
        """List the ids of the portal's records of a type (contacts, companies, notes, ...)."""
        with self._lock:
            plural = resolve_object_type(object_type)
            if plural == TICKETS:
                return [str(ticket_id) for ticket_id in self._active]
            return [str(object_id) for object_id in sorted(self._objects.get(plural, ()))]

    def add_object(self, object_type: str, object_id: str | None = None) -> str:
        """Create a record of another object type tickets can associate with; return its id."""
        with self._lock:
            plural = resolve_object_type(object_type)
            if plural == TICKETS:
                raise validation_error("Create tickets through create_ticket")
            ids = self._objects.setdefault(plural, set())
            if object_id is None:
                number = max(ids, default=seeding.OBJECT_ID_BASES[plural] - 1) + 1
            else:
                number = int(object_id)
            ids.add(number)
            return str(number)

    # -- data -----------------------------------------------------------------------------------
    def seed(self, tickets: int, seed: int) -> None:
        """Replace the portal's data with `tickets` generated tickets, reproducible from `seed`."""
        with self._lock:
            portal = seeding.generate(tickets, seed, self._clock(), self._pipelines)
            self._clear()
            self._reset_objects(portal.objects)
            for record in portal.tickets:
                self._insert(record)
            self._finish_load()

    def load_jsonl(self, lines: Iterable[str]) -> int:
        """Load tickets in the API's own shape, as given (an import); return how many."""
        with self._lock:
            now = self._clock()
            count = 0
            for number, item in seeding.iter_jsonl(lines):
                try:
                    record = seeding.ticket_from_api(item, self._props, now)
                except (ValueError, TypeError) as error:
                    raise ValueError(f"line {number}: {error}") from None
                if record.id in self._tickets:
                    self._drop(self._tickets[record.id])
                for kind, object_id, _ in record.associations:
                    plural = OBJECT_ALIASES.get(kind.lower())
                    if plural is None:
                        raise ValueError(f"line {number}: unknown object type {kind!r}")
                    if plural != TICKETS:
                        self._objects.setdefault(plural, set()).add(object_id)
                self._insert(record)
                count += 1
            self._finish_load()
            return count

    def _clear(self) -> None:
        self._tickets.clear()
        self._active.clear()
        self._archived.clear()
        self._index.clear()
        self._next_id = seeding.FIRST_TICKET_ID

    def _drop(self, ticket: Ticket) -> None:
        """Remove a ticket completely (a reload replaces it)."""
        self._unindex_unique(ticket)
        for ids in (self._active, self._archived):
            at = bisect_left(ids, ticket.id)
            if at < len(ids) and ids[at] == ticket.id:
                del ids[at]
        self._index.publish(ticket.id, None, self._clock(), immediate=True)
        del self._tickets[ticket.id]

    def _insert(self, record: seeding.TicketSeed) -> None:
        """Add a seeded or imported ticket as it is, visible to search at once."""
        values = record.values
        if values is None:
            values = {name: entries[-1].value for name, entries in record.history.items()}
            values = {name: value for name, value in values.items() if value != ""}
        ticket = Ticket(
            record.id,
            values,
            record.history,
            record.created_ms,
            iso_from_ms(record.created_ms),
            record.updated_ms,
            iso_from_ms(record.updated_ms),
            archived_ms=record.archived_ms,
        )
        self._tickets[ticket.id] = ticket
        self._next_id = max(self._next_id, ticket.id + 1)
        # Inserts come in id order when seeding, so appending keeps the lists sorted cheaply.
        ids = self._active if record.archived_ms is None else self._archived
        if not ids or ids[-1] < ticket.id:
            ids.append(ticket.id)
        else:
            insort(ids, ticket.id)
        for kind, object_id, how in record.associations:
            plural = OBJECT_ALIASES[kind.lower()]
            type_id = self._seed_type(plural, how)
            linked = ticket.associations.setdefault(plural, {})
            linked.setdefault(object_id, {DEFAULT_TYPE[plural]}).add(type_id)

    def _seed_type(self, to_type: str, how: str) -> int:
        if how == seeding.DEFAULT:
            return DEFAULT_TYPE[to_type]
        if how == seeding.PRIMARY:
            return PRIMARY_COMPANY_TYPE
        if how == seeding.LABELED:
            return next(
                kind.type_id
                for kind in ASSOCIATION_TYPES
                if kind.to_type == to_type and kind.category == USER_DEFINED
            )
        kind = TYPES_BY_NAME.get(how)
        if kind is None and how.isdigit():
            kind = TYPES_BY_ID.get(int(how))
        if kind is None or kind.to_type != to_type:
            raise ValueError(f"unknown association type {how!r} for {to_type}")
        return kind.type_id

    def _finish_load(self) -> None:
        """Rebuild what derives from all tickets: indexes, counts, ticket-to-ticket links."""
        self._objects[TICKETS] = set(self._active)
        for ticket in self._tickets.values():
            for other_id in ticket.associations.get(TICKETS, {}):
                other = self._tickets.get(other_id)
                if other is not None:
                    other.associations.setdefault(TICKETS, {}).setdefault(
                        ticket.id, {DEFAULT_TYPE[TICKETS]}
                    )
        for ticket in self._tickets.values():
            self._count_associations(ticket, publish=False)
            self._publish(ticket, immediate=True)
        self._reindex_unique()

    def snapshot(self) -> list[JSON]:
        """Every ticket (archived too) in the API shape with all properties: ground truth."""
        with self._lock:
            everything = sorted(self._tickets)
            kinds = sorted({kind for t in self._tickets.values() for kind in t.associations})
            return [
                self._render(
                    self._tickets[ticket_id],
                    None,
                    list(self._tickets[ticket_id].history),
                    kinds,
                )
                for ticket_id in everything
            ]


def _property_group(name: str, order: int) -> JSON:
    """Render HubSpot's property group shape."""
    label = PROPERTY_GROUPS.get(name) or name.replace("_", " ").capitalize()
    return {"name": name, "label": label, "displayOrder": order, "archived": False}
