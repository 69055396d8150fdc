"""The tap's reads from HubSpot, one method per logical call, all through `hubspot_api`.

Only this module knows request bodies and query parameters; streams speak in tickets, pages
and ids. HubSpot's limits come from `hubspot_api.paging`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from hubspot_api.associations import AssociationLink, read_associations
from hubspot_api.client import HubSpotClient
from hubspot_api.paging import (
    BATCH_LIMIT,
    LIST_PAGE_LIMIT,
    MAX_PROPERTIES_QUERY_CHARS,
    ListPage,
    SearchPage,
    encoded_length,
    iter_keyset_search,
    iter_list_pages,
)
from hubspot_api.paths import Call
from hubspot_api.pipelines import read_pipelines

JSON = dict[str, Any]


def fits_in_query(names: Sequence[str]) -> bool:
    """Tell whether these property names fit in a GET query without risking a 414.

    HubSpot answers 414 near 16,000 characters of URI (airbytehq/airbyte#13691,
    dlt-hub/verified-sources#305); past the budget the properties travel in POST bodies.
    """
    return encoded_length(names) <= MAX_PROPERTIES_QUERY_CHARS


class TicketSource:
    """Read tickets, history, associations and pipelines from one portal."""

    def __init__(self, client: HubSpotClient) -> None:
        """Read through `client` (thread-safe, shared by every stream and worker)."""
        self.client = client

    # -- tickets ----------------------------------------------------------------------------
    def list_pages(
        self,
        *,
        properties: Sequence[str],
        after: str | None = None,
        archived: bool = False,
    ) -> Iterator[ListPage]:
        """Yield the pages of the ticket list from `after` (`archived=True`: ONLY archived ones)."""
        params: dict[str, Any] = {"limit": LIST_PAGE_LIMIT, "properties": list(properties)}
        if after is not None:
            params["after"] = after
        if archived:
            params["archived"] = True
        return iter_list_pages(self.client, Call.LIST_TICKETS, params)

    def search_pages(
        self,
        *,
        properties: Sequence[str],
        filter_groups: Sequence[JSON] = (),
        descending: bool = False,
        key: int | None = None,
    ) -> Iterator[SearchPage]:
        """Yield the matches of a search in id order past `key` (see `iter_keyset_search`)."""
        return iter_keyset_search(
            self.client, filter_groups, properties, descending=descending, key=key
        )

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
        return read_pipelines(self.client)
