"""The tap's reads from HubSpot, one method per logical call, all through `hubspot_api`.

Only this module knows request bodies and query parameters; streams speak in tickets, pages
and ids. HubSpot's limits come from `hubspot_api.paging`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hubspot_api.associations import AssociationLink, read_associations
from hubspot_api.client import HubSpotClient
from hubspot_api.paging import (
    BATCH_LIMIT,
    LIST_PAGE_LIMIT,
    MAX_PROPERTIES_QUERY_CHARS,
    encoded_length,
    next_after,
)
from hubspot_api.paths import Call

JSON = dict[str, Any]


def fits_in_query(names: Sequence[str]) -> bool:
    """Tell whether these property names fit in a GET query without risking a 414.

    HubSpot answers 414 near 16,000 characters of URI (airbytehq/airbyte#13691,
    dlt-hub/verified-sources#305); past the budget the properties travel in POST bodies.
    """
    return encoded_length(names) <= MAX_PROPERTIES_QUERY_CHARS


@dataclass(frozen=True)
class ListPage:
    """One page of the ticket list and the cursor of the page after it (None: last page)."""

    tickets: list[JSON]
    next_after: str | None


class TicketSource:
    """Read tickets, history, associations and pipelines from one portal."""

    def __init__(self, client: HubSpotClient) -> None:
        """Read through `client` (thread-safe, shared by every stream and worker)."""
        self.client = client

    # -- tickets ----------------------------------------------------------------------------
    def list_page(
        self,
        *,
        properties: Sequence[str],
        after: str | None,
        archived: bool = False,
        limit: int = LIST_PAGE_LIMIT,
    ) -> ListPage:
        """Return one page of the ticket list (`archived=True` lists ONLY archived ones)."""
        params: dict[str, Any] = {"limit": limit, "properties": list(properties)}
        if after is not None:
            params["after"] = after
        if archived:
            params["archived"] = True
        body = self.client.get_json(Call.LIST_TICKETS, params=params) or {}
        return ListPage(list(body.get("results") or []), next_after(body))

    def search_page(self, body: JSON) -> list[JSON]:
        """Return the results of one search request."""
        answer = self.client.post_json(Call.SEARCH, body) or {}
        return list(answer.get("results") or [])

    def batch_read(
        self,
        ids: Sequence[str],
        *,
        properties: Sequence[str] = (),
        history: Sequence[str] = (),
        archived: bool = False,
    ) -> list[JSON]:
        """Read up to `BATCH_LIMIT` tickets by id, with properties and/or property history.

        Ids HubSpot no longer knows (merged, purged) come back in a 207's `errors`; they are
        simply absent from the result.
        """
        if len(ids) > BATCH_LIMIT:
            raise ValueError(f"batch read takes at most {BATCH_LIMIT} ids, got {len(ids)}")
        if not ids:
            return []
        body: JSON = {"inputs": [{"id": ticket_id} for ticket_id in ids]}
        body["properties"] = list(properties)
        if history:
            body["propertiesWithHistory"] = list(history)
        params = {"archived": True} if archived else None
        answer = self.client.post_json(Call.BATCH_READ, body, params=params) or {}
        return list(answer.get("results") or [])

    # -- associations -----------------------------------------------------------------------
    def associations(self, to_type: str, ids: Sequence[str]) -> list[AssociationLink]:
        """Return every link of these tickets to `to_type`, however many pages each spans."""
        return read_associations(self.client, to_type, ids)

    # -- metadata ---------------------------------------------------------------------------
    def pipelines(self) -> list[JSON]:
        """Return every ticket pipeline with its stages."""
        body = self.client.get_json(Call.LIST_PIPELINES) or {}
        return list(body.get("results") or [])
