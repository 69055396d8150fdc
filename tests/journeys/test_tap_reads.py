"""The tap's command line and `meltano run` as a data engineer meets them (issue #10, 1-3).

1. Values a property's type cannot hold (HubSpot keeps old values when an admin changes a
   property's type) reach the warehouse as null with one warning per property; the run, and
   the run after it, finish.
2. Settings and catalogs naming what the portal does not have are reported by name, with the
   closest known name, before any record; object types are spelled one way.
3. What lands in PostgreSQL and DuckDB: a narrow `select` still carries the key and deletion
   columns, and every HubSpot type lands as the column type docs/warehouse-types.md promises.

Every run is the real `tap-hubspot-tickets` command (or `meltano run`) against the emulator.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb
import psycopg
import pytest

from hubspot_emulator.config import DEFAULT_TOKEN

pytestmark = pytest.mark.journeys

TICKETS = 400
# Values that the properties' types cannot hold, each on a ticket of its own.
BAD_VALUES: dict[str, list[str]] = {
    "estimated_effort_hours": ["abc", "12,5", "NaN"],
    "is_escalated": ["yes", "no"],
    "sla_due_date": ["soon", "2024-02-30"],
    "last_customer_reply_at": ["2024-01-01T25:61:00Z", "next week"],
    "hs_pinned_engagement_id": ["1.5"],
}
EXPECTED = {
    "estimated_effort_hours": "numbers",
    "is_escalated": "true or false",
    "sla_due_date": "dates",
    "last_customer_reply_at": "date-times",
    "hs_pinned_engagement_id": "whole numbers",
}
LONE_SURROGATE = "half of an emoji \ud83d here"
HISTORY_USER = "automation"  # an updatedByUserId that is not a number


def _warning_for(run: Any, prop: str) -> str:
    found = [w for w in run.warnings if f"property {prop!r}" in w]
    assert len(found) == 1, f"expected one warning for {prop}: {run.warnings}"
    return found[0]


@pytest.fixture(scope="module")
def corrupted(module_emulator: Any) -> dict[str, Any]:
    """A portal of 400 tickets of which some hold values their properties' types cannot hold."""
    server = module_emulator(tickets=TICKETS, seed=41)
    live = sorted(
        (t for t in server.portal.snapshot() if not t.get("archived")), key=lambda t: int(t["id"])
    )
    lines: list[str] = []
    planted: dict[str, dict[str, str]] = {}
    donors = iter(live[5:])
    for prop, values in BAD_VALUES.items():
        for value in values:
            ticket = copy.deepcopy(next(donors))
            ticket["properties"][prop] = value
            planted[ticket["id"]] = {prop: value}
            lines.append(json.dumps(ticket))
    # Two more: one whole number spelled as a decimal in an id column, one with a lone
    # surrogate in a text value and a history entry written by something that is not a user.
    spelled = copy.deepcopy(next(donors))
    spelled["properties"]["hs_created_by_user_id"] = "1850000034.0"
    odd = copy.deepcopy(next(donors))
    odd["properties"]["internal_notes"] = LONE_SURROGATE
    odd["propertiesWithHistory"]["subject"] = [
        {
            "value": odd["properties"]["subject"],
            "timestamp": odd["updatedAt"],
            "sourceType": "AUTOMATION_PLATFORM",
            "updatedByUserId": HISTORY_USER,
        }
    ]
    lines += [json.dumps(spelled), json.dumps(odd)]
    assert server.portal.load_jsonl(lines) == len(lines)
    return {"server": server, "planted": planted, "spelled": spelled["id"], "odd": odd["id"]}


@pytest.fixture(scope="module")
def corrupted_run(corrupted: dict[str, Any], tap_cli: Any) -> Any:
    return tap_cli(corrupted["server"])


def test_bad_values_end_neither_the_run_nor_the_ticket(corrupted, corrupted_run):
    run = corrupted_run
    assert run.returncode == 0, run.describe()
    assert "Traceback" not in run.stderr
    tickets = {r["id"]: r for r in run.records("tickets")}
    assert len(tickets) == TICKETS
    assert set(tickets) == {t["id"] for t in corrupted["server"].portal.snapshot()}
    for ticket_id, values in corrupted["planted"].items():
        for prop in values:
            assert tickets[ticket_id][prop] is None, (ticket_id, prop)
        # The rest of the ticket is there as usual.
        assert tickets[ticket_id]["subject"], ticket_id


