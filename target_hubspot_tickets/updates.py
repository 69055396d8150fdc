"""Update tickets by id, and upsert them by a unique property (`id_property`, a source id).

Both are `batches.BatchWriter`s over their own call and input. An update refused because its
ticket does not exist is told apart from one whose ticket is archived: HubSpot answers both
with the same "Object not found".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from hubspot_api.paths import Call
from target_hubspot_tickets.archives import ARCHIVED_CATEGORY, NOT_FOUND, archived_among
from target_hubspot_tickets.batches import BatchWriter, Match, match_by_id
from target_hubspot_tickets.rejects import Reject
from target_hubspot_tickets.writes import TicketWrite
from target_hubspot_tickets.writing import Pending, RunContext, traced_input


class UpdateWriter:
    """Update the tickets of one HubSpot batch by id; name the archived ones in their rejects."""

    def __init__(self, run: RunContext, stream_name: str, logger: logging.Logger) -> None:
        """Write through a batch update, matching results by ticket id."""
        self.run = run
        self.stream_name = stream_name
        self._batch = BatchWriter(
            run, stream_name, logger, call=Call.BATCH_UPDATE, build=update_input, match=match_by_id
        )

    def write(self, items: list[Pending]) -> None:
        """Update the tickets; explain the refusals whose ticket is archived."""
        self._batch.write(items)
        self._explain_archived(items)

    def _explain_archived(self, items: list[Pending]) -> None:
        """Say so when an update was refused because its ticket is archived, not unknown.

        One batch read of the archived tickets tells the two apart.
        """
        missing = [
            i
            for i in items
            if i.failure is not None and i.failure.category == NOT_FOUND and i.write.ticket_id
        ]
        if not missing:
            return
        archived = archived_among(self.run, [i.write.ticket_id or "" for i in missing])
        for item in missing:
            if item.write.ticket_id in archived:
                item.failure = archived_reject(item.write, self.stream_name)


class UpsertWriter(BatchWriter):
    """Upsert the tickets of one HubSpot batch by a unique property."""

    def __init__(
        self,
        run: RunContext,
        stream_name: str,
        logger: logging.Logger,
        *,
        id_property: str,
        key: Callable[[TicketWrite], str | None],
        match: Match | None,
    ) -> None:
        """Upsert by `id_property`, each record's value of it given by `key`."""

        def build(write: TicketWrite) -> dict[str, Any]:
            return traced_input(
                write, idProperty=id_property, id=key(write), properties=write.properties
            )

        super().__init__(run, stream_name, logger, call=Call.BATCH_UPSERT, build=build, match=match)

    @classmethod
    def by_id_property(
        cls, run: RunContext, stream_name: str, logger: logging.Logger, id_property: str
    ) -> UpsertWriter:
        """Upsert records that carry a value for `id_property` (the routing's upserts)."""
        return cls(
            run, stream_name, logger, id_property=id_property, key=_upsert_key, match=match_by_id
        )

    @classmethod
    def by_source_id(
        cls, run: RunContext, stream_name: str, logger: logging.Logger, source_property: str
    ) -> UpsertWriter:
        """Create records as upserts by their source id: resending one is harmless."""

        def key(write: TicketWrite) -> str | None:
            return write.properties[source_property]

        return cls(run, stream_name, logger, id_property=source_property, key=key, match=None)


def archived_reject(write: TicketWrite, stream_name: str) -> Reject:
    """Build the reject of an update whose ticket is archived (deleted) in HubSpot."""
    return Reject(
        f"{write.describe(stream_name)}: ticket {write.ticket_id} is archived (deleted in "
        "HubSpot); restore it there before updating it",
        field="id",
        category=ARCHIVED_CATEGORY,
    )


def update_input(write: TicketWrite) -> dict[str, Any]:
    """Build one batch-update input: the ticket id and the properties."""
    return traced_input(write, id=write.ticket_id, properties=write.properties)


def _upsert_key(write: TicketWrite) -> str | None:
    return write.upsert_key
