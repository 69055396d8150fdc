"""Ticket property definitions in HubSpot's shape, and how HubSpot checks and stores values.

Every value is a string on the wire. Writes are normalised the way HubSpot stores them: numbers
as given, booleans as `true`/`false`, datetimes as ISO 8601 UTC with milliseconds, dates as
`YYYY-MM-DD`, multi-select values joined by `;`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from hubspot_emulator.pipelines import Pipeline

JSON = dict[str, Any]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_EPOCH_MS = re.compile(r"-?\d{1,15}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_COORDINATES = re.compile(r"-?\d{1,3}(\.\d+)?,\s*-?\d{1,3}(\.\d+)?")
PROPERTY_NAME = re.compile(r"[a-z][a-z0-9_]{0,99}")

# HubSpot refuses an 11th property with `hasUniqueValue` on one object type.
MAX_UNIQUE_PROPERTIES = 10

# A property value written through the API holds at most this many characters (docs/hubspot-api.md,
# "Value limits", from HubSpot's knowledge base on property field types:
# https://knowledge.hubspot.com/properties/property-field-types-in-hubspot). Text is where it
# bites; a longer value of any other type is invalid anyway. The error code below is the
# emulator's: HubSpot's docs give the limit, not the code.
MAX_VALUE_CHARS = 65_536
VALUE_TOO_LONG = "VALUE_TOO_LONG"

# Which fieldType each property type accepts, as HubSpot's property API checks on create.
FIELD_TYPES: dict[str, frozenset[str]] = {
    "string": frozenset({"text", "textarea", "html", "file", "phonenumber"}),
    "number": frozenset({"number", "calculation_equation"}),
    "bool": frozenset({"booleancheckbox", "calculation_equation"}),
    "enumeration": frozenset(
        {"select", "radio", "checkbox", "booleancheckbox", "calculation_equation"}
    ),
    "date": frozenset({"date"}),
    "datetime": frozenset({"date"}),
    "phone_number": frozenset({"phonenumber"}),
    "object_coordinates": frozenset({"text"}),
    "json": frozenset({"text"}),
}

# The properties a ticket read returns when the request names none (HubSpot's ticket defaults).
DEFAULT_TICKET_PROPERTIES = (
    "content",
    "createdate",
    "hs_lastmodifieddate",
    "hs_object_id",
    "hs_pipeline",
    "hs_pipeline_stage",
    "hs_ticket_category",
    "hs_ticket_priority",
    "subject",
)

# Calculated properties that count a ticket's associations; the store derives them.
ASSOCIATION_COUNTS: dict[str, str] = {
    "hs_num_associated_companies": "companies",
    "hs_num_associated_contacts": "contacts",
    "num_notes": "notes",
}


# -- time -------------------------------------------------------------------------------------
def iso_from_ms(ms: int) -> str:
    """Format epoch milliseconds as HubSpot does: `2026-11-28T10:15:30.123Z`."""
    moment = _EPOCH + timedelta(milliseconds=ms)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def ms_from_iso(text: str) -> int:
    """Parse an ISO 8601 date or datetime (naive means UTC) to epoch milliseconds."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MS


def ms_from_any(text: str) -> int:
    """Parse epoch milliseconds or ISO 8601, the two forms HubSpot accepts for datetimes."""
    text = text.strip()
    if _EPOCH_MS.fullmatch(text):
        return int(text)
    return ms_from_iso(text)


# -- history ----------------------------------------------------------------------------------
# Who made a change, as a history entry records it: (sourceType, sourceId, sourceLabel,
# updatedByUserId).
Source = tuple[str, str | None, str | None, int | None]
CALCULATED: Source = ("CALCULATED", None, None, None)  # HubSpot derived the value itself


class HistoryEntry(NamedTuple):
    """One recorded value of one property, as `propertiesWithHistory` reports it."""

    value: str
    timestamp_ms: int
    source_type: str
    source_id: str | None = None
    source_label: str | None = None
    updated_by_user_id: int | None = None

    def to_json(self) -> JSON:
        """Render HubSpot's history entry, leaving out the optional fields that are empty."""
        out: JSON = {
            "value": self.value,
            "timestamp": iso_from_ms(self.timestamp_ms),
            "sourceType": self.source_type,
        }
        if self.source_id is not None:
            out["sourceId"] = self.source_id
        if self.source_label is not None:
            out["sourceLabel"] = self.source_label
        if self.updated_by_user_id is not None:
            out["updatedByUserId"] = self.updated_by_user_id
        return out


