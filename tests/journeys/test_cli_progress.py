"""Both command lines say how far they are while they work, on stderr, unless told to be quiet.

The emulator answers every call after a latency longer than the progress interval, so a line is
due at every page the tap waits for and every batch the target waits for: the tests count what
the lines say, never how long anything took.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

# The part of a log line after "time | level | logger | ".
TAP_PROGRESS = re.compile(
    r"^(?P<stream>\w+): (?P<count>[\d,]+)(?: of (?P<total>[\d,]+) read \((?P<pct>\d+)%\)| read)"
    r", [\d.,]+/s(?:, about \S+ (?:s|min|h) left)?$"
)
TAP_DONE = re.compile(r"^(?P<stream>\w+): (?P<count>[\d,]+) read in [\d.]+ s \([\d.,]+/s\)$")
TARGET_PROGRESS = re.compile(
    r"^tickets: (?P<settled>[\d,]+) of (?P<read>[\d,]+) read settled(?: \((?P<how>[^)]*)\))?"
    r", (?P<flight>\d+) batch(?:es)? in flight, [\d.,]+/s$"
)
TARGET_DONE = re.compile(
    r"^tickets: (?P<settled>[\d,]+) of (?P<read>[\d,]+) read settled in [\d.]+ s "
    r"\((?P<how>.*), [\d.,]+/s\)$"
)
LATENCY_MS = 50
INTERVAL_S = 0.03  # below the latency: every wait for HubSpot makes a line due


def _messages(stderr: str) -> list[str]:
    return [line.split(" | ", 3)[-1] for line in stderr.splitlines() if " | INFO " in line]


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def _metric_counts(stderr: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in _messages(stderr):
        if line.startswith("METRIC: "):
            point = json.loads(line.removeprefix("METRIC: "))
            if point["metric"] == "record_count":
                stream = point["tags"]["stream"]
                counts[stream] = counts.get(stream, 0) + point["value"]
    return counts


def _matches(pattern: re.Pattern[str], stderr: str) -> list[re.Match[str]]:
    return [m for line in _messages(stderr) if (m := pattern.match(line))]


@pytest.fixture(scope="module")
def slow_portal(module_emulator):
    return module_emulator(tickets=1_000, seed=4, latency_ms=LATENCY_MS)


@pytest.fixture(scope="module")
def quick_portal(module_emulator):
    return module_emulator(tickets=200, seed=4)


def test_tap_reports_each_stream_while_it_reads_and_when_it_ends(slow_portal, tap_cli):
    run = tap_cli(slow_portal, progress_interval_s=INTERVAL_S)

    assert run.returncode == 0, run.describe()
    emitted = {
        stream: len(run.records(stream))  # stdout holds Singer messages only (strict JSON)
        for stream in {m["stream"] for m in run.messages if m["type"] == "RECORD"}
    }
    done = {m["stream"]: _number(m["count"]) for m in _matches(TAP_DONE, run.stderr)}
    assert done == emitted
    live = sum(1 for t in slow_portal.portal.snapshot() if not t.get("archived"))
    lines = [m for m in _matches(TAP_PROGRESS, run.stderr) if m["stream"] == "tickets"]
    assert lines, run.describe()
    counts = [_number(m["count"]) for m in lines]
    assert counts == sorted(counts)
    assert counts[-1] <= emitted["tickets"]
    # HubSpot's count of the full walk, from the walk's own search pages.
    totals = {_number(m["total"]) for m in lines if m["total"]}
    assert totals == {live}
    assert all(0 <= int(m["pct"]) <= 100 for m in lines if m["pct"])
    # Singer-sdk's metric lines still count every record.
    assert _metric_counts(run.stderr) == emitted


def test_tap_logs_progress_by_default_and_nothing_with_zero(quick_portal, tap_cli):
    default = tap_cli(quick_portal)
    quiet = tap_cli(quick_portal, progress_interval_s=0)

    for run in (default, quiet):
        assert run.returncode == 0, run.describe()
        assert _metric_counts(run.stderr)["tickets"] == len(run.records("tickets"))
    done = {m["stream"]: _number(m["count"]) for m in _matches(TAP_DONE, default.stderr)}
    assert done["tickets"] == len(default.records("tickets"))
    assert _matches(TAP_DONE, quiet.stderr) == []
    assert _matches(TAP_PROGRESS, quiet.stderr) == []
    assert quiet.records("tickets")


def _input(server: Any, singer_input: Any, *, creates: int, bad: int) -> list[str]:
    builder = singer_input(server)
    lines = [builder.schema()]
    for n in range(creates):
        lines.append(builder.record({"subject": f"progress {n}", "hs_pipeline_stage": "New"}))
    for n in range(bad):
        lines.append(
            builder.record(
                {"subject": f"bad {n}", "hs_pipeline_stage": "New", "hs_ticket_priority": "NOW!"}
            )
        )
    lines.append(builder.state({"upto": creates + bad}))
    return lines


def test_target_reports_records_settled_of_read_and_batches_in_flight(
    module_emulator, singer_input, target_cli
):
    server = module_emulator(latency_ms=LATENCY_MS)
    lines = _input(server, singer_input, creates=300, bad=3)

    run = target_cli(server, lines, progress_interval_s=INTERVAL_S)

    summary = run.assert_clean_success()
    assert run.states == [{"upto": 303}]  # stdout: the state, nothing else
    assert summary["created"] == 300
    assert summary["rejected"] == 3
    progress = _matches(TARGET_PROGRESS, run.stderr)
    assert progress, run.describe()
    settled = [_number(m["settled"]) for m in progress]
    assert settled == sorted(settled)
    assert all(s <= _number(m["read"]) <= 303 for s, m in zip(settled, progress, strict=True))
    # A line is due when a batch settles, inside the batch.
    assert any(int(m["flight"]) >= 1 for m in progress), run.describe()
    (done,) = _matches(TARGET_DONE, run.stderr)
    assert (_number(done["settled"]), _number(done["read"])) == (303, 303)
    assert done["how"] == "300 created, 3 rejected"


def test_target_logs_progress_by_default_and_nothing_with_zero(
    module_emulator, singer_input, target_cli
):
    server = module_emulator()
    lines = _input(server, singer_input, creates=20, bad=1)
    default = target_cli(server, lines)
    quiet = target_cli(server, lines, progress_interval_s=0)

    for run in (default, quiet):
        assert run.assert_clean_success()["created"] == 20
    (done,) = _matches(TARGET_DONE, default.stderr)
    assert done["how"] == "20 created, 1 rejected"
    assert _matches(TARGET_DONE, quiet.stderr) == []
    assert _matches(TARGET_PROGRESS, quiet.stderr) == []


def test_a_negative_interval_stops_both_command_lines_in_one_line(
    quick_portal, singer_input, tap_cli, target_cli
):
    tap = tap_cli(quick_portal, progress_interval_s=-1)
    target = target_cli(
        quick_portal, _input(quick_portal, singer_input, creates=1, bad=0), progress_interval_s=-1
    )

    assert tap.returncode != 0
    assert "Traceback" not in tap.stderr
    assert tap.stderr.splitlines()[-1] == (
        "tap-hubspot-tickets: error: progress_interval_s must be a number of seconds from 0 "
        "(no progress lines) to 86,400, got -1"
    )
    assert tap.messages == []
    target.assert_one_line_error("progress_interval_s must be a number of seconds", "got -1")
