"""Read a record's fields as the user meant them, or refuse them with the reason.

Control flags (`archived`), ids and the `associations` list come from tables and CSV exports
as often as from a tap, so their usual spellings are read as meant (`"yes"`, `1850000034.0`);
values JSON text allows but HubSpot cannot store (NaN, a lone UTF-16 surrogate) are refused.
Each refusal is a `RecordInvalid` naming the field.
"""

from __future__ import annotations

import decimal
import math
import re
from collections.abc import Mapping
from typing import Any

from hubspot_api.associations import ASSOCIATION_CATEGORIES, HUBSPOT_DEFINED
from hubspot_api.objects import TICKET_DEFAULT_ASSOCIATION_TYPE_IDS, object_type_name
from hubspot_api.records import (
    ASSOCIATION_CATEGORY,
    ASSOCIATION_TYPE_ID,
    TO_OBJECT_ID,
    TO_OBJECT_TYPE,
)
from target_hubspot_tickets.rejects import to_json_value
from target_hubspot_tickets.writes import Association, RecordInvalid

# The input field that lists a record's links (the target's own, not a HubSpot property).
ASSOCIATIONS_FIELD = "associations"

# A lone UTF-16 surrogate: JSON text may carry one ("\ud800"), no Unicode text can.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# Spellings of a control flag (`archived`) read as the user meant; anything else is refused.
_FLAG_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def check_storable(value: Any, name: str) -> None:
    """Refuse values JSON text allows but HubSpot cannot store: NaN, infinities, broken text."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found = _LONE_SURROGATE.search(item)
            if found is not None:
                raise RecordInvalid(
                    f"property {name!r}: holds a lone UTF-16 surrogate "
                    f"({found.group()!a} at character {found.start()}), which is not "
                    "text HubSpot can store",
                    name,
                )
        elif isinstance(item, float | decimal.Decimal):
            finite = math.isfinite(item) if isinstance(item, float) else item.is_finite()
            if not finite:
                raise RecordInvalid(
                    f"property {name!r}: {item} is not a number HubSpot stores", name
                )
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def control_flag(value: Any, name: str) -> bool | None:
    """Read a control column (`archived`) as the user meant it, or refuse it.

    true/false; the numbers 1/0; the strings "true"/"false", "1"/"0", "yes"/"no" in any case
    (CSV exports and databases spell booleans so). Null and "" mean "not given".
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | decimal.Decimal | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word == "":
            return None
        if word in _FLAG_WORDS:
            return _FLAG_WORDS[word]
    raise RecordInvalid(
        f'{name!r} must be true or false (or 1/0, "true"/"false", "yes"/"no"), not {_shown(value)}',
        name,
    )


def _shown(value: Any) -> str:
    text = ascii(to_json_value(value))
    return text if len(text) <= 60 else text[:57] + "..."


# More digits than any HubSpot id has; checked before a number is turned into an int.
_MAX_ID_DIGITS = 30
_MAX_ID = 10**_MAX_ID_DIGITS
_INTEGRAL_TEXT = re.compile(r"^[0-9]+\.0*$")


def id_text(value: Any, name: str) -> str | None:
    """Return an id as text, or None when absent; refuse values that cannot be ids.

    Whole numbers given as floats (`1850000034.0`, what a float column or a CSV export makes of
    an id) are read as the integer they spell.
    """
    if value is None or value == "":
        return None
    if isinstance(value, float | decimal.Decimal) and not isinstance(value, bool):
        number = value if isinstance(value, decimal.Decimal) else decimal.Decimal(repr(value))
        if (
            number.is_finite()
            and number.adjusted() < _MAX_ID_DIGITS
            and number == number.to_integral_value()
        ):
            return str(int(number))
        raise RecordInvalid(f"{name!r} must be a whole number, not {_shown(value)}", name)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RecordInvalid(f"{name!r} must be a string or an integer", name)
    if isinstance(value, int):
        if abs(value) >= _MAX_ID:
            raise RecordInvalid(f"{name!r} is too large to be an id", name)
        return str(value)
    text = value.strip()
    if _LONE_SURROGATE.search(text):
        raise RecordInvalid(f"{name!r} holds a lone UTF-16 surrogate", name)
    if _INTEGRAL_TEXT.match(text):
        text = text.split(".", 1)[0]
    return text or None


def parse_associations(raw: Any) -> list[Association] | None:
    """Read a record's `associations` list; None when the record gives none."""
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise RecordInvalid(f"{ASSOCIATIONS_FIELD!r} must be a list", ASSOCIATIONS_FIELD)
    out: list[Association] = []
    for index, item in enumerate(raw):
        where = f"{ASSOCIATIONS_FIELD}[{index}]"
        if not isinstance(item, Mapping):
            raise RecordInvalid(f"{where} must be an object", where)
        to_type = item.get(TO_OBJECT_TYPE)
        if not isinstance(to_type, str) or not to_type.strip():
            raise RecordInvalid(f"{where}.{TO_OBJECT_TYPE} is missing", where)
        to_type = object_type_name(to_type)
        to_id = id_text(item.get(TO_OBJECT_ID), f"{where}.{TO_OBJECT_ID}")
        if to_id is None:
            raise RecordInvalid(f"{where}.{TO_OBJECT_ID} is missing", where)
        category = item.get(ASSOCIATION_CATEGORY) or HUBSPOT_DEFINED
        if category not in ASSOCIATION_CATEGORIES:
            raise RecordInvalid(f"{where}.{ASSOCIATION_CATEGORY} {category!r} is unknown", where)
        type_id = item.get(ASSOCIATION_TYPE_ID)
        if type_id is None:
            type_id = TICKET_DEFAULT_ASSOCIATION_TYPE_IDS.get(to_type)
            if type_id is None:
                raise RecordInvalid(
                    f"{where}.{ASSOCIATION_TYPE_ID} is needed for {to_type!r}", where
                )
        if isinstance(type_id, bool) or not isinstance(type_id, int | str):
            raise RecordInvalid(f"{where}.{ASSOCIATION_TYPE_ID} must be an integer", where)
        try:
            type_number = int(type_id)
        except ValueError:
            raise RecordInvalid(
                f"{where}.{ASSOCIATION_TYPE_ID} must be an integer", where
            ) from None
        out.append(Association(to_type, to_id, type_number, str(category)))
    return out
