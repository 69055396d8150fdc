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


# What a setting such as `start_date` accepts: an ISO 8601 calendar date, or a date-time in
# the extended format with its offset (RFC 3339). Python's `fromisoformat` takes much more
# (`20241210`, `2024-W50-2`, a space for `T`, no offset), and a naive date-time would read as
# UTC here but as local time elsewhere: each is refused rather than guessed.
_SETTING_INSTANT_RE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?P<time>[Tt]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?P<zone>[Zz]|[+-]\d{2}:\d{2})?)?\Z"
)
SETTING_INSTANT_FORMS = "2024-12-10, 2024-12-10T08:30:00Z or 2024-12-10T09:30:00+01:00"


def parse_setting_instant(text: str) -> datetime:
    """Parse an instant a user wrote in a setting, strictly ISO 8601, into an aware UTC one.

    A date alone is its midnight UTC; a date-time must say its offset (`Z` for UTC).
    `ValueError` says what is wrong in words that fit a one-line error.
    """
    match = _SETTING_INSTANT_RE.match(text.strip())
    if match is None:
        raise ValueError(
            f"is not an ISO 8601 date or date-time; write it as {SETTING_INSTANT_FORMS}"
        )
    if match.group("time") and not match.group("zone"):
        raise ValueError(
            "has no time zone: add Z for UTC (or an offset such as +01:00), or give the date alone"
        )
    try:
        if not match.group("time"):
            day = parse_iso_date(match.group("date"))
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        return parse_iso(match.group(0).upper()).astimezone(UTC)
    except ValueError:
        raise ValueError(
            f"is not a date or time that exists; write it as {SETTING_INSTANT_FORMS}"
        ) from None


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