@pytest.mark.parametrize("prop", list(BAD_VALUES), ids=list(BAD_VALUES))
def test_one_warning_per_property_with_its_count_and_an_example(corrupted_run, prop):
    warning = _warning_for(corrupted_run, prop)
    count = len(BAD_VALUES[prop])
    examples = "|".join(re.escape(repr(value)) for value in BAD_VALUES[prop])
    assert re.search(
        rf"{count} ticket\(s\) hold values that are not {EXPECTED[prop]} \(e\.g\. ({examples})\); "
        rf"emitted as null",
        warning,
    ), warning


def test_whole_numbers_spelled_as_decimals_are_integers(corrupted, corrupted_run):
    tickets = {r["id"]: r for r in corrupted_run.records("tickets")}
    assert tickets[corrupted["spelled"]]["hs_created_by_user_id"] == 1850000034
    schema = corrupted_run.schema("tickets")["properties"]
    assert "integer" in schema["hs_created_by_user_id"]["type"]
    assert "number" in schema["estimated_effort_hours"]["type"]


def test_odd_text_and_history_come_through_as_strict_json(corrupted, corrupted_run):
    # `messages` parses stdout as strict JSON and fails on any lone surrogate.
    tickets = {r["id"]: r for r in corrupted_run.records("tickets")}
    notes = tickets[corrupted["odd"]]["internal_notes"]
    assert notes.startswith("half of an emoji ")
    assert notes.endswith(" here")
    history = [
        r
        for r in corrupted_run.records("ticket_property_history")
        if r["ticket_id"] == corrupted["odd"] and r["property"] == "subject"
    ]
    assert history
    assert all(r["updated_by_user_id"] is None for r in history)
    assert any("updatedByUserId" in w and HISTORY_USER in w for w in corrupted_run.warnings)


def test_the_next_run_reads_the_same_tickets_again_and_finishes(corrupted, corrupted_run, tap_cli):
    server = corrupted["server"]
    changed = sorted(corrupted["planted"])[:4]
    for ticket_id in changed:
        server.portal.update_ticket(
            ticket_id, {"properties": {"subject": "touched"}}, id_property=None, api_version="v3"
        )
    again = tap_cli(server, state=corrupted_run.state)
    assert again.returncode == 0, again.describe()
    tickets = {r["id"]: r for r in again.records("tickets")}
    assert set(changed) <= set(tickets)
    for ticket_id in changed:
        (prop,) = corrupted["planted"][ticket_id]
        assert tickets[ticket_id][prop] is None
        assert tickets[ticket_id]["subject"] == "touched"


# -- 2: settings and catalogs checked against the portal -----------------------------------------
@pytest.fixture(scope="module")
def small_portal(module_emulator: Any) -> Any:
    return module_emulator(tickets=40, seed=42)


def _first_index(lines: list[str], needle: str) -> int:
    return next(i for i, line in enumerate(lines) if needle in line)


def test_unknown_history_property_is_named_with_the_closest_before_any_record(
    small_portal, tap_cli
):
    run = tap_cli(small_portal, history_properties=["hs_pipeline_stage", "hs_ticket_priorty"])
    assert run.returncode == 0, run.describe()
    (warning,) = [w for w in run.warnings if "history_properties" in w]
    assert "'hs_ticket_priorty'" in warning
    assert "did you mean 'hs_ticket_priority'?" in warning
    lines = run.stderr.splitlines()
    assert _first_index(lines, "hs_ticket_priorty") < _first_index(lines, "Beginning sync")
    history = run.records("ticket_property_history")
    assert history
    assert {r["property"] for r in history} == {"hs_pipeline_stage"}


def test_history_of_nothing_the_portal_has_is_an_error_before_any_data(small_portal, tap_cli):
    run = tap_cli(small_portal, history_properties=["hs_ticket_priorty"])
    assert run.returncode == 1, run.describe()
    assert "Traceback" not in run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("tap-hubspot-tickets: error: ")
    assert "'hs_ticket_priorty'" in last
    assert not [m for m in run.messages if m["type"] in ("RECORD", "SCHEMA")]


def _catalog(small_portal: Any, tap_cli: Any) -> dict[str, Any]:
    discovered = tap_cli(small_portal, discover=True)
    assert discovered.returncode == 0, discovered.describe()
    catalog: dict[str, Any] = json.loads(discovered.stdout)
    return catalog


