"""The state every part of a portal shares: its tickets, indexes, clock and lock.

`PortalState` owns what the other parts of `hubspot_emulator.store.Portal` read and write: the
tickets in id order, the unique-value indexes, the records tickets link to, the search index, and
the few helpers every part needs (find a ticket, render it, publish it to search).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from hubspot_emulator import seed as seeding
from hubspot_emulator.association_types import ASSOCIATION_TYPES, TYPES_BY_ID, default_first
from hubspot_emulator.clock import Clock
from hubspot_emulator.errors import ApiError, batch_answer, not_found, validation_error
from hubspot_emulator.objects import STANDARD_TYPES, TICKET_TYPE, other_type_properties
from hubspot_emulator.pipelines import Pipeline, default_pipelines
from hubspot_emulator.properties import (
    DEFAULT_TICKET_PROPERTIES,
    HistoryEntry,
    PropertyDef,
    custom_properties,
    iso_from_ms,
    standard_properties,
)
from hubspot_emulator.search import ALWAYS_RETURNED, SearchDoc, SearchIndex

JSON = dict[str, Any]

TICKETS = TICKET_TYPE.name

# The types tickets link to, and tickets: the only ones whose records this portal keeps. A name
# may be the plural, the singular or the objectTypeId (see `objects`).
_LINKED_NAMES = frozenset(kind.to_type for kind in ASSOCIATION_TYPES)
_LINKED_TYPES = tuple(kind for kind in STANDARD_TYPES if kind.name in _LINKED_NAMES)
OBJECT_TYPE_IDS = {kind.name: kind.type_id for kind in _LINKED_TYPES}
OBJECT_ALIASES = {alias: kind.name for kind in _LINKED_TYPES for alias in kind.aliases}
ENGAGEMENTS = frozenset(seeding.ENGAGEMENT_TYPES)


@dataclass(eq=False)
class Ticket:
    """A ticket's full state: current values, history, timestamps, associations."""

    id: int
    values: dict[str, str]
    history: dict[str, list[HistoryEntry]]
    created_ms: int
    created_at: str
    updated_ms: int
    updated_at: str
    archived_ms: int | None = None
    merged_into: int | None = None
    # object type -> object id -> association type ids
    associations: dict[str, dict[int, set[int]]] = field(default_factory=dict)


def resolve_object_type(name: str) -> str:
    """Return the plural object type for a name, singular or objectTypeId; 400 otherwise."""
    plural = OBJECT_ALIASES.get(name.lower())
    if plural is None:
        raise validation_error(
            f"Unknown object type {name!r}", sub_category="crm.objects.UNKNOWN_OBJECT_TYPE"
        )
    return plural


def ticket_not_found(ticket_id: str) -> ApiError:
    return not_found(
        "Object not found.  objectId are usually numeric.", context={"id": [ticket_id]}
    )


def batch_inputs(body: JSON, limit: int) -> list[Any]:
    inputs = body.get("inputs")
    if not isinstance(inputs, list):
        raise validation_error("inputs must be a list", context={"inputs": ["missing"]})
    if len(inputs) > limit:
        raise validation_error(
            f"Batch input limit exceeded: {len(inputs)} inputs, at most {limit} allowed.",
            sub_category="crm.batch.TOO_MANY_INPUTS",
        )
    for item in inputs:
        if not isinstance(item, dict):
            raise validation_error("Each input must be an object")
    return inputs


