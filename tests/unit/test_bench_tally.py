"""The benchmarks' reading of a tap's stdout: records per stream, distinct ids, the last state."""

from __future__ import annotations

import json

from benchmarks.scenarios import SingerTally


def _feed(tally: SingerTally, *messages: object) -> SingerTally:
    for message in messages:
        tally.feed(message if isinstance(message, str) else json.dumps(message))
    return tally


def test_a_tally_counts_records_ids_archived_and_keeps_the_last_state():
    tally = _feed(
        SingerTally("tickets"),
        {"type": "SCHEMA", "stream": "tickets", "schema": {}},
        {"type": "RECORD", "stream": "tickets", "record": {"id": "1"}},
        {"type": "RECORD", "stream": "tickets", "record": {"id": "2", "archived": True}},
        {"type": "RECORD", "stream": "tickets", "record": {"id": "1"}},
        {"type": "RECORD", "stream": "ticket_pipelines", "record": {"id": "0"}},
        {"type": "STATE", "value": {"bookmarks": {"a": 1}}},
        {"type": "STATE", "value": {"bookmarks": {"a": 2}}},
        "not json at all",
    )
    assert (tally.records, tally.distinct) == (3, 2)
    assert tally.archived == {"2"}
    assert tally.per_stream == {"tickets": 3, "ticket_pipelines": 1}
    assert tally.state == {"bookmarks": {"a": 2}}
    assert tally.other_lines == 1


def test_a_trace_error_is_kept_for_the_report():
    tally = _feed(
        SingerTally("tickets"),
        {"type": "TRACE", "trace": {"error": {"message": "stopped before the daily limit"}}},
    )
    assert tally.errors == ["stopped before the daily limit"]
