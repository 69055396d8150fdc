"""Read tickets by id or by a unique property with batch reads, and tell which exist.

Batch reads are consistent (search is not) and take 100 keys per request. HubSpot answers the
keys it knows in `results` and lists the unknown ones in one error entry (`context.ids`), with
status 207. A merged-away id is answered with the ticket it was merged into, under that
ticket's id: an id HubSpot neither returned nor listed as missing still exists, under its own
id, and its values are not known (`FoundTicket.properties` is None).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hubspot_api.paging import BATCH_LIMIT, chunked
from hubspot_api.paths import Call

if TYPE_CHECKING:
    from hubspot_api.client import HubSpotClient


@dataclass(frozen=True)
class FoundTicket:
    """A ticket a batch read found: its id and the properties asked for (None: not known)."""

    id: str
    properties: Mapping[str, str | None] | None


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
    `id_property`) are asked for.
    """
    names = list(dict.fromkeys([*properties, *([id_property] if id_property else [])]))
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
    for result in answer["results"]:
        props = result.get("properties")
        ticket = FoundTicket(str(result["id"]), props if isinstance(props, Mapping) else {})
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
    if all(_context_ids(e) for e in errors):
        for key in keys:
            if key not in found and key not in listed:
                found[key] = FoundTicket(key, None)  # merged into another ticket
    return found


def _context_ids(error: Mapping[str, Any]) -> list[str]:
    context = error.get("context")
    values = context.get("ids") if isinstance(context, Mapping) else None
    if isinstance(values, str):
        return [values]
    if isinstance(values, list):
        return [str(v) for v in values]
    return []
