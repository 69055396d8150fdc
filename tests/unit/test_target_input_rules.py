"""The target's pure rules for what it reads: checkpoints, control flags, ids, storable values."""

from __future__ import annotations

import decimal
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from target_hubspot_tickets.checkpoints import Checkpoints
from target_hubspot_tickets.fields import check_storable, control_flag, id_text
from target_hubspot_tickets.input import InputError, TicketsReader, parse_line
from target_hubspot_tickets.rejects import to_json_value
from target_hubspot_tickets.schema_check import SchemaErrorCollector
from target_hubspot_tickets.source_ids import SEGMENT_LIMIT, SourceIds, source_id_for
from target_hubspot_tickets.writes import Operation, RecordInvalid, TicketWrite


def _tracker() -> tuple[Checkpoints, list[object]]:
    emitted: list[object] = []
    return Checkpoints(emitted.append), emitted


def test_a_state_waits_for_every_record_before_it():
    tracker, emitted = _tracker()
    tracker.state_after(0, {"s": 0})
    assert emitted == [{"s": 0}]
    tracker.state_after(100, {"s": 100})
    tracker.state_after(200, {"s": 200})
    tracker.settle(range(101, 201))  # the second batch settles first
    assert emitted == [{"s": 0}]
    tracker.settle(range(1, 101))
    assert emitted == [{"s": 0}, {"s": 200}]  # the latest ready state only, once
    tracker.settle(())
    assert emitted == [{"s": 0}, {"s": 200}]


def test_an_unchanged_state_is_not_repeated_and_states_are_copied():
    tracker, emitted = _tracker()
    value = {"bookmark": 1}
    tracker.state_after(0, value)
    value["bookmark"] = 2  # the caller's dict changes later; the state read does not
    tracker.state_after(0, {"bookmark": 1})
    assert emitted == [{"bookmark": 1}]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=60, unique=True),
    st.sets(st.integers(min_value=0, max_value=60)),
)
def test_an_emitted_state_never_covers_an_unsettled_record(order, state_positions):
    tracker, emitted = _tracker()
    for position in sorted(state_positions):
        tracker.state_after(position, position)
    settled: set[int] = set()
    for position in order:
        settled.add(position)
        tracker.settle((position,))
        for value in emitted:
            assert isinstance(value, int)
            assert all(p in settled for p in range(1, value + 1))


@pytest.mark.parametrize(
    ("value", "meant"),
    [
        (True, True),
        (False, False),
        (None, None),
        (1, True),
        (0, False),
        (decimal.Decimal("1"), True),
        ("true", True),
        (" TRUE ", True),
        ("False", False),
        ("1", True),
        ("0", False),
        ("yes", True),
        ("No", False),
        ("", None),
    ],
    ids=repr,
)
def test_control_flags_read_as_meant(value, meant):
    assert control_flag(value, "archived") is meant


@pytest.mark.parametrize("value", [2, -1, 0.5, "y", "archived", [], {}, "truee"], ids=repr)
def test_other_control_flags_are_refused_naming_the_field(value):
    with pytest.raises(RecordInvalid) as caught:
        control_flag(value, "archived")
    assert caught.value.field == "archived"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (123, "123"),
        ("  77 ", "77"),
        (1850000034.0, "1850000034"),
        (decimal.Decimal("1850000034.0"), "1850000034"),
        ("1850000034.0", "1850000034"),
        ("abc", "abc"),
        (None, None),
        ("", None),
    ],
    ids=repr,
)
def test_ids_are_read_as_the_integer_they_spell(value, text):
    assert id_text(value, "id") == text


@pytest.mark.parametrize(
    "value",
    [1.5, decimal.Decimal("1e30000000"), float("nan"), True, [1], "\ud800"],
    ids=repr,
)
def test_values_that_cannot_be_ids_are_refused(value):
    with pytest.raises(RecordInvalid):
        id_text(value, "id")


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("-inf"),
        decimal.Decimal("NaN"),
        "ok\ud83d",
        {"nested": ["\udfff"]},
        [1, float("inf")],
    ],
    ids=repr,
)
def test_values_hubspot_cannot_store_are_refused(value):
    with pytest.raises(RecordInvalid) as caught:
        check_storable(value, "content")
    assert caught.value.field == "content"


def test_rejects_are_strict_json_whatever_the_record_holds():
    record = {
        "nan": float("nan"),
        "huge": decimal.Decimal("1e30000000"),
        "broken": "a\ud800b",
        "fine": decimal.Decimal("1.5"),
        "whole": decimal.Decimal("12"),
    }
    text = json.dumps(to_json_value(record), allow_nan=False, ensure_ascii=False)
    text.encode("utf-8")  # no lone surrogate left
    back = json.loads(text)
    assert back == {
        "nan": "nan",
        "huge": "1E+30000000",
        "broken": "a\ufffdb",
        "fine": 1.5,
        "whole": 12,
    }


