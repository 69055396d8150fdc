"""Archive tickets named by id or by `id_property`, and say so only when it is true.

HubSpot's batch archive answers 204 whatever it was given: an id that names no ticket is
silently ignored. Counting such a record as archived would hide a wrong id (another portal, a
stale mapping) behind a success, so every archive batch first asks HubSpot which of its tickets
exist, with batch reads (consistent, unlike search):

1. Records with an `id` are read by id; records with only a value in `id_property` are read by
   that property (`idProperty`), which gives their ticket id. An id HubSpot answers with the
   ticket it was merged into is rejected (`MERGED`): archiving it would archive that ticket. A
   record with both, whose value belongs to another ticket (or to none), is rejected
   (`KEY_CONFLICT`; see `landing`).
2. What is not found among live tickets is looked for among archived ones (`archived=true`).
   A ticket already archived is the state the record asks for: it counts as archived and is
   not sent again, so replaying a run is harmless.
3. A record whose id or key matches no ticket, live or archived, is rejected
   (`OBJECT_NOT_FOUND`), naming the id or key. Tickets purged from the recycle bin (after 90
   days) are no longer found either, and are rejected the same way.
4. The live tickets are archived in one batch; a whole-batch refusal is split to find the
   records behind it (`splitting`).

This costs one batch read per 100 archives (two when some carry only a key, one more when
some are missing), next to the batch archive itself. A dry run (`plan`) takes steps 1 to 3.
"""

from __future__ import annotations

import logging

from hubspot_api.batch_reads import read_tickets
from hubspot_api.paths import Call
from hubspot_api.records import ARCHIVED, ID
from target_hubspot_tickets.landing import reject_disagreeing_keys, reject_merged
from target_hubspot_tickets.rejects import Reject
from target_hubspot_tickets.splitting import isolate_refusals, split_logger
from target_hubspot_tickets.writes import Operation, RecordInvalid, TicketWrite
from target_hubspot_tickets.writing import Pending, RunContext, reject_from

NOT_FOUND = "OBJECT_NOT_FOUND"
# The reject category of a write of an archived ticket (or one the input archives earlier).
ARCHIVED_CATEGORY = "ARCHIVED"
# The category of archives refused because the input asks for more than `max_archives`.
TOO_MANY_ARCHIVES = "MAX_ARCHIVES"


class ArchiveWriter:
    """Archive the tickets of one chunk of archive records (at most one HubSpot batch)."""

    def __init__(self, run: RunContext, stream_name: str, logger: logging.Logger) -> None:
        """Keep the run context, the stream name for reject reasons, and the logger."""
        self.run = run
        self.stream_name = stream_name
        self.logger = logger

    def write(self, items: list[Pending]) -> None:
        """Find each record's ticket, then archive the live ones; reject what matches none."""
        live = self._locate(items)
        if not live or self.run.options.dry_run:
            return  # a dry run reads which tickets exist and archives nothing

        def send(batch: list[Pending]) -> None:
            ids = list(dict.fromkeys(item.ticket_id for item in batch))
            self.run.client.call(Call.BATCH_ARCHIVE, json={"inputs": [{"id": i} for i in ids]})

        outcome = isolate_refusals(live, send, on_split=split_logger(self.logger, "an archive"))
        for item, exc in outcome.refused:
            item.failure = reject_from(item.write, self.stream_name, exc)

    def _locate(self, items: list[Pending]) -> list[Pending]:
        """Set each record's ticket id; return those whose ticket is live, reject the unknown."""
        key_property = self.run.options.id_property
        by_id = [i for i in items if i.write.ticket_id is not None]
        by_key = [i for i in items if i.write.ticket_id is None and i.write.upsert_key]
        live: set[int] = set()
        missing: list[Pending] = []
        for group, prop in ((by_id, None), (by_key, key_property)):
            if not group:
                continue
            found = read_tickets(self.run.client, [_key_of(i) for i in group], id_property=prop)
            reject_merged(group, found, self.stream_name, "archived")
            for item in group:
                ticket = found.get(_key_of(item))
                if item.failure is not None:
                    continue
                if ticket is None:
                    missing.append(item)
                    continue
                item.write.result_id = ticket.id
                live.add(id(item))
        # Only what is sent needs both keys to agree: an archived ticket stays as it is.
        reject_disagreeing_keys(
            self.run, [i for i in items if id(i) in live], self.stream_name, "archived"
        )
        already = 0
        for group, prop in (
            ([i for i in missing if i.write.ticket_id is not None], None),
            ([i for i in missing if i.write.ticket_id is None], key_property),
        ):
            if not group:
                continue
            archived = read_tickets(
                self.run.client, [_key_of(i) for i in group], id_property=prop, archived=True
            )
            for item in group:
                if item.failure is not None:
                    continue
                ticket = archived.get(_key_of(item))
                if ticket is not None:
                    item.write.result_id = ticket.id
                    already += 1
                else:
                    item.failure = self._not_found(item, prop)
        if already:
            self.logger.info("%d ticket(s) to archive were archived already", already)
        return [item for item in items if id(item) in live and item.failure is None]

    def _not_found(self, item: Pending, prop: str | None) -> Reject:
        name = prop or ID
        what = f"id {item.write.ticket_id}" if prop is None else f"{prop} = {_key_of(item)!r}"
        return Reject(
            f"{item.write.describe(self.stream_name)}: no ticket with {what}, live or archived; "
            "nothing was archived",
            field=name,
            category=NOT_FOUND,
        )


