"""The one codec of instants: ISO 8601 and epoch milliseconds, in integer arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from hubspot_api.instants import (
    epoch_ms,
    from_epoch_ms,
    parse_instant,
    parse_iso,
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