def _write(position: int, subject: str) -> TicketWrite:
    return TicketWrite(
        position=position,
        trace_id=f"t{position}",
        record={},
        operation=Operation.CREATE,
        properties={"subject": subject, "hs_pipeline_stage": "1"},
    )


def _segment_ids(feed: list[object]) -> dict[int, str | None]:
    """Feed writes and STATE values (dicts) through SourceIds; return each write's id."""
    ids = SourceIds("source")
    writes: list[TicketWrite] = []
    for item in feed:
        if isinstance(item, TicketWrite):
            ids.hold(item)
            writes.append(item)
        else:
            ids.state(item)
    ids.close_input()
    ready = ids.take_ready()
    assert [w.position for w in ready] == [w.position for w in writes]
    return {w.position: w.source_key for w in writes}


def test_source_ids_repeat_for_a_replay_from_a_handed_back_state():
    run = [_write(1, "a"), _write(2, "a"), {"s": 1}, _write(3, "a"), {"s": 2}, _write(4, "b")]
    first = _segment_ids(run)
    assert len(set(first.values())) == 4  # the same content twice is two tickets
    # Killed after handing back {"s": 1}: the re-run replays from the record after it.
    replay = _segment_ids([_write(3, "a"), {"s": 2}, _write(4, "b")])
    assert replay == {3: first[3], 4: first[4]}


def test_source_ids_differ_for_the_same_content_in_a_later_incremental_run():
    monday = _segment_ids([_write(1, "weekly check"), {"bookmark": "monday"}])
    tuesday = _segment_ids([_write(1, "weekly check"), {"bookmark": "tuesday"}])
    assert monday[1] != tuesday[1]


def test_a_long_segment_ends_early_at_the_same_record_in_a_replay():
    ids = SourceIds("source")
    for position in range(1, SEGMENT_LIMIT + 2):
        ids.hold(_write(position, "same"))
    ready = ids.take_ready()
    assert len(ready) == SEGMENT_LIMIT  # the rest waits for its STATE or the end of input
    assert len({w.source_key for w in ready}) == SEGMENT_LIMIT
    assert source_id_for({"a": "1"}, 1, "x") != source_id_for({"a": "1"}, 1, "y")


def test_long_integers_and_non_json_constants_parse_without_loss():
    value = parse_line('{"a": ' + "9" * 5000 + ', "b": 1e5000, "c": NaN, "d": 7}')
    assert isinstance(value["a"], decimal.Decimal)
    assert value["b"] == decimal.Decimal("1e5000")
    assert value["c"] != value["c"]
    assert value["d"] == 7


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("{oops", "not valid JSON"),
        ("[1, 2]", "a list is not a Singer message"),
        ("3", "a whole number is not a Singer message"),
        ('"RECORD"', "a string is not a Singer message"),
    ],
    ids=["malformed", "array", "number", "string"],
)
def test_lines_that_are_not_messages_are_named_by_number(line, says):
    reader = TicketsReader()
    reader.line_number = 7
    with pytest.raises(InputError) as caught:
        reader.deserialize_json(line)
    assert str(caught.value).startswith("line 7: ")
    assert says in str(caught.value)


TYPED_COLUMNS = {
    "when": {"type": ["string", "null"], "format": "date-time"},
    "day": {"type": ["string", "null"], "format": "date"},
    "at": {"type": ["string", "null"], "format": "time"},
    "hours": {"type": ["number", "null"]},
    "count": {"type": ["integer", "null"]},
    "flag": {"type": ["boolean", "null"]},
    "label": {"type": "string", "enum": ["a", "b"]},
}


def _schema_error(record: dict[str, object]) -> RecordInvalid | None:
    collector = SchemaErrorCollector({"type": "object", "properties": TYPED_COLUMNS})
    collector.validate(record)
    return collector.last_error


@pytest.mark.parametrize("column", sorted(TYPED_COLUMNS))
def test_an_empty_string_is_no_value_for_the_stream_schema_whatever_the_column_type(column):
    assert _schema_error({column: ""}) is None


@pytest.mark.parametrize(
    ("column", "value", "says"),
    [
        ("when", "2024-13-45", "field 'when': '2024-13-45' is not a valid date-time"),
        ("day", "2024-02-30", "field 'day': '2024-02-30' is not a 'date'"),
        ("hours", "two", "field 'hours': 'two' is not of type 'number', 'null'"),
        ("flag", "yes", "field 'flag': 'yes' is not of type 'boolean', 'null'"),
        ("when", " ", "field 'when': ' ' is not a valid date-time"),
    ],
    ids=["bad-date-time", "bad-date", "word-in-number", "word-in-boolean", "blank-is-not-empty"],
)
def test_a_value_the_stream_schema_refuses_still_rejects_beside_empty_cells(column, value, says):
    others = {name: "" for name in TYPED_COLUMNS if name != column}
    error = _schema_error({**others, column: value})
    assert error is not None
    assert (str(error.reason), error.field) == (f"{says} (stream schema)", column)