# -- definitions ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Option:
    """One choice of an enumeration (or bool) property."""

    label: str
    value: str
    display_order: int
    hidden: bool = False

    def to_json(self) -> JSON:
        """Render HubSpot's option shape."""
        return {
            "label": self.label,
            "value": self.value,
            "displayOrder": self.display_order,
            "hidden": self.hidden,
        }


# The portal's ticket property groups and their labels, in display order.
PROPERTY_GROUPS: dict[str, str] = {
    "ticketinformation": "Ticket information",
    "support_details": "Support details",
}


@dataclass
class PropertyDef:
    """A ticket property as HubSpot's properties API describes it."""

    name: str
    label: str
    type: str
    field_type: str
    group_name: str = "ticketinformation"
    description: str = ""
    options: list[Option] = field(default_factory=list)
    display_order: int = -1
    calculated: bool = False
    external_options: bool = False
    has_unique_value: bool = False
    hidden: bool = False
    hubspot_defined: bool = True
    archivable: bool = False
    read_only_definition: bool = True
    read_only_value: bool = False
    form_field: bool = False
    created_ms: int = 0
    updated_ms: int = 0

    @property
    def is_multi(self) -> bool:
        """Tell whether values are `;`-joined sets (multi-select checkboxes)."""
        return self.type == "enumeration" and self.field_type == "checkbox"

    def option_values(self) -> frozenset[str]:
        """Return the values this property's options allow."""
        return frozenset(option.value for option in self.options)

    def to_json(self) -> JSON:
        """Render HubSpot's property shape."""
        return {
            "updatedAt": iso_from_ms(self.updated_ms),
            "createdAt": iso_from_ms(self.created_ms),
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group_name,
            "options": [option.to_json() for option in self.options],
            "displayOrder": self.display_order,
            "calculated": self.calculated,
            "externalOptions": self.external_options,
            "hasUniqueValue": self.has_unique_value,
            "hidden": self.hidden,
            "hubspotDefined": self.hubspot_defined,
            "modificationMetadata": {
                "archivable": self.archivable,
                "readOnlyDefinition": self.read_only_definition,
                "readOnlyValue": self.read_only_value,
            },
            "formField": self.form_field,
            "archived": False,
        }

    def to_legacy_json(self) -> JSON:
        """Render the legacy v2 properties API's shape: flat flags, epoch-millisecond times.

        https://developers.hubspot.com/docs/api-reference/legacy/crm/properties/v2/get-properties-v2-objecttype-properties
        """
        return {
            "name": self.name,
            "label": self.label,
            "description": self.description,
            "groupName": self.group_name,
            "type": self.type,
            "fieldType": self.field_type,
            "options": [
                {**option.to_json(), "description": "", "readOnly": False}
                for option in self.options
            ],
            "displayOrder": self.display_order,
            "formField": self.form_field,
            "readOnlyValue": self.read_only_value,
            "readOnlyDefinition": self.read_only_definition,
            "hidden": self.hidden,
            "mutableDefinitionNotDeletable": self.hubspot_defined and not self.archivable,
            "calculated": self.calculated,
            "externalOptions": self.external_options,
            "hasUniqueValue": self.has_unique_value,
            "hubspotDefined": self.hubspot_defined,
            "favorited": False,
            "favoritedOrder": -1,
            "displayMode": "current_value",
            "createdAt": self.created_ms,
            "updatedAt": self.updated_ms,
            "createdUserId": None,
            "updatedUserId": None,
            "deleted": False,
        }


def options(pairs: list[tuple[str, str]]) -> list[Option]:
    """Build options from (value, label) pairs in display order."""
    return [Option(label, value, order) for order, (value, label) in enumerate(pairs)]


BOOL_OPTIONS = options([("true", "Yes"), ("false", "No")])

