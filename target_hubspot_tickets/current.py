"""Read what HubSpot holds now for the tickets a batch writes, and leave out what it holds already.

Before a batch of updates or upserts is sent, its tickets are read with batch reads (100 per
request, by id or by `id_property` with `idProperty`), asking for exactly the properties the
batch writes. Each value is compared the way HubSpot stores it
(`hubspot_api.property_values.same_stored_value`: numbers by value, booleans without case,
instants and days, multi-select options as a set, "" as no value). Options named by their
label come here as their values (`hubspot_api.properties.option_values`), so `High` over a
ticket holding `HIGH` changes nothing:

- a property that already holds its value is left out of the write, so HubSpot records no
  history entry and no audit trace for it, and `hs_lastmodifieddate` does not move;
- a pin (`hs_pinned_engagement_id`) to the engagement the ticket has pinned already is not
  sent either: it is read with the values, and compared the same way;
- a record whose every property and pin are held already is `unchanged`, and nothing is sent
  for it (its associations still are);
- the pipeline, its stage and `closed_date` travel together: when one of them changes, all the
  record gives are sent, since HubSpot checks a stage against its pipeline and sets the close
  date itself on a move to a closed stage unless it is given.

The same read checks that each id names the ticket it answers with (a merged-away id answers
with its survivor) and that a record's `id` and `id_property` value agree (`landing`); records
that only link or pin are read for that, and for the pin they would send.

A ticket the read does not find is written as before (HubSpot's answer rejects the update, or
the upsert creates it). A dry run (`plan`) goes further, since nothing will answer: an update of
a ticket that does not exist is rejected here with the reason the real run would give, and a
create keyed by a source id that exists already is an update of that ticket.

What is compared is what HubSpot held at the read, milliseconds before the write: a value
changed in HubSpot between the two is not written back.
"""

from __future__ import annotations

from collections.abc import Callable

from hubspot_api.batch_reads import FoundTicket, read_tickets
from hubspot_api.properties import PINNED_ENGAGEMENT, PIPELINE, PIPELINE_STAGE
from hubspot_api.property_values import same_stored_value
from target_hubspot_tickets.archives import NOT_FOUND, archived_among
from target_hubspot_tickets.landing import reject_disagreeing_keys, reject_merged
from target_hubspot_tickets.rejects import Reject
from target_hubspot_tickets.updates import archived_reject
from target_hubspot_tickets.writes import Operation, TicketWrite
from target_hubspot_tickets.writing import Pending, RunContext

CLOSED_DATE = "closed_date"
# Sent all together when any one of them changes (see the module docstring).
TOGETHER = frozenset({PIPELINE, PIPELINE_STAGE, CLOSED_DATE})
# A batch of records that only link or pin (the sink's `LINKS_ONLY` jobs).
LINKS_ONLY = None


