"""Every window, bookmark and "now" of the tap is HubSpot's, through the tap's command line.

The emulator's clock runs behind this machine's (`clock_offset_s`): the machine is ahead of
HubSpot by more than the search-lag margin. Changes HubSpot stamps after a run are read by the
next one, whatever the machine's clock says; and a bookmark past HubSpot's clock (a state
edited, or carried from a machine that ran ahead) is named in one warning and never skips a
change.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hubspot_api.clock import SERVER_CLOCK_UNCERTAINTY_MS
from hubspot_api.instants import parse_instant, to_iso

pytestmark = pytest.mark.journeys

MARGIN_S = 300  # the default search-lag margin
AHEAD_S = 600  # this machine's clock ahead of HubSpot's: over the margin


def _hubspot_now(server: Any) -> datetime:
    return datetime.fromtimestamp(server.clock.now(), UTC)


def _change(server: Any, updates: int, archives: int, label: str) -> tuple[set[str], set[str]]:
    """Update `updates` live tickets and archive `archives` others; return both sets of ids."""
    live = sorted((t["id"] for t in server.portal.snapshot() if not t["archived"]), key=int)
    # Spread over the id range: the first, middle and last pages of any walk.
    step = max(1, len(live) // (updates + archives))
    chosen = live[::step][: updates + archives]
    updated, archived = set(chosen[:updates]), set(chosen[updates:])
    for ticket_id in sorted(updated):
        body = {"properties": {"subject": f"{label} {ticket_id}"}}
        server.portal.update_ticket(ticket_id, body, id_property=None, api_version="v3")
    for ticket_id in sorted(archived):
        server.portal.archive_ticket(ticket_id)
    # A run reads up to HubSpot's now less the uncertainty of its estimate of that clock:
    # wait that out, so the changes are inside the next run's window.
    time.sleep(2 * SERVER_CLOCK_UNCERTAINTY_MS / 1000)
    return updated, archived


def _check_read(run: Any, server: Any, updated: set[str], archived: set[str]) -> None:
    """Fail unless the run emitted every change, as the emulator holds it now."""
    truth = {t["id"]: t for t in server.portal.snapshot()}
    read: dict[str, dict[str, Any]] = {}
    for record in run.records("tickets"):
        read[record["id"]] = record
    missed = sorted(updated - read.keys(), key=int)
    assert not missed, f"{len(missed)} of {len(updated)} updates never read: {missed[:5]}"
    for ticket_id in updated:
        assert read[ticket_id]["subject"] == truth[ticket_id]["properties"]["subject"]
    missed = sorted(i for i in archived if not (read.get(i) or {}).get("archived"))
    assert not missed, f"{len(missed)} of {len(archived)} archives never read: {missed[:5]}"


def test_a_machine_ahead_of_hubspot_reads_every_later_change(emulator, tap_cli):
    server = emulator(tickets=250, seed=181, clock_offset_s=-AHEAD_S)
    first = tap_cli(server, search_lag_margin_seconds=MARGIN_S)
    assert first.returncode == 0, first.describe()
    state = first.state
    # Two rounds of changes, each read by the run after it.
    for round_ in ("after one run", "after two runs"):
        updated, archived = _change(server, 40, 10, round_)
        run = tap_cli(server, state=state, search_lag_margin_seconds=MARGIN_S)
        assert run.returncode == 0, run.describe()
        _check_read(run, server, updated, archived)
        assert not [w for w in run.warnings if "past HubSpot's clock" in w], run.describe()
        tickets = run.state["bookmarks"]["tickets"]
        for key in ("replication_key_value", "archived_since"):
            assert parse_instant(tickets[key]) <= _hubspot_now(server), (key, tickets[key])
        state = run.state


# Entries of the tickets state a run on a machine ahead of HubSpot could have left in the
# future, and where each lives.
FUTURE_ENTRIES = {
    "replication_key_value": ("replication_key_value",),
    "archived_since": ("archived_since",),
}


@pytest.mark.parametrize("key", list(FUTURE_ENTRIES), ids=list(FUTURE_ENTRIES))
def test_a_bookmark_past_hubspots_clock_is_named_once_and_skips_nothing(emulator, tap_cli, key):
    server = emulator(tickets=120, seed=182)
    first = tap_cli(server, search_lag_margin_seconds=MARGIN_S)
    assert first.returncode == 0, first.describe()
    # As a run on a machine an hour ahead of HubSpot would have left it.
    ahead = to_iso(datetime.now(UTC) + timedelta(hours=1))
    state = first.state
    state["bookmarks"]["tickets"][key] = ahead
    updated, archived = _change(server, 8, 3, "after the edit")

    second = tap_cli(server, state=state, search_lag_margin_seconds=MARGIN_S)
    assert second.returncode == 0, second.describe()
    (warning,) = [w for w in second.warnings if ahead in w]
    assert f"tickets {key} {ahead} lies past HubSpot's clock" in warning, warning
    _check_read(second, server, updated, archived)
    tickets = second.state["bookmarks"]["tickets"]
    for name in ("replication_key_value", "archived_since"):
        assert parse_instant(tickets[name]) <= _hubspot_now(server), (name, tickets[name])

    # Clamped: the run after it reads the changes after it, and warns no more.
    updated, archived = _change(server, 5, 2, "after the clamp")
    third = tap_cli(server, state=second.state, search_lag_margin_seconds=MARGIN_S)
    assert third.returncode == 0, third.describe()
    assert not [w for w in third.warnings if "past HubSpot's clock" in w], third.describe()
    _check_read(third, server, updated, archived)
