"""Ticket property metadata, its JSON Schema, and conversion of values both ways.

Property values are always strings (or null) on the wire, whatever the property's type
(https://developers.hubspot.com/docs/api-reference/latest/crm/properties/guide). Reading, the
tap turns them into typed values with `value_parser(defn)` (called for every value of every
record, so each parser is a plain function chosen once per property). Writing, the target turns
typed values back into HubSpot's strings with `to_hubspot`.

Types, as a warehouse sees them:

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
Empty strings of typed properties (number, bool, date, datetime) read as null.

Id-like number properties (`hs_object_id`, `*_id` such as `hs_created_by_user_id` or
`hs_pinned_engagement_id`) are typed `integer`: as `number` they land as floating point in some
warehouses (`1850000034.0` in DuckDB). A number HubSpot displays as currency, a percentage or a
probability stays a `number` whatever its name, and so does every number whose name is not
id-like: a value such as `1.5` must never meet an integer column. docs/warehouse-types.md shows
what each loader makes of every type.

A value the property's type cannot hold (HubSpot keeps old values when an admin changes a
property's type, docs/hubspot-api.md) raises `ValueConversionError`; `expected_values(defn)`
says in words what the property holds, for the reader's warning.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

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
# Text property values hold at most this many characters when written through the API
# (docs/hubspot-api.md, "Value limits", from HubSpot's knowledge base on property field types:
# https://knowledge.hubspot.com/properties/property-field-types-in-hubspot). The emulator
# enforces the same limit with its own constant.
MAX_TEXT_VALUE_CHARS = 65_536
# Numbers are written as plain decimals; beyond this decimal exponent (a double's range) a
# value is refused instead of being spelled out digit by digit (`1e30000000`).
MAX_NUMBER_EXPONENT = 308
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

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CANONICAL_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\Z")
_WHOLE_SECOND_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z")
_DATE_RE = re.compile(r"\d{4}-\d\d-\d\d\Z")
_EPOCH_MS_RE = re.compile(r"-?\d{1,16}\Z")
_MAX_VALUE_REPR = 80


class ValueConversionError(ValueError):
    """A value cannot be converted to or from a property's type."""

    def __init__(self, property_name: str, value: Any, reason: str) -> None:
        """Name the property and the (shortened) value in the message."""
        shown = repr(value)
        if len(shown) > _MAX_VALUE_REPR:
            shown = shown[: _MAX_VALUE_REPR - 3] + "..."
        super().__init__(f"property {property_name!r}: {reason}: {shown}")
        self.property_name = property_name
        self.value = value


@dataclass(frozen=True)
class PropertyOption:
    """One option of an enumeration property."""

    label: str
    value: str
    hidden: bool = False


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


_EXPECTED_VALUES = {
    NUMBER: "numbers",
    INTEGER: "whole numbers",
    BOOL: "true or false",
    DATE: "dates",
    DATETIME: "date-times",
}


def expected_values(defn: PropertyDefinition) -> str:
    """Say in words what this property's values must be ("numbers", "true or false", ...)."""
    return _EXPECTED_VALUES.get(reading_type(defn), f"{defn.type} values")


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


# -- reading: wire string -> Python value -------------------------------------------------------
Parser = Callable[[str | None], Any]


def _parse_number(wire: str | None) -> int | Decimal | None:
    if not wire:
        return None
    try:
        return int(wire)  # the common case: counts, whole amounts
    except ValueError:
        pass
    number = Decimal(wire.strip())  # raises InvalidOperation, an ArithmeticError
    if not number.is_finite():
        raise ValueError("not a finite number")
    if number and abs(number.adjusted()) > MAX_NUMBER_EXPONENT:
        raise ValueError("outside the range of a double")
    if number == number.to_integral_value():
        return int(number)
    return number


def _parse_integer(wire: str | None) -> int | None:
    if not wire:
        return None
    try:
        value = int(wire)
    except ValueError:
        # `1850000034.0`, `1.85E+9`: whole numbers spelled as decimals are still ids.
        number = Decimal(wire.strip())
        if not number.is_finite() or number != number.to_integral_value():
            raise ValueError("not a whole number") from None
        value = int(number)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError("outside the range of a 64-bit integer")
    return value


def _parse_bool(wire: str | None) -> bool | None:
    if not wire:
        return None
    lowered = wire.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise ValueError("not true or false")


def _epoch_ms_to_datetime(ms: int) -> datetime:
    # Integer arithmetic: float seconds would lose milliseconds on far dates.
    return _EPOCH + timedelta(milliseconds=ms)


def _format_datetime(moment: datetime) -> str:
    # Naive values are taken as UTC. isoformat is C code, far faster than strftime.
    if moment.tzinfo is not None:
        if moment.tzinfo is not UTC:
            moment = moment.astimezone(UTC)
        moment = moment.replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds") + "Z"


def _parse_datetime(wire: str | None) -> str | None:
    if not wire:
        return None
    if _CANONICAL_DATETIME.match(wire):
        datetime.fromisoformat(wire)  # the shape alone lets hour 25 and February 30 through
        return wire  # HubSpot's usual form is already the output form
    if _WHOLE_SECOND_DATETIME.match(wire):
        datetime.fromisoformat(wire)
        return wire[:-1] + ".000Z"
    text = wire.strip()
    if _EPOCH_MS_RE.match(text):
        return _format_datetime(_epoch_ms_to_datetime(int(text)))
    return _format_datetime(datetime.fromisoformat(text))


