"""The target's command line on bad and unusual input (issue #9: A, C, D, K).

A data engineer pipes a file into `target-hubspot-tickets`. When a line cannot be read the run
must stop with one line saying what and where, after writing and checkpointing everything
before it; odd but harmless input (a byte-order mark, blank lines, creates in a stream keyed
by `id`) must simply work.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

SUPPORT_PIPELINE = "0"
NEW_STAGE = "1034562871"  # "New" in the emulator's default pipeline

pytestmark = pytest.mark.journeys


def _tickets(server: Any) -> dict[str, dict[str, Any]]:
    return {t["id"]: t for t in server.portal.snapshot()}


def _live_ids(server: Any) -> list[str]:
    return sorted(i for i, t in _tickets(server).items() if not t.get("archived"))


def _subject_counts(server: Any) -> Counter[str]:
    return Counter(t["properties"].get("subject") for t in server.portal.snapshot())


# -- C: a line that cannot be read ends the run, after everything before it ---------------------
# Line 6 of the input is the bad one (see `_with_bad_line`).
BAD_LINE = 6
FATAL_LINES = [
    pytest.param(
        '{"type": "RECORD", "stream": "tickets", "record": {"id": "1", "subject": ',
        ("json",),
        id="malformed-json",
    ),
    pytest.param(
        '{"type": "RECORD", "stream": "contacts", "record": {"subject": "x"}}',
        ("schema",),
        id="record-before-its-schema",
    ),
    # Cut inside a string: the decoder's own message ends in "at", said once.
    pytest.param(
        '{"type": "RECORD", "stream": "tickets", "record": {"subject": "cut he',
        (f"line {BAD_LINE}: not valid JSON (Invalid control character at character 70)",),
        id="cut-inside-a-string",
    ),
    pytest.param("[1, 2, 3]", (), id="json-array"),
    pytest.param("42", (), id="json-number"),
    pytest.param(
        '{"type": "RECORD", "stream": "tickets"}', ("record",), id="record-without-record"
    ),
    pytest.param(
        '{"type": "RECORDS", "stream": "tickets", "record": {"subject": "x"}}',
        ("RECORDS",),
        id="unknown-message-type",
    ),
]


def _with_bad_line(singer: Any, ids: list[str], bad: str, tag: str) -> list[str]:
    lines = [
        singer.schema(),
        singer.record({"id": ids[0], "subject": f"{tag} update 0"}),
        singer.record({"id": ids[1], "subject": f"{tag} update 1"}),
        singer.record({"subject": f"{tag} create", "hs_pipeline_stage": NEW_STAGE}),
        singer.state({"checkpoint": 1}),
        bad,
        singer.record({"id": ids[2], "subject": f"{tag} after the bad line"}),
        singer.state({"checkpoint": 2}),
    ]
    assert lines[BAD_LINE - 1] == bad
    return lines


@pytest.mark.parametrize(("bad", "needles"), FATAL_LINES)
def test_unreadable_line_ends_in_one_line_after_writing_and_checkpointing_the_rest(
    emulator: Any, singer_input: Any, target_cli: Any, bad: str, needles: tuple[str, ...]
) -> None:
    server = emulator(tickets=20, seed=21)
    ids = _live_ids(server)
    run = target_cli(server, _with_bad_line(singer_input(server), ids, bad, "fatal"))

    line = run.assert_one_line_error(*needles)
    # The line number, or (for a record of a stream with no schema) the stream, says where.
    if "schema" in needles:
        assert f"line {BAD_LINE}" in line or "'contacts'" in line or '"contacts"' in line, line
    else:
        assert f"line {BAD_LINE}" in line, line
    tickets = _tickets(server)
    assert tickets[ids[0]]["properties"]["subject"] == "fatal update 0", run.describe()
    assert tickets[ids[1]]["properties"]["subject"] == "fatal update 1", run.describe()
    assert _subject_counts(server)["fatal create"] == 1, run.describe()
    states = run.states
    assert states, f"the state before the bad line was not emitted; {run.describe()}"
    assert states[-1] == {"checkpoint": 1}, states
    assert {"checkpoint": 2} not in states, "a state after the bad line was emitted"


# -- C: values the SDK cannot parse are per-record rejects ---------------------------------------
UNPARSABLE = [
    pytest.param("sla_due_date", "0000-01-01", id="date-year-zero"),
    pytest.param("sla_due_date", "2024-05-01T10:00:00Z", id="date-time-for-a-date"),
    pytest.param("last_customer_reply_at", "9999-12-31T23:59:60Z", id="date-time-leap-second-9999"),
    pytest.param("last_customer_reply_at", "0000-01-01T00:00:00Z", id="date-time-year-zero"),
    pytest.param("last_customer_reply_at", 1_700_000_000, id="date-time-a-number"),
    pytest.param("last_customer_reply_at", True, id="date-time-a-boolean"),
    pytest.param("last_customer_reply_at", {"at": "2024-01-01"}, id="date-time-an-object"),
]


@pytest.mark.parametrize(("column", "value"), UNPARSABLE)
def test_unparsable_date_is_a_reject_and_the_run_goes_on(
    emulator: Any, singer_input: Any, target_cli: Any, column: str, value: Any
) -> None:
    server = emulator(tickets=20, seed=22)
    ids = _live_ids(server)
    before = _tickets(server)[ids[0]]["properties"]
    singer = singer_input(server)
    lines = [
        singer.schema(),
        singer.record({"id": ids[0], "subject": "odd date", column: value}),
        singer.record({"id": ids[1], "subject": "after the odd date"}),
        singer.state({"checkpoint": 1}),
    ]
    run = target_cli(server, lines)

    summary = run.assert_clean_success()
    assert summary["rejected"] == 1, summary
    (reject,) = run.rejects
    assert reject["record"]["id"] == ids[0]
    assert column in reject["reason"], reject["reason"]
    tickets = _tickets(server)
    assert tickets[ids[0]]["properties"].get(column) == before.get(column)
    assert tickets[ids[0]]["properties"]["subject"] == before["subject"]
    assert tickets[ids[1]]["properties"]["subject"] == "after the odd date"
    assert run.states[-1] == {"checkpoint": 1}


# -- C: configuration problems -------------------------------------------------------------------
CONFIG_PROBLEMS = [
    pytest.param("missing", ("missing-config.json",), id="missing-file"),
    pytest.param("not-json", ("json",), id="not-json"),
    pytest.param("wrong-type", ("max_rejects",), id="wrong-setting-type"),
]


@pytest.mark.parametrize(("problem", "needles"), CONFIG_PROBLEMS)
def test_config_problem_ends_in_one_line(
    emulator: Any, singer_input: Any, target_cli: Any, problem: str, needles: tuple[str, ...]
) -> None:
    server = emulator(tickets=5, seed=23)
    path, config = target_cli.config_file(server)
    if problem == "missing":
        path = path.with_name("missing-config.json")
    elif problem == "not-json":
        path.write_text('{"api_url": "http://127.0.0.1:1", access_token: ', encoding="utf-8")
    else:
        path.write_text(json.dumps({**config, "max_rejects": "many"}), encoding="utf-8")
    singer = singer_input(server)
    run = target_cli.run_with(path, config, [singer.schema(), singer.state({"n": 1})])

    run.assert_one_line_error(*needles)


# Meltano writes a decimal setting's value as `30.0`, and singer-sdk reads it as a Decimal.
@pytest.mark.parametrize("wait", [30.0, 2.5, 0], ids=["as-meltano-writes-it", "fraction", "zero"])
def test_decimal_setting_as_meltano_writes_it_is_read(
    emulator: Any, singer_input: Any, target_cli: Any, wait: float
) -> None:
    server = emulator(tickets=5, seed=23)
    ticket = _live_ids(server)[0]
    singer = singer_input(server)
    lines = [singer.schema(), singer.record({"id": ticket, "subject": "decimal settings"})]
    run = target_cli(server, lines, unknown_outcome_wait_s=wait, request_timeout=60.0)

    summary = run.assert_clean_success()
    assert summary["updated"] == 1, summary


def test_negative_wait_ends_in_one_line(emulator: Any, singer_input: Any, target_cli: Any) -> None:
    server = emulator(tickets=5, seed=23)
    singer = singer_input(server)
    run = target_cli(server, [singer.schema()], unknown_outcome_wait_s=-1.5)

    run.assert_one_line_error("unknown_outcome_wait_s", "-1.5")


# -- D: a byte-order mark and blank lines are not errors -----------------------------------------
@pytest.mark.parametrize("shape", ["bom", "blank-lines", "bom-and-blank-lines"])
def test_bom_and_blank_lines_are_read_as_nothing(
    emulator: Any, singer_input: Any, target_cli: Any, shape: str
) -> None:
    server = emulator(tickets=20, seed=24)
    ids = _live_ids(server)
    singer = singer_input(server)
    lines = [
        singer.schema(),
        singer.record({"id": ids[0], "subject": "read 0"}),
        singer.record({"id": ids[1], "subject": "read 1"}),
        singer.state({"checkpoint": 1}),
    ]
    if "blank" in shape:
        lines = [lines[0], "", lines[1], "   ", "\t", lines[2], "", lines[3], ""]
    data = singer.text(lines)
    if "bom" in shape:
        data = b"\xef\xbb\xbf" + data
    run = target_cli(server, data)

    summary = run.assert_clean_success()
    assert (summary["received"], summary["updated"], summary["rejected"]) == (2, 2, 0), summary
    tickets = _tickets(server)
    assert [tickets[i]["properties"]["subject"] for i in ids[:2]] == ["read 0", "read 1"]
    assert run.states[-1] == {"checkpoint": 1}


# -- A: creates in a stream keyed by id ----------------------------------------------------------
def test_record_without_id_in_a_stream_keyed_by_id_is_a_create(
    emulator: Any, singer_input: Any, target_cli: Any
) -> None:
    server = emulator(tickets=20, seed=25)
    ids = _live_ids(server)
    singer = singer_input(server)
    lines = [
        singer.schema(key_properties=["id"]),
        singer.record({"subject": "keyed: no id", "hs_pipeline_stage": NEW_STAGE}),
        singer.record({"id": None, "subject": "keyed: null id", "hs_pipeline_stage": NEW_STAGE}),
        singer.record({"id": ids[0], "subject": "keyed: an update"}),
        singer.state({"checkpoint": 1}),
    ]
    run = target_cli(server, lines)

    assert "MissingKeyProperties" not in run.stderr, run.describe()
    summary = run.assert_clean_success()
    assert (summary["created"], summary["updated"], summary["rejected"]) == (2, 1, 0), summary
    counts = _subject_counts(server)
    assert counts["keyed: no id"] == counts["keyed: null id"] == 1
    assert _tickets(server)[ids[0]]["properties"]["subject"] == "keyed: an update"


# -- B (target side): an id and nothing to write is "unchanged", with a warning -----------------
def test_id_with_nothing_to_write_counts_as_unchanged_with_a_warning(
    emulator: Any, singer_input: Any, target_cli: Any
) -> None:
    server = emulator(tickets=20, seed=26)
    ids = _live_ids(server)
    before = _tickets(server)[ids[0]]
    singer = singer_input(server)
    lines = [
        singer.schema(),
        singer.record({"id": ids[0]}),
        singer.record({"id": ids[1], "subject": "really updated"}),
    ]
    run = target_cli(server, lines)

    summary = run.assert_clean_success()
    assert summary.get("unchanged") == 1, summary
    assert summary["updated"] == 1, summary
    assert _tickets(server)[ids[0]]["updatedAt"] == before["updatedAt"]
    warnings = [
        line for line in run.stderr.splitlines() if "warn" in line.lower() and ids[0] in line
    ]
    assert warnings, f"no warning names the record with nothing to write; {run.describe()}"


# -- K: a wrong token ends in one line naming the 401, and the token appears nowhere -------------
def test_wrong_token_ends_in_one_line_without_the_token(
    emulator: Any, singer_input: Any, target_cli: Any
) -> None:
    server = emulator(tickets=5, seed=27)
    token = "pat-na1-0badc0de-1234-5678-9abc-def012345678"  # a wrong one on purpose
    singer = singer_input(server)
    lines = [singer.schema(), singer.record({"id": "1", "subject": "x"}), singer.state({"n": 1})]
    run = target_cli(server, lines, access_token=token)

    run.assert_one_line_error("401")
    assert token not in run.stderr
    assert token.encode() not in run.stdout
    for name in ("rejects_path", "summary_path"):
        path = Path(run.config[name])
        assert not path.exists() or token not in path.read_text(encoding="utf-8"), name
