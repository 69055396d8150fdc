"""Ticket property metadata: definitions, how each type reads, and its JSON Schema.

Property values are always strings (or null) on the wire, whatever the property's type
(https://developers.hubspot.com/docs/api-reference/latest/crm/properties/guide);
`hubspot_api.property_values` converts them both ways. Types, as a warehouse sees them:

| HubSpot type (fieldType) | JSON Schema | value |
|---|---|---|
| number holding ids (`holds_whole_numbers`) | integer within int64 | int |
| number (any other) | number | int when integral, else Decimal (exact) |
| bool | boolean | True / False |
| date | string, format date | "YYYY-MM-DD" |
| datetime | string, format date-time | "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC), from ISO or epoch ms |
| enumeration (checkbox: multi-select) | string | HubSpot's ";"-joined string, unchanged |
| enumeration (other), string, phone_number, json, object_coordinates | string | unchanged |

Multi-select values stay the ";"-joined string by default: that is how HubSpot exports them,
every target can load a string, and the options' order is kept. `multi_select_as_array=True`
types them as arrays of strings instead. Enumerations get no `enum` in the schema: admins add
options at any time, and a schema that rejects a new option would break loads.

Id-like number properties (`hs_object_id`, `*_id` such as `hs_created_by_user_id` or
`hs_pinned_engagement_id`) are typed `integer`: as `number` they land as floating point in some
warehouses (`1850000034.0` in DuckDB). A number HubSpot displays as currency, a percentage or a
probability stays a `number` whatever its name, and so does every number whose name is not
id-like: a value such as `1.5` must never meet an integer column. docs/warehouse-types.md shows
what each loader makes of every type.

The names of the ticket properties HubSpot itself defines and that the connectors rely on are
declared here too (`OBJECT_ID`, `PIPELINE`, ...), spelled exactly as HubSpot spells them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hubspot_api.errors import ConflictError, HubSpotError, closest
from hubspot_api.names import matching
from hubspot_api.paths import Call

if TYPE_CHECKING:
    from hubspot_api.client import HubSpotClient

NUMBER = "number"
# Not a HubSpot type: the reading of a `number` property that holds ids (`holds_whole_numbers`).
INTEGER = "integer"
BOOL = "bool"
DATE = "date"
DATETIME = "datetime"
ENUMERATION = "enumeration"
STRING = "string"
JSON_TYPE = "json"
MULTI_SELECT_FIELD_TYPE = "checkbox"
MULTI_SELECT_SEPARATOR = ";"
# Integer columns are 64-bit in every warehouse the tap feeds (docs/warehouse-types.md); the
# bounds in the schema make DuckDB pick BIGINT rather than a 128-bit HUGEINT.
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# Names of number properties that hold ids: the record id itself and anything ending in `_id`
# (`hs_created_by_user_id`, `hs_pinned_engagement_id`, a custom `*_owner_id`).
_ID_LIKE_NAME = re.compile(r"(?:.*_)?id\Z")
# `numberDisplayHint`s (HubSpot's properties API) under which a number is a quantity with a
# fraction, never an id.
FRACTIONAL_DISPLAY_HINTS = frozenset({"currency", "percentage", "probability"})

# -- ticket properties HubSpot defines ----------------------------------------------------------
# https://knowledge.hubspot.com/properties/hubspots-default-ticket-properties
# The record id as a property: unique, never changes, and searchable (the key of keyset walks).
OBJECT_ID = "hs_object_id"
LAST_MODIFIED = "hs_lastmodifieddate"
CREATE_DATE = "createdate"
SUBJECT = "subject"
CONTENT = "content"
PIPELINE = "hs_pipeline"
PIPELINE_STAGE = "hs_pipeline_stage"
PINNED_ENGAGEMENT = "hs_pinned_engagement_id"
# The ids merged into a ticket, `;`-joined (read-only; HubSpot's knowledge base on merging).
MERGED_IDS = "hs_merged_object_ids"
# HubSpot keeps these itself: a write of one is refused or ignored.
HUBSPOT_MAINTAINED = frozenset({OBJECT_ID, LAST_MODIFIED, CREATE_DATE})
# HubSpot's ticket create needs these (https://developers.hubspot.com/docs/api/crm/tickets).
REQUIRED_ON_CREATE = (SUBJECT, PIPELINE_STAGE)


@dataclass(frozen=True)
class PropertyOption:
    """One option of an enumeration property."""

    label: str
    value: str
    hidden: bool = False

    @property
    def id(self) -> str:
        """Return the option's value: what HubSpot stores, as it stores a stage's id."""
        return self.value

    def shown(self) -> str:
        """Name the option in a message: its value, with its label when that differs."""
        if not self.label or self.label.casefold() == self.value.casefold():
            return repr(self.value)
        return f"{self.value!r} ({self.label})"


@dataclass(frozen=True)
class PropertyDefinition:
    """What HubSpot says about one ticket property."""

    name: str
    type: str = STRING
    field_type: str = "text"
    label: str = ""
    group_name: str = ""
    options: tuple[PropertyOption, ...] = ()
    calculated: bool = False
    read_only_value: bool = False
    has_unique_value: bool = False
    hidden: bool = False
    hubspot_defined: bool = False
    archived: bool = False
    number_display_hint: str = ""
    show_currency_symbol: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> PropertyDefinition:
        """Build a definition from the properties API's JSON; every field but name optional."""
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("a property definition needs a name")
        metadata = body.get("modificationMetadata")
        read_only = bool(metadata.get("readOnlyValue")) if isinstance(metadata, Mapping) else False
        options = tuple(
            PropertyOption(
                label=str(o.get("label", "")),
                value=str(o.get("value", "")),
                hidden=bool(o.get("hidden", False)),
            )
            for o in body.get("options") or ()
            if isinstance(o, Mapping)
        )
        return cls(
            name=name,
            type=str(body.get("type") or STRING),
            field_type=str(body.get("fieldType") or "text"),
            label=str(body.get("label") or ""),
            group_name=str(body.get("groupName") or ""),
            options=options,
            calculated=bool(body.get("calculated", False)),
            read_only_value=read_only,
            has_unique_value=bool(body.get("hasUniqueValue", False)),
            hidden=bool(body.get("hidden", False)),
            hubspot_defined=bool(body.get("hubspotDefined", False)),
            archived=bool(body.get("archived", False)),
            number_display_hint=str(body.get("numberDisplayHint") or "").lower(),
            show_currency_symbol=bool(body.get("showCurrencySymbol") or False),
            raw=dict(body),
        )

    @property
    def is_multi_select(self) -> bool:
        """Tell whether the property holds several options joined by ";"."""
        return self.type == ENUMERATION and self.field_type == MULTI_SELECT_FIELD_TYPE


