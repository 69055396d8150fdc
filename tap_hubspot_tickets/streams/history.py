"""`ticket_property_history`: every recorded value of chosen properties, read per page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

from singer_sdk.helpers.types import Record
from typing_extensions import override

from tap_hubspot_tickets.runtime import TapRuntime
from tap_hubspot_tickets.schemas import (
    HISTORY_KEY,
    HISTORY_SCHEMA,
    HISTORY_STREAM,
    history_records,
)
from tap_hubspot_tickets.streams.base import ID_ONLY, JSON
from tap_hubspot_tickets.streams.tickets import TicketCompanionStream

if TYPE_CHECKING:
    from singer_sdk import Tap


class TicketPropertyHistoryStream(TicketCompanionStream):
    """Every recorded value of the `history_properties` of each ticket read."""

    name = HISTORY_STREAM
    primary_keys: ClassVar[list[str]] = list(HISTORY_KEY)
    replication_key = "timestamp"
    is_sorted = False

    def __init__(self, tap: Tap, runtime: TapRuntime) -> None:
        """Use the fixed history schema."""
        super().__init__(tap, runtime, HISTORY_SCHEMA)

    @override
    def read(self, ids: list[str], archived: bool) -> list[JSON]:
        history = self.runtime.options.history_properties
        if not history:
            return []
        # History only comes from list/read/batch read, never search (docs/hubspot-api.md).
        return self.runtime.source.batch_read(
            ids, properties=ID_ONLY, history=history, archived=archived
        )

    @override
    def records_of(self, item: JSON) -> Iterator[Record]:
        return history_records(item, self.value_problems)
