"""Property values both ways: HubSpot's wire strings to typed values, and back.

Reading, the tap turns wire strings into typed values with `value_parser(defn)` (called for
every value of every record, so each parser is a plain function chosen once per property).
Writing, the target turns typed values back into HubSpot's strings with `to_hubspot`. The types
and their JSON Schema are in `hubspot_api.properties`; instants go through
`hubspot_api.instants`. Empty strings of typed properties (number, bool, date, datetime) read
as null.

A value the property's type cannot hold (HubSpot keeps old values when an admin changes a
property's type, docs/hubspot-api.md) raises `ValueConversionError`; `expected_values(defn)`
says in words what the property holds, for the reader's warning.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from hubspot_api.instants import (
    epoch_ms,
    from_epoch_ms,
    is_epoch_ms,
    parse_iso,
    parse_iso_date,
    to_iso,
)
from hubspot_api.properties import (
    BOOL,
    DATE,
    DATETIME,
    INT64_MAX,
    INT64_MIN,
    INTEGER,
    JSON_TYPE,
    MULTI_SELECT_SEPARATOR,
    NUMBER,
    PropertyDefinition,
    option_values,
    reading_type,
)

# Text property values hold at most this many characters when written through the API
# (docs/hubspot-api.md, "Value limits", from HubSpot's knowledge base on property field types:
# https://knowledge.hubspot.com/properties/property-field-types-in-hubspot). The emulator
# enforces the same limit with its own constant.
MAX_TEXT_VALUE_CHARS = 65_536
# Numbers are written as plain decimals; beyond this decimal exponent (a double's range) a
# value is refused instead of being spelled out digit by digit (`1e30000000`).
MAX_NUMBER_EXPONENT = 308

_CANONICAL_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\Z")
_WHOLE_SECOND_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z")
_DATE_RE = re.compile(r"\d{4}-\d\d-\d\d\Z")
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


def _parse_datetime(wire: str | None) -> str | None:
    if not wire:
        return None
    if _CANONICAL_DATETIME.match(wire):
        parse_iso(wire)  # the shape alone lets hour 25 and February 30 through
        return wire  # HubSpot's usual form is already the output form
    if _WHOLE_SECOND_DATETIME.match(wire):
        parse_iso(wire)
        return wire[:-1] + ".000Z"
    text = wire.strip()
    if is_epoch_ms(text):
        return to_iso(from_epoch_ms(int(text)))
    return to_iso(parse_iso(text))


def _parse_date(wire: str | None) -> str | None:
    if not wire:
        return None
    text = wire.strip()
    if _DATE_RE.match(text):
        parse_iso_date(text)  # validates the calendar date
        return text
    if is_epoch_ms(text):
        return from_epoch_ms(int(text)).date().isoformat()
    return parse_iso(text).astimezone(UTC).date().isoformat()


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


def typed_parser(defn: PropertyDefinition) -> Parser | None:
    """Return the parser of a property whose values are not text, or None for text ones.

    The bare fast path for a hot loop: it is only called with a non-empty wire string (empty
    and missing values read as null) and raises `ValueError` or `ArithmeticError` on a value
    its type cannot hold. `value_parser` wraps it with the property's name.
    """
    return _PARSERS.get(reading_type(defn))


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
        return from_epoch_ms(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return from_epoch_ms(int(text)) if is_epoch_ms(text) else parse_iso(text)
        except (ValueError, OverflowError):
            raise ValueConversionError(name, value, "not an ISO 8601 date-time") from None
    raise ValueConversionError(name, value, f"cannot write a {type(value).__name__}")


def _datetime_to_wire(name: str, value: Any) -> str:
    return to_iso(_datetime_value(name, value))


def _date_to_wire(name: str, value: Any) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and _DATE_RE.match(value.strip()):
        try:
            return parse_iso_date(value.strip()).isoformat()
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


_TYPED_WRITERS: dict[str, Callable[[str, Any], str]] = {
    NUMBER: _number_to_wire,
    BOOL: _bool_to_wire,
    DATETIME: _datetime_to_wire,
    DATE: _date_to_wire,
}


def to_hubspot(defn: PropertyDefinition, value: Any) -> str:
    """Turn a typed value into the string HubSpot expects for this property.

    None becomes "" (which clears the value). Date-times are written as ISO 8601 UTC with
    milliseconds; dates as YYYY-MM-DD; booleans as "true"/"false"; numbers as plain decimals
    without exponent; multi-select lists ";"-joined; an enumeration's options, named by value
    or label, as their values (`option_values`). Raises `ValueConversionError`, or
    `UnknownOptionError` for a value that names no single option.
    """
    if value is None:
        return ""
    typed = _TYPED_WRITERS.get(defn.type)
    if typed is not None:
        # An empty string clears a typed property as it clears a text one.
        return "" if isinstance(value, str) and value == "" else typed(defn.name, value)
    if defn.is_multi_select:
        wire = _multi_select_to_wire(defn.name, value)
    else:
        wire = _text_to_wire(defn.name, value, defn.type)
    return option_values(defn, wire) if wire else wire


# -- comparing: is a value to write the one HubSpot holds already? -------------------------------
def _number_key(wire: str) -> Any:
    return Decimal(wire.strip()).normalize()  # 1.50, 1.5 and 1.5E0 are one number


def _bool_key(wire: str) -> Any:
    return wire.strip().lower()


def _datetime_key(wire: str) -> Any:
    return epoch_ms(_datetime_value("", wire))  # ISO with or without ms, or epoch ms


def _date_key(wire: str) -> Any:
    return _date_to_wire("", wire)


_COMPARE_KEYS: dict[str, Callable[[str], Any]] = {
    NUMBER: _number_key,
    BOOL: _bool_key,
    DATETIME: _datetime_key,
    DATE: _date_key,
}


def stored_key(defn: PropertyDefinition, wire: str | None) -> Any:
    """Return what HubSpot keeps of a wire value, for comparing two values of a property.

    HubSpot stores an empty string as no value; numbers by value (`1.50` is `1.5`), booleans
    without case, date-times as instants (`...T10:00:00Z` is `...T10:00:00.000Z` and its epoch
    milliseconds), dates as their day (midnight UTC), multi-select options as a set (`a;b` is
    `b;a`). Any other value is compared as written. A value its type cannot read is compared
    as written too: HubSpot keeps such old values as text (docs/hubspot-api.md).
    """
    if wire is None or wire == "":
        return None
    if defn.is_multi_select:
        return frozenset(p.strip() for p in wire.split(MULTI_SELECT_SEPARATOR) if p.strip())
    key = _COMPARE_KEYS.get(defn.type)
    if key is None:
        return ("text", wire)
    try:
        return (defn.type, key(wire))
    except (ValueError, ArithmeticError, OverflowError):
        return ("text", wire)


def same_stored_value(defn: PropertyDefinition, current: str | None, new: str | None) -> bool:
    """Tell whether writing `new` over `current` (both wire strings) would change nothing."""
    return bool(stored_key(defn, current) == stored_key(defn, new))
