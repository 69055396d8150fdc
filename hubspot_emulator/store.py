"""The portal's state and HubSpot's ticket semantics, independent of HTTP.

Every public method takes and returns plain JSON-able values in HubSpot's own API shapes and
raises `ApiError` for anything HubSpot would refuse. The HTTP layer only parses the wire and
calls these. All methods are thread-safe (one lock per portal).

Tickets keep their current values as strings (absent means null) and every value they ever had,
oldest first in memory and newest first on the wire, as HubSpot's `propertiesWithHistory`
reports them. Search reads a separate, lagging index (`search.SearchIndex`).
"""

from __future__ import annotations

from hubspot_emulator.portal_batches import PortalBatches
from hubspot_emulator.portal_loading import PortalLoading
from hubspot_emulator.portal_properties import PortalProperties

__all__ = ["Portal"]


class Portal(PortalBatches, PortalProperties, PortalLoading):
    """One HubSpot account: tickets, their history and associations, properties, pipelines.

    Each part lives in its own module over the shared `PortalState`: `portal_validation`,
    `portal_tickets`, `portal_batches`, `associations`, `portal_properties`, `portal_loading`.
    """