class PortalState:
    """A portal's shared state and the helpers every part of it uses."""

    def __init__(
        self,
        *,
        clock_ms: Callable[[], int] | None = None,
        search_lag_ms: float = 0.0,
        search_hidden_ids: Iterable[int] = (),
        required_properties: Iterable[str] = (),
        whole_batch_errors: bool = False,
    ) -> None:
        self._lock = threading.RLock()
        self._whole_batch_errors = whole_batch_errors
        self._clock = clock_ms or Clock().now_ms
        self._created_ms = self._clock()
        self._required = tuple(required_properties)
        self._pipelines = default_pipelines()
        self._props: dict[str, PropertyDef] = {
            defn.name: defn
            for defn in standard_properties(self._pipelines, self._created_ms)
            + custom_properties(self._created_ms)
        }
        self._other_props: dict[str, dict[str, PropertyDef]] = {
            kind: {defn.name: defn for defn in defs}
            for kind, defs in other_type_properties(self._created_ms).items()
        }
        self._tickets: dict[int, Ticket] = {}
        self._active: list[int] = []  # ids in ascending order
        self._archived: list[int] = []
        self._unique: dict[str, dict[str, int]] = {}
        self._objects: dict[str, set[int]] = {}
        self._index = SearchIndex(search_lag_ms, search_hidden_ids)
        self._next_id = seeding.FIRST_TICKET_ID
        self._reset_objects(seeding.base_objects())
        self._reindex_unique()

    def hide_from_search(self, ticket_id: int | str) -> None:
        """Let search count this ticket in `total` but leave it out of every result page."""
        with self._lock:
            self._index.hidden.add(int(ticket_id))

    # -- helpers --------------------------------------------------------------------------------
    def now_ms(self) -> int:
        """Return the portal clock's current time in epoch milliseconds."""
        return self._clock()

    def _reset_objects(self, objects: dict[str, list[int]]) -> None:
        self._objects = {kind: set(ids) for kind, ids in objects.items()}
        self._objects[TICKETS] = set()

    def _reindex_unique(self) -> None:
        self._unique = {name: {} for name, defn in self._props.items() if defn.has_unique_value}
        for ticket_id in self._active:
            self._index_unique(self._tickets[ticket_id])

    def _index_unique(self, ticket: Ticket) -> None:
        for name, index in self._unique.items():
            value = ticket.values.get(name)
            if value is not None:
                index[value] = ticket.id

    def _unindex_unique(self, ticket: Ticket) -> None:
        for name, index in self._unique.items():
            value = ticket.values.get(name)
            if value is not None and index.get(value) == ticket.id:
                del index[value]

    def _names(self, properties: list[str] | None) -> list[str]:
        """Resolve the properties a read returns: known names asked for, or the defaults."""
        if not properties:
            return list(DEFAULT_TICKET_PROPERTIES)
        names = list(dict.fromkeys(name for name in properties if name in self._props))
        # HubSpot returns these whatever was asked; unknown names are silently ignored.
        names += [name for name in ALWAYS_RETURNED if name not in names]
        return names

    def _render(
        self,
        ticket: Ticket,
        names: list[str] | None,
        history: list[str] | None = None,
        associations: list[str] | None = None,
    ) -> JSON:
        """Render a ticket in the API's shape (`names` None: every property it has)."""
        values = ticket.values
        properties = dict(values) if names is None else {name: values.get(name) for name in names}
        out: JSON = {"id": str(ticket.id), "properties": properties}
        if history:
            out["propertiesWithHistory"] = {
                name: [entry.to_json() for entry in reversed(ticket.history.get(name, ()))]
                for name in dict.fromkeys(history)
                if name in self._props
            }
        out["createdAt"] = ticket.created_at
        out["updatedAt"] = ticket.updated_at
        out["archived"] = ticket.archived_ms is not None
        if ticket.archived_ms is not None:
            out["archivedAt"] = iso_from_ms(ticket.archived_ms)
        if associations:
            inline = self._inline_associations(ticket, associations)
            if inline:
                out["associations"] = inline
        return out

    def _inline_associations(self, ticket: Ticket, wanted: list[str]) -> JSON:
        inline: JSON = {}
        for name in wanted:
            plural = OBJECT_ALIASES.get(name.lower(), "")
            linked = ticket.associations.get(plural)
            if not linked:
                continue  # only types with results appear, as in HubSpot
            results = [
                {"id": str(object_id), "type": TYPES_BY_ID[type_id].name}
                for object_id in sorted(linked)
                for type_id in sorted(linked[object_id], key=default_first)
            ]
            inline[plural] = {"results": results}
        return inline

    def _publish(self, ticket: Ticket, *, immediate: bool = False) -> None:
        """Send a ticket's current version to the search index."""
        if ticket.archived_ms is not None:
            self._index.publish(ticket.id, None, self._clock(), immediate=immediate)
            return
        # Without lag the index may share the live values: no copy per write. With lag it must
        # keep its own copy, or later writes would show through before their time.
        values = dict(ticket.values) if self._index.lag_ms > 0 else ticket.values
        doc = SearchDoc(ticket.id, values, ticket.created_at, ticket.updated_at)
        self._index.publish(ticket.id, doc, self._clock(), immediate=immediate)

    def _find(self, ticket_id: str, id_property: str | None, *, archived: bool) -> Ticket:
        """Find a ticket by id or unique property; 404 when absent (or archived, unless asked)."""
        if id_property and id_property != "hs_object_id":
            defn = self._props.get(id_property)
            if defn is None or not defn.has_unique_value:
                raise validation_error(
                    f"Property {id_property!r} cannot be used as idProperty: it is not a "
                    "property with unique values",
                    context={"idProperty": [id_property]},
                )
            found = self._unique[id_property].get(ticket_id)
            if found is None and archived:
                found = next(
                    (
                        other
                        for other in self._archived
                        if self._tickets[other].values.get(id_property) == ticket_id
                    ),
                    None,
                )
            if found is None:
                raise ticket_not_found(ticket_id)
            ticket = self._tickets[found]
        else:
            try:
                ticket = self._tickets[int(ticket_id)]
            except (ValueError, KeyError):
                raise ticket_not_found(ticket_id) from None
        if not archived:
            # A merged-away id answers with the ticket it was merged into, as in HubSpot.
            seen = 0
            while ticket.merged_into is not None and seen < len(self._tickets):
                ticket = self._tickets[ticket.merged_into]
                seen += 1
        if (ticket.archived_ms is not None) != archived:
            raise ticket_not_found(ticket_id)
        return ticket

    def _batch_answer(
        self, ok_status: int, results: list[JSON], errors: list[JSON], started: str
    ) -> tuple[int, JSON]:
        """Render a batch's answer, completed now."""
        return batch_answer(ok_status, results, errors, started, iso_from_ms(self._clock()))

    def _pipeline(self, pipeline_id: str) -> Pipeline | None:
        return next((p for p in self._pipelines if p.id == pipeline_id), None)
