"""Bind the tap's state to the HubSpot portal it was read from.

Bookmarks only mean something for the portal that produced them: resuming one portal's state
against another (a demo's state, a sandbox's, a token swapped in a shared Meltano project) would
skip every ticket of the second portal modified before the first one's bookmark, and mix two
portals in one warehouse without a word. So the state carries the portal's id
(`hubspot_portal_id`, from HubSpot's account details: docs/endpoints.md), and a run whose token
belongs to another portal stops before reading anything, with one line that says how to start
afresh. A state written before portals were recorded is adopted by the portal that resumes it.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from hubspot_api.errors import ConfigError

PORTAL_KEY = "hubspot_portal_id"


class PortalMismatchError(ConfigError):
    """The state was written for another HubSpot portal than the one the token opens."""


def bind_state(
    incoming: Mapping[str, Any] | None,
    state: MutableMapping[str, Any],
    portal_id: str | None,
) -> str | None:
    """Check the incoming state's portal against `portal_id`, then record it in `state`.

    Return a note for the log when the state is adopted (it named no portal), else None.
    Raise `PortalMismatchError` when it names another portal. With `portal_id` None (HubSpot
    did not say) the state is left as it came.
    """
    recorded = (incoming or {}).get(PORTAL_KEY)
    if portal_id is None:
        if recorded is not None:
            state[PORTAL_KEY] = recorded
        return None
    if recorded is not None and str(recorded) != portal_id:
        raise PortalMismatchError(
            f"the state was written for HubSpot portal {recorded}, but this token belongs to "
            f"portal {portal_id}: resuming it would skip tickets and mix two portals. Start "
            "afresh for this portal (`meltano run --full-refresh ...`, or a separate state id / "
            "Meltano environment), or use the other portal's token"
        )
    state[PORTAL_KEY] = portal_id
    if recorded is None and (incoming or {}).get("bookmarks"):
        return (
            f"the state names no HubSpot portal: taken to belong to portal {portal_id}, the "
            "one this token opens (if it came from another portal, start afresh with "
            "`meltano run --full-refresh ...`)"
        )
    return None


def portal_id_of(details: Any) -> str | None:
    """Return the portal id from HubSpot's account details answer, if it has one."""
    if isinstance(details, Mapping):
        value = details.get("portalId")
        if isinstance(value, int | str) and not isinstance(value, bool) and str(value):
            return str(value)
    return None
