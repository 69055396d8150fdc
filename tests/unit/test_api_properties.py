"""Property metadata, JSON Schema, and value conversion both ways."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from hubspot_api.properties import (
    PropertyDefinition,
    PropertyOption,
    UnknownOptionError,
    is_writable,
    json_schema_for,
)
from hubspot_api.property_values import (
    ValueConversionError,
    parse_value,
    to_hubspot,
    value_parser,
)


def prop(type_: str, field_type: str = "text", **extra) -> PropertyDefinition:
    return PropertyDefinition(
        name=f"p_{type_}_{field_type}", type=type_, field_type=field_type, **extra
    )


NUMBER = prop("number", "number")
BOOL = prop("bool", "booleancheckbox")
DATE = prop("date", "date")
DATETIME = prop("datetime", "date")
SELECT = prop("enumeration", "select")
MULTI = prop("enumeration", "checkbox")
STRING = prop("string")
JSON_PROP = prop("json")
PHONE = prop("phone_number", "phonenumber")


def test_from_api_reads_every_field():
    defn = PropertyDefinition.from_api(
        {
            "name": "hs_ticket_category",
            "label": "Category",
            "type": "enumeration",
            "fieldType": "checkbox",
            "groupName": "ticketinformation",
            "options": [{"label": "Billing", "value": "BILLING_ISSUE", "hidden": False}],
            "calculated": False,
            "hasUniqueValue": False,
            "hidden": False,
            "hubspotDefined": True,
            "modificationMetadata": {"readOnlyValue": False, "archivable": True},
        }
    )
    assert defn.is_multi_select
    assert defn.group_name == "ticketinformation"
    assert defn.options[0].value == "BILLING_ISSUE"
    assert defn.hubspot_defined
    assert is_writable(defn)


@pytest.mark.parametrize(
    ("extra", "writable"),
    [({"read_only_value": True}, False), ({"calculated": True}, False), ({}, True)],
    ids=["read-only", "calculated", "plain"],
)
def test_is_writable(extra, writable):
    assert is_writable(prop("string", **extra)) is writable


@pytest.mark.parametrize(
    ("defn", "schema"),
    [
        (NUMBER, {"type": ["number", "null"]}),
        (BOOL, {"type": ["boolean", "null"]}),
        (DATE, {"type": ["string", "null"], "format": "date"}),
        (DATETIME, {"type": ["string", "null"], "format": "date-time"}),
        (SELECT, {"type": ["string", "null"]}),
        (MULTI, {"type": ["string", "null"]}),
        (STRING, {"type": ["string", "null"]}),
        (JSON_PROP, {"type": ["string", "null"]}),
        (PHONE, {"type": ["string", "null"]}),
        (prop("object_coordinates"), {"type": ["string", "null"]}),
        (prop("brand_new_type"), {"type": ["string", "null"]}),
    ],
    ids=lambda v: v.name if isinstance(v, PropertyDefinition) else "",
)
def test_json_schema(defn, schema):
    assert json_schema_for(defn) == schema


def test_multi_select_as_array_is_optional():
    assert json_schema_for(MULTI, multi_select_as_array=True) == {
        "type": ["array", "null"],
        "items": {"type": "string"},
    }
    assert parse_value(MULTI, "A;B", multi_select_as_array=True) == ["A", "B"]
    assert parse_value(MULTI, "", multi_select_as_array=True) == []
    assert parse_value(MULTI, "A;B") == "A;B"


@pytest.mark.parametrize(
    ("defn", "wire", "value"),
    [
        (NUMBER, "42", 42),
        (NUMBER, "-7", -7),
        (NUMBER, "12.50", Decimal("12.50")),
        (NUMBER, "12.0", 12),
        (NUMBER, "1E+3", 1000),
        (NUMBER, "0.1", Decimal("0.1")),
        (NUMBER, "", None),
        (NUMBER, None, None),
        (BOOL, "true", True),
        (BOOL, "FALSE", False),
        (BOOL, "", None),
        (DATE, "2024-02-29", "2024-02-29"),
        (DATE, "1709164800000", "2024-02-29"),
        (DATE, "2024-02-29T00:00:00Z", "2024-02-29"),
        (DATE, "", None),
        (DATETIME, "2024-01-02T03:04:05.678Z", "2024-01-02T03:04:05.678Z"),
        (DATETIME, "2024-01-02T03:04:05Z", "2024-01-02T03:04:05.000Z"),
        (DATETIME, "2024-01-02T04:04:05.678+01:00", "2024-01-02T03:04:05.678Z"),
        (DATETIME, "1704164645678", "2024-01-02T03:04:05.678Z"),
        (DATETIME, "0", "1970-01-01T00:00:00.000Z"),
        (DATETIME, "", None),
        (SELECT, "NEW", "NEW"),
        (STRING, "", ""),
        (STRING, None, None),
    ],
    ids=lambda v: v.name if isinstance(v, PropertyDefinition) else repr(v),
)
def test_parse_value(defn, wire, value):
    parsed = parse_value(defn, wire)
    assert parsed == value
    assert type(parsed) is type(value)


@pytest.mark.parametrize(
    ("defn", "wire"),
    [
        (NUMBER, "abc"),
        (NUMBER, "NaN"),
        (BOOL, "yes"),
        (DATE, "2023-02-30"),
        (DATETIME, "not a date"),
    ],
    ids=["number-text", "number-nan", "bool-yes", "date-impossible", "datetime-text"],
)
def test_parse_errors_name_the_property(defn, wire):
    with pytest.raises(ValueConversionError, match=defn.name):
        parse_value(defn, wire)


@pytest.mark.parametrize(
    ("defn", "value", "wire"),
    [
        (NUMBER, 42, "42"),
        (NUMBER, Decimal("1E+3"), "1000"),
        (NUMBER, Decimal("0.000001"), "0.000001"),
        (NUMBER, 0.1, "0.1"),
        (NUMBER, 1e21, "1000000000000000000000"),
        (NUMBER, " 3.5 ", "3.5"),
        (BOOL, True, "true"),
        (BOOL, "False", "false"),
        (DATE, date(2024, 2, 29), "2024-02-29"),
        (DATE, "2024-02-29", "2024-02-29"),
        (DATE, datetime(2024, 2, 29, 23, 30, tzinfo=timezone(timedelta(hours=-2))), "2024-03-01"),
        (DATETIME, datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC), "2024-01-02T03:04:05.678Z"),
        (DATETIME, datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05.000Z"),
        (DATETIME, "2024-01-02T04:04:05+01:00", "2024-01-02T03:04:05.000Z"),
        (DATETIME, 1704164645678, "2024-01-02T03:04:05.678Z"),
        (DATETIME, date(2024, 1, 2), "2024-01-02T00:00:00.000Z"),
        (MULTI, ["A", "B"], "A;B"),
        (MULTI, "A;B", "A;B"),
        (MULTI, [], ""),
        (SELECT, "NEW", "NEW"),
        (STRING, 12, "12"),
        (STRING, False, "false"),
        (JSON_PROP, {"a": [1, 2]}, '{"a":[1,2]}'),
        (NUMBER, None, ""),
        (STRING, None, ""),
        (DATETIME, "", ""),
        (NUMBER, "", ""),
        (BOOL, "", ""),
        (DATE, "", ""),
    ],
    ids=lambda v: v.name if isinstance(v, PropertyDefinition) else repr(v)[:30],
)
def test_to_hubspot(defn, value, wire):
    assert to_hubspot(defn, value) == wire


@pytest.mark.parametrize(
    ("defn", "value"),
    [
        (NUMBER, True),
        (NUMBER, "ten"),
        (NUMBER, float("inf")),
        (NUMBER, Decimal("NaN")),
        (NUMBER, [1]),
        (BOOL, 1),
        (BOOL, "yes"),
        (DATE, "2024-02-30"),
        (DATETIME, "yesterday"),
        (DATETIME, 1.5),
        (MULTI, ["A;B"]),
        (MULTI, 5),
        (STRING, {"a": 1}),
    ],
    ids=[
        "num-bool",
        "num-text",
        "num-inf",
        "num-nan",
        "num-list",
        "bool-int",
        "bool-yes",
        "date-impossible",
        "datetime-text",
        "datetime-float",
        "multi-separator",
        "multi-int",
        "string-dict",
    ],
)
def test_to_hubspot_refuses_with_the_property_name(defn, value):
    with pytest.raises(ValueConversionError) as info:
        to_hubspot(defn, value)
    assert defn.name in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("defn", "wire"),
    [
        (NUMBER, "12.25"),
        (NUMBER, "7"),
        (BOOL, "true"),
        (DATE, "2024-02-29"),
        (DATETIME, "2024-01-02T03:04:05.678Z"),
        (MULTI, "A;B;C"),
    ],
    ids=["decimal", "int", "bool", "date", "datetime", "multi"],
)
def test_round_trip(defn, wire):
    assert to_hubspot(defn, parse_value(defn, wire)) == wire


def test_value_parser_is_reusable():
    parse = value_parser(DATETIME)
    assert parse("1704164645678") == "2024-01-02T03:04:05.678Z"
    assert parse(None) is None


PRIORITY = PropertyDefinition(
    name="hs_ticket_priority",
    type="enumeration",
    field_type="select",
    options=tuple(
        PropertyOption(label, value)
        for value, label in [("LOW", "Low"), ("MEDIUM", "Medium"), ("HIGH", "High")]
    ),
)
CATEGORY = PropertyDefinition(
    name="hs_ticket_category",
    type="enumeration",
    field_type="checkbox",
    options=(
        PropertyOption("Billing issue", "BILLING_ISSUE"),
        PropertyOption("Product issue", "PRODUCT_ISSUE"),
        PropertyOption("Same", "opt_a"),
        PropertyOption("same", "opt_b"),
    ),
)


@pytest.mark.parametrize(
    ("defn", "value", "wire"),
    [
        (PRIORITY, "HIGH", "HIGH"),
        (PRIORITY, "High", "HIGH"),
        (PRIORITY, "high", "HIGH"),
        (PRIORITY, "hIgH", "HIGH"),
        (
            CATEGORY,
            "billing issue;Product issue;BILLING_ISSUE",
            "BILLING_ISSUE;PRODUCT_ISSUE;BILLING_ISSUE",
        ),
        (CATEGORY, ["product_issue", "Same"], "PRODUCT_ISSUE;opt_a"),
        (CATEGORY, "OPT_B", "opt_b"),
    ],
    ids=["value", "label", "label-any-case", "mixed-case", "multi", "multi-list", "value-any-case"],
)
def test_an_option_named_by_value_or_label_in_any_case_is_written_as_its_value(defn, value, wire):
    assert to_hubspot(defn, value) == wire


@pytest.mark.parametrize(
    ("defn", "value", "says"),
    [
        (
            PRIORITY,
            "Hihg",
            "'Hihg' is not an option of 'hs_ticket_priority' (did you mean 'HIGH'?) "
            "(options: LOW, MEDIUM, HIGH)",
        ),
        (
            CATEGORY,
            "BILLING_ISSUE;biling issue",
            "'biling issue' is not an option of 'hs_ticket_category' (did you mean "
            "'BILLING_ISSUE' (Billing issue)?) (options: BILLING_ISSUE, PRODUCT_ISSUE, opt_a, "
            "opt_b)",
        ),
        (
            CATEGORY,
            "SAME",
            "'SAME' names several options of 'hs_ticket_category' ('opt_a' (Same), 'opt_b' "
            "(same)); give the option's value",
        ),
        (PRIORITY, "Nothing like it", "(options: LOW, MEDIUM, HIGH)"),
    ],
    ids=["misspelt-label", "multi-part", "ambiguous-case", "no-hint"],
)
def test_a_value_naming_no_single_option_says_which_option_is_meant(defn, value, says):
    with pytest.raises(UnknownOptionError) as raised:
        to_hubspot(defn, value)
    message = str(raised.value)
    assert message.endswith(says)
    hint = message.partition("did you mean ")[2]
    assert not hint.startswith(repr(value)), "the hint repeats what was typed"


def test_options_of_an_enumeration_without_options_or_of_text_are_not_checked():
    assert to_hubspot(SELECT, "anything") == "anything"
    assert to_hubspot(STRING, "high") == "high"
    assert to_hubspot(PRIORITY, "") == ""
