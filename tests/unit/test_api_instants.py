"""The one codec of instants: ISO 8601 and epoch milliseconds, in integer arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from hubspot_api.instants import (
    epoch_ms,
    from_epoch_ms,
    parse_instant,
    parse_iso,
    parse_setting_instant,
    to_iso,
    truncate_ms,
)

MOMENT = datetime(2024, 12, 10, 8, 30, 0, 123000, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "2024-12-10T08:30:00.123Z",
        "2024-12-10T08:30:00.123z",
        " 2024-12-10T09:30:00.123+01:00 ",
        "2024-12-10T08:30:00.123",
        1733819400123,
        "1733819400123",
        1733819400123.0,
    ],
    ids=["z", "lower-z", "offset", "naive", "int-ms", "text-ms", "float-ms"],
)
def test_every_spelling_parses_to_the_same_utc_instant(value):
    parsed = parse_instant(value)
    assert parsed == MOMENT
    assert parsed.tzinfo is UTC


def test_milliseconds_survive_both_ways_exactly():
    # A float of seconds would give ...122 for this instant.
    assert epoch_ms(MOMENT) == 1733819400123
    assert from_epoch_ms(1733819400123) == MOMENT
    assert epoch_ms(datetime(2024, 12, 10, 8, 30, 0, 123999)) == 1733819400123  # naive as UTC


def test_iso_text_is_hubspot_s_form():
    assert to_iso(MOMENT) == "2024-12-10T08:30:00.123Z"
    assert to_iso(MOMENT.astimezone(timezone(timedelta(hours=-5)))) == "2024-12-10T08:30:00.123Z"
    assert to_iso(datetime(2024, 12, 10, 8, 30)) == "2024-12-10T08:30:00.000Z"
    assert to_iso(truncate_ms(MOMENT + timedelta(microseconds=999))) == to_iso(MOMENT)


def test_parse_iso_keeps_the_offset_and_reads_naive_as_utc():
    assert parse_iso("2024-12-10T09:30:00+01:00").utcoffset() == timedelta(hours=1)
    assert parse_iso("2024-12-10T08:30:00").tzinfo is UTC
    with pytest.raises(ValueError, match="day is out of range"):
        parse_iso("2024-02-30T00:00:00Z")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-12-10", "2024-12-10T00:00:00.000Z"),
        ("2024-12-10T08:30:00Z", "2024-12-10T08:30:00.000Z"),
        ("2024-12-10t08:30z", "2024-12-10T08:30:00.000Z"),
        ("2024-12-10T09:30:00.123+01:00", "2024-12-10T08:30:00.123Z"),
        (" 2024-12-10T08:30:00-05:30 ", "2024-12-10T14:00:00.000Z"),
    ],
    ids=["date", "utc", "lower-case", "offset-ms", "negative-offset"],
)
def test_a_setting_instant_in_iso_8601_is_read_as_utc(text: str, expected: str) -> None:
    assert to_iso(parse_setting_instant(text)) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("01/02/2024", "is not an ISO 8601"),
        ("20241210", "is not an ISO 8601"),
        ("2024-W50-2", "is not an ISO 8601"),
        ("2024-12-10 08:30:00Z", "is not an ISO 8601"),
        ("1733788800000", "is not an ISO 8601"),
        ("2024-12-10T08:30:00", "has no time zone"),
        ("2024-02-30", "that exists"),
        ("2024-12-10T24:30Z", "that exists"),
    ],
    ids=["us-date", "basic", "week", "space", "epoch-ms", "naive", "no-such-day", "no-such-hour"],
)
def test_a_setting_instant_is_refused_unless_strict_iso_8601(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_setting_instant(text)
