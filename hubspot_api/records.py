"""The Singer record of a HubSpot ticket: its base columns, their types, and which are written.

The tap emits, and the target reads, one `tickets` record per ticket: these base columns, then
one column per property under its HubSpot name (`hubspot_api.properties`). Both connectors
import the names from here, so a tap's output loads into the target unchanged.

| column | JSON Schema | from the API's ticket | written by the target |
|---|---|---|---|
| `id` | string, required | `id` | no: it names the ticket to update |
| `created_at` | string, date-time | `createdAt` | no: HubSpot maintains it |
| `updated_at` | string, date-time | `updatedAt` | no: HubSpot maintains it |
| `archived` | boolean | `archived` | no: true archives the ticket |
| `archived_at` | string, date-time | `archivedAt` | no: HubSpot maintains it |

`_sdc_deleted_at` is not emitted by the tap: it is the Singer SDK's mark of a deleted row
(https://sdk.meltano.com/en/latest/implementation/record_metadata.html), which a target reads
like `archived = true`. Every other `_sdc_*` column is metadata, never written.

A ticket's links to other records have one shape on both sides: a row of the tap's
`ticket_associations` (keyed by `ASSOCIATION_KEY`) and an item of a `tickets` record's
`associations` list given to the target use the same names (`TO_OBJECT_TYPE`, ...).

Pipelines, stages and property definitions carry the same lifecycle columns (`archived`,
`created_at`, `updated_at`): `lifecycle_schema` and `lifecycle_values` declare and fill them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from singer_sdk import typing as th

# The Singer stream of ticket records: what the tap emits, and the one stream the target writes.
TICKETS_STREAM = "tickets"

ID = "id"
CREATED_AT = "created_at"
UPDATED_AT = "updated_at"
ARCHIVED = "archived"
ARCHIVED_AT = "archived_at"
# The SDK's metadata columns all start so; of them only `DELETED_AT` means something here.
SDC_PREFIX = "_sdc_"
DELETED_AT = "_sdc_deleted_at"

# Columns every ticket record has besides its properties, in record order. A custom property
# spelled like one of these cannot get its own column. All of them are always emitted, however
# narrow the selection: without `archived` and `archived_at` a deleted ticket lands looking live.
TICKET_BASE_COLUMNS = (ID, CREATED_AT, UPDATED_AT, ARCHIVED, ARCHIVED_AT)
# Base columns whose values HubSpot keeps itself: a target never writes them.
READ_ONLY_COLUMNS = frozenset({CREATED_AT, UPDATED_AT, ARCHIVED_AT})
# Base columns (and the SDK's delete mark) that steer a write instead of being written.
CONTROL_COLUMNS = frozenset({ID, ARCHIVED, DELETED_AT})

TICKET_BASE_PROPERTIES: tuple[th.Property[Any], ...] = (
    th.Property(ID, th.StringType, required=True, description="HubSpot ticket id."),
    th.Property(CREATED_AT, th.DateTimeType, description="`createdAt` of the ticket."),
    th.Property(UPDATED_AT, th.DateTimeType, description="`updatedAt` of the ticket."),
    th.Property(ARCHIVED, th.BooleanType, description="True once the ticket is deleted."),
    th.Property(ARCHIVED_AT, th.DateTimeType, description="When it was deleted."),
)


# -- links: a `ticket_associations` row, or an item of a record's `associations` -------------
TICKET_ID = "ticket_id"
TO_OBJECT_TYPE = "to_object_type"
TO_OBJECT_ID = "to_object_id"
ASSOCIATION_CATEGORY = "association_category"
ASSOCIATION_TYPE_ID = "association_type_id"
# One association type between a ticket and a record is one row.
ASSOCIATION_KEY = (
    TICKET_ID,
    TO_OBJECT_TYPE,
    TO_OBJECT_ID,
    ASSOCIATION_CATEGORY,
    ASSOCIATION_TYPE_ID,
)


def ticket_base_values(ticket: Mapping[str, Any]) -> dict[str, Any]:
    """Return the base columns of one API ticket (list, search or batch read shape)."""
    return {
        ID: str(ticket["id"]),
        CREATED_AT: ticket.get("createdAt"),
        UPDATED_AT: ticket.get("updatedAt"),
        ARCHIVED: bool(ticket.get("archived", False)),
        ARCHIVED_AT: ticket.get("archivedAt"),
    }


def lifecycle_schema() -> tuple[th.Property[Any], ...]:
    """Return the `archived`, `created_at` and `updated_at` columns of a metadata record."""
    return (
        th.Property(ARCHIVED, th.BooleanType),
        th.Property(CREATED_AT, th.DateTimeType),
        th.Property(UPDATED_AT, th.DateTimeType),
    )


def lifecycle_values(item: Mapping[str, Any]) -> dict[str, Any]:
    """Return the lifecycle columns of a pipeline, stage or property as the API returns it."""
    return {
        ARCHIVED: bool(item.get("archived", False)),
        CREATED_AT: item.get("createdAt"),
        UPDATED_AT: item.get("updatedAt"),
    }


def is_metadata_column(name: str) -> bool:
    """Tell whether a column is Singer metadata other than the delete mark (never written)."""
    return name.startswith(SDC_PREFIX) and name != DELETED_AT
