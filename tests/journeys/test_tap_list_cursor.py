"""A tickets list that goes back, or a state that says it went further: one line, nothing lost.

The list walk of a first sync relies on the list answering ids in ascending order, page after
page. A paging cursor that repeats or cycles (the emulator's `list_cursor_fault`) hands back
pages already read; a state whose `full_sync.list_high` lies above every id claims pages never
read. Either stops the run with one line, keeps every ticket already emitted, and leaves no
STATE past what was read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from hubspot_api.instants import to_iso

pytestmark = pytest.mark.journeys

ERROR = "tap-hubspot-tickets: error: "


def _one_line(done: Any) -> str:
    assert done.returncode == 1, done.describe()
    assert "Traceback" not in done.stderr, done.describe()
    # One line for a handled error: not the SDK's "An unhandled error occurred" before it.
    assert "unhandled error" not in done.stderr, done.describe()
    (line,) = [ln for ln in done.stderr.splitlines() if ln.startswith(ERROR)]
    return line


@pytest.mark.parametrize("fault", ["repeat", "cycle"])
def test_a_list_cursor_that_goes_back_stops_the_run_in_one_line(emulator, tap_cli, fault):
    server = emulator(tickets=450, seed=201, list_cursor_fault=fault)
    # The list alone walks the portal, so the fault is met whatever the pace of search.
    done = tap_cli(server, full_sync_search_assist=False)
    line = _one_line(done)
    assert "ticket list" in line, line
    assert "cursor" in line, line
    emitted = [int(r["id"]) for r in done.records("tickets")]
    assert emitted, "nothing was emitted before the fault"
    assert len(emitted) == len(set(emitted)), "a page read twice was emitted twice"
    # The last STATE claims no ticket past those emitted, and every ticket emitted is live.
    full = done.state["bookmarks"]["tickets"]["full_sync"]
    live = sorted(int(t["id"]) for t in server.portal.snapshot() if not t["archived"])
    assert {i for i in live if i <= full["list_high"]} <= set(emitted)
    assert not full.get("list_done")


@pytest.mark.parametrize("fault", ["repeat", "cycle"])
def test_an_archived_list_cursor_that_goes_back_stops_the_run_in_one_line(emulator, tap_cli, fault):
    server = emulator(tickets=560, seed=203, list_cursor_fault=fault)
    live = sorted((t["id"] for t in server.portal.snapshot() if not t["archived"]), key=int)
    for ticket_id in live[150:]:  # two pages of live tickets left, four of archived ones
        server.portal.archive_ticket(ticket_id)
    done = tap_cli(server, full_sync_search_assist=False)
    line = _one_line(done)
    assert "archived ticket list" in line, line
    archived = [r["id"] for r in done.records("tickets") if r["archived"]]
    assert archived, "nothing was emitted before the fault"
    assert len(archived) == len(set(archived)), "a page read twice was emitted twice"
    tickets = done.state["bookmarks"]["tickets"]
    assert "archived_since" not in tickets, "the STATE says the archived pass was read"


@pytest.mark.parametrize("high", [10**12, 2**63], ids=["1e12", "2^63"])
def test_a_state_whose_list_high_is_above_every_id_is_named_corrupt(emulator, tap_cli, high):
    server = emulator(tickets=300, seed=202)
    state = {
        "bookmarks": {
            "tickets": {
                "full_sync": {
                    "after": None,
                    "started_at": to_iso(datetime.now(UTC)),
                    "list_high": high,
                    "search_below": None,
                    "list_done": False,
                    "search_done": False,
                }
            }
        }
    }
    done = tap_cli(server, state=state)
    line = _one_line(done)
    assert f"bookmarks.tickets.full_sync.list_high {high}" in line, line
    assert "corrupt" in line, line
    # Nothing past what was read: no STATE that closes the walk or moves the list on.
    for message in done.messages:
        if message["type"] == "STATE":
            tickets = message["value"]["bookmarks"]["tickets"]
            assert "replication_key_value" not in tickets, tickets
            assert tickets["full_sync"]["list_high"] == high
            assert not tickets["full_sync"].get("list_done")


def _full_sync_state(**positions: Any) -> dict[str, Any]:
    full = {"started_at": to_iso(datetime.now(UTC)), "list_done": False, "search_done": False}
    return {"bookmarks": {"tickets": {"full_sync": {**full, **positions}}}}


def _closes_nothing(done: Any) -> None:
    """Assert that no STATE of the run closes the walk: no bookmark is kept past it."""
    for message in done.messages:
        if message["type"] == "STATE":
            tickets = message["value"]["bookmarks"]["tickets"]
            assert "replication_key_value" not in tickets, tickets
            assert "full_sync" in tickets, tickets


@pytest.mark.parametrize(
    "positions",
    [
        pytest.param(
            {"after": "top+1", "list_high": 10**12, "search_below": None},
            id="cursor-past-every-id-list-high-1e12",
        ),
        pytest.param(
            {"after": "top+1", "list_high": "top", "search_below": None},
            id="cursor-and-list-high-at-the-top",
        ),
    ],
)
def test_a_full_walk_that_reads_less_than_hubspot_counts_never_closes(emulator, tap_cli, positions):
    server = emulator(tickets=300, seed=204)
    top = max(int(t["id"]) for t in server.portal.snapshot() if not t["archived"])
    named = {"top": top, "top+1": str(top + 1)}
    state = _full_sync_state(**{k: named.get(v, v) for k, v in positions.items()})
    done = tap_cli(server, state=state)
    line = _one_line(done)
    assert "bookmarks.tickets.full_sync" in line, line
    assert "corrupt" in line, line
    assert f"list_high {state['bookmarks']['tickets']['full_sync']['list_high']}" in line, line
    assert "--full-refresh" in line, line
    _closes_nothing(done)
    # Run again from what it left: still refused, never closed.
    again = tap_cli(server, state=done.state)
    assert "corrupt" in _one_line(again)
    _closes_nothing(again)


def test_a_state_whose_list_bound_crosses_the_search_bound_is_named_before_reading(
    emulator, tap_cli
):
    server = emulator(tickets=300, seed=205)
    live = sorted(int(t["id"]) for t in server.portal.snapshot() if not t["archived"])
    state = _full_sync_state(after=str(live[200] + 1), list_high=live[200], search_below=live[100])
    done = tap_cli(server, state=state)
    line = _one_line(done)
    assert f"full_sync.list_high {live[200]} is not below full_sync.search_below" in line, line
    assert "--full-refresh" in line, line
    assert not done.records("tickets")


def test_a_resumed_list_cursor_past_the_next_ticket_is_named_before_reading(emulator, tap_cli):
    server = emulator(tickets=300, seed=206)
    live = sorted(int(t["id"]) for t in server.portal.snapshot() if not t["archived"])
    # Search walked down to live[250] and is done: the list alone owns what lies between.
    state = _full_sync_state(
        after=str(live[-1] + 1), list_high=live[100], search_below=live[250], search_done=True
    )
    done = tap_cli(server, state=state)
    line = _one_line(done)
    assert f"bookmarks.tickets.full_sync.after '{live[-1] + 1}' is corrupt" in line, line
    assert f"past ticket {live[101]}" in line, line
    assert "--full-refresh" in line, line
    assert not done.records("tickets")
    _closes_nothing(done)