# HubSpot users that own tickets in the emulated portal (hubspot_owner_id takes their ids).
OWNERS: tuple[tuple[str, str], ...] = (
    ("52184730", "Ana Ortega"),
    ("52184731", "Ben Whitfield"),
    ("52184732", "Chloé Martin"),
    ("52184733", "Dmitri Volkov"),
    ("52184734", "Esi Mensah"),
    ("52184735", "Farah Haddad"),
    ("52184736", "Gustavo Lima"),
    ("52184737", "Hana Sato"),
)
# User ids behind the owners, as history's `updatedByUserId` reports them.
OWNER_USER_IDS: tuple[int, ...] = tuple(9_120_400 + i for i in range(len(OWNERS)))
TEAMS = (("3104115", "Tier 1 support"), ("3104116", "Tier 2 support"), ("3104117", "Billing"))

PRIORITIES = options([("LOW", "Low"), ("MEDIUM", "Medium"), ("HIGH", "High"), ("URGENT", "Urgent")])
CATEGORIES = options(
    [
        ("PRODUCT_ISSUE", "Product issue"),
        ("BILLING_ISSUE", "Billing issue"),
        ("FEATURE_REQUEST", "Feature request"),
        ("GENERAL_INQUIRY", "General inquiry"),
    ]
)
SOURCES = options([("CHAT", "Chat"), ("EMAIL", "Email"), ("FORM", "Form"), ("PHONE", "Phone")])
RESOLUTIONS = options(
    [
        ("ISSUE_FIXED", "Issue fixed"),
        ("BILLING_SUPPORT", "Billing support"),
        ("ANSWERED_QUESTION", "Answered question"),
        ("FEATURE_REQUEST_RECORDED", "Feature request recorded"),
        ("OTHER", "Other"),
    ]
)
CUSTOMER_TIERS = options(
    [("bronze", "Bronze"), ("silver", "Silver"), ("gold", "Gold"), ("platinum", "Platinum")]
)
PRODUCTS = options(
    [
        ("web_app", "Web app"),
        ("mobile_ios", "iOS app"),
        ("mobile_android", "Android app"),
        ("public_api", "Public API"),
        ("billing_portal", "Billing portal"),
        ("data_export", "Data export"),
    ]
)


def _read_only(name: str, label: str, type_: str, field_type: str) -> PropertyDef:
    """Define a property HubSpot maintains itself: readable, never writable."""
    return PropertyDef(name, label, type_, field_type, read_only_value=True)


def _computed(name: str, label: str, type_: str, field_type: str) -> PropertyDef:
    """Define a calculated property: HubSpot derives it from other data."""
    return PropertyDef(name, label, type_, field_type, calculated=True, read_only_value=True)


def standard_properties(pipelines: list[Pipeline], created_ms: int) -> list[PropertyDef]:
    """Return HubSpot's standard ticket properties, with options from the portal's pipelines."""
    specs = [*_editable_properties(pipelines), *_maintained_properties()]
    for order, spec in enumerate(specs):
        spec.display_order = order
        spec.created_ms = spec.updated_ms = created_ms
        if spec.type == "bool":
            spec.options = list(BOOL_OPTIONS)
    return specs


def _editable_properties(pipelines: list[Pipeline]) -> list[PropertyDef]:
    """Return the standard properties a user or the API sets."""
    pipeline_options = [
        Option(pipeline.label, pipeline.id, pipeline.display_order) for pipeline in pipelines
    ]
    stage_options = [
        Option(stage.label, stage.id, order)
        for order, stage in enumerate(stage for pipeline in pipelines for stage in pipeline.stages)
    ]
    return [
        PropertyDef("subject", "Ticket name", "string", "text", form_field=True),
        PropertyDef("content", "Ticket description", "string", "textarea", form_field=True),
        PropertyDef("hs_pipeline", "Pipeline", "enumeration", "select", options=pipeline_options),
        PropertyDef(
            "hs_pipeline_stage", "Ticket status", "enumeration", "select", options=stage_options
        ),
        PropertyDef("hs_ticket_priority", "Priority", "enumeration", "select", options=PRIORITIES),
        PropertyDef(
            "hs_ticket_category", "Category", "enumeration", "checkbox", options=CATEGORIES
        ),
        PropertyDef("source_type", "Source", "enumeration", "select", options=SOURCES),
        PropertyDef("hs_resolution", "Resolution", "enumeration", "select", options=RESOLUTIONS),
        PropertyDef(
            "hubspot_owner_id",
            "Ticket owner",
            "enumeration",
            "select",
            options=options(list(OWNERS)),
            external_options=True,
        ),
        PropertyDef(
            "hubspot_team_id", "HubSpot team", "enumeration", "select", options=options(list(TEAMS))
        ),
        PropertyDef("createdate", "Create date", "datetime", "date"),
        PropertyDef("closed_date", "Close date", "datetime", "date"),
        PropertyDef("hs_in_helpdesk", "In help desk", "bool", "booleancheckbox"),
        PropertyDef("hs_pinned_engagement_id", "Pinned engagement ID", "number", "number"),
    ]


