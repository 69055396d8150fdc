"""Make sure a write addressed to one ticket lands on that ticket, and on no other.

HubSpot answers a merged-away id with the ticket it was merged into, and writes addressed to
that id land there too: an archive of ticket 123, merged into 456, archives 456 (the tap emits
merged-away tickets as archived, so a round trip of its own output would do exactly that). Every
write addressed by id is therefore checked against the batch read made before it
(`hubspot_api.batch_reads`): an id answered by another ticket is rejected (`MERGED`), naming
both, and nothing is written to either.

A record that carries both an `id` and a value in `id_property` names its ticket twice. The two
must agree: the value belongs to that ticket, or (for an update) to no ticket yet while the
ticket holds none, in which case the update writes it there. A value that belongs to another
ticket, or an update over a ticket holding another value, is rejected (`KEY_CONFLICT`), naming
both; an archive whose value names no ticket is rejected too, since an archive is not undone.

HubSpot offers no conditional write: a merge made between the read and the write (milliseconds)
still lands on the survivor; for an update, whose answer names the ticket written, the results
file then says which.
"""

from __future__ import annotations

from collections.abc import Mapping

from hubspot_api.batch_reads import FoundTicket, read_tickets
from hubspot_api.records import ID
from target_hubspot_tickets.rejects import Reject
from target_hubspot_tickets.writing import Pending, RunContext

MERGED = "MERGED"
KEY_CONFLICT = "KEY_CONFLICT"


def merged_reject(item: Pending, stream: str, ticket: FoundTicket, not_done: str) -> Reject:
    """Build the reject of a write addressed to an id HubSpot answers with another ticket."""
    return Reject(
        f"{item.write.describe(stream)}: ticket {ticket.merged_from} was merged into "
        f"{ticket.survivor}; not {not_done} (HubSpot would write to {ticket.survivor})",
        field=ID,
        category=MERGED,
    )


def reject_merged(
    items: list[Pending], found: Mapping[str, FoundTicket], stream: str, not_done: str
) -> None:
    """Reject each record whose id HubSpot answered with another ticket (a merge)."""
    for item in items:
        ticket_id = item.write.ticket_id
        ticket = found.get(ticket_id) if ticket_id is not None else None
        if item.failure is None and ticket is not None and ticket.merged_from is not None:
            item.failure = merged_reject(item, stream, ticket, not_done)


def reject_disagreeing_keys(
    run: RunContext,
    items: list[Pending],
    stream: str,
    not_done: str,
    *,
    current: Mapping[str, FoundTicket] | None = None,
) -> None:
    """Reject each record whose `id` and `id_property` value do not name one ticket.

    `current` holds the records' tickets as read by id with `id_property` among the properties:
    with it, a value no ticket holds yet may be written to a ticket that holds none (an
    update); without it, such a value is rejected (an archive).
    """
    name = run.options.id_property
    both = [i for i in items if i.failure is None and i.write.ticket_id and i.write.upsert_key]
    if name is None or not both:
        return
    owners = read_tickets(run.client, [i.write.upsert_key or "" for i in both], id_property=name)
    for item in both:
        ticket_id, key = item.write.ticket_id or "", item.write.upsert_key or ""
        owner = owners.get(key)
        if owner is not None and owner.id == ticket_id:
            continue
        if owner is not None:
            why = f"{name} {key!r} belongs to ticket {owner.id}, not to ticket {ticket_id}"
        elif current is None:
            why = f"no ticket holds {name} {key!r} (the record's id is {ticket_id})"
        else:
            ticket = current.get(ticket_id)
            held = (ticket.properties or {}).get(name) if ticket is not None else None
            if not held:
                continue  # the key is new and the ticket has none: the update writes it
            why = f"ticket {ticket_id} holds {name} {held!r}, not {key!r}"
        item.failure = Reject(
            f"{item.write.describe(stream)}: its id and {name} name different tickets: {why}; "
            f"not {not_done}",
            field=name,
            category=KEY_CONFLICT,
        )
