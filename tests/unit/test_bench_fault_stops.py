"""The stop rows of `make faults`: what a resumed run is fed, and how a stopped run is counted."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.fault_stops import (
    STATE_EVERY,
    TARGET_CUTS,
    Cut,
    _after,
    _tap_row,
    _target_input,
)
from benchmarks.faults import FAULTS
from benchmarks.scenarios import EVERY_STREAM


def _record(stream: str, record: dict[str, object]) -> str:
    return json.dumps({"type": "RECORD", "stream": stream, "record": record})


def test_a_resumed_target_gets_the_schema_and_every_record_after_the_state():
    lines, keys = _target_input(["7", "8"], creates=2 * STATE_EVERY, rejected=False)
    assert len(keys) == 2 * STATE_EVERY + 2
    resumed = _after(lines, {"records": STATE_EVERY})
    assert json.loads(resumed[0])["type"] == "SCHEMA"
    records = [json.loads(line)["record"] for line in resumed if '"RECORD"' in line]
    assert len(records) == STATE_EVERY + 2
    assert records[0]["subject"] == f"stop create {STATE_EVERY}"
    assert records[-1] == {"id": "8", "content": "stop update 8"}


def test_a_target_cut_before_any_state_is_fed_everything_again():
    lines, _ = _target_input([], creates=5, rejected=False)
    assert _after(lines, None) == lines


def test_records_hubspot_refuses_are_not_expected():
    _, keys = _target_input([], creates=20, rejected=True)
    assert "create 0" not in keys
    assert "create 10" not in keys
    assert len(keys) == 18


def test_a_tap_row_counts_what_neither_run_emitted_as_lost():
    whole = Cut(lines=[_record("tickets", {"id": "1"}), _record("tickets", {"id": "2"}),
                       _record("ticket_pipelines", {"id": "p"})])  # fmt: skip
    stopped = Cut(returncode=143, lines=[_record("tickets", {"id": "1"})])
    resumed = Cut(lines=[_record("tickets", {"id": "1"}), _record("tickets", {"id": "2"})])
    row = _tap_row("tickets", whole, stopped, resumed, served=3)
    assert (row["expected"], row["delivered"], row["lost"]) == (3, 2, 1)
    assert row["duplicated"] == 1  # ticket 1 came out of both runs
    assert row["outcome"] == "resumed: finished; stopped: exit 143, clean: "


def test_the_fault_table_in_the_docs_has_a_row_for_every_fault_make_faults_runs():
    # docs/faults.md holds `make faults QUICK=1`'s table: a fault added to the driver and not
    # run since would be missing from it.
    root = Path(__file__).resolve().parents[2]
    text = (root / "docs" / "faults.md").read_text(encoding="utf-8")
    shown = {
        line.split("|")[1].strip()
        for line in text.splitlines()
        if line.startswith("| ") and not line.startswith("| fault ")
    }
    expected = {fault.name for fault in FAULTS} | {cut.name for cut in TARGET_CUTS}
    expected |= {f"SIGTERM during {stream}" for stream in EVERY_STREAM}
    assert expected - shown == set(), "run `make faults QUICK=1` and paste its table"
