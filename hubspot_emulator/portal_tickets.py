"""Tickets one at a time: list, read, create, update, archive, and how a write is applied."""

from __future__ import annotations

from bisect import bisect_left, insort

from hubspot_emulator.associations import PortalAssociations
from hubspot_emulator.errors import ApiError, validation_error
from hubspot_emulator.pipelines import DEFAULT_PIPELINE_ID
from hubspot_emulator.portal_state import (
    ENGAGEMENTS,
    JSON,
    TICKETS,
    Ticket,
)
from hubspot_emulator.portal_validation import PortalValidation
from hubspot_emulator.properties import (
    CALCULATED,
    HistoryEntry,
    Source,
    iso_from_ms,
)

# Limits HubSpot enforces on the objects API.
DEFAULT_LIST_LIMIT = 10
MAX_LIST_LIMIT = 100
MAX_LIST_LIMIT_WITH_HISTORY = 50  # observed by several connectors, not in HubSpot's docs

API_SOURCE: Source = ("API", None, None, None)


class PortalTickets(PortalValidation, PortalAssociations):
    """Read and write single tickets, keeping each value's history."""

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
