"""Read tickets by id or by a unique property with batch reads, and tell which exist.

Batch reads are consistent (search is not) and take 100 keys per request. HubSpot answers the
keys it knows in `results` and lists the unknown ones in one error entry (`context.ids`), with
status 207.

A merged-away id is answered with the ticket it was merged into, under that ticket's id (as
third parties report for HubSpot; HubSpot does not document it, and the emulator does the
same). So does every write addressed to that id: an update or an archive of it lands on the
survivor. A read by id therefore asks for `hs_merged_object_ids` too, and a key answered by
another ticket is `FoundTicket.merged_from` that key: the caller must not write to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hubspot_api.paging import BATCH_LIMIT, chunked
from hubspot_api.paths import Call
from hubspot_api.properties import MERGED_IDS

if TYPE_CHECKING:
    from hubspot_api.client import HubSpotClient


@dataclass(frozen=True)
class FoundTicket:
    """A ticket a batch read found: its id and the properties asked for (None: not known).

    `merged_from` is the id asked for when HubSpot answered it with another ticket (the one it
    was merged into, `id`; equal to `merged_from` when the answer did not say which).
    """

    id: str
    properties: Mapping[str, str | None] | None
    merged_from: str | None = None

    @property
    def survivor(self) -> str:
        """Name the ticket a merged-away id was merged into, for messages."""
        return f"ticket {self.id}" if self.id != self.merged_from else "another ticket"


def read_tickets(
    client: HubSpotClient,
    keys: Iterable[str],
    properties: Iterable[str] = (),
    *,
    id_property: str | None = None,
    archived: bool = False,
) -> dict[str, FoundTicket]:
    """Return the ticket of each key HubSpot finds: keys are ids, or `id_property` values.

    `archived` reads the recycle bin instead of the live tickets. Only `properties` (and the
    `id_property`, or for live tickets by id `hs_merged_object_ids`) are asked for.
    """
    by_id = id_property is None and not archived
    extra = [id_property] if id_property else [MERGED_IDS] if by_id else []
    names = list(dict.fromkeys([*properties, *extra]))
    found: dict[str, FoundTicket] = {}
    for chunk in chunked(list(dict.fromkeys(keys)), BATCH_LIMIT):
        body: dict[str, Any] = {"inputs": [{"id": k} for k in chunk], "properties": names}
        if id_property is not None:
            body["idProperty"] = id_property
        params = {"archived": "true"} if archived else None
        answer = client.post_json(Call.BATCH_READ, body, params=params)
        found.update(_found(chunk, answer, id_property))
    return found


def _found(keys: list[str], answer: Any, id_property: str | None) -> dict[str, FoundTicket]:
    """Map each found key to its ticket from one batch-read answer (200 or 207).

    The client checked the answer's shape (`answers`): `results` are objects with ids.
    """
    found: dict[str, FoundTicket] = {}
    tickets: list[FoundTicket] = []
    for result in answer["results"]:
        props = result.get("properties")
        ticket = FoundTicket(str(result["id"]), props if isinstance(props, Mapping) else {})
        tickets.append(ticket)
        if id_property is None:
            found[ticket.id] = ticket
            continue
        value = ticket.properties.get(id_property) if ticket.properties else None
        if value is not None:
            found[str(value)] = ticket
    if id_property is not None:
        return found
    errors = [e for e in answer.get("errors") or [] if isinstance(e, Mapping)]
    listed = {v for e in errors for v in _context_ids(e)}
    unlisted = [key for key in keys if key not in found and key not in listed]
    if unlisted and all(_context_ids(e) for e in errors):
        for key in unlisted:
            found[key] = _survivor(key, tickets)
    return found


def _survivor(key: str, tickets: list[FoundTicket]) -> FoundTicket:
    """Return the ticket HubSpot answered for merged-away id `key`, marked as merged from it."""
    for ticket in tickets:
        merged = (ticket.properties or {}).get(MERGED_IDS) or ""
        if key in merged.split(";"):
            return FoundTicket(ticket.id, ticket.properties, merged_from=key)
    return FoundTicket(key, None, merged_from=key)  # answered, but by which ticket is not said


def _context_ids(error: Mapping[str, Any]) -> list[str]:
    context = error.get("context")
    values = context.get("ids") if isinstance(context, Mapping) else None
    if isinstance(values, str):
        return [values]
    if isinstance(values, list):
        return [str(v) for v in values]
    return []
