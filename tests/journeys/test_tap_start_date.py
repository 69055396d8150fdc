"""`start_date` and bookmarks by HubSpot's clock, through the tap's command line and Meltano.

A `start_date` is strictly ISO 8601 (a date, or a date-time with its offset), whatever path it
takes; one in the future stops the run in one line before anything is emitted; and no run
leaves a bookmark past HubSpot's own "now", even on a machine whose clock runs ahead.
"""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hubspot_api.clock import SERVER_CLOCK_UNCERTAINTY_MS
from hubspot_api.instants import parse_instant, to_iso

pytestmark = pytest.mark.journeys

ERROR = "tap-hubspot-tickets: error: "
HOUR_S = 3_600


def _error_line(done: Any) -> str:
    """Return the one error line of a refused run; fail on a traceback or any output."""
    assert done.returncode == 1, done.describe()
    assert "Traceback" not in done.stderr, done.describe()
    assert done.stdout == b"", "a refused run emitted messages"
    (line,) = [ln for ln in done.stderr.splitlines() if ln.startswith(ERROR)]
    return line


@pytest.mark.parametrize(
    ("value", "says"),
    [
        pytest.param("01/02/2024", "is not an ISO 8601 date or date-time", id="us-date"),
        pytest.param("13/02/2024", "is not an ISO 8601 date or date-time", id="eu-date"),
        pytest.param("2024-01-02 10:00:00Z", "is not an ISO 8601", id="space-for-T"),
        pytest.param("2024-02-30", "is not a date or time that exists", id="no-such-day"),
        pytest.param("2024-01-02T10:00:00", "has no time zone: add Z", id="naive"),
    ],
)
def test_a_start_date_that_is_not_strict_iso_8601_stops_the_run(emulator, tap_cli, value, says):
    server = emulator(tickets=5, seed=61)
    line = _error_line(tap_cli(server, start_date=value))
    assert line.startswith(f"{ERROR}start_date {value!r} {says}")


@pytest.mark.parametrize(
    "value",
    ["2000-01-02", "2000-01-02T00:00:00Z", "2000-01-02T01:30:00.5+01:30"],
    ids=["date", "utc", "offset"],
)
def test_a_start_date_in_iso_8601_bounds_the_first_sync(emulator, tap_cli, value):
    server = emulator(tickets=5, seed=62)
    done = tap_cli(server, start_date=value)
    assert done.returncode == 0, done.describe()
    assert done.state["bookmarks"]["tickets"]["replication_key_value"]
    assert len(done.records("tickets")) == len(server.portal.snapshot())


# HubSpot's clock two hours ahead of, or behind, this machine's.
@pytest.mark.parametrize(
    ("offset_s", "start_in_s", "refused"),
    [
        pytest.param(-2 * HOUR_S, -HOUR_S, True, id="past-here-future-at-hubspot"),
        pytest.param(2 * HOUR_S, HOUR_S, False, id="future-here-past-at-hubspot"),
        pytest.param(0, 60, True, id="a-minute-ahead"),
    ],
)
def test_a_start_date_in_the_future_by_hubspots_clock_stops_the_run(
    emulator, tap_cli, offset_s, start_in_s, refused
):
    server = emulator(tickets=5, seed=63, clock_offset_s=offset_s)
    start = to_iso(datetime.now(UTC) + timedelta(seconds=start_in_s))
    done = tap_cli(server, start_date=start)
    if not refused:
        assert done.returncode == 0, done.describe()
        assert "future" not in done.stderr
        return
    line = _error_line(done)
    assert f"start_date {start} is in the future (HubSpot's clock says " in line
    assert "give a date in the past" in line


