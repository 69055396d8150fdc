"""Settings a user copies never damage HubSpot data (issue #18, "Safe by default").

The input is what MeltanoLabs tap-csv sends for a CSV file: every column a string, every blank
cell `""`. Each test drives the target's command line against the emulator and reads the
emulator's own state.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

pytestmark = pytest.mark.journeys

STREAM = "tickets"
# HubSpot's group of a portal's own ticket properties.
TICKET_INFORMATION_GROUP = "ticketinformation"
# A portal property close to the stray column `favourite_color`.
FAVORITE_COLOR = {
    "name": "favorite_color",
    "label": "Favorite color",
    "type": "string",
    "fieldType": "text",
    "groupName": TICKET_INFORMATION_GROUP,
}
# The user's defaults: no opt-in to unkeyed creates, no tolerance for rejects.
DEFAULTS: dict[str, Any] = {"allow_unkeyed_creates": None, "max_rejects": None}


def csv_lines(
    columns: Sequence[str], rows: Sequence[Mapping[str, str]], *, state_every: int = 0
) -> list[str]:
    """Return the Singer lines tap-csv sends: string columns, "" for a blank cell."""
    schema = {
        "type": "SCHEMA",
        "stream": STREAM,
        "schema": {
            "type": "object",
            "properties": {c: {"type": ["string", "null"]} for c in columns},
        },
        "key_properties": [],
    }
    lines = [json.dumps(schema)]
    for number, row in enumerate(rows, start=1):
        record = {c: str(row.get(c, "")) for c in columns}
        lines.append(json.dumps({"type": "RECORD", "stream": STREAM, "record": record}))
        if state_every and number % state_every == 0:
            state = {"bookmarks": {"tickets.csv": {"row": number}}}
            lines.append(json.dumps({"type": "STATE", "value": state}))
    return lines


def _live(server: Any) -> list[dict[str, Any]]:
    return [t for t in server.portal.snapshot() if not t["archived"]]


def _ticket(server: Any, ticket_id: str) -> dict[str, Any]:
    return next(t for t in server.portal.snapshot() if t["id"] == ticket_id)


def _subjects(server: Any) -> Counter[str]:
    return Counter(t["properties"].get("subject") for t in _live(server))


def _with_priority(server: Any, count: int) -> list[dict[str, Any]]:
    tickets = [t for t in _live(server) if t["properties"].get("hs_ticket_priority")]
    assert len(tickets) >= count, "the seeded portal has too few tickets with a priority"
    return tickets[:count]


def _warnings(run: Any, needle: str) -> list[str]:
    return [line for line in run.stderr.splitlines() if needle in line]


NEW_ROWS = [
    {"subject": "Printer on fire", "hs_pipeline_stage": "New", "hs_ticket_priority": "HIGH"},
    {"subject": "Printer on fire", "hs_pipeline_stage": "New", "hs_ticket_priority": "HIGH"},
    {"subject": "VPN drops", "hs_pipeline_stage": "Waiting on us", "hs_ticket_priority": ""},
]
COLUMNS = ["id", "subject", "hs_pipeline_stage", "hs_ticket_priority", "content"]


# -- 1: the same file twice never makes a second ticket -----------------------------------------
def test_a_create_without_a_source_id_stops_the_run_before_it_and_hands_back_no_state_past_it(
    emulator, target_cli
):
    server = emulator(tickets=6, seed=18)
    first_ticket, last_ticket = _with_priority(server, 2)
    rows = [
        {"id": first_ticket["id"], "content": "updated from the sheet"},
        *NEW_ROWS,
        {"id": last_ticket["id"], "content": "after the creates"},
    ]
    lines = csv_lines(COLUMNS, rows, state_every=1)
    before = len(_live(server))

    for _ in range(2):  # the same file twice: never a ticket made
        run = target_cli(server, lines, **DEFAULTS)
        line = run.assert_one_line_error(
            # The 2nd record, on line 4: the schema, the update, its state, the first create.
            "tickets record #2 (line 4)",
            "no source_id_property is set",
            "set source_id_property to a unique ticket property",
            "create_source_id_property: true",
            "allow_unkeyed_creates: true",
            "1 record(s) before it processed and checkpointed",
        )
        assert line.count("error:") == 1
        # Only the state after the update goes back: the creates are read again next time.
        assert run.states == [{"bookmarks": {"tickets.csv": {"row": 1}}}], run.describe()
        assert run.summary is not None
        assert (run.summary["received"], run.summary["created"]) == (1, 0), run.summary
        assert not run.rejects
    assert len(_live(server)) == before
    assert _ticket(server, first_ticket["id"])["properties"]["content"] == "updated from the sheet"
    assert _ticket(server, last_ticket["id"])["properties"].get("content") != "after the creates"


@pytest.mark.parametrize("state_every", [0, 2], ids=["no-state", "state-lines"])
def test_the_same_file_twice_creates_each_ticket_once_with_the_property_it_creates(
    emulator, target_cli, state_every
):
    server = emulator(tickets=4, seed=19)
    assert "source_row_id" not in {p["name"] for p in server.portal.list_properties()["results"]}
    lines = csv_lines(COLUMNS, NEW_ROWS, state_every=state_every)
    settings = {**DEFAULTS, "source_id_property": "source_row_id"}

    first = target_cli(server, lines, create_source_id_property=True, **settings)
    server.clock.offset_s += 60  # a re-run comes later (an upsert of an older ticket is no create)
    second = target_cli(server, lines, create_source_id_property=True, **settings)
    server.clock.offset_s += 60
    third = target_cli(server, lines, **settings)  # the property exists now: no consent needed

    assert first.assert_clean_success()["created"] == 3
    assert len(_warnings(first, "Created ticket property 'source_row_id'")) == 1
    for run in (second, third):
        summary = run.assert_clean_success()
        assert (summary["created"], summary["upserted"]) == (0, 3), summary
        assert not _warnings(run, "Created ticket property")
    assert _subjects(server)["Printer on fire"] == 2  # two rows, two tickets, once each
    assert _subjects(server)["VPN drops"] == 1
    made = next(
        p for p in server.portal.list_properties()["results"] if p["name"] == "source_row_id"
    )
    assert (made["type"], made["fieldType"], made["hasUniqueValue"]) == ("string", "text", True)
    assert made["groupName"] == TICKET_INFORMATION_GROUP
    assert "source row" in made["description"]


def test_a_missing_source_id_property_without_consent_stops_in_one_line(emulator, target_cli):
    server = emulator(tickets=2, seed=20)

    run = target_cli(server, csv_lines(COLUMNS, NEW_ROWS), source_id_property="source_row_id")

    run.assert_one_line_error(
        "source_id_property: property 'source_row_id' does not exist",
        "create_source_id_property: true",
    )
    assert len(_live(server)) == 2


def test_a_dry_run_says_it_would_create_the_property_and_creates_nothing(
    emulator, target_cli, tmp_path
):
    server = emulator(tickets=2, seed=21)
    before = server.portal.list_properties()["results"]
    plan = tmp_path / "plan.jsonl"

    run = target_cli(
        server,
        csv_lines(COLUMNS, NEW_ROWS),
        source_id_property="source_row_id",
        create_source_id_property=True,
        dry_run=True,
        plan_path=str(plan),
    )

    summary = run.assert_clean_success()
    assert summary["created"] == 3
    line = _warnings(run, "Dry run: ticket property 'source_row_id' does not exist")
    assert len(line) == 1, run.describe()
    assert "the run would create it" in line[0]
    assert server.portal.list_properties()["results"] == before
    assert len(_live(server)) == 2
    actions = [json.loads(x)["action"] for x in plan.read_text().splitlines()]
    assert actions == ["create", "create", "create"]


# -- 2: a blank cell does not clear ---------------------------------------------------------------
def test_blank_cells_leave_hubspot_values_unless_clearing_is_asked_for(
    emulator, target_cli, tmp_path
):
    server = emulator(tickets=8, seed=22)
    kept, cleared, blank = _with_priority(server, 3)
    rows = [
        {"id": kept["id"], "hs_ticket_priority": "", "content": "new text"},
        {"id": cleared["id"], "hs_ticket_priority": "", "content": "new text"},
        {"id": blank["id"]},  # every other cell blank
    ]
    columns = ["id", "hs_ticket_priority", "content", "subject"]
    plan = tmp_path / "plan.jsonl"

    default = target_cli(server, csv_lines(columns, rows[:1] + rows[2:]), **DEFAULTS)
    dry = target_cli(
        server,
        csv_lines(columns, rows[1:2]),
        empty_string_values="clear",
        dry_run=True,
        plan_path=str(plan),
    )
    clearing = target_cli(server, csv_lines(columns, rows[1:2]), empty_string_values="clear")

    summary = default.assert_clean_success()
    assert (summary["updated"], summary["unchanged"]) == (1, 1), summary
    assert (
        _ticket(server, kept["id"])["properties"]["hs_ticket_priority"]
        == (kept["properties"]["hs_ticket_priority"])
    )
    unchanged = _warnings(default, f"id {blank['id']}) has an id and nothing to write")
    assert len(unchanged) == 1, default.describe()
    assert 'empty (null or "")' in unchanged[0]
    dry.assert_clean_success()
    (planned,) = [json.loads(x) for x in plan.read_text().splitlines()]
    assert planned["clears"] == ["hs_ticket_priority"]
    assert planned["changes"]["hs_ticket_priority"]["new"] == ""
    assert clearing.assert_clean_success()["updated"] == 1
    assert not _ticket(server, cleared["id"])["properties"].get("hs_ticket_priority")


# -- 3 and 4: a stray column, and every problem of a record --------------------------------------
def test_a_stray_column_is_named_once_and_rejects_only_rows_that_fill_it(emulator, target_cli):
    server = emulator(tickets=6, seed=23)
    server.portal.create_property(dict(FAVORITE_COLOR))
    first, second = _with_priority(server, 2)
    columns = [*COLUMNS, "favourite_color"]
    rows = [
        {**NEW_ROWS[0], "subject": "stray 1"},
        {**NEW_ROWS[2], "subject": "stray 2"},
        {"id": first["id"], "content": "fine"},
        {"id": second["id"], "content": "not fine", "favourite_color": "teal"},
    ]

    run = target_cli(server, csv_lines(columns, rows), source_id_property="external_ticket_id")

    summary = run.assert_clean_success()
    assert (summary["created"], summary["updated"], summary["rejected"]) == (2, 1, 1), summary
    named = _warnings(run, "rows where it holds a value are rejected")
    assert len(named) == 1, run.describe()
    assert named[0].endswith(
        "column 'favourite_color' is not a ticket property (did you mean 'favorite_color'?); "
        "rows where it holds a value are rejected, empty ones are written without it"
    )
    (reject,) = run.rejects
    assert reject["reason"] == (
        f"tickets record #4 (line 5, id {second['id']}): column 'favourite_color' is not a "
        "ticket property (did you mean 'favorite_color'?)"
    )
    assert _ticket(server, first["id"])["properties"]["content"] == "fine"
    assert _ticket(server, second["id"])["properties"].get("content") != "not fine"


def test_a_reject_lists_every_problem_of_its_record_with_the_closest_names(emulator, target_cli):
    server = emulator(tickets=2, seed=24)
    server.portal.create_property(dict(FAVORITE_COLOR))
    columns = [*COLUMNS, "favourite_color", "estimated_effort_hours", "hs_pipeline"]
    row = {
        "subject": "",
        "hs_pipeline": "Support Pipeline",
        "hs_pipeline_stage": "Clsoed",
        "hs_ticket_priority": "HGIH",
        "estimated_effort_hours": "two",
        "favourite_color": "teal",
    }

    run = target_cli(server, csv_lines(columns, [row]), source_id_property="external_ticket_id")

    run.assert_clean_success()
    (reject,) = run.rejects
    problems = reject["problems"]
    assert [p["field"] for p in problems] == [
        "favourite_color",
        "hs_pipeline_stage",
        "hs_ticket_priority",
        "estimated_effort_hours",
        "subject",
    ]
    assert reject["field"] == "favourite_color"
    assert reject["reason"] == "tickets record #1 (line 2): " + "; ".join(
        p["reason"] for p in problems
    )
    reasons = {p["field"]: p["reason"] for p in problems}
    assert reasons["hs_pipeline_stage"] == (
        "unknown stage 'Clsoed' in pipeline 'Support Pipeline' (did you mean 'Closed'?)"
    )
    assert reasons["hs_ticket_priority"].startswith(
        "'HGIH' is not an option of 'hs_ticket_priority' (did you mean 'HIGH'?)"
    )
    assert reasons["subject"] == "missing required field 'subject' for a new ticket"
    assert len(_live(server)) == 2


# -- a blank cell in a typed column is no value, never a reject ----------------------------------
def typed_lines(schema: Mapping[str, Any], rows: Sequence[Mapping[str, str]]) -> list[str]:
    """Return Singer lines typed as an upstream inferred them (tap-jsonl), every cell text."""
    message = {
        "type": "SCHEMA",
        "stream": STREAM,
        "schema": {"type": "object", "properties": dict(schema)},
        "key_properties": [],
    }
    records = [{"type": "RECORD", "stream": STREAM, "record": dict(row)} for row in rows]
    return [json.dumps(m) for m in (message, *records)]


# Types tap-jsonl infers for a CSV export; `_sdc_deleted_at` gets `format: date-time` from the SDK.
NULLABLE_TEXT = {"type": ["string", "null"]}
INFERRED = {
    "id": NULLABLE_TEXT,
    "subject": NULLABLE_TEXT,
    "archived": NULLABLE_TEXT,
    "_sdc_deleted_at": NULLABLE_TEXT,
    "sla_due_date": {"type": ["string", "null"], "format": "date"},
    "last_customer_reply_at": {"type": ["string", "null"], "format": "date-time"},
    "callback_time": {"type": ["string", "null"], "format": "time"},
    "estimated_effort_hours": {"type": ["number", "null"]},
    "is_escalated": {"type": ["boolean", "null"]},
}


def test_blank_cells_in_typed_columns_are_no_value_and_real_format_errors_still_reject(
    emulator, target_cli
):
    server = emulator(tickets=8, seed=25)
    dated = [t for t in _live(server) if t["properties"].get("sla_due_date")]
    assert len(dated) >= 3, "the seeded portal has too few tickets with an SLA due date"
    float_id, blank_dates, bad_date = dated[:3]
    rows = [
        {
            "id": f"{float_id['id']}.0",
            "subject": "float id",
            "archived": "",
            "_sdc_deleted_at": "",
        },
        {
            "id": blank_dates["id"],
            "subject": "blank date test B",
            "sla_due_date": "",
            "last_customer_reply_at": "",
            "callback_time": "",
            "estimated_effort_hours": "",
            "is_escalated": "",
        },
        {"id": bad_date["id"], "subject": "bad date", "last_customer_reply_at": "2024-13-45"},
    ]

    run = target_cli(server, typed_lines(INFERRED, rows), **DEFAULTS | {"max_rejects": 1})

    summary = run.assert_clean_success()
    assert (summary["updated"], summary["rejected"]) == (2, 1), run.describe()
    written = _ticket(server, float_id["id"])
    assert (written["properties"]["subject"], written["archived"]) == ("float id", False)
    kept = _ticket(server, blank_dates["id"])["properties"]
    assert kept["subject"] == "blank date test B"
    assert kept["sla_due_date"] == blank_dates["properties"]["sla_due_date"]  # "" clears nothing
    (reject,) = run.rejects
    assert reject["field"] == "last_customer_reply_at"
    assert reject["reason"].endswith(
        "field 'last_customer_reply_at': '2024-13-45' is not a valid date-time (stream schema)"
    )
    assert _ticket(server, bad_date["id"])["properties"]["subject"] != "bad date"


# -- options named as HubSpot's UI shows them --------------------------------------------------
def _with_option(server: Any, name: str, wanted: str, *, holds: bool) -> list[dict[str, Any]]:
    return [t for t in _live(server) if (t["properties"].get(name) == wanted) is holds]


def test_options_named_by_label_or_in_any_case_are_written_as_their_values(
    emulator, target_cli, tmp_path
):
    server = emulator(tickets=12, seed=26)
    already_high = _with_option(server, "hs_ticket_priority", "HIGH", holds=True)[0]
    to_high, misspelt, planned = _with_option(server, "hs_ticket_priority", "HIGH", holds=False)[:3]
    columns = ["id", "hs_ticket_priority", "hs_ticket_category", "content"]
    rows = [
        {"id": already_high["id"], "hs_ticket_priority": "High"},  # the label: HIGH, held
        {
            "id": to_high["id"],
            "hs_ticket_priority": "high",
            "hs_ticket_category": "billing issue;PRODUCT_ISSUE;Feature request",
        },
        {"id": misspelt["id"], "hs_ticket_priority": "Hihg", "content": "never written"},
        {"id": misspelt["id"], "hs_ticket_category": "Biling issue", "content": "never written"},
    ]
    plan = tmp_path / "plan.jsonl"

    run = target_cli(server, csv_lines(columns, rows), **DEFAULTS | {"max_rejects": 2})
    dry = target_cli(
        server,
        csv_lines(columns, [{"id": planned["id"], "hs_ticket_priority": "High"}]),
        dry_run=True,
        plan_path=str(plan),
    )

    summary = run.assert_clean_success()
    assert (summary["updated"], summary["unchanged"], summary["rejected"]) == (1, 1, 2), summary
    assert _ticket(server, already_high["id"])["updatedAt"] == already_high["updatedAt"]
    written = _ticket(server, to_high["id"])["properties"]
    assert written["hs_ticket_priority"] == "HIGH"
    assert written["hs_ticket_category"] == "BILLING_ISSUE;PRODUCT_ISSUE;FEATURE_REQUEST"
    reasons = sorted(r["reason"].split(": ", 1)[1] for r in run.rejects)
    assert reasons == [
        "'Biling issue' is not an option of 'hs_ticket_category' (did you mean 'BILLING_ISSUE' "
        "(Billing issue)?) (options: PRODUCT_ISSUE, BILLING_ISSUE, FEATURE_REQUEST, "
        "GENERAL_INQUIRY)",
        "'Hihg' is not an option of 'hs_ticket_priority' (did you mean 'HIGH'?) "
        "(options: LOW, MEDIUM, HIGH, URGENT)",
    ]
    assert _ticket(server, misspelt["id"])["properties"].get("content") != "never written"
    dry.assert_clean_success()
    (planned_line,) = [json.loads(x) for x in plan.read_text().splitlines()]
    assert planned_line["action"] == "update", planned_line
    assert planned_line["changes"]["hs_ticket_priority"]["new"] == "HIGH"