class CurrentValues:
    """Compare one HubSpot batch's writes with the tickets' values now (before step 2)."""

    def __init__(self, run: RunContext, stream_name: str) -> None:
        """Keep the run context and the stream name used in reject reasons."""
        self.run = run
        self.stream_name = stream_name

    def compare(self, operation: Operation | None, items: list[Pending]) -> None:
        """Read the batch's tickets; note each record's changes; leave out what is held."""
        key = self._key(operation)
        if key is None:
            return
        key_of, id_property = key
        names = {name for item in items for name in item.write.properties}
        if self.run.options.id_property and any(i.write.upsert_key for i in items):
            names.add(self.run.options.id_property)  # both keys must name one ticket
        if any(i.write.pinned_engagement_id for i in items):
            names.add(PINNED_ENGAGEMENT)  # a pin HubSpot holds already is not sent
        wanted = [k for k in (key_of(i.write) for i in items) if k is not None]
        found = read_tickets(self.run.client, wanted, sorted(names), id_property=id_property)
        if id_property is None:  # addressed by id: the id must be the ticket written (`landing`)
            not_done = "updated" if operation is Operation.UPDATE else "linked or pinned"
            reject_merged(items, found, self.stream_name, not_done)
            reject_disagreeing_keys(self.run, items, self.stream_name, not_done, current=found)
        if operation is LINKS_ONLY:  # links are not compared; a pin is
            for item in items:
                ticket = found.get(item.write.ticket_id or "")
                if (
                    item.failure is None
                    and ticket is not None
                    and self._pin_held(item, ticket)
                    and item.write.associations is None
                ):
                    item.unchanged = True
                    item.write.result_id = ticket.id  # nothing is sent, so no answer will say it
            return
        missing: list[Pending] = []
        for item in items:
            if item.failure is not None:
                continue
            ticket_key = key_of(item.write)
            ticket = found.get(ticket_key) if ticket_key is not None else None
            item.exists = ticket is not None
            if ticket is None:
                missing.append(item)
                continue
            self._note(operation, item, ticket)
        if self.run.options.dry_run and operation is Operation.UPDATE:
            self._predict_missing(missing)

    def _key(
        self, operation: Operation | None
    ) -> tuple[Callable[[TicketWrite], str | None], str | None] | None:
        """Return how each record names its ticket, and the property it is named by."""
        options = self.run.options
        if operation is Operation.UPDATE or operation is LINKS_ONLY:
            return (lambda w: w.ticket_id), None
        if operation is Operation.UPSERT:
            return (lambda w: w.upsert_key), options.id_property
        if (
            operation is Operation.CREATE
            and options.dry_run
            and options.source_id_property
            and not self.run.source_property_planned  # no ticket holds a value there yet
        ):
            source = options.source_id_property
            return (lambda w: w.properties.get(source)), source
        return None

    def _note(self, operation: Operation | None, item: Pending, ticket: FoundTicket) -> None:
        write = item.write
        if self.run.options.dry_run:
            write.result_id = ticket.id  # nothing will answer to say which ticket it writes
        if ticket.properties is None:  # merged into another ticket: its values are not known
            return
        definitions = self.run.validator.definitions
        changes = {
            name: (ticket.properties.get(name), new)
            for name, new in write.properties.items()
            if not same_stored_value(definitions[name], ticket.properties.get(name), new)
        }
        item.changes = changes
        if operation is Operation.CREATE:  # read in a dry run only
            item.matched_existing = True  # a replayed create: an upsert of its ticket
            return
        self._pin_held(item, ticket)
        keep = set(changes) | (TOGETHER if TOGETHER & set(changes) else set())
        for name in [n for n in write.properties if n not in keep]:
            del write.properties[name]
        if not write.properties:
            item.unchanged = True
            write.result_id = ticket.id  # nothing is sent, so no answer will say it
            item.associated_only = write.associations is not None

    def _pin_held(self, item: Pending, ticket: FoundTicket) -> bool:
        """Drop a pin the ticket holds already, so it is not sent; tell whether none is left."""
        write = item.write
        pin = write.pinned_engagement_id
        if pin is None:
            return True
        if ticket.properties is None:  # merged into another ticket: its pin is not known
            return False
        held = ticket.properties.get(PINNED_ENGAGEMENT)
        definition = self.run.validator.definitions.get(PINNED_ENGAGEMENT)
        same = held == pin if definition is None else same_stored_value(definition, held, pin)
        if same:
            write.pinned_engagement_id = None
        return same

    def _predict_missing(self, missing: list[Pending]) -> None:
        """Reject, as HubSpot's answer would, the updates of tickets that do not exist."""
        ids = [i.write.ticket_id for i in missing if i.write.ticket_id]
        archived = archived_among(self.run, ids) if ids else set()
        for item in missing:
            ticket_id = item.write.ticket_id
            if ticket_id in archived:
                item.failure = archived_reject(item.write, self.stream_name)
            else:
                item.failure = Reject(
                    f"{item.write.describe(self.stream_name)}: no ticket with id {ticket_id}",
                    field="id",
                    category=NOT_FOUND,
                )
