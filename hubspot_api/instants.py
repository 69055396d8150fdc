"""Instants as HubSpot spells them: ISO 8601 text and epoch milliseconds, both ways.

HubSpot answers with ISO 8601 in UTC with milliseconds (`2024-12-10T08:30:00.000Z`), takes epoch
milliseconds in search filters on date-time properties, and stores property values of either
spelling. Every conversion of the connectors goes through here, in integer arithmetic: a float
of seconds since 1970 loses milliseconds on far dates and rounds `.123` down to `.122`.

A naive date-time (no offset) is read as UTC, here and everywhere.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)
# Epoch milliseconds spelled as text: up to 16 digits reach far past year 9999.
_EPOCH_MS_RE = re.compile(r"-?\d{1,16}\Z")


def is_epoch_ms(text: str) -> bool:
    """Tell whether `text` (already stripped) spells epoch milliseconds rather than ISO 8601."""
    return _EPOCH_MS_RE.match(text) is not None


def from_epoch_ms(ms: int) -> datetime:
    """Return the aware UTC instant of epoch milliseconds (`OverflowError` past year 9999)."""
    return EPOCH + timedelta(milliseconds=ms)


def epoch_ms(moment: datetime) -> int:
    """Return an instant as whole epoch milliseconds (truncated, as HubSpot stores them)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // _ONE_MS


def parse_iso(text: str) -> datetime:
    """Parse ISO 8601 text into an aware date-time, keeping its offset (`ValueError` if bad)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_iso_date(text: str) -> date:
    """Parse an ISO 8601 calendar date, `YYYY-MM-DD` (`ValueError` if bad)."""
    return date.fromisoformat(text)


def parse_instant(value: str | int | float) -> datetime:
    """Parse an ISO 8601 instant or epoch milliseconds into an aware UTC datetime."""
    if isinstance(value, int | float):
        return from_epoch_ms(int(value))
    text = value.strip()
    if is_epoch_ms(text):
        return from_epoch_ms(int(text))
    if text.endswith("z"):
        text = text[:-1] + "Z"
    return parse_iso(text).astimezone(UTC)


def to_iso(moment: datetime) -> str:
    """Format an instant as HubSpot does: UTC, milliseconds, `Z`."""
    # isoformat is C code, far faster than strftime: this runs for every date-time value read.
    if moment.tzinfo is not None:
        if moment.tzinfo is not UTC:
            moment = moment.astimezone(UTC)
        moment = moment.replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds") + "Z"


def truncate_ms(moment: datetime) -> datetime:
    """Drop sub-millisecond precision so an instant round-trips through its text exactly."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