def test_a_machine_clock_ahead_of_hubspot_never_bookmarks_past_hubspots_now(emulator, tap_cli):
    # This machine runs ten minutes ahead of HubSpot; no search-lag margin hides it.
    server = emulator(tickets=20, seed=64, clock_offset_s=-600)
    first = tap_cli(server, search_lag_margin_seconds=0)
    assert first.returncode == 0, first.describe()
    bookmark = parse_instant(first.state["bookmarks"]["tickets"]["replication_key_value"])
    assert bookmark <= parse_instant(to_iso(datetime.fromtimestamp(server.clock.now(), UTC)))

    # A change HubSpot stamps after that run, by its own clock, is read by the next one...
    changed = sorted(t["id"] for t in server.portal.snapshot() if not t["archived"])[0]
    server.portal.update_ticket(
        changed, {"properties": {"subject": "after the run"}}, id_property=None, api_version="v3"
    )
    # A run reads up to HubSpot's now less the uncertainty of its estimate of that clock
    # (whole seconds in `Date`, half a round trip): wait that out, so the change is in its window.
    time.sleep(2 * SERVER_CLOCK_UNCERTAINTY_MS / 1000)
    second = tap_cli(server, state=first.state, search_lag_margin_seconds=0)
    assert second.returncode == 0, second.describe()
    read = {r["id"]: r for r in second.records("tickets")}
    assert changed in read, "a change made after the first run was skipped by its bookmark"
    assert read[changed]["subject"] == "after the run"
    # ... and its bookmark, too, stays at or before HubSpot's now.
    after = parse_instant(second.state["bookmarks"]["tickets"]["replication_key_value"])
    assert after <= parse_instant(to_iso(datetime.fromtimestamp(server.clock.now(), UTC)))


@pytest.mark.parametrize("path", ["config-set", "env-var"])
def test_meltano_hands_a_start_date_to_the_tap_as_written_and_it_is_refused(
    emulator, tap_meltano, tmp_path, path
):
    # Declared as `date_iso8601`, Meltano rewrote 01/02/2024 to 2024-01-02 before the tap saw it.
    server = emulator(tickets=5, seed=65)
    env = {**tap_meltano.database(tmp_path), "TAP_HUBSPOT_TICKETS_API_URL": server.url}
    if path == "config-set":
        done = tap_meltano.run(
            env, "config", "set", "--store=db", "tap-hubspot-tickets", "start_date", "01/02/2024"
        )
        assert done.returncode == 0, done.tail()
    else:
        env["TAP_HUBSPOT_TICKETS_START_DATE"] = "01/02/2024"
    # Meltano discovers first, and quotes the tap's stderr in a box of its own: wide enough
    # that the tap's line stays one line.
    done = tap_meltano.run({**env, "COLUMNS": "400"}, "invoke", "tap-hubspot-tickets")
    assert done.returncode != 0, done.tail()
    # Meltano's own traceback box may frame it, but no frame of the tap's code shows.
    assert "tap_hubspot_tickets/" not in done.output, done.tail()
    assert "hubspot_api/" not in done.output, done.tail()
    # One line, which Meltano may show twice (as the tap's stderr, and in its own error, where
    # it quotes the tap's structured log record).
    errors = {_error_of(ln) for ln in done.output.splitlines() if ERROR in ln}
    assert len(errors) == 1, done.tail()
    (error,) = errors
    assert error.startswith(f"{ERROR}start_date '01/02/2024' is not an ISO 8601 date or date-time")


def test_a_state_bookmark_past_hubspots_clock_is_named(emulator, tap_cli):
    server = emulator(tickets=5, seed=66)
    first = tap_cli(server)
    assert first.returncode == 0, first.describe()
    # As a run on a machine an hour ahead of HubSpot would have left it.
    ahead = to_iso(datetime.now(UTC) + timedelta(hours=1))
    state = first.state
    state["bookmarks"]["tickets"]["replication_key_value"] = ahead
    second = tap_cli(server, state=state)
    assert second.returncode == 0, second.describe()
    (warning,) = [w for w in second.warnings if "past HubSpot's clock" in w]
    assert warning.startswith(
        f"the state's tickets replication_key_value {ahead} lies past HubSpot's clock"
    )


def _error_of(line: str) -> str:
    """Return the tap's error line within a line of Meltano's output, plain or a JSON record."""
    text = line.strip().strip("│").strip()
    if text.startswith("{"):
        with contextlib.suppress(ValueError, KeyError, TypeError):
            text = json.loads(text)["message"]
    return text[text.index(ERROR) :]