def _select_only(catalog: dict[str, Any], stream: str, properties: list[str]) -> None:
    """Select `stream` with only `properties` (as Meltano writes a narrow `select`)."""
    for entry in catalog["streams"]:
        chosen = entry["tap_stream_id"] == stream
        for item in entry["metadata"]:
            crumb = item["breadcrumb"]
            if not crumb:
                item["metadata"]["selected"] = chosen
            elif chosen:
                item["metadata"]["selected"] = crumb[-1] in properties


def test_a_catalog_property_the_portal_lacks_is_named_and_its_column_stays_null(
    small_portal, tap_cli
):
    catalog = _catalog(small_portal, tap_cli)
    tickets = next(e for e in catalog["streams"] if e["tap_stream_id"] == "tickets")
    tickets["schema"]["properties"]["no_such_prop"] = {"type": ["string", "null"]}
    tickets["metadata"].append(
        {"breadcrumb": ["properties", "no_such_prop"], "metadata": {"inclusion": "available"}}
    )
    tickets["schema"]["properties"]["subjekt"] = {"type": ["string", "null"]}
    tickets["metadata"].append(
        {"breadcrumb": ["properties", "subjekt"], "metadata": {"inclusion": "available"}}
    )
    _select_only(catalog, "tickets", ["no_such_prop", "subjekt", "hs_pipeline"])
    run = tap_cli(small_portal, catalog=catalog)
    assert run.returncode == 0, run.describe()
    named = {
        name: [w for w in run.warnings if f"'{name}'" in w] for name in ("no_such_prop", "subjekt")
    }
    assert all(len(found) == 1 for found in named.values()), run.warnings
    assert "did you mean 'subject'?" in named["subjekt"][0]
    records = run.records("tickets")
    assert len(records) == 40
    assert all(r.get("no_such_prop") is None and r["hs_pipeline"] for r in records)


def test_a_selection_without_any_property_the_portal_has_is_reported(small_portal, tap_cli):
    catalog = _catalog(small_portal, tap_cli)
    _select_only(catalog, "tickets", [])  # what a Meltano select of unknown names leaves
    run = tap_cli(small_portal, catalog=catalog)
    assert run.returncode == 0, run.describe()
    assert any("selected without any of its properties" in w for w in run.warnings), run.warnings


def test_association_types_are_normalised_and_unknown_ones_named(small_portal, tap_cli):
    run = tap_cli(small_portal, associations=["contact", "0-1", "companys", "Deals"])
    assert run.returncode == 0, run.describe()
    (warning,) = [w for w in run.warnings if w.startswith("associations:")]
    assert "'companys'" in warning
    assert "did you mean 'companies'?" in warning
    rows = run.records("ticket_associations")
    assert rows
    assert {r["to_object_type"] for r in rows} == {"contacts", "deals"}
    # `contact` and `0-1` are one type: each link is read once.
    keys = [(r["ticket_id"], r["to_object_id"], r["association_type_id"]) for r in rows]
    assert len(keys) == len(set(keys))


def test_associations_with_no_type_the_portal_knows_is_an_error(small_portal, tap_cli):
    run = tap_cli(small_portal, associations=["widgets"])
    assert run.returncode == 1, run.describe()
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("tap-hubspot-tickets: error: ")
    assert "'widgets'" in last
    assert not [m for m in run.messages if m["type"] == "RECORD"]


# -- 3: what lands in the warehouse ---------------------------------------------------------------
def _tap_env(server: Any, **extra: str) -> dict[str, str]:
    return {
        "TAP_HUBSPOT_TICKETS_API_URL": server.url,
        "TAP_HUBSPOT_TICKETS_ACCESS_TOKEN": DEFAULT_TOKEN,
        "TAP_HUBSPOT_TICKETS_SEARCH_LAG_MARGIN_SECONDS": "0",
        "TAP_HUBSPOT_TICKETS_ASSOCIATIONS": "[]",
        **extra,
    }


def _pg_url(postgres: Any, database: str = "postgres") -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:{postgres.port}/{database}"


def _pg(postgres: Any, sql: str, database: str = "postgres") -> list[tuple[Any, ...]]:
    url = f"postgresql://postgres@127.0.0.1:{postgres.port}/{database}"
    with psycopg.connect(url) as conn:
        return list(conn.execute(sql).fetchall())  # type: ignore[arg-type]


def _meltano_ok(warehouse_meltano: Any, env: dict[str, str], *args: str) -> str:
    done = warehouse_meltano.run(env, *args)
    assert done.returncode == 0, done.tail()
    return str(done.output)


BASE_COLUMNS = {"id", "created_at", "updated_at", "archived", "archived_at"}


