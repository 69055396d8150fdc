"""Filling a portal: the records tickets link to, seeding, loading JSONL, and snapshots."""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable

from hubspot_emulator import jsonl
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
from hubspot_emulator.errors import validation_error
from hubspot_emulator.portal_state import (
    JSON,
    OBJECT_ALIASES,
    TICKETS,
    Ticket,
    resolve_object_type,
)
from hubspot_emulator.properties import (
    iso_from_ms,
)


class PortalLoading(PortalAssociations):
    """Add records, seed or load tickets in bulk, and dump the portal."""

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
            for number, item in jsonl.iter_jsonl(lines):
                try:
                    record = jsonl.ticket_from_api(item, self._props, now)
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