def _maintained_properties() -> list[PropertyDef]:
    """Return the standard properties HubSpot maintains itself: read-only or calculated."""
    return [
        _read_only("hs_object_id", "Record ID", "number", "number"),
        _read_only("hs_lastmodifieddate", "Last modified date", "datetime", "date"),
        _read_only("hs_object_source", "Record source", "string", "text"),
        _read_only("hs_object_source_label", "Record source detail", "string", "text"),
        _read_only("hs_created_by_user_id", "Created by user ID", "number", "number"),
        _read_only("hs_updated_by_user_id", "Updated by user ID", "number", "number"),
        _read_only("hs_was_imported", "Imported", "bool", "booleancheckbox"),
        _read_only("hs_merged_object_ids", "Merged ticket IDs", "enumeration", "checkbox"),
        _computed("time_to_close", "Time to close", "number", "number"),
        _computed("time_to_first_agent_reply", "Time to first agent reply", "number", "number"),
        _read_only("first_agent_reply_date", "First agent reply date", "datetime", "date"),
        _read_only("last_reply_date", "Last reply date", "datetime", "date"),
        _read_only("last_engagement_date", "Last contacted", "datetime", "date"),
        _read_only("notes_last_updated", "Last activity date", "datetime", "date"),
        _computed("num_notes", "Number of notes", "number", "number"),
        _computed("hs_is_closed", "Is closed", "bool", "booleancheckbox"),
        _computed(
            "hs_num_associated_companies", "Number of associated companies", "number", "number"
        ),
        _computed(
            "hs_num_associated_contacts", "Number of associated contacts", "number", "number"
        ),
        _computed("hs_all_owner_ids", "All owner IDs", "enumeration", "checkbox"),
    ]


def _custom(
    name: str, label: str, type_: str, field_type: str, created_ms: int, **extra: Any
) -> PropertyDef:
    return PropertyDef(
        name,
        label,
        type_,
        field_type,
        group_name="support_details",
        hubspot_defined=False,
        archivable=True,
        read_only_definition=False,
        form_field=True,
        created_ms=created_ms,
        updated_ms=created_ms,
        **extra,
    )


def custom_properties(created_ms: int) -> list[PropertyDef]:
    """Return the portal's custom ticket properties: one of every type, one unique-valued."""
    at = created_ms
    return [
        _custom(
            "external_ticket_id",
            "External ticket ID",
            "string",
            "text",
            at,
            description="The ticket's id in the customer's own tracker; unique per portal.",
            has_unique_value=True,
        ),
        _custom(
            "customer_tier", "Customer tier", "enumeration", "select", at, options=CUSTOMER_TIERS
        ),
        _custom(
            "affected_products",
            "Affected products",
            "enumeration",
            "checkbox",
            at,
            options=PRODUCTS,
        ),
        _custom(
            "is_escalated", "Escalated", "bool", "booleancheckbox", at, options=list(BOOL_OPTIONS)
        ),
        _custom("estimated_effort_hours", "Estimated effort (hours)", "number", "number", at),
        _custom("sla_due_date", "SLA due date", "date", "date", at),
        _custom("last_customer_reply_at", "Last customer reply", "datetime", "date", at),
        _custom("callback_phone", "Callback phone", "phone_number", "phonenumber", at),
        _custom(
            "site_location",
            "Site location",
            "object_coordinates",
            "text",
            at,
            description="Latitude and longitude of the affected site, as `lat,lng`.",
        ),
        _custom("internal_notes", "Internal notes", "string", "textarea", at),
    ]


