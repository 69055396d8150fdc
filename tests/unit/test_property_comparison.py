"""Two wire values of a property are the same when HubSpot would store them alike."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubspot_api.instants import epoch_ms, to_iso
from hubspot_api.properties import PropertyDefinition
from hubspot_api.property_values import same_stored_value, to_hubspot

NUMBER = PropertyDefinition("effort", "number", "number")
BOOL = PropertyDefinition("flag", "bool", "booleancheckbox")
DATETIME = PropertyDefinition("at", "datetime", "date")
DATE = PropertyDefinition("due", "date", "date")
MULTI = PropertyDefinition("products", "enumeration", "checkbox")
TEXT = PropertyDefinition("subject")

decimals = st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**12), max_value=10**12)
instants = st.datetimes(
    min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2200, 1, 1), timezones=st.just(dt.UTC)
).map(lambda m: m.replace(microsecond=m.microsecond // 1000 * 1000))
options = st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, unique=True)


@given(decimals, st.integers(0, 4))
def test_a_number_is_the_same_however_it_is_spelled(number: Decimal, zeros: int) -> None:
    plain = format(number, "f")
    padded = plain + ("." if "." not in plain else "") + "0" * zeros if zeros else plain
    assert same_stored_value(NUMBER, padded, to_hubspot(NUMBER, number))
    assert same_stored_value(NUMBER, f"{number:E}", plain)


@given(decimals, decimals)
def test_different_numbers_differ(a: Decimal, b: Decimal) -> None:
    assert same_stored_value(NUMBER, format(a, "f"), format(b, "f")) == (a == b)


@given(st.booleans(), st.sampled_from([str.upper, str.lower, str.title]))
def test_a_boolean_is_the_same_in_any_case(value: bool, case) -> None:
    wire = to_hubspot(BOOL, value)
    assert same_stored_value(BOOL, case(wire), wire)
    assert not same_stored_value(BOOL, to_hubspot(BOOL, not value), wire)


@given(instants)
def test_an_instant_is_the_same_in_iso_and_in_epoch_milliseconds(moment: dt.datetime) -> None:
    written = to_hubspot(DATETIME, moment)
    assert same_stored_value(DATETIME, str(epoch_ms(moment)), written)
    assert same_stored_value(DATETIME, to_iso(moment), moment.isoformat())
    later = moment + dt.timedelta(milliseconds=1)
    assert not same_stored_value(DATETIME, to_iso(later), written)


@given(instants)
def test_a_date_is_its_day_at_midnight_utc(moment: dt.datetime) -> None:
    day = moment.date()
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    assert same_stored_value(DATE, str(epoch_ms(midnight)), day.isoformat())
    assert not same_stored_value(DATE, (day + dt.timedelta(days=1)).isoformat(), day.isoformat())


@given(options, st.randoms())
def test_multi_select_options_are_a_set(chosen: list[str], random) -> None:
    shuffled = chosen[:]
    random.shuffle(shuffled)
    assert same_stored_value(MULTI, ";".join(chosen), to_hubspot(MULTI, shuffled))
    assert not same_stored_value(MULTI, ";".join(chosen), ";".join([*chosen, "z"]))


@pytest.mark.parametrize("definition", [NUMBER, BOOL, DATETIME, DATE, MULTI, TEXT], ids=str)
def test_an_empty_string_is_no_value(definition: PropertyDefinition) -> None:
    assert same_stored_value(definition, None, "")
    assert same_stored_value(definition, "", None)


@given(st.text(), st.text())
def test_text_is_compared_as_written(a: str, b: str) -> None:
    assert same_stored_value(TEXT, a, b) == ((a or None) == (b or None))


@pytest.mark.parametrize(
    ("definition", "current", "new", "same"),
    [
        (NUMBER, "abc", "abc", True),
        (NUMBER, "abc", "1", False),
        (DATETIME, "2024-01-01T25:61:00Z", "2024-01-01T25:61:00Z", True),
        (DATE, "not a day", "2024-01-01", False),
    ],
    ids=["number-text-same", "number-text-vs-number", "datetime-broken", "date-broken"],
)
def test_values_their_type_cannot_read_are_compared_as_written(
    definition: PropertyDefinition, current: str, new: str, same: bool
) -> None:
    assert same_stored_value(definition, current, new) is same
