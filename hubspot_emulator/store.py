"""The portal's state and HubSpot's ticket semantics, independent of HTTP.

Every public method takes and returns plain JSON-able values in HubSpot's own API shapes and
raises `ApiError` for anything HubSpot would refuse. The HTTP layer only parses the wire and
calls these. All methods are thread-safe (one lock per portal).

CONTRACT STUB: the signatures below are the interface the server codes against.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

JSON = dict[str, Any]


class Portal:
    """One HubSpot account: tickets, their history and associations, properties, pipelines."""

    def __init__(
        self,
        *,
        clock_ms: Callable[[], int] | None = None,
        search_lag_ms: float = 0.0,
        required_properties: Iterable[str] = (),
    ) -> None:
        raise NotImplementedError

    # -- tickets ----------------------------------------------------------------------------
    def list_tickets(
        self,
        *,
        limit: int,
        after: str | None,
        properties: list[str] | None,
        properties_with_history: list[str] | None,
        associations: list[str] | None,
        archived: bool,
    ) -> JSON:
        """GET /crm/v3/objects/tickets -> {results, paging?}."""
        raise NotImplementedError

    def get_ticket(
        self,
        ticket_id: str,
        *,
        id_property: str | None,
        properties: list[str] | None,
        properties_with_history: list[str] | None,
        associations: list[str] | None,
        archived: bool,
    ) -> JSON:
        """GET /crm/v3/objects/tickets/{id}."""
        raise NotImplementedError

    def create_ticket(self, body: JSON, *, api_version: str) -> JSON:
        """POST /crm/v3/objects/tickets -> the created ticket (201)."""
        raise NotImplementedError

    def update_ticket(
        self, ticket_id: str, body: JSON, *, id_property: str | None, api_version: str
    ) -> JSON:
        """PATCH /crm/v3/objects/tickets/{id} -> the updated ticket."""
        raise NotImplementedError

    def archive_ticket(self, ticket_id: str) -> None:
        """DELETE /crm/v3/objects/tickets/{id} (204)."""
        raise NotImplementedError

    def batch_read(self, body: JSON, *, archived: bool) -> tuple[int, JSON]:
        """POST .../batch/read -> (200 or 207, body)."""
        raise NotImplementedError

    def batch_create(self, body: JSON, *, api_version: str) -> tuple[int, JSON]:
        """POST .../batch/create -> (201 or 207, body)."""
        raise NotImplementedError

    def batch_update(self, body: JSON, *, api_version: str) -> tuple[int, JSON]:
        """POST .../batch/update -> (200 or 207, body)."""
        raise NotImplementedError

    def batch_upsert(self, body: JSON, *, api_version: str) -> tuple[int, JSON]:
        """POST .../batch/upsert -> (200 or 207, body)."""
        raise NotImplementedError

    def batch_archive(self, body: JSON) -> None:
        """POST .../batch/archive (204)."""
        raise NotImplementedError

    def merge(self, body: JSON) -> JSON:
        """POST .../merge -> the surviving ticket."""
        raise NotImplementedError

    def search(self, body: JSON) -> JSON:
        """POST .../search -> {total, results, paging?}; sees writes only after the lag."""
        raise NotImplementedError

    # -- properties and pipelines -----------------------------------------------------------
    def list_properties(self, *, archived: bool = False) -> JSON:
        """GET /crm/v3/properties/tickets -> {results}."""
        raise NotImplementedError

    def get_property(self, name: str) -> JSON:
        """GET /crm/v3/properties/tickets/{name}."""
        raise NotImplementedError

    def create_property(self, body: JSON) -> JSON:
        """POST /crm/v3/properties/tickets (201)."""
        raise NotImplementedError

    def list_pipelines(self) -> JSON:
        """GET /crm/v3/pipelines/tickets -> {results}."""
        raise NotImplementedError

    def get_pipeline(self, pipeline_id: str) -> JSON:
        """GET /crm/v3/pipelines/tickets/{id}."""
        raise NotImplementedError

    # -- associations -----------------------------------------------------------------------
    def associate(self, ticket_id: str, to_type: str, to_id: str, types: list[JSON]) -> JSON:
        """PUT v4 .../tickets/{id}/associations/{toType}/{toId} with [{category, typeId}]."""
        raise NotImplementedError

    def dissociate(self, ticket_id: str, to_type: str, to_id: str, type_id: int | None) -> None:
        """DELETE one association (type_id None = every type between the two records)."""
        raise NotImplementedError

    def list_ticket_associations(
        self, ticket_id: str, to_type: str, *, limit: int, after: str | None
    ) -> JSON:
        """GET v4 /crm/v4/objects/tickets/{id}/associations/{toType} -> {results, paging?}."""
        raise NotImplementedError

    def association_labels(self, from_type: str, to_type: str) -> JSON:
        """GET /crm/v4/associations/{from}/{to}/labels -> {results}."""
        raise NotImplementedError

    def batch_read_associations(self, from_type: str, to_type: str, body: JSON) -> tuple[int, JSON]:
        """POST /crm/v4/associations/{from}/{to}/batch/read -> (200 or 207, body)."""
        raise NotImplementedError

    # -- data -------------------------------------------------------------------------------
    def seed(self, tickets: int, seed: int) -> None:
        """Generate a realistic portal of `tickets` tickets, reproducible from `seed`."""
        raise NotImplementedError

    def load_jsonl(self, lines: Iterable[str]) -> int:
        """Load tickets in the API's own shape, as given (an import); return how many."""
        raise NotImplementedError

    def snapshot(self) -> list[JSON]:
        """Every ticket (archived too) in the API shape with all properties: ground truth."""
        raise NotImplementedError