class UnknownOptionError(ValueError):
    """A value names no option of an enumeration, or several; the message says which is meant."""


def option_values(defn: PropertyDefinition, wire: str) -> str:
    """Return `wire` with each option it names written as that option's value.

    Users type what HubSpot's UI shows: an option is named by its value (`HIGH`), else its
    exact label (`High`), else either in any case when that fits one option only (`high`),
    as pipelines and stages are (`hubspot_api.names`). A multi-select value names several
    options, joined by ";". Properties without options (any other type, or options kept
    outside HubSpot) take any value. Raises `UnknownOptionError` naming the first part that
    names no single option, with the closest option.
    """
    if defn.type != ENUMERATION or not defn.options:
        return wire
    parts = wire.split(MULTI_SELECT_SEPARATOR) if defn.is_multi_select else [wire]
    values: list[str] = []
    for part in parts:
        found = matching(defn.options, part)
        if len(found) != 1:
            raise UnknownOptionError(_unknown_option(defn, part, found))
        values.append(found[0].value)
    return MULTI_SELECT_SEPARATOR.join(values)


def _unknown_option(defn: PropertyDefinition, part: str, found: Sequence[PropertyOption]) -> str:
    if found:
        return (
            f"{part!r} names several options of {defn.name!r} "
            f"({', '.join(o.shown() for o in found)}); give the option's value"
        )
    # Values first: of a value and a label equal but for case, the value is the hint.
    by_name = {option.value: option for option in defn.options}
    for option in defn.options:
        by_name.setdefault(option.label, option)
    near = closest(part, by_name)
    hint = f" (did you mean {by_name[near].shown()}?)" if near is not None else ""
    values = ", ".join(option.value for option in defn.options)
    return f"{part!r} is not an option of {defn.name!r}{hint} (options: {values})"


