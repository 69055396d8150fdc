"""The tap's streams: declarations over one base that owns reading, pipelining and state.

- `base`: `HubSpotStream`, the run's connection and the columns always emitted.
- `tickets`: `TicketsStream` (how tickets are read is told there) and `TicketCompanionStream`,
  the base of streams read per page of its walk; `walk` produces those pages.
- `history`: `ticket_property_history`, a companion of the tickets walk.
- `associations`: `ticket_associations`, every link of every active ticket, each run.
- `metadata`: `ticket_pipelines`, `ticket_pipeline_stages`, `ticket_properties`.
"""

from __future__ import annotations

from tap_hubspot_tickets.streams.associations import TicketAssociationsStream
from tap_hubspot_tickets.streams.base import HubSpotStream
from tap_hubspot_tickets.streams.history import TicketPropertyHistoryStream
from tap_hubspot_tickets.streams.metadata import (
    TicketPipelinesStream,
    TicketPipelineStagesStream,
    TicketPropertiesStream,
)
from tap_hubspot_tickets.streams.tickets import TicketCompanionStream, TicketsStream

__all__ = [
    "HubSpotStream",
    "TicketAssociationsStream",
    "TicketCompanionStream",
    "TicketPipelineStagesStream",
    "TicketPipelinesStream",
    "TicketPropertiesStream",
    "TicketPropertyHistoryStream",
    "TicketsStream",
]
