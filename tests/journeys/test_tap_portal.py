"""A tap state belongs to one HubSpot portal: another portal's token refuses to resume it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hubspot_emulator.config import DEFAULT_TOKEN

pytestmark = pytest.mark.journeys

TAP = str(Path(sys.executable).parent / "tap-hubspot-tickets")


def _run_tap(server: Any, tmp_path: Path, state: dict[str, Any] | None, name: str):
    config = tmp_path / f"{name}-config.json"
    config.write_text(
        json.dumps(
            {
                "api_url": server.url,
                "access_token": DEFAULT_TOKEN,
                "associations": [],
                "requests_per_10_seconds": 10_000,
                "search_requests_per_second": 100,
            }
        )
    )
    args = [TAP, "--config", str(config)]
    if state is not None:
        path = tmp_path / f"{name}-state.json"
        path.write_text(json.dumps(state))
        args += ["--state", str(path)]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def _messages(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def _last_state(stdout: str) -> dict[str, Any]:
    states = [m["value"] for m in _messages(stdout) if m["type"] == "STATE"]
    assert states, "the tap emitted no state"
    return states[-1]


def test_a_state_from_another_portal_is_refused_before_any_read(emulator, tmp_path):
    first_portal = emulator(tickets=30, seed=81, portal_id=11_111_111)
    second_portal = emulator(tickets=30, seed=82, portal_id=22_222_222)
    first = _run_tap(first_portal, tmp_path, None, "first")
    assert first.returncode == 0, first.stderr[-2000:]
    state = _last_state(first.stdout)
    assert state["hubspot_portal_id"] == "11111111"

    other = _run_tap(second_portal, tmp_path, state, "other")

    assert other.returncode == 1
    assert "Traceback" not in other.stderr
    errors = [ln for ln in other.stderr.splitlines() if ln.startswith("tap-hubspot-tickets: error")]
    assert len(errors) == 1, other.stderr[-2000:]
    assert "portal 11111111" in errors[0]
    assert "portal 22222222" in errors[0]
    assert "--full-refresh" in errors[0]
    assert not [m for m in _messages(other.stdout) if m["type"] == "RECORD"]
    # The same portal resumes its own state.
    again = _run_tap(first_portal, tmp_path, state, "again")
    assert again.returncode == 0, again.stderr[-2000:]
    assert _last_state(again.stdout)["hubspot_portal_id"] == "11111111"


def test_a_state_that_names_no_portal_is_adopted(emulator, tmp_path):
    server = emulator(tickets=20, seed=83, portal_id=33_333_333)
    first = _run_tap(server, tmp_path, None, "first")
    assert first.returncode == 0, first.stderr[-2000:]
    legacy = _last_state(first.stdout)
    legacy.pop("hubspot_portal_id")

    resumed = _run_tap(server, tmp_path, legacy, "legacy")

    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "taken to belong to portal 33333333" in resumed.stderr
    assert _last_state(resumed.stdout)["hubspot_portal_id"] == "33333333"


@pytest.mark.parametrize("start_date", [None, "2000-01-01T00:00:00Z"], ids=["full", "start-date"])
def test_a_first_sync_equals_the_portal_changes_of_the_last_minutes_included(
    emulator, tmp_path, start_date
):
    server = emulator(tickets=120, seed=84)
    # Changed just now: younger than the lag margin (300 s by default).
    recent = sorted(t["id"] for t in server.portal.snapshot() if not t["archived"])[:7]
    for ticket_id in recent:
        server.portal.update_ticket(
            ticket_id,
            {"properties": {"subject": "changed a moment ago"}},
            id_property=None,
            api_version="v3",
        )
    config = tmp_path / "config.json"
    settings: dict[str, Any] = {
        "api_url": server.url,
        "access_token": DEFAULT_TOKEN,
        "associations": [],
        "requests_per_10_seconds": 10_000,
        "search_requests_per_second": 100,
    }
    if start_date:
        settings["start_date"] = start_date
    config.write_text(json.dumps(settings))

    done = subprocess.run(
        [TAP, "--config", str(config)], capture_output=True, text=True, timeout=120, check=False
    )

    assert done.returncode == 0, done.stderr[-2000:]
    rows = {
        m["record"]["id"]: m["record"]
        for m in _messages(done.stdout)
        if m["type"] == "RECORD" and m["stream"] == "tickets"
    }
    portal = {t["id"]: t for t in server.portal.snapshot()}
    assert set(rows) == set(portal)
    assert {i for i, r in rows.items() if r["archived"]} == {
        i for i, t in portal.items() if t["archived"]
    }
    assert all(rows[i]["subject"] == "changed a moment ago" for i in recent)
    bookmark = _last_state(done.stdout)["bookmarks"]["tickets"]["replication_key_value"]
    assert bookmark < max(r["updated_at"] for r in rows.values())  # it stays a margin behind


@pytest.mark.parametrize(
    ("state", "says"),
    [
        (
            {"bookmarks": {"tickets": {"replication_key_value": "garbage"}}},
            "replication_key_value 'garbage' is not an instant",
        ),
        ({"bookmarks": {"tickets": {"full_sync": {"after": "abc"}}}}, "started_at is missing"),
        ({"bookmarks": {"tickets": "x"}}, "bookmarks.tickets is not an object"),
        ({"bookmarks": []}, "bookmarks is not an object"),
    ],
    ids=["bad-instant", "no-start", "stream-not-object", "bookmarks-not-object"],
)
def test_a_damaged_state_is_one_line_naming_the_entry(emulator, tmp_path, state, says):
    server = emulator(tickets=10, seed=85)

    done = _run_tap(server, tmp_path, state, "damaged")

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    (line,) = [ln for ln in done.stderr.splitlines() if ln.startswith("tap-hubspot-tickets: error")]
    assert says in line
    assert "--full-refresh" in line
    assert done.stdout == ""


@pytest.mark.parametrize("start_date", ["20241210", "1733788800"])
def test_a_start_date_of_digits_alone_is_refused(emulator, tmp_path, start_date):
    server = emulator(tickets=10, seed=86)
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"api_url": server.url, "access_token": DEFAULT_TOKEN, "start_date": start_date})
    )

    done = subprocess.run(
        [TAP, "--config", str(config)], capture_output=True, text=True, timeout=120, check=False
    )

    assert done.returncode == 1
    (line,) = [ln for ln in done.stderr.splitlines() if ln.startswith("tap-hubspot-tickets: error")]
    assert f"start_date {start_date!r} is not an ISO 8601 date or date-time" in line


def test_a_first_full_sync_emits_each_ticket_once(emulator, tmp_path):
    server = emulator(tickets=300, seed=9)
    # Changed just before the sync: inside the lag margin the next run reads again.
    recent = sorted(t["id"] for t in server.portal.snapshot() if not t["archived"])[:9]
    for ticket_id in recent:
        server.portal.update_ticket(
            ticket_id, {"properties": {"subject": "just now"}}, id_property=None, api_version="v3"
        )

    done = _run_tap(server, tmp_path, None, "once")

    assert done.returncode == 0, done.stderr[-2000:]
    ids = [
        m["record"]["id"]
        for m in _messages(done.stdout)
        if m["type"] == "RECORD" and m["stream"] == "tickets"
    ]
    assert len(ids) == len(set(ids)) == len(server.portal.snapshot())