def holds_whole_numbers(defn: PropertyDefinition) -> bool:
    """Tell whether a number property holds ids, read as integers (see the module docstring).

    Decided by name and display hint, never by sampling values: a sample cannot promise that
    the next value is whole, and a column's type must not change from one run to the next.
    """
    return (
        defn.type == NUMBER
        and _ID_LIKE_NAME.match(defn.name) is not None
        and defn.number_display_hint not in FRACTIONAL_DISPLAY_HINTS
        and not defn.show_currency_symbol
    )


def reading_type(defn: PropertyDefinition) -> str:
    """Return the type a property's values are read as: its HubSpot type, or `INTEGER`."""
    return INTEGER if holds_whole_numbers(defn) else defn.type


def fetch_property_definitions(client: HubSpotClient) -> dict[str, PropertyDefinition]:
    """Return every ticket property definition by name (one unpaged call)."""
    body = client.get_json(Call.LIST_PROPERTIES)
    results = body.get("results") if isinstance(body, dict) else None
    definitions: dict[str, PropertyDefinition] = {}
    for item in results or ():
        if isinstance(item, Mapping) and item.get("name"):
            defn = PropertyDefinition.from_api(item)
            definitions[defn.name] = defn
    return definitions


# The group of a portal's own ticket properties ("Ticket information" in HubSpot's settings).
TICKET_INFORMATION_GROUP = "ticketinformation"


def create_unique_text_property(
    client: HubSpotClient, name: str, *, label: str, description: str
) -> PropertyDefinition:
    """Create a single-line text ticket property with unique values; return its definition.

    One POST to the properties API (https://developers.hubspot.com/docs/api/crm/properties).
    A 409 means the property exists (made meanwhile, or by a resend of this create whose answer
    was lost): it is read and returned as it is, for the caller to check.
    """
    body = {
        "name": name,
        "label": label,
        "description": description,
        "type": STRING,
        "fieldType": "text",
        "groupName": TICKET_INFORMATION_GROUP,
        "hasUniqueValue": True,
    }
    try:
        answer = client.call(Call.CREATE_PROPERTY, json=body)
    except ConflictError:
        answer = client.get_json(Call.READ_PROPERTY, property_name=name)
    if not isinstance(answer, Mapping):
        raise HubSpotError(f"creating ticket property {name!r}: HubSpot answered no definition")
    return PropertyDefinition.from_api(answer)


def is_writable(defn: PropertyDefinition) -> bool:
    """Tell whether a write may set this property (not read-only, not calculated)."""
    return not (defn.read_only_value or defn.calculated or defn.archived)


# -- JSON Schema --------------------------------------------------------------------------------
def json_schema_for(
    defn: PropertyDefinition, *, multi_select_as_array: bool = False
) -> dict[str, Any]:
    """Return the nullable JSON Schema of a property's values (see the module table)."""
    if holds_whole_numbers(defn):
        return {"type": ["integer", "null"], "minimum": INT64_MIN, "maximum": INT64_MAX}
    if defn.type == NUMBER:
        return {"type": ["number", "null"]}
    if defn.type == BOOL:
        return {"type": ["boolean", "null"]}
    if defn.type == DATE:
        return {"type": ["string", "null"], "format": "date"}
    if defn.type == DATETIME:
        return {"type": ["string", "null"], "format": "date-time"}
    if multi_select_as_array and defn.is_multi_select:
        return {"type": ["array", "null"], "items": {"type": "string"}}
    return {"type": ["string", "null"]}
