"""Link written tickets to other CRM objects, and unlink what a record no longer lists.

Runs after the properties step, for records whose ticket is known. A create without
`source_id_property` carries its links inside the batch create itself and is skipped here.
Links go out in batches per object type; HubSpot's batch association errors name no input, so a
batch that reports any is redone link by link to reject exactly the records behind them. With
`replace_associations`, existing tickets first lose the links (of the types the record lists,
plus `association_types`) that the record no longer lists.
"""

from __future__ import annotations

from hubspot_api.associations import read_associations
from hubspot_api.paging import BATCH_LIMIT, chunked
from hubspot_api.paths import Call
from target_hubspot_tickets.splitting import CONTENT_ERRORS
from target_hubspot_tickets.writes import Association, Operation
from target_hubspot_tickets.writing import Pending, RunContext, answer_object, reject_from

# (object type, object id, association type id): one link as HubSpot stores it.
_Link = tuple[str, str, int]
_Job = tuple[str, list[tuple[Pending, Association]]]


class AssociationWriter:
    """Write the links of one batch's records (step 3 of the sink)."""

    def __init__(self, run: RunContext, stream_name: str) -> None:
        """Keep the run context and the stream name used in reject reasons."""
        self.run = run
        self.stream_name = stream_name

    def write(self, pending: list[Pending]) -> None:
        """Make (and with `replace_associations`, unmake) the links the records ask for."""
        options = self.run.options
        links: list[tuple[Pending, Association]] = []
        replace: list[Pending] = []
        for item in pending:
            write = item.write
            if item.failure is not None or write.associations is None:
                continue
            if write.operation is Operation.CREATE and options.source_id_property is None:
                continue  # sent inside the batch create itself
            if item.ticket_id is None:
                continue
            links.extend((item, link) for link in write.associations)
            if options.replace_associations and write.operation is not Operation.CREATE:
                replace.append(item)
        if replace:
            links = self._replace(replace, links)
        by_type: dict[str, list[tuple[Pending, Association]]] = {}
        for item, link in links:
            by_type.setdefault(link.to_object_type, []).append((item, link))
        jobs: list[_Job] = [
            (to_type, chunk)
            for to_type, group in by_type.items()
            for chunk in chunked(group, BATCH_LIMIT)
        ]
        if jobs:
            list(self.run.client.map_concurrent(self._associate_job, jobs))

    def _associate_job(self, job: _Job) -> None:
        to_type, group = job
        body = {
            "inputs": [
                {
                    "from": {"id": item.ticket_id},
                    "to": {"id": link.to_object_id},
                    "types": link.types_json(),
                }
                for item, link in group
            ]
        }
        try:
            answer = answer_object(
                self.run.client.call(Call.BATCH_CREATE_ASSOCIATIONS, json=body, to_type=to_type)
            )
        except CONTENT_ERRORS:
            self._associate_one_by_one(to_type, group)
            return
        if answer.get("errors"):
            # Batch association errors name no input: redo the links one by one to find them.
            self._associate_one_by_one(to_type, group)
            return
        self.run.tally.add_associations(added=len(group))

    def _associate_one_by_one(self, to_type: str, group: list[tuple[Pending, Association]]) -> None:
        added = 0
        for item, link in group:
            ticket_id = item.ticket_id
            assert ticket_id is not None
            try:
                self.run.client.call(
                    Call.ASSOCIATE,
                    json=link.types_json(),
                    ticket_id=ticket_id,
                    to_type=to_type,
                    to_id=link.to_object_id,
                )
            except CONTENT_ERRORS as exc:
                if item.failure is None:
                    item.failure = reject_from(
                        item.write,
                        self.stream_name,
                        exc,
                        prefix=f"ticket {ticket_id} written, but its link to {to_type} "
                        f"{link.to_object_id} failed: ",
                        field="associations",
                    )
                continue
            added += 1
        self.run.tally.add_associations(added=added)

    def _replace(
        self,
        items: list[Pending],
        links: list[tuple[Pending, Association]],
    ) -> list[tuple[Pending, Association]]:
        """Unlink what the records no longer list; return only the links still to be made."""
        wanted: dict[str, set[_Link]] = {}
        for item, link in links:
            assert item.ticket_id is not None
            wanted.setdefault(item.ticket_id, set()).add(
                (link.to_object_type, link.to_object_id, link.association_type_id)
            )
        types = set(self.run.options.association_types)
        for item in items:
            types.update(link.to_object_type for link in item.write.associations or [])
        ids = [i.ticket_id for i in items if i.ticket_id is not None]
        current = self._current_links(ids, sorted(types))
        removals: dict[str, list[tuple[str, str]]] = {}
        for ticket_id in ids:
            keep_pairs = {(t, o) for t, o, _ in wanted.get(ticket_id, set())}
            for to_type, to_id, _ in current.get(ticket_id, set()):
                if (to_type, to_id) not in keep_pairs:
                    removals.setdefault(to_type, []).append((ticket_id, to_id))
        removed = 0
        for to_type, pairs in removals.items():
            unique = sorted(set(pairs))
            by_ticket: dict[str, list[str]] = {}
            for ticket_id, to_id in unique:
                by_ticket.setdefault(ticket_id, []).append(to_id)
            inputs = [
                {"from": {"id": t}, "to": [{"id": o} for o in to_ids]}
                for t, to_ids in by_ticket.items()
            ]
            for chunk in chunked(inputs, BATCH_LIMIT):
                self.run.client.call(
                    Call.BATCH_ARCHIVE_ASSOCIATIONS, json={"inputs": chunk}, to_type=to_type
                )
            removed += len(unique)
        self.run.tally.add_associations(removed=removed)
        present = {(tid, link) for tid, links_ in current.items() for link in links_}
        out: list[tuple[Pending, Association]] = []
        for item, link in links:
            key = (link.to_object_type, link.to_object_id, link.association_type_id)
            if (item.ticket_id, key) not in present:
                out.append((item, link))
        return out

    def _current_links(self, ids: list[str], types: list[str]) -> dict[str, set[_Link]]:
        """Read every link `ids` have now to objects of `types`, past the first page too."""
        current: dict[str, set[_Link]] = {}
        for to_type in types:
            for link in read_associations(self.run.client, to_type, ids):
                current.setdefault(link.from_id, set()).add((to_type, link.to_id, link.type_id))
        return current
