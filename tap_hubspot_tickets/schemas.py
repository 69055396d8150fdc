"""Stream schemas and the conversion of HubSpot's JSON into records.

The `tickets` schema is built at discovery from the portal's property definitions: one column
per property under its HubSpot name, typed by `hubspot_api.properties.json_schema_for`.

Building a record never fails over one value: a value its column's type cannot hold is emitted
as null and counted in a `ValueProblems` (tap_hubspot_tickets/values.py explains why).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from singer_sdk import typing as th

from hubspot_api.associations import AssociationLink
from hubspot_api.properties import (
    INT64_MAX,
    INT64_MIN,
    STRING,
    PropertyDefinition,
    json_schema_for,
)
from hubspot_api.property_values import expected_values, typed_parser
from hubspot_api.records import (
    ARCHIVED,
    ASSOCIATION_CATEGORY,
    ASSOCIATION_TYPE_ID,
    ID,
    TICKET_BASE_COLUMNS,
    TICKET_BASE_PROPERTIES,
    TICKET_ID,
    TICKETS_STREAM,
    TO_OBJECT_ID,
    TO_OBJECT_TYPE,
    lifecycle_schema,
    lifecycle_values,
    ticket_base_values,
)
from tap_hubspot_tickets.values import ValueProblems

JSON = dict[str, Any]
Record = dict[str, Any]

logger = logging.getLogger(__name__)

HISTORY_STREAM = "ticket_property_history"
ASSOCIATIONS_STREAM = "ticket_associations"
# Every integer column is a 64-bit integer: the bounds make DuckDB pick BIGINT, not HUGEINT
# (docs/warehouse-types.md).
BIGINT = th.IntegerType(minimum=INT64_MIN, maximum=INT64_MAX)


def ticket_schema(definitions: Iterable[PropertyDefinition]) -> dict[str, Any]:
    """Return the `tickets` schema: the base columns (`hubspot_api.records`), then properties.

    A property spelled like a base column cannot get its own column; it is left out with a
    warning.
    """
    schema: dict[str, Any] = th.PropertiesList(*TICKET_BASE_PROPERTIES).to_dict()
    for defn in definitions:
        if defn.name in TICKET_BASE_COLUMNS:
            logger.warning("Property %r collides with a base column; left out", defn.name)
            continue
        schema["properties"][defn.name] = json_schema_for(defn)
    return schema


def _kind(schema: Mapping[str, Any]) -> tuple[frozenset[str], Any]:
    types = schema.get("type")
    names = [types] if isinstance(types, str) else list(types or ())
    return frozenset(names) - {"null"}, schema.get("format")


_TEXT = (frozenset({"string"}), None)


def fit_to_catalog(defn: PropertyDefinition, given: Mapping[str, Any]) -> PropertyDefinition:
    """Return how to read a property whose column the catalog types as `given`.

    A catalog is discovered once and used for many runs; an admin may change a property's type
    in between (number to text, text to number). Values are then emitted as the catalog's
    schema, the one the run sends, says: as they are when the types agree (a whole number
    fits a number column); as HubSpot's own text of them when the catalog has plain text,
    which holds every value HubSpot sends without loss. Any other pair could only be bridged
    by dropping values (text in a number column), so it raises `ValueError` saying both types.
    """
    ours, theirs = _kind(json_schema_for(defn)), _kind(given)
    if ours == theirs or (ours[0] == {"integer"} and theirs == (frozenset({"number"}), None)):
        return defn
    if theirs == _TEXT:
        return dataclasses.replace(defn, type=STRING, field_type="text")

    def spelled(kind: tuple[frozenset[str], Any]) -> str:
        return "/".join(sorted(kind[0])) + (f" ({kind[1]})" if kind[1] else "")

    raise ValueError(f"as {spelled(theirs)}, but HubSpot now has it as {spelled(ours)}")


class TicketRecordBuilder:
    """Turn API tickets into `tickets` records for a fixed set of properties."""

    def __init__(
        self, definitions: Iterable[PropertyDefinition], problems: ValueProblems | None = None
    ) -> None:
        """Pick each property's parser once: this runs for every value of every ticket.

        Values a property's type cannot hold are emitted as null and counted in `problems`.
        """
        kept = [defn for defn in definitions if defn.name not in TICKET_BASE_COLUMNS]
        parsers = [(defn.name, typed_parser(defn)) for defn in kept]
        self.names = [name for name, _ in parsers]
        # Text is copied as it comes, by C loops; the other values are parsed one by one.
        self._texts = [name for name, parse in parsers if parse is None]
        self._typed = [(name, parse) for name, parse in parsers if parse is not None]
        self._expected = {defn.name: expected_values(defn) for defn in kept}
        self.problems = problems if problems is not None else ValueProblems()

    @property
    def columns(self) -> list[str]:
        """Return every column of this builder's records."""
        return [*TICKET_BASE_COLUMNS, *self.names]

    def record(self, ticket: Mapping[str, Any]) -> Record:
        """Return the record of one API ticket (list, search or batch read shape)."""
        values = ticket.get("properties") or {}
        get = values.get
        record: Record = ticket_base_values(ticket)
        record.update(zip(self._texts, map(get, self._texts), strict=True))
        for name, parse in self._typed:
            wire = get(name)
            if not wire:
                record[name] = None
                continue
            try:
                record[name] = parse(wire)
            except (ValueError, ArithmeticError):
                record[name] = None
                self.problems.add(
                    TICKETS_STREAM, f"property {name!r}", wire, self._expected[name], "ticket"
                )
        return record


