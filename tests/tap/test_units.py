"""Pure parts of the tap: window planning, checkpoints, record shaping, read-ahead."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from hubspot_api.associations import AssociationLink
from hubspot_api.errors import ConfigError
from hubspot_api.frontier import Frontier
from hubspot_api.instants import epoch_ms, parse_instant, to_iso
from hubspot_api.paging import keyset_search_body
from hubspot_api.properties import PropertyDefinition
from tap_hubspot_tickets.pipelining import ReadAhead
from tap_hubspot_tickets.report import check_full_walk, full_walk_part
from tap_hubspot_tickets.runtime import TapOptions
from tap_hubspot_tickets.schemas import (
    HISTORY_KEY,
    TicketRecordBuilder,
    association_records,
    history_records,
    stage_records,
    ticket_schema,
)
from tap_hubspot_tickets.source import fits_in_query
from tap_hubspot_tickets.windows import SearchWindow, TicketsCheckpoint, plan_window

T0 = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


# -- windows --------------------------------------------------------------------------------------
def test_plan_window_reads_to_now_and_settles_a_margin_before() -> None:
    window = plan_window(T0, T0 + timedelta(minutes=10), timedelta(minutes=5))
    assert window == SearchWindow(T0, T0 + timedelta(minutes=10), 0, T0 + timedelta(minutes=5))
    assert window.bookmark_after == T0 + timedelta(minutes=5)


@pytest.mark.parametrize(
    "now_offset",
    [timedelta(minutes=4), timedelta(seconds=1)],
    ids=["margin-past-lower", "just-after-lower"],
)
def test_plan_window_never_moves_the_bookmark_back(now_offset: timedelta) -> None:
    window = plan_window(T0, T0 + now_offset, timedelta(minutes=5))
    assert window is not None
    assert window.upper == T0 + now_offset
    assert window.bookmark_after == T0


@pytest.mark.parametrize(
    "now_offset", [timedelta(0), -timedelta(minutes=1)], ids=["now-is-lower", "now-before-lower"]
)
def test_plan_window_is_none_when_empty(now_offset: timedelta) -> None:
    assert plan_window(T0, T0 + now_offset, timedelta(minutes=5)) is None


def test_a_window_saved_without_its_settled_bound_settles_at_its_upper() -> None:
    window = SearchWindow(T0, T0 + timedelta(minutes=1), 5, T0 + timedelta(seconds=30))
    assert SearchWindow.from_state(window.to_state()) == window
    older = {"lower": to_iso(T0), "upper": to_iso(T0 + timedelta(minutes=1)), "after_id": 5}
    assert SearchWindow.from_state(older).bookmark_after == T0 + timedelta(minutes=1)


def test_plan_window_truncates_to_milliseconds() -> None:
    now = T0 + timedelta(minutes=6, microseconds=123_456)
    window = plan_window(T0, now, timedelta(minutes=5))
    assert window is not None
    assert window.upper.microsecond == 123_000


def test_search_body_is_closed_window_in_id_order_from_offset_zero() -> None:
    window = SearchWindow(T0, T0 + timedelta(hours=1), after_id=41)
    body = keyset_search_body(window.filter_groups(), ["subject"], key=window.after_id)
    filters = body["filterGroups"][0]["filters"]
    assert filters == [
        {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(epoch_ms(T0))},
        {
            "propertyName": "hs_lastmodifieddate",
            "operator": "LTE",
            "value": str(epoch_ms(T0 + timedelta(hours=1))),
        },
        {"propertyName": "hs_object_id", "operator": "GT", "value": "41"},
    ]
    assert body["sorts"] == [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
    assert body["after"] == 0
    assert body["limit"] == 200
    assert body["properties"] == ["subject"]


def test_window_advances_only_forward() -> None:
    window = SearchWindow(T0, T0 + timedelta(hours=1), after_id=10)
    assert window.advanced(11).after_id == 11
    with pytest.raises(ValueError, match="did not advance"):
        window.advanced(10)


def test_window_state_round_trip() -> None:
    window = SearchWindow(T0, T0 + timedelta(seconds=1, milliseconds=5), after_id=7)
    assert SearchWindow.from_state(window.to_state()) == window


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-28T12:00:00Z", T0),
        ("2026-11-28T12:00:00.000Z", T0),
        ("2026-11-28T13:00:00+01:00", T0),
        ("2026-11-28T12:00:00", T0),
        (str(epoch_ms(T0)), T0),
    ],
    ids=["z", "z-millis", "offset", "naive", "epoch-ms"],
)
def test_parse_instant(text: str, expected: datetime) -> None:
    assert parse_instant(text) == expected


def test_to_iso_uses_milliseconds_and_z() -> None:
    assert to_iso(T0 + timedelta(microseconds=5_999)) == "2026-11-28T12:00:00.005Z"


def test_checkpoint_layout() -> None:
    state: dict[str, object] = {}
    checkpoint = TicketsCheckpoint(state)
    assert checkpoint.bookmark is None
    checkpoint.set_full_sync("abc", T0)
    assert checkpoint.full_sync == {"after": "abc", "started_at": to_iso(T0)}
    checkpoint.finish_full_sync(T0 - timedelta(minutes=5))
    assert "full_sync" not in state
    assert state["replication_key"] == "updated_at"
    assert checkpoint.bookmark == T0 - timedelta(minutes=5)
    window = SearchWindow(T0 - timedelta(minutes=5), T0, 99)
    checkpoint.set_window(window)
    assert checkpoint.window == window
    checkpoint.finish_window(window)
    assert checkpoint.window is None
    assert checkpoint.bookmark == T0
    checkpoint.set_archived_pass("x", T0)
    checkpoint.finish_archived_pass(T0)
    assert checkpoint.archived_pass is None
    assert checkpoint.archived_since == T0


@pytest.mark.parametrize(
    ("future", "gone", "kept"),
    [
        pytest.param(
            "replication_key_value",
            {"replication_key_value", "replication_key", "window"},
            {"archived_since", "full_sync", "archived_pass"},
            id="bookmark-takes-its-window",
        ),
        pytest.param("archived_since", {"archived_since"}, {"window"}, id="archived-since"),
        pytest.param("full_sync.started_at", {"full_sync"}, {"window"}, id="full-walk"),
        pytest.param("window.upper", {"window"}, {"replication_key_value"}, id="window-upper"),
        pytest.param("window.settled", {"window"}, {"archived_pass"}, id="window-settled"),
        pytest.param("archived_pass.started_at", {"archived_pass"}, {"window"}, id="archived"),
    ],
)
def test_a_checkpoint_forgets_each_instant_past_hubspots_now(
    future: str, gone: set[str], kept: set[str]
) -> None:
    past, ahead = to_iso(T0 - timedelta(hours=1)), to_iso(T0 + timedelta(milliseconds=1))
    state: dict[str, Any] = {
        "replication_key": "updated_at",
        "replication_key_value": past,
        "archived_since": past,
        "full_sync": {"after": "7", "started_at": past},
        "window": {"lower": past, "upper": past, "after_id": 9, "settled": past},
        "archived_pass": {"after": "5", "started_at": past},
    }
    section, _, key = future.partition(".")
    if key:
        state[section][key] = ahead
    else:
        state[section] = ahead
    assert TicketsCheckpoint(state).forget_future(T0) == [(future, ahead)]
    assert not gone & state.keys()
    assert kept <= state.keys()
    # Nothing past it, nothing forgotten.
    assert TicketsCheckpoint(state).forget_future(T0) == []


# -- options ------------------------------------------------------------------------------------
def test_options_defaults_and_dedupe() -> None:
    options = TapOptions.from_config({"history_properties": ["a", "b", "a"]})
    assert options.history_properties == ("a", "b")
    assert options.associations == ("contacts", "companies", "deals")
    assert options.search_lag_margin == timedelta(seconds=300)
    assert options.start_date is None


# -- records ------------------------------------------------------------------------------------
def _defn(name: str, type_: str, field_type: str = "text") -> PropertyDefinition:
    return PropertyDefinition(name=name, type=type_, field_type=field_type)


DEFINITIONS = [
    _defn("subject", "string"),
    _defn("num_notes", "number", "number"),
    _defn("hs_is_closed", "bool", "booleancheckbox"),
    _defn("sla_due_date", "date", "date"),
    _defn("closed_date", "datetime", "date"),
    _defn("hs_ticket_category", "enumeration", "checkbox"),
]


def test_ticket_schema_types_properties() -> None:
    schema = ticket_schema([*DEFINITIONS, _defn("archived", "string")])
    props = schema["properties"]
    assert props["num_notes"] == {"type": ["number", "null"]}
    assert props["hs_is_closed"] == {"type": ["boolean", "null"]}
    assert props["sla_due_date"]["format"] == "date"
    assert props["closed_date"]["format"] == "date-time"
    assert props["archived"]["type"] == ["boolean", "null"]  # the base column wins
    assert schema["required"] == ["id"]


def test_record_types_values_and_nulls_empty_strings() -> None:
    builder = TicketRecordBuilder(DEFINITIONS)
    record = builder.record(
        {
            "id": "17",
            "createdAt": "2026-01-01T00:00:00.000Z",
            "updatedAt": "2026-01-02T00:00:00.000Z",
            "archived": False,
            "properties": {
                "subject": "Printer",
                "num_notes": "2.50",
                "hs_is_closed": "",
                "sla_due_date": "2026-02-01",
                "closed_date": "1767225600000",
                "hs_ticket_category": "A;B",
            },
        }
    )
    assert record == {
        "id": "17",
        "created_at": "2026-01-01T00:00:00.000Z",
        "updated_at": "2026-01-02T00:00:00.000Z",
        "archived": False,
        "archived_at": None,
        "subject": "Printer",
        "num_notes": Decimal("2.50"),
        "hs_is_closed": None,
        "sla_due_date": "2026-02-01",
        "closed_date": "2026-01-01T00:00:00.000Z",
        "hs_ticket_category": "A;B",
    }


def test_history_records() -> None:
    ticket = {
        "id": "5",
        "propertiesWithHistory": {
            "subject": [
                {
                    "value": "b",
                    "timestamp": "2026-01-02T00:00:00.000Z",
                    "sourceType": "CRM_UI",
                    "sourceId": "userId:1",
                    "updatedByUserId": 9,
                },
                {"value": "a", "timestamp": "2026-01-01T00:00:00.000Z", "sourceType": "API"},
            ]
        },
    }
    rows = list(history_records(ticket))
    assert [r["value"] for r in rows] == ["b", "a"]
    assert rows[0]["updated_by_user_id"] == 9
    assert rows[1]["source_id"] is None
    assert {r["ticket_id"] for r in rows} == {"5"}


STAMP = "2026-01-02T00:00:00.000Z"


def _keys(*entries: dict[str, object]) -> list[tuple[object, ...]]:
    ticket = {"id": "5", "propertiesWithHistory": {"subject": list(entries)}}
    return [tuple(row[k] for k in HISTORY_KEY) for row in history_records(ticket)]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"value": "a", "sourceType": "API"}, {"value": "b", "sourceType": "API"}),
        ({"value": "a", "sourceType": "API"}, {"value": "a", "sourceType": "WORKFLOW"}),
        ({"value": "a", "sourceId": "1"}, {"value": "a", "sourceId": "2"}),
        ({"value": "a", "updatedByUserId": 1}, {"value": "a", "updatedByUserId": 2}),
        ({"value": "a", "sourceType": "API"}, {"value": "a", "sourceType": "API"}),
        ({"value": None}, {"value": ""}),
    ],
    ids=["value", "source-type", "source-id", "user", "identical", "null-and-empty"],
)
def test_history_key_tells_apart_changes_in_one_millisecond(
    first: dict[str, object], second: dict[str, object]
) -> None:
    keys = _keys({**first, "timestamp": STAMP}, {**second, "timestamp": STAMP})
    assert len(set(keys)) == 2
    assert all(None not in key for key in keys)


def test_history_key_is_the_same_on_every_run() -> None:
    old = {"value": "a", "timestamp": STAMP, "sourceType": "API", "sourceLabel": "Zapier"}
    new = {"value": "b", "timestamp": "2026-01-03T00:00:00.000Z", "sourceType": "CRM_UI"}
    before = _keys(old)
    # A later change is prepended and a source renamed: the old entry keeps its key.
    after = _keys(new, {**old, "sourceLabel": "Zapier (renamed)", "updatedByUserId": None})
    assert after[1] == before[0]
    assert _keys({**old, "updatedByUserId": "7"}) == _keys({**old, "updatedByUserId": 7})


def test_search_down_asks_below_the_lowest_taken_id_from_offset_zero() -> None:
    top = keyset_search_body([], ["hs_object_id"], descending=True)
    assert top["filterGroups"] == []
    assert top["sorts"] == [{"propertyName": "hs_object_id", "direction": "DESCENDING"}]
    below = keyset_search_body([], ["hs_object_id"], descending=True, key=500)
    assert below["filterGroups"][0]["filters"] == [
        {"propertyName": "hs_object_id", "operator": "LT", "value": "500"}
    ]
    assert (below["after"], below["limit"]) == (0, 200)


def test_association_records_one_row_per_link() -> None:
    links = [
        AssociationLink("5", "companies", "301", 339, "HUBSPOT_DEFINED", None),
        AssociationLink("5", "companies", "301", 26, "HUBSPOT_DEFINED", "Primary"),
    ]
    assert list(association_records(links)) == [
        {
            "ticket_id": "5",
            "to_object_type": "companies",
            "to_object_id": "301",
            "association_category": "HUBSPOT_DEFINED",
            "association_type_id": type_id,
            "label": label,
        }
        for type_id, label in ((339, None), (26, "Primary"))
    ]


def test_stage_records_carry_labels_and_state() -> None:
    pipeline = {
        "id": "0",
        "stages": [
            {
                "id": "1",
                "label": "New",
                "displayOrder": 0,
                "metadata": {"ticketState": "OPEN", "isClosed": "false"},
            }
        ],
    }
    (stage,) = stage_records(pipeline)
    assert stage["pipeline_id"] == "0"
    assert stage["ticket_state"] == "OPEN"
    assert stage["is_closed"] is False


def test_many_long_property_names_do_not_fit_in_a_query() -> None:
    names = [f"custom_{i:03d}_" + "x" * 49 for i in range(300)]
    assert all(len(name) == 60 for name in names)
    assert not fits_in_query(names)
    assert fits_in_query(names[:20])


# -- read-ahead ---------------------------------------------------------------------------------
def test_read_ahead_keeps_order() -> None:
    assert list(ReadAhead(iter(range(50)), depth=3)) == list(range(50))


def test_read_ahead_raises_producer_error_in_place() -> None:
    def items() -> Iterator[int]:
        yield 1
        raise RuntimeError("boom")

    ahead = iter(ReadAhead(items(), depth=2))
    assert next(ahead) == 1
    with pytest.raises(RuntimeError, match="boom"):
        next(ahead)


def test_read_ahead_stops_producer_when_consumer_leaves() -> None:
    closed = threading.Event()
    produced: list[int] = []

    def items() -> Iterator[int]:
        try:
            for i in range(10_000):
                produced.append(i)
                yield i
        finally:
            closed.set()

    ahead = ReadAhead(items(), depth=2)
    for item in ahead:
        if item == 3:
            break
    assert closed.wait(5)
    assert len(produced) <= 3 + 1 + 2 + 1  # consumed, the one in hand, the queue, one blocked


# -- the frontier of the two full-sync walks -------------------------------------------------------
def test_frontier_gives_every_id_to_exactly_one_walk() -> None:
    frontier = Frontier()
    ids = list(range(1, 1001))
    up, down = iter(range(0, 1000, 100)), iter(range(1000, 0, -200))
    taken: list[int] = []
    list_done = search_done = False
    while not (list_done and search_done):
        if not list_done:
            start = next(up)
            page = [i for i in ids[start : start + 100] if i > frontier.list_high]
            got, list_done = frontier.claim_from_bottom(page)
            taken += got
            list_done = list_done or start + 100 >= len(ids)
        if not search_done:
            top = next(down)
            page = [
                i
                for i in reversed(ids[:top])
                if frontier.search_low is None or i < frontier.search_low
            ][:200]
            got, search_done = frontier.claim_from_top(page)
            taken += got
    assert sorted(taken) == ids


def test_an_exhausted_search_ends_the_list_walk_with_every_match_taken_once() -> None:
    # A search filtered to the matches (every third id) reads its last page early; the list
    # keeps the same matches itself and stops at its next page.
    matches = set(range(3, 1001, 3))
    frontier = Frontier()
    got_list, _ = frontier.claim_from_bottom(list(range(1, 101)))
    from_search = [i for i in sorted(matches, reverse=True) if i > frontier.list_high]
    got_search, met = frontier.claim_from_top(from_search, last=True)
    assert not met
    assert frontier.search_exhausted
    assert frontier.claim_from_bottom(list(range(101, 201))) == ([], True)
    kept = {i for i in got_list if i in matches} | set(got_search)
    assert kept == matches


def test_frontier_refuses_a_list_out_of_id_order() -> None:
    with pytest.raises(ValueError, match="ascending"):
        Frontier().claim_from_bottom([3, 2])


@pytest.mark.parametrize(
    ("emitted", "hubspot", "changed", "closes"),
    [
        pytest.param(470, 470, 0, True, id="all-read"),
        pytest.param(480, 470, 0, True, id="read-twice-after-a-kill"),
        pytest.param(460, 470, 10, True, id="short-by-tickets-changed-since-it-began"),
        pytest.param(459, 470, 10, False, id="short-beyond-the-changed"),
        pytest.param(0, 470, 20, False, id="corrupt-positions"),
    ],
)
def test_a_full_walk_closes_only_when_its_shortfall_is_read_by_the_next_window(
    emitted: int, hubspot: int, changed: int, closes: bool
) -> None:
    started = {"started_at": "2026-12-06T11:55:59.363Z"}
    part = full_walk_part(started)
    part.emitted, part.hubspot = emitted, hubspot
    resumed = {**started, "after": "1850009894", "list_high": 10**12, "search_below": None}
    if closes:
        check_full_walk(part, lambda: changed, resumed)
        return
    with pytest.raises(ConfigError) as refused:
        check_full_walk(part, lambda: changed, resumed)
    line = str(refused.value)
    assert "\n" not in line
    assert 'full_sync looks corrupt (after "1850009894", list_high 1000000000000' in line
    assert f"HubSpot counts {hubspot:,}, and {hubspot - emitted - changed:,} of them" in line
    assert "--full-refresh" in line
