"""Pin an engagement on written tickets (`hs_pinned_engagement_id`).

HubSpot accepts a pin only for an engagement already associated with the ticket, so pins go
out after the links, as a batch update of that one property. A pin that fails leaves a written
ticket; its reject says so, since a resend would only redo the pin.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from hubspot_api.paging import BATCH_LIMIT, chunked
from hubspot_api.paths import Call
from hubspot_api.properties import PINNED_ENGAGEMENT
from target_hubspot_tickets.batches import BatchWriter, match_by_result_id
from target_hubspot_tickets.writes import TicketWrite
from target_hubspot_tickets.writing import Pending, RunContext, traced_input


class PinWriter:
    """Write the pins of one batch's records (step 4 of the sink)."""

    def __init__(self, run: RunContext, stream_name: str, logger: logging.Logger) -> None:
        """Write through a batch update, matching results by the ticket written."""
        self._batch = BatchWriter(
            run,
            stream_name,
            logger,
            call=Call.BATCH_UPDATE,
            build=pin_input,
            match=match_by_result_id,
        )

    def write(self, pending: list[Pending]) -> None:
        """Pin each written ticket's engagement; name the pin in the reject of those refused."""
        items = [
            item
            for item in pending
            if item.failure is None and item.write.pinned_engagement_id and item.ticket_id
        ]
        if not items:
            return
        for chunk in chunked(items, BATCH_LIMIT):
            self._batch.write(chunk)
        for item in items:
            if item.failure is not None:
                head, _, tail = item.failure.reason.partition(": ")
                item.failure = replace(
                    item.failure,
                    reason=f"{head}: ticket {item.ticket_id} written, but pinning failed: {tail}",
                    field=PINNED_ENGAGEMENT,
                )


def pin_input(write: TicketWrite) -> dict[str, Any]:
    """Build one batch-update input that sets only the pin."""
    return traced_input(
        write,
        id=write.result_id or write.ticket_id,
        properties={PINNED_ENGAGEMENT: write.pinned_engagement_id},
    )