# -- ticket_property_history --------------------------------------------------------------------
HISTORY_SCHEMA: dict[str, Any] = th.PropertiesList(
    th.Property("ticket_id", th.StringType, required=True),
    th.Property("property", th.StringType, required=True),
    th.Property("timestamp", th.DateTimeType, required=True),
    th.Property(
        "entry_key",
        th.StringType,
        required=True,
        description=(
            "Digest of the entry's value, source and user: tells apart changes of one property "
            "within one millisecond, and is the same for the same entry on every run."
        ),
    ),
    th.Property("value", th.StringType, description="The value as HubSpot sent it (a string)."),
    th.Property("source_type", th.StringType),
    th.Property("source_id", th.StringType),
    th.Property("source_label", th.StringType),
    th.Property("updated_by_user_id", BIGINT),
).to_dict()


# The primary key of `ticket_property_history`. `(ticket_id, property, timestamp)` alone is not
# unique: two changes of one property can share a millisecond (a workflow and an API call, a
# mass update). Warehouses dedupe re-synced rows by this key, so it is built only from what
# identifies the change itself, never from its position in the list (new values are prepended).
HISTORY_KEY = ("ticket_id", "property", "timestamp", "entry_key")


def history_entry_key(
    value: str | None,
    source_type: str | None,
    source_id: str | None,
    user: int | None,
    occurrence: int,
) -> str:
    """Return the stable digest that, with its timestamp, identifies one history entry.

    `sourceLabel` is left out: it is display text HubSpot may rename. `occurrence` counts
    earlier entries of the same property with the same timestamp and the same content, so
    even identical changes in one millisecond keep one row each.
    """
    text = json.dumps([value, source_type, source_id, user, occurrence], separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def _user_id(value: Any, problems: ValueProblems | None) -> int | None:
    """Return a history entry's `updatedByUserId` as an integer; null (and counted) if not one."""
    if value in (None, ""):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        if problems is not None:
            problems.add(HISTORY_STREAM, "updatedByUserId", value, "whole numbers", "entry")
        return None


def history_records(
    ticket: Mapping[str, Any], problems: ValueProblems | None = None
) -> Iterator[Record]:
    """Yield one record per recorded value of each property of one ticket.

    Values stay as HubSpot sent them (strings); a user id that is not a number is emitted as
    null and counted in `problems`.
    """
    ticket_id = str(ticket["id"])
    for name, entries in (ticket.get("propertiesWithHistory") or {}).items():
        seen: Counter[tuple[Any, ...]] = Counter()
        for entry in entries or ():
            user_id = _user_id(entry.get("updatedByUserId"), problems)
            timestamp = entry.get("timestamp")
            value = entry.get("value")
            source_type = entry.get("sourceType")
            source_id = entry.get("sourceId")
            content = (timestamp, value, source_type, source_id, user_id)
            occurrence = seen[content]
            seen[content] += 1
            yield {
                "ticket_id": ticket_id,
                "property": name,
                "timestamp": timestamp,
                "entry_key": history_entry_key(value, source_type, source_id, user_id, occurrence),
                "value": value,
                "source_type": source_type,
                "source_id": source_id,
                "source_label": entry.get("sourceLabel"),
                "updated_by_user_id": user_id,
            }


# -- ticket_associations ------------------------------------------------------------------------
ASSOCIATION_SCHEMA: dict[str, Any] = th.PropertiesList(
    th.Property(TICKET_ID, th.StringType, required=True),
    th.Property(TO_OBJECT_TYPE, th.StringType, required=True),
    th.Property(TO_OBJECT_ID, th.StringType, required=True),
    th.Property(ASSOCIATION_CATEGORY, th.StringType, required=True),
    th.Property(ASSOCIATION_TYPE_ID, BIGINT, required=True),
    th.Property("label", th.StringType, description="The label of a labelled association."),
).to_dict()


def association_records(links: Iterable[AssociationLink]) -> Iterator[Record]:
    """Yield one record per link (one association type between a ticket and a record)."""
    for link in links:
        yield {
            TICKET_ID: link.from_id,
            TO_OBJECT_TYPE: link.to_type,
            TO_OBJECT_ID: link.to_id,
            ASSOCIATION_CATEGORY: link.category,
            ASSOCIATION_TYPE_ID: link.type_id,
            "label": link.label,
        }


# -- pipelines and stages -----------------------------------------------------------------------
PIPELINE_SCHEMA: dict[str, Any] = th.PropertiesList(
    th.Property(ID, th.StringType, required=True),
    th.Property("label", th.StringType),
    th.Property("display_order", BIGINT),
    *lifecycle_schema(),
).to_dict()

STAGE_SCHEMA: dict[str, Any] = th.PropertiesList(
    th.Property("pipeline_id", th.StringType, required=True),
    th.Property("stage_id", th.StringType, required=True),
    th.Property("label", th.StringType),
    th.Property("display_order", BIGINT),
    th.Property("ticket_state", th.StringType, description="OPEN or CLOSED."),
    th.Property("is_closed", th.BooleanType),
    *lifecycle_schema(),
).to_dict()


def pipeline_record(pipeline: Mapping[str, Any]) -> Record:
    """Return the record of one pipeline (its stages go to their own stream)."""
    return {
        ID: str(pipeline["id"]),
        "label": pipeline.get("label"),
        "display_order": pipeline.get("displayOrder"),
        **lifecycle_values(pipeline),
    }


def _is_closed(metadata: Mapping[str, Any]) -> bool | None:
    """Return a stage's `isClosed`, or derive it from `ticketState` where HubSpot omits it."""
    value = metadata.get("isClosed")
    if isinstance(value, bool):
        return value
    if value is not None:
        return str(value).strip().lower() == "true"
    state = metadata.get("ticketState")
    return None if state is None else str(state).upper() == "CLOSED"


def stage_records(pipeline: Mapping[str, Any]) -> Iterator[Record]:
    """Yield the records of one pipeline's stages, labelled (singer-io/tap-hubspot#247)."""
    for stage in pipeline.get("stages") or ():
        metadata = stage.get("metadata") or {}
        yield {
            "pipeline_id": str(pipeline["id"]),
            "stage_id": str(stage["id"]),
            "label": stage.get("label"),
            "display_order": stage.get("displayOrder"),
            "ticket_state": metadata.get("ticketState"),
            "is_closed": _is_closed(metadata),
            **lifecycle_values(stage),
        }


# -- ticket_properties --------------------------------------------------------------------------
PROPERTY_SCHEMA: dict[str, Any] = th.PropertiesList(
    th.Property("name", th.StringType, required=True),
    th.Property("label", th.StringType),
    th.Property("description", th.StringType),
    th.Property("type", th.StringType),
    th.Property("field_type", th.StringType),
    th.Property("group_name", th.StringType),
    th.Property(
        "options",
        th.ArrayType(
            th.ObjectType(
                th.Property("label", th.StringType),
                th.Property("value", th.StringType),
                th.Property("display_order", BIGINT),
                th.Property("hidden", th.BooleanType),
            )
        ),
    ),
    th.Property("display_order", BIGINT),
    th.Property("read_only", th.BooleanType, description="HubSpot refuses writes of values."),
    th.Property("read_only_definition", th.BooleanType),
    th.Property("calculated", th.BooleanType),
    th.Property("external_options", th.BooleanType),
    th.Property("has_unique_value", th.BooleanType),
    th.Property("hidden", th.BooleanType),
    th.Property("hubspot_defined", th.BooleanType),
    th.Property("form_field", th.BooleanType),
    *lifecycle_schema(),
).to_dict()


def property_record(defn: PropertyDefinition) -> Record:
    """Return the record of one property definition, from the API's own JSON."""
    raw = defn.raw
    metadata = raw.get("modificationMetadata") or {}
    return {
        "name": defn.name,
        "label": defn.label,
        "description": raw.get("description"),
        "type": defn.type,
        "field_type": defn.field_type,
        "group_name": defn.group_name,
        "options": [
            {
                "label": option.get("label"),
                "value": option.get("value"),
                "display_order": option.get("displayOrder"),
                "hidden": option.get("hidden"),
            }
            for option in raw.get("options") or ()
        ],
        "display_order": raw.get("displayOrder"),
        "read_only": defn.read_only_value,
        "read_only_definition": metadata.get("readOnlyDefinition"),
        "calculated": defn.calculated,
        "external_options": raw.get("externalOptions"),
        "has_unique_value": defn.has_unique_value,
        "hidden": defn.hidden,
        "hubspot_defined": defn.hubspot_defined,
        "form_field": raw.get("formField"),
        **lifecycle_values(raw),
        ARCHIVED: defn.archived,
    }