# -- values -----------------------------------------------------------------------------------
class PropertyValueError(Exception):
    """A value HubSpot refuses for a property: the error code plus HubSpot's message."""

    def __init__(self, name: str, code: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.code = code
        self.message = message


def _as_text(defn: PropertyDef, raw: Any) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int | float):
        return repr(raw) if isinstance(raw, float) else str(raw)
    if isinstance(raw, str):
        return raw
    raise PropertyValueError(
        defn.name, "INVALID_VALUE", f'{raw!r} is not a valid value for property "{defn.name}"'
    )


def normalise_value(defn: PropertyDef, raw: Any) -> str | None:
    """Check one written value and return it as HubSpot stores it (None clears the value)."""
    if raw is None:
        return None
    text = _as_text(defn, raw)
    if text == "":
        return None
    if len(text) > MAX_VALUE_CHARS:
        raise PropertyValueError(
            defn.name,
            VALUE_TOO_LONG,
            f'The value of property "{defn.name}" is {len(text):,} characters long; at most '
            f"{MAX_VALUE_CHARS:,} are allowed",
        )
    kind = defn.type
    if kind == "number":
        return _number(defn, text)
    if kind == "bool":
        lowered = text.strip().lower()
        if lowered not in ("true", "false"):
            raise _invalid_option(defn, text)
        return lowered
    if kind == "enumeration":
        return _enumeration(defn, text)
    if kind == "datetime":
        try:
            return iso_from_ms(ms_from_any(text))
        except (ValueError, OverflowError):
            raise PropertyValueError(
                defn.name, "INVALID_DATETIME", f"{text} is not a valid datetime"
            ) from None
    if kind == "date":
        return _date(defn, text)
    if kind == "object_coordinates" and not _COORDINATES.fullmatch(text.strip()):
        raise PropertyValueError(
            defn.name, "INVALID_OBJECT_COORDINATES", f"{text} is not a valid lat,lng pair"
        )
    return text


def _number(defn: PropertyDef, text: str) -> str:
    stripped = text.strip()
    try:
        number = float(stripped)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise PropertyValueError(defn.name, "INVALID_INTEGER", f"{text} was not a valid number.")
    return stripped


def _invalid_option(defn: PropertyDef, text: str) -> PropertyValueError:
    allowed = ", ".join(option.value for option in defn.options)
    return PropertyValueError(
        defn.name,
        "INVALID_OPTION",
        f"{text} was not one of the allowed options: [{allowed}]",
    )


def _enumeration(defn: PropertyDef, text: str) -> str:
    allowed = defn.option_values()
    if defn.is_multi:
        chosen: list[str] = []
        for part in text.split(";"):
            value = part.strip()
            if not value:
                continue
            # Read-only multi-value properties (merged ids, owner ids) have no option list.
            if allowed and value not in allowed:
                raise _invalid_option(defn, value)
            if value not in chosen:
                chosen.append(value)
        return ";".join(chosen)
    if allowed and text not in allowed:
        raise _invalid_option(defn, text)
    return text


def _date(defn: PropertyDef, text: str) -> str:
    stripped = text.strip()
    if _DATE.fullmatch(stripped):
        try:
            datetime.strptime(stripped, "%Y-%m-%d")
        except ValueError:
            raise PropertyValueError(
                defn.name, "INVALID_DATE", f"{text} is not a valid date"
            ) from None
        return stripped
    try:
        ms = ms_from_any(stripped)
    except (ValueError, OverflowError):
        raise PropertyValueError(defn.name, "INVALID_DATE", f"{text} is not a valid date") from None
    moment = _EPOCH + timedelta(milliseconds=ms)
    if ms % 86_400_000:
        # HubSpot's own wording for a date given as a timestamp that is not midnight UTC.
        raise PropertyValueError(
            defn.name,
            "INVALID_DATE",
            f"{text} is at {moment:%H:%M:%S}.{ms % 1000:03d} UTC, not midnight!",
        )
    return f"{moment:%Y-%m-%d}"
