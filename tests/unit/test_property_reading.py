"""Reading property values: id-like numbers as integers, values a type cannot hold refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hubspot_api.objects import is_standard_object_type, object_type_name
from hubspot_api.properties import (
    INT64_MAX,
    INT64_MIN,
    PropertyDefinition,
    holds_whole_numbers,
    json_schema_for,
)
from hubspot_api.property_values import ValueConversionError, expected_values, parse_value


def number(name: str, **extra) -> PropertyDefinition:
    return PropertyDefinition(name=name, type="number", field_type="number", **extra)


@pytest.mark.parametrize(
    ("defn", "whole"),
    [
        (number("hs_object_id"), True),
        (number("hs_created_by_user_id"), True),
        (number("hs_updated_by_user_id"), True),
        (number("hs_pinned_engagement_id"), True),
        (number("legacy_owner_id"), True),
        (number("id"), True),
        (number("estimated_effort_hours"), False),
        (number("num_notes"), False),
        (number("time_to_close"), False),
        (number("paid"), False),
        (number("valid"), False),
        (number("refund_id", number_display_hint="currency"), False),
        (number("share_id", number_display_hint="percentage"), False),
        (number("win_id", number_display_hint="probability"), False),
        (number("fee_id", show_currency_symbol=True), False),
        (number("ticket_ref_id", number_display_hint="unformatted"), True),
        (PropertyDefinition("hubspot_owner_id", type="enumeration", field_type="select"), False),
        (
            PropertyDefinition("hs_merged_object_ids", type="enumeration", field_type="checkbox"),
            False,
        ),
        (PropertyDefinition("external_ticket_id", type="string"), False),
    ],
    ids=lambda v: (
        v.name + (f"-{v.number_display_hint}" if v.number_display_hint else "")
        if isinstance(v, PropertyDefinition)
        else ""
    ),
)
def test_which_numbers_hold_whole_numbers(defn, whole):
    assert holds_whole_numbers(defn) is whole
    schema = json_schema_for(defn)
    if whole:
        assert schema == {"type": ["integer", "null"], "minimum": INT64_MIN, "maximum": INT64_MAX}
    elif defn.type == "number":
        assert schema == {"type": ["number", "null"]}


def test_display_hints_are_read_from_the_api():
    defn = PropertyDefinition.from_api(
        {"name": "amount_id", "type": "number", "numberDisplayHint": "CURRENCY"}
    )
    assert defn.number_display_hint == "currency"
    assert not holds_whole_numbers(defn)
    assert PropertyDefinition.from_api(
        {"name": "x", "showCurrencySymbol": True}
    ).show_currency_symbol


ID = number("hs_created_by_user_id")
AMOUNT = number("estimated_effort_hours")


@pytest.mark.parametrize(
    ("wire", "value"),
    [
        ("1850000034", 1850000034),
        ("1850000034.0", 1850000034),
        ("1.85E+9", 1850000000),
        (" 42 ", 42),
        (str(INT64_MAX), INT64_MAX),
        ("", None),
        (None, None),
    ],
    ids=repr,
)
def test_ids_read_as_integers(wire, value):
    parsed = parse_value(ID, wire)
    assert parsed == value
    assert type(parsed) is type(value)


@pytest.mark.parametrize(
    "wire", ["1.5", "abc", "NaN", "Infinity", str(INT64_MAX + 1), "1e30"], ids=repr
)
def test_ids_that_are_not_whole_int64_numbers_are_refused(wire):
    with pytest.raises(ValueConversionError, match="hs_created_by_user_id"):
        parse_value(ID, wire)


def test_other_numbers_keep_their_fraction():
    assert parse_value(AMOUNT, "1.5") == Decimal("1.5")
    assert parse_value(AMOUNT, "2") == 2


@pytest.mark.parametrize("wire", ["1e400", "-1E+309", "1e-400"], ids=repr)
def test_numbers_no_double_holds_are_refused(wire):
    with pytest.raises(ValueConversionError):
        parse_value(AMOUNT, wire)


DATETIME = PropertyDefinition("last_customer_reply_at", type="datetime", field_type="date")


@pytest.mark.parametrize(
    "wire",
    [
        "2024-01-01T25:61:00Z",
        "2024-02-30T00:00:00.000Z",
        "2024-13-01T00:00:00.000Z",
        "2024-01-01T10:00:60.000Z",
        "0000-01-01T00:00:00Z",
        "99999999999999999",
        "soon",
    ],
    ids=repr,
)
def test_date_times_no_calendar_has_are_refused(wire):
    with pytest.raises(ValueConversionError, match="last_customer_reply_at"):
        parse_value(DATETIME, wire)


@pytest.mark.parametrize(
    ("defn", "words"),
    [
        (AMOUNT, "numbers"),
        (ID, "whole numbers"),
        (PropertyDefinition("b", type="bool"), "true or false"),
        (PropertyDefinition("d", type="date"), "dates"),
        (DATETIME, "date-times"),
    ],
    ids=["number", "integer", "bool", "date", "datetime"],
)
def test_expected_values_say_what_a_property_holds(defn, words):
    assert expected_values(defn) == words


@pytest.mark.parametrize(
    ("given", "plural"),
    [
        ("contacts", "contacts"),
        ("contact", "contacts"),
        ("Contact ", "contacts"),
        ("0-1", "contacts"),
        ("company", "companies"),
        ("COMPANIES", "companies"),
        ("deal", "deals"),
        ("line_item", "line_items"),
        ("postal_mail", "postal_mail"),
        ("2-1234567", "2-1234567"),
        ("p1234567_cars", "p1234567_cars"),
    ],
)
def test_object_types_are_spelled_as_the_plural(given, plural):
    assert object_type_name(given) == plural


def test_custom_object_types_are_not_standard():
    assert is_standard_object_type("contact")
    assert not is_standard_object_type("p1234567_cars")
