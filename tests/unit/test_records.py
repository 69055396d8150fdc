"""The Singer record contract both connectors import: base columns, their types, their writes."""

from __future__ import annotations

from hubspot_api.associations import AssociationLink
from hubspot_api.properties import PropertyDefinition
from hubspot_api.records import (
    ASSOCIATION_KEY,
    CONTROL_COLUMNS,
    DELETED_AT,
    READ_ONLY_COLUMNS,
    TICKET_BASE_COLUMNS,
    is_metadata_column,
    ticket_base_values,
)
from tap_hubspot_tickets.schemas import TicketRecordBuilder, association_records, ticket_schema
from target_hubspot_tickets.fields import parse_associations
from target_hubspot_tickets.validation import CONTROL_FIELDS, SYSTEM_COLUMNS
from target_hubspot_tickets.writes import Association


def test_the_tap_schema_starts_with_the_base_columns_typed_as_declared():
    schema = ticket_schema([PropertyDefinition("subject")])
    assert list(schema["properties"]) == [*TICKET_BASE_COLUMNS, "subject"]
    assert schema["required"] == ["id"]
    for name in ("created_at", "updated_at", "archived_at"):
        assert schema["properties"][name]["format"] == "date-time"
    assert "boolean" in schema["properties"]["archived"]["type"]


def test_every_base_column_is_either_steering_or_never_written_by_the_target():
    for name in TICKET_BASE_COLUMNS:
        assert (name in CONTROL_COLUMNS) != (name in READ_ONLY_COLUMNS), name
    assert CONTROL_COLUMNS <= CONTROL_FIELDS
    assert READ_ONLY_COLUMNS <= SYSTEM_COLUMNS


def test_base_values_come_from_the_api_ticket():
    ticket = {
        "id": 7,
        "createdAt": "2024-01-01T00:00:00.000Z",
        "updatedAt": "2024-01-02T00:00:00.000Z",
        "archived": True,
        "archivedAt": "2024-01-03T00:00:00.000Z",
        "properties": {"subject": "s"},
    }
    assert ticket_base_values(ticket) == {
        "id": "7",
        "created_at": "2024-01-01T00:00:00.000Z",
        "updated_at": "2024-01-02T00:00:00.000Z",
        "archived": True,
        "archived_at": "2024-01-03T00:00:00.000Z",
    }
    record = TicketRecordBuilder([PropertyDefinition("subject")]).record(ticket)
    assert record == {**ticket_base_values(ticket), "subject": "s"}
    assert ticket_base_values({"id": "8"})["archived"] is False


def test_only_the_delete_mark_of_the_sdk_metadata_is_kept():
    assert not is_metadata_column(DELETED_AT)
    assert is_metadata_column("_sdc_extracted_at")
    assert not is_metadata_column("subject")


def test_a_ticket_associations_row_is_an_item_the_target_links_by():
    link = AssociationLink("12", "companies", "34", 339, "HUBSPOT_DEFINED", None)
    (row,) = association_records([link])
    assert set(ASSOCIATION_KEY) <= set(row)
    assert parse_associations([row]) == [Association("companies", "34", 339, "HUBSPOT_DEFINED")]
