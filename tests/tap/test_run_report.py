"""The run report: HubSpot's own counts beside what the run emitted, and warnings when short."""

from __future__ import annotations

import json
import logging

import pytest

from hubspot_api.errors import ConfigError


def _report(tmp_path, name: str = "report.json") -> dict:
    return json.loads((tmp_path / name).read_text(encoding="utf-8"))


def _parts(report: dict) -> dict[str, dict]:
    return {part["part"]: part for part in report["tickets"]}


def test_a_clean_first_run_and_the_next_agree_with_hubspot(emulator, run_tap, truth, tmp_path):
    server = emulator(tickets=500, seed=41)
    expected = truth(server)
    first = run_tap(server, run_report_path=str(tmp_path / "report.json"))
    report = _report(tmp_path)
    parts = _parts(report)
    assert parts["full walk"]["emitted"] == len(expected.ids(archived=False))
    assert parts["full walk"]["hubspot_count"] == len(expected.ids(archived=False))
    assert parts["archived"]["emitted"] == len(expected.ids(archived=True))
    # The associations of a first sync are read for the tickets its walk counted.
    assert "association ids" not in parts
    assert all(part["difference"] == 0 for part in report["tickets"])
    assert report["warnings"] == []
    uncounted = {row["stream"]: row for row in report["uncounted"]}
    assert uncounted["ticket_property_history"]["emitted"] == first.count("ticket_property_history")
    assert uncounted["ticket_associations"]["hubspot_count"] is None

    changed = sorted(expected.ids(archived=False), key=int)[:30]
    for ticket_id in changed:
        server.portal.update_ticket(
            ticket_id, {"properties": {"subject": "changed"}}, id_property=None, api_version="v3"
        )
    run_tap(
        server,
        state=first.state,
        run_report_path=str(tmp_path / "next.json"),
        search_lag_margin_seconds=0,
    )
    parts = _parts(_report(tmp_path, "next.json"))
    assert parts["window"]["emitted"] >= 30
    assert parts["window"]["difference"] == 0
    assert parts["association ids"]["emitted"] == len(expected.ids(archived=False))
    assert parts["association ids"]["difference"] == 0


def test_a_ticket_search_counts_but_never_returns_is_a_warning_naming_the_part(
    emulator, run_tap, truth, tmp_path, caplog
):
    server = emulator(tickets=500, seed=42)
    live = sorted(truth(server).ids(archived=False), key=int)
    hidden = live[-1]  # the top: the search walk's side
    server.portal.hide_from_search(hidden)
    first = run_tap(server, run_report_path=str(tmp_path / "report.json"))
    # The first sync's list walk reads what its search walk missed (test_tap_hidden_search.py);
    # a window is search alone, so a change search hides shows as a difference there.
    assert _parts(_report(tmp_path))["full walk"]["difference"] == 0
    server.portal.update_ticket(
        hidden, {"properties": {"subject": "changed"}}, id_property=None, api_version="v3"
    )
    with caplog.at_level(logging.WARNING):
        run_tap(server, state=first.state, run_report_path=str(tmp_path / "next.json"))
    report = _report(tmp_path, "next.json")
    window = _parts(report)["window"]
    assert window["hubspot_count"] - window["emitted"] == 1
    line = next(w for w in report["warnings"] if w.startswith("tickets, window"))
    assert "modified " in line
    assert f"HubSpot counts {window['hubspot_count']:,}" in line
    assert "(1 fewer)" in line
    assert line in caplog.text


def test_a_resumed_walk_counts_what_the_killed_run_emitted(emulator, run_tap, truth, tmp_path):
    server = emulator(tickets=400, seed=43)
    first = run_tap(server, kill_after=150)
    assert first.killed
    run_tap(server, state=first.state, run_report_path=str(tmp_path / "report.json"))
    walk = _parts(_report(tmp_path))["full walk"]
    assert walk["emitted"] >= len(truth(server).ids(archived=False))
    assert walk["difference"] >= 0  # a page emitted before the kill may be read again


def test_a_bounded_first_sync_is_counted_within_its_bound(emulator, run_tap, truth, tmp_path):
    server = emulator(tickets=500, seed=44)
    stamps = sorted(t["properties"]["hs_lastmodifieddate"] for t in truth(server).tickets)
    run_tap(server, start_date=stamps[250], run_report_path=str(tmp_path / "report.json"))
    walk = _parts(_report(tmp_path))["full walk"]
    assert "modified since" in walk["tickets"]
    assert walk["difference"] == 0
    assert 0 < walk["emitted"] < 500


def test_each_part_is_logged_once_and_the_file_holds_them_all(emulator, run_tap, tmp_path, caplog):
    server = emulator(tickets=200, seed=45)
    with caplog.at_level(logging.INFO):
        first = run_tap(server)
        run_tap(server, state=first.state, run_report_path=str(tmp_path / "report.json"))
    tables = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Run report:")]
    assert sum("full walk" in table for table in tables) == 1
    assert sum("association ids" in table for table in tables) == 1
    assert {part["part"] for part in _report(tmp_path)["tickets"]} >= {"window", "association ids"}


def test_a_report_path_that_is_a_directory_is_refused_before_any_read(emulator, run_tap, tmp_path):
    server = emulator(tickets=5, seed=46)
    with pytest.raises(ConfigError, match=r"run_report_path .* is a directory"):
        run_tap(server, run_report_path=str(tmp_path))
    assert server.stats()["requests"] == 0


@pytest.mark.parametrize("left", [250, 4], ids=["killed-in-the-walks", "killed-in-the-heal"])
def test_a_resumed_first_sync_reads_what_search_hides_once(emulator, run_tap, truth, left):
    server = emulator(tickets=700, seed=46)
    live = sorted(truth(server).ids(archived=False), key=int)
    hidden = live[len(live) // 2 :: 35][:10]  # spread over the search walk's half
    for ticket_id in hidden:
        server.portal.hide_from_search(ticket_id)
    first = run_tap(server, kill_after=len(live) - left)
    assert first.killed
    # What the killed run emitted before its last STATE, the resumed run must not emit again.
    covered: set[str] = set()
    for message in first.messages:
        if message["type"] == "STATE":
            checkpointed = set(covered)
        elif message["type"] == "RECORD" and message["stream"] == "tickets":
            covered.add(message["record"]["id"])
    second = run_tap(server, state=first.state)
    again = [r["id"] for r in second.records("tickets") if not r["archived"]]
    assert len(again) == len(set(again)), "the resumed run emitted a ticket twice"
    assert not checkpointed & set(again), sorted(checkpointed & set(again))[:5]
    assert set(live) <= covered | set(again), sorted(set(live) - covered - set(again))