def _parse_date(wire: str | None) -> str | None:
    if not wire:
        return None
    text = wire.strip()
    if _DATE_RE.match(text):
        date.fromisoformat(text)  # validates the calendar date
        return text
    if _EPOCH_MS_RE.match(text):
        return _epoch_ms_to_datetime(int(text)).date().isoformat()
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date().isoformat()


def _parse_multi_select_array(wire: str | None) -> list[str] | None:
    if wire is None:
        return None
    return [part for part in wire.split(MULTI_SELECT_SEPARATOR) if part]


def _identity(wire: str | None) -> str | None:
    return wire


_PARSERS: dict[str, Callable[[str | None], Any]] = {
    NUMBER: _parse_number,
    INTEGER: _parse_integer,
    BOOL: _parse_bool,
    DATE: _parse_date,
    DATETIME: _parse_datetime,
}


def value_parser(defn: PropertyDefinition, *, multi_select_as_array: bool = False) -> Parser:
    """Return the function turning this property's wire strings into typed values.

    The returned function raises `ValueConversionError` naming the property on bad input.
    Pick it once per property and call it per value: it is the tap's hot path.
    """
    if multi_select_as_array and defn.is_multi_select:
        return _parse_multi_select_array
    kind = reading_type(defn)
    inner = _PARSERS.get(kind)
    if inner is None:
        return _identity
    name = defn.name

    def parse(wire: str | None) -> Any:
        try:
            return inner(wire)
        except (ValueError, ArithmeticError) as exc:
            raise ValueConversionError(name, wire, f"not a valid {kind} ({exc})") from None

    return parse


def parse_value(
    defn: PropertyDefinition, wire: str | None, *, multi_select_as_array: bool = False
) -> Any:
    """Turn one wire string into a typed value (see `value_parser` for the fast path)."""
    return value_parser(defn, multi_select_as_array=multi_select_as_array)(wire)


# -- writing: Python value -> wire string -------------------------------------------------------
def _number_to_wire(name: str, value: Any) -> str:
    if isinstance(value, bool):
        raise ValueConversionError(name, value, "a boolean is not a number")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueConversionError(name, value, "not a finite number")
        number = Decimal(repr(value))  # shortest repr: 0.1 stays 0.1
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValueConversionError(name, value, "not a number") from None
    else:
        raise ValueConversionError(name, value, f"cannot write a {type(value).__name__}")
    if not number.is_finite():
        raise ValueConversionError(name, value, "not a finite number")
    if number and abs(number.adjusted()) > MAX_NUMBER_EXPONENT:
        raise ValueConversionError(name, value, "outside the range of numbers HubSpot stores")
    return format(number, "f")


def _bool_to_wire(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower()
    raise ValueConversionError(name, value, "not a boolean")


def _datetime_value(name: str, value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, int) and not isinstance(value, bool):
        return _epoch_ms_to_datetime(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            if _EPOCH_MS_RE.match(text):
                return _epoch_ms_to_datetime(int(text))
            moment = datetime.fromisoformat(text)
        except (ValueError, OverflowError):
            raise ValueConversionError(name, value, "not an ISO 8601 date-time") from None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    raise ValueConversionError(name, value, f"cannot write a {type(value).__name__}")


def _datetime_to_wire(name: str, value: Any) -> str:
    return _format_datetime(_datetime_value(name, value))


def _date_to_wire(name: str, value: Any) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and _DATE_RE.match(value.strip()):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            raise ValueConversionError(name, value, "not a calendar date") from None
    # HubSpot stores dates as midnight UTC; a date-time is cut to its UTC day.
    return _datetime_value(name, value).astimezone(UTC).date().isoformat()


def _multi_select_to_wire(name: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        parts = [str(v) for v in value]
        for part in parts:
            if MULTI_SELECT_SEPARATOR in part:
                raise ValueConversionError(name, value, "an option contains ';'")
        return MULTI_SELECT_SEPARATOR.join(parts)
    raise ValueConversionError(name, value, "not a list of options or a ';'-joined string")


def _text_to_wire(name: str, value: Any, type_: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        return _number_to_wire(name, value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if type_ == JSON_TYPE and isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), default=str)
    raise ValueConversionError(name, value, f"cannot write a {type(value).__name__}")


def to_hubspot(defn: PropertyDefinition, value: Any) -> str:
    """Turn a typed value into the string HubSpot expects for this property.

    None becomes "" (which clears the value). Date-times are written as ISO 8601 UTC with
    milliseconds; dates as YYYY-MM-DD; booleans as "true"/"false"; numbers as plain decimals
    without exponent; multi-select lists ";"-joined. Raises `ValueConversionError`.
    """
    if value is None:
        return ""
    if defn.type == NUMBER:
        if isinstance(value, str) and value == "":
            return ""
        return _number_to_wire(defn.name, value)
    if defn.type == BOOL:
        if isinstance(value, str) and value == "":
            return ""
        return _bool_to_wire(defn.name, value)
    if defn.type == DATETIME:
        if isinstance(value, str) and value == "":
            return ""
        return _datetime_to_wire(defn.name, value)
    if defn.type == DATE:
        if isinstance(value, str) and value == "":
            return ""
        return _date_to_wire(defn.name, value)
    if defn.is_multi_select:
        return _multi_select_to_wire(defn.name, value)
    return _text_to_wire(defn.name, value, defn.type)