def test_a_narrow_select_still_lands_keys_and_deletions(
    module_emulator, warehouse_meltano, postgres, tmp_path
):
    server = module_emulator(tickets=60, seed=43)
    for ticket in server.portal.snapshot()[10:13]:
        server.portal.archive_ticket(ticket["id"])
    truth = {t["id"]: t for t in server.portal.snapshot()}
    deleted = {i for i, t in truth.items() if t.get("archived")}
    assert len(deleted) >= 3
    env = {
        **warehouse_meltano.database(tmp_path),
        **_tap_env(server),
        # A narrow select (docs/tap.md, "Streams"): one property of one stream.
        "TAP_HUBSPOT_TICKETS__SELECT": '["tickets.subject"]',
        "TARGET_POSTGRES_SQLALCHEMY_URL": _pg_url(postgres),
        "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": "narrow_pg",
        "TARGET_DUCKDB_FILEPATH": str(tmp_path / "narrow.duckdb"),
    }
    _meltano_ok(warehouse_meltano, env, "run", "tap-hubspot-tickets", "target-postgres")
    _meltano_ok(warehouse_meltano, env, "run", "tap-hubspot-tickets", "target-duckdb")
    pg_columns = {
        r[0]
        for r in _pg(
            postgres,
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'narrow_pg' AND table_name = 'tickets'",
        )
    }
    with duckdb.connect(str(tmp_path / "narrow.duckdb"), read_only=True) as db:
        duck_columns = {
            r[0]
            for r in db.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'hubspot' AND table_name = 'tickets'"
            ).fetchall()
        }
        duck_rows = db.execute("SELECT id, archived, archived_at FROM hubspot.tickets").fetchall()
    pg_rows = _pg(postgres, "SELECT id, archived, archived_at FROM narrow_pg.tickets")
    for columns in (pg_columns, duck_columns):
        assert BASE_COLUMNS | {"subject"} <= columns
        assert "content" not in columns
        assert "hs_pipeline_stage" not in columns
    for rows in (pg_rows, duck_rows):
        assert {r[0] for r in rows} == set(truth)
        assert {r[0] for r in rows if r[1]} == deleted
        assert all(r[2] is not None for r in rows if r[0] in deleted)


# One ticket with a value of every HubSpot type; the column each warehouse makes of it.
JSON_PROPERTY = {
    "name": "integration_payload",
    "label": "Integration payload",
    "type": "json",
    "fieldType": "text",
    "groupName": "support_details",
}
EVERY_TYPE: dict[str, str] = {
    "subject": "Printer on fire",  # string
    "content": "Line one\nline two",  # string, textarea
    "hs_ticket_priority": "HIGH",  # enumeration, select
    "affected_products": "web_app;public_api",  # enumeration, checkbox (multi-select)
    "estimated_effort_hours": "1.5",  # number with a fraction
    "time_to_close": "548760000",  # number, whole
    "hs_created_by_user_id": "1850000034.0",  # number holding an id, spelled as a decimal
    "hs_pinned_engagement_id": "67000000021",  # number holding an engagement id
    "is_escalated": "true",  # bool
    "sla_due_date": "2024-02-29",  # date
    "last_customer_reply_at": "2024-03-01T23:30:15.250Z",  # datetime
    "callback_phone": "+44 20 7946 0958",  # phone_number
    "site_location": "51.5072,-0.1276",  # object_coordinates
    "integration_payload": '{"source": "zendesk", "ids": [1, 2]}',  # json
}
WHEN = datetime(2024, 3, 1, 23, 30, 15, 250000)  # `last_customer_reply_at`, UTC wall clock