def archived_among(run: RunContext, ids: list[str]) -> set[str]:
    """Return which of these ticket ids are archived (in HubSpot's recycle bin)."""
    return set(read_tickets(run.client, ids, archived=True)) & set(ids)


def _key_of(item: Pending) -> str:
    key = item.write.ticket_id or item.write.upsert_key
    assert key is not None  # routing gives every archive an id or a key
    return key


def archived_earlier(run: RunContext, write: TicketWrite) -> RecordInvalid | None:
    """Refuse a write of a ticket that an earlier record of the input archives; note archives.

    The input is applied in its order, whatever the batch boundaries: an archive ends its
    ticket's part of the input. Archives wait for the end of the input (`max_archives`) and
    batches run at once, so a later write would otherwise land before the archive or after it
    by chance; it is refused as HubSpot refuses a write of an archived ticket.
    """
    archived = run.archived_in_input
    keys = [("id", write.ticket_id), ("key", write.upsert_key)]
    named = [(kind, value) for kind, value in keys if value is not None]
    if write.operation is Operation.ARCHIVE:
        for key in named:
            archived.setdefault(key, write.position)
        return None
    for kind, value in named:
        earlier = archived.get((kind, value))
        if earlier is None:
            continue
        field = ID if kind == "id" else run.options.id_property
        what = f"ticket {value}" if kind == "id" else f"the ticket with {field} {value!r}"
        return RecordInvalid(
            f"record #{earlier} earlier in this input archives {what}; a later record of it is "
            "not written (send a ticket's changes before its archive)",
            field,
            category=ARCHIVED_CATEGORY,
        )
    return None


def refuse_over_limit(items: list[Pending], limit: int | None, stream_name: str) -> bool:
    """Reject every archive when there are more than `limit`; return whether it did.

    HubSpot restores deleted tickets only through its UI, one by one, so a bad upstream query
    that marks thousands of rows deleted must not reach it: the whole input's archives are
    counted (`max_archives`), before any is sent.
    """
    if limit is None or len(items) <= limit:
        return False
    for item in items:
        item.failure = Reject(
            f"{item.write.describe(stream_name)}: not archived: the input asks to archive "
            f"{len(items)} tickets, more than max_archives={limit}",
            field=ARCHIVED,
            category=TOO_MANY_ARCHIVES,
        )
    return True