# The column each warehouse makes of each type, and the value it holds (docs/warehouse-types.md).
TEXT = ("text", "VARCHAR")
LANDS: dict[str, tuple[str, Any, str, Any]] = {
    # column: (PostgreSQL type, value, DuckDB type, value)
    "id": ("text", "1850001234", "VARCHAR", "1850001234"),
    "created_at": (
        "timestamp without time zone",
        datetime(2024, 1, 2, 3, 4, 5, 678000),
        "TIMESTAMP",
        datetime(2024, 1, 2, 3, 4, 5, 678000),
    ),
    "archived": ("boolean", False, "BOOLEAN", False),
    **{
        name: (TEXT[0], EVERY_TYPE[name], TEXT[1], EVERY_TYPE[name])
        for name in (
            "subject",
            "content",
            "hs_ticket_priority",
            "affected_products",
            "callback_phone",
            "site_location",
            "integration_payload",
        )
    },
    "estimated_effort_hours": ("numeric", Decimal("1.5"), "DOUBLE", 1.5),
    "time_to_close": ("numeric", Decimal(548760000), "DOUBLE", 548760000.0),
    "hs_created_by_user_id": ("bigint", 1850000034, "BIGINT", 1850000034),
    "hs_pinned_engagement_id": ("bigint", 67000000021, "BIGINT", 67000000021),
    "is_escalated": ("boolean", True, "BOOLEAN", True),
    # target-duckdb 0.8.0 has no date type: ISO text that casts to DATE.
    "sla_due_date": ("date", date(2024, 2, 29), "VARCHAR", "2024-02-29"),
    "last_customer_reply_at": ("timestamp without time zone", WHEN, "TIMESTAMP", WHEN),
}
# A database whose time zone is not UTC: target-postgres would store local wall-clock times.
NEW_YORK_DATABASE = "warehouse_types_new_york"


@pytest.fixture(scope="module")
def every_type_warehouses(
    module_emulator: Any, warehouse_meltano: Any, postgres: Any, tmp_path_factory: Any
) -> dict[str, Any]:
    """Load one ticket with every type through `meltano run` into PostgreSQL and DuckDB."""
    server = module_emulator(tickets=0)
    server.portal.create_property(JSON_PROPERTY)
    ticket = {
        "id": "1850001234",
        "createdAt": "2024-01-02T03:04:05.678Z",
        "updatedAt": "2024-03-02T08:00:00.000Z",
        "archived": False,
        "properties": {"hs_pipeline": "0", "hs_pipeline_stage": "1", **EVERY_TYPE},
    }
    assert server.portal.load_jsonl([json.dumps(ticket)]) == 1
    admin = f"postgresql://postgres@127.0.0.1:{postgres.port}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {NEW_YORK_DATABASE}")
        conn.execute(f"CREATE DATABASE {NEW_YORK_DATABASE}")
        conn.execute(f"ALTER DATABASE {NEW_YORK_DATABASE} SET timezone TO 'America/New_York'")
    where = tmp_path_factory.mktemp("every-type")
    env = {
        **warehouse_meltano.database(where),
        **_tap_env(server),
        "TAP_HUBSPOT_TICKETS__SELECT": '["tickets.*"]',
        "TARGET_POSTGRES_SQLALCHEMY_URL": _pg_url(postgres, NEW_YORK_DATABASE),
        "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": "hubspot",
        "TARGET_DUCKDB_FILEPATH": str(where / "every.duckdb"),
    }
    _meltano_ok(warehouse_meltano, env, "run", "tap-hubspot-tickets", "target-postgres")
    _meltano_ok(warehouse_meltano, env, "run", "tap-hubspot-tickets", "target-duckdb")
    names = list(LANDS)
    columns = (
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'hubspot' AND table_name = 'tickets'"
    )
    pg_types = dict(_pg(postgres, columns, NEW_YORK_DATABASE))
    (pg_row,) = _pg(postgres, f"SELECT {', '.join(names)} FROM hubspot.tickets", NEW_YORK_DATABASE)
    with duckdb.connect(str(where / "every.duckdb"), read_only=True) as db:
        duck_types = dict(db.execute(columns).fetchall())
        (duck_row,) = db.execute(f"SELECT {', '.join(names)} FROM hubspot.tickets").fetchall()
        duck_date = db.execute("SELECT CAST(sla_due_date AS DATE) FROM hubspot.tickets").fetchone()
    return {
        "postgres": (pg_types, dict(zip(names, pg_row, strict=True))),
        "duckdb": (duck_types, dict(zip(names, duck_row, strict=True))),
        "duckdb_date": duck_date,
    }


@pytest.mark.parametrize("column", list(LANDS), ids=list(LANDS))
def test_every_type_lands_as_documented(every_type_warehouses, column):
    pg_type, pg_value, duck_type, duck_value = LANDS[column]
    types, row = every_type_warehouses["postgres"]
    assert (types[column], row[column]) == (pg_type, pg_value)
    assert type(row[column]) is type(pg_value)
    types, row = every_type_warehouses["duckdb"]
    assert (types[column], row[column]) == (duck_type, duck_value)
    assert type(row[column]) is type(duck_value)


def test_duckdb_dates_are_iso_text_that_casts_to_a_date(every_type_warehouses):
    assert every_type_warehouses["duckdb_date"] == (date(2024, 2, 29),)
