"""The dbt models in transform/, built by real `meltano run` jobs on DuckDB and PostgreSQL.

Every expectation is computed here from the emulator's HTTP answers (the list API with
`propertiesWithHistory`), never from the warehouse: stage periods row for row, every day of the
daily history, and the time-in-stage summary. Before the sync (and, on PostgreSQL, between a
full and an incremental run) the tests give tickets the hard journeys: a move to another
pipeline (pipeline and stage change at one instant), a re-opened ticket, a ticket that comes
back to a stage it left, a ticket archived in an open stage; on DuckDB the portal also holds
hand-written journeys no API call can make (a stage recorded twice, a stage cleared). "Now" is
pinned (TICKETS_AS_OF) so
open periods have exact lengths. Snowflake cannot be reached: `dbt parse` checks the project
for its target, and `dbt compile` without a connection renders its SQL.
"""

from __future__ import annotations

import bisect
import json
import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
import requests

from hubspot_emulator.config import DEFAULT_TOKEN

pytestmark = pytest.mark.e2e

TICKETS = 300
HISTORY = ["hs_pipeline", "hs_pipeline_stage", "hs_ticket_priority", "hubspot_owner_id"]
LIST_PAGE = 50  # the list API's most with propertiesWithHistory
WINDOWS = (30, 90)
EPOCH = datetime(1970, 1, 1)
SNOWFLAKE_PROJECT_ARGS = (
    "--project-dir",
    "transform",
    "--profiles-dir",
    "transform/profiles",
    "--target",
    "snowflake",
)

PERIOD_COLUMNS = (
    "ticket_id, pipeline_id, stage_id, visit_number, entered_at, exited_at, seconds_in_stage"
)
DAILY_COLUMNS = "ticket_id, date_day, pipeline_id, stage_id, hs_ticket_priority, hubspot_owner_id"
SUMMARY_COLUMNS = (
    "pipeline_id, stage_id, window_days, visits_entered, tickets_entered, visits_exited, "
    "median_seconds_in_stage, p90_seconds_in_stage"
)


# -- what the emulator says -------------------------------------------------------------------
def _ms(stamp: str) -> int:
    parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return round(parsed.timestamp() * 1000)


def _at(ms: int) -> datetime:
    """Return a UTC instant as the naive datetime the warehouses hold."""
    return EPOCH + timedelta(milliseconds=ms)


@dataclass
class Ticket:
    """One ticket as the API shows it: each history property as (instant, value), in order."""

    id: str
    created_ms: int
    archived_ms: int | None
    current: dict[str, str | None]
    changes: dict[str, list[tuple[int, str | None]]]

    def value_before(self, name: str, end_ms: int) -> tuple[bool, str | None]:
        """Return (recorded yet, value) of a property just before `end_ms`."""
        entries = self.changes[name]
        index = bisect.bisect_left(entries, (end_ms,)) - 1
        if index < 0:
            return False, None
        return True, entries[index][1]


def _read_tickets(url: str) -> list[Ticket]:
    """Read every ticket, live and archived, with its history, through the list API."""
    tickets: list[Ticket] = []
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {DEFAULT_TOKEN}"
        for archived in ("false", "true"):
            after: str | None = None
            while True:
                params = {
                    "limit": LIST_PAGE,
                    "archived": archived,
                    "properties": ",".join(HISTORY),
                    "propertiesWithHistory": ",".join(HISTORY),
                }
                if after:
                    params["after"] = after
                answer = http.get(f"{url}/crm/v3/objects/tickets", params=params, timeout=30)
                answer.raise_for_status()
                page = answer.json()
                tickets.extend(_ticket(item) for item in page["results"])
                after = ((page.get("paging") or {}).get("next") or {}).get("after")
                if not after:
                    break
    return tickets


def _ticket(item: dict[str, Any]) -> Ticket:
    changes: dict[str, list[tuple[int, str | None]]] = {}
    for name in HISTORY:
        # The API lists a property's values newest first: at an instant holding several
        # values, the first one listed is the one the property kept.
        kept: dict[int, str | None] = {}
        for entry in (item.get("propertiesWithHistory") or {}).get(name) or []:
            kept.setdefault(_ms(entry["timestamp"]), entry.get("value") or None)
        changes[name] = sorted(kept.items())
    properties = item.get("properties") or {}
    archived_at = item.get("archivedAt") if item.get("archived") else None
    return Ticket(
        id=str(item["id"]),
        created_ms=_ms(item["createdAt"]),
        archived_ms=_ms(archived_at) if archived_at else None,
        current={name: properties.get(name) or None for name in HISTORY},
        changes=changes,
    )


def _pipelines(url: str) -> dict[tuple[str, str], dict[str, Any]]:
    answer = requests.get(
        f"{url}/crm/v3/pipelines/tickets",
        headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"},
        timeout=10,
    )
    answer.raise_for_status()
    return {
        (pipeline["id"], stage["id"]): {
            "pipeline": pipeline["id"],
            "label": stage["label"],
            "order": stage["displayOrder"],
            "closed": stage["metadata"]["ticketState"] == "CLOSED",
        }
        for pipeline in answer.json()["results"]
        for stage in pipeline["stages"]
    }


# -- what the models must hold, computed from those answers -----------------------------------
def _seconds(start_ms: int, end_ms: int) -> int:
    """Seconds between two instants as dbt.datediff counts them: second boundaries crossed."""
    return end_ms // 1000 - start_ms // 1000


def expected_periods(tickets: list[Ticket], as_of_ms: int) -> list[tuple[Any, ...]]:
    """Return the rows of ticket_stage_periods: one per ticket per visit to a stage."""
    rows: list[tuple[Any, ...]] = []
    for ticket in tickets:
        pipeline_at = dict(ticket.changes["hs_pipeline"])
        stage_at = dict(ticket.changes["hs_pipeline_stage"])
        pipeline = ticket.current["hs_pipeline"]  # until the history records one
        stage: str | None = None
        steps: list[tuple[int, tuple[str | None, str | None]]] = []
        for instant in sorted(set(pipeline_at) | set(stage_at)):
            if instant > as_of_ms:
                break
            pipeline = pipeline_at.get(instant, pipeline)
            stage = stage_at.get(instant, stage)
            if not steps or steps[-1][1] != (pipeline, stage):
                steps.append((instant, (pipeline, stage)))
        visits: Counter[tuple[str | None, str | None]] = Counter()
        for index, (entered, state) in enumerate(steps):
            if state[1] is None:
                continue  # no stage: no visit
            exited = steps[index + 1][0] if index + 1 < len(steps) else None
            visits[state] += 1
            end = exited if exited is not None else (ticket.archived_ms or as_of_ms)
            rows.append(
                (
                    ticket.id,
                    state[0],
                    state[1],
                    visits[state],
                    _at(entered),
                    None if exited is None else _at(exited),
                    _seconds(entered, end),
                )
            )
    return rows


def expected_days(tickets: list[Ticket], as_of_ms: int) -> list[tuple[Any, ...]]:
    """Return the rows of ticket_daily_history: values as of the end of each day."""
    rows: list[tuple[Any, ...]] = []
    as_of = _at(as_of_ms)
    for ticket in tickets:
        last = _at(ticket.archived_ms).date() if ticket.archived_ms else as_of.date()
        day = _at(ticket.created_ms).date()
        while day <= last:
            midnight = datetime.combine(day + timedelta(days=1), datetime.min.time())
            end_ms = min(round((midnight - EPOCH).total_seconds() * 1000), as_of_ms + 1)
            values = {name: ticket.value_before(name, end_ms) for name in HISTORY}
            recorded, pipeline = values["hs_pipeline"]
            rows.append(
                (
                    ticket.id,
                    day,
                    pipeline if recorded else ticket.current["hs_pipeline"],
                    values["hs_pipeline_stage"][1],
                    values["hs_ticket_priority"][1],
                    values["hubspot_owner_id"][1],
                )
            )
            day += timedelta(days=1)
    return rows


def _percentile(values: list[int], fraction: float) -> float:
    """Interpolate like percentile_cont."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def expected_summary(
    periods: list[tuple[Any, ...]], stages: dict[tuple[str, str], Any], as_of_ms: int
) -> dict[tuple[str, str, int], tuple[Any, ...]]:
    """Return ticket_stage_summary keyed by (pipeline, stage, window)."""
    out: dict[tuple[str, str, int], tuple[Any, ...]] = {}
    for window in WINDOWS:
        start = _at(as_of_ms) - timedelta(days=window)
        for pipeline_id, stage_id in stages:
            mine = [p for p in periods if (p[1], p[2]) == (pipeline_id, stage_id)]
            entered = [p for p in mine if p[4] > start]
            exited = [p[6] for p in mine if p[5] is not None and p[5] > start]
            out[(pipeline_id, stage_id, window)] = (
                len(entered),
                len({p[0] for p in entered}),
                len(exited),
                _percentile(exited, 0.5) if exited else None,
                _percentile(exited, 0.9) if exited else None,
            )
    return out


# -- journeys the seeded portal may lack ------------------------------------------------------
def give_hard_journeys(
    url: str, tickets: list[Ticket], seed: int, spare: frozenset[str] = frozenset()
) -> dict[str, str]:
    """Move, re-open, send back and archive a few tickets through the API; return their ids.

    Tickets in `spare` are left as they are.
    """
    stages = _pipelines(url)
    by_pipeline: dict[str, list[tuple[str, Any]]] = {}
    for (pipeline_id, stage_id), stage in sorted(stages.items(), key=lambda s: s[1]["order"]):
        by_pipeline.setdefault(pipeline_id, []).append((stage_id, stage))
    live = [t for t in tickets if t.archived_ms is None and t.id not in spare]
    random.Random(seed).shuffle(live)

    def closed(ticket: Ticket) -> bool:
        key = (ticket.current["hs_pipeline"] or "", ticket.current["hs_pipeline_stage"] or "")
        return bool(stages.get(key, {}).get("closed"))

    open_tickets = [t for t in live if not closed(t)]
    closed_tickets = [t for t in live if closed(t)]
    picked = {
        "moved": open_tickets[0],
        "reopened": closed_tickets[0],
        "returned": open_tickets[1],
        "archived": open_tickets[2],
    }
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}

    def patch(ticket: Ticket, properties: dict[str, str]) -> None:
        requests.patch(
            f"{url}/crm/v3/objects/tickets/{ticket.id}",
            json={"properties": properties},
            headers=headers,
            timeout=10,
        ).raise_for_status()
        time.sleep(0.01)  # each change at its own millisecond

    moved = picked["moved"]
    other = next(p for p in by_pipeline if p != moved.current["hs_pipeline"])
    patch(moved, {"hs_pipeline": other, "hs_pipeline_stage": by_pipeline[other][1][0]})
    reopened = picked["reopened"]
    patch(reopened, {"hs_pipeline_stage": by_pipeline[reopened.current["hs_pipeline"] or ""][0][0]})
    returned = picked["returned"]
    own = [
        s for s, stage in by_pipeline[returned.current["hs_pipeline"] or ""] if not stage["closed"]
    ]
    elsewhere = next(stage for stage in own if stage != returned.current["hs_pipeline_stage"])
    patch(returned, {"hs_pipeline_stage": elsewhere})
    patch(returned, {"hs_pipeline_stage": returned.current["hs_pipeline_stage"] or ""})
    requests.delete(
        f"{url}/crm/v3/objects/tickets/{picked['archived'].id}", headers=headers, timeout=10
    ).raise_for_status()
    return {kind: ticket.id for kind, ticket in picked.items()}


# -- the warehouses ---------------------------------------------------------------------------
def _as_of() -> tuple[str, int]:
    """Pin "now" a little ahead, in whole seconds, past every change the test makes."""
    instant = datetime.now(UTC).replace(microsecond=0, tzinfo=None) + timedelta(minutes=10)
    return instant.isoformat(sep=" "), round((instant - EPOCH).total_seconds() * 1000)


def _tap_env(url: str) -> dict[str, str]:
    return {
        "TAP_HUBSPOT_TICKETS_API_URL": url,
        "TAP_HUBSPOT_TICKETS_ACCESS_TOKEN": DEFAULT_TOKEN,
        "TAP_HUBSPOT_TICKETS_SEARCH_LAG_MARGIN_SECONDS": "1",
        "TAP_HUBSPOT_TICKETS_HISTORY_PROPERTIES": json.dumps(HISTORY),
    }


def _dbt_env(tmp_path: Path, as_of: str) -> dict[str, str]:
    return {
        "TICKETS_AS_OF": as_of,
        "DBT_TARGET_SCHEMA": "analytics",
        # Each test's own dbt artefacts: a demo or another worktree may run dbt meanwhile.
        "DBT_TARGET_PATH": str(tmp_path / "dbt-target"),
        "DBT_LOG_PATH": str(tmp_path / "dbt-logs"),
    }


def _normalise(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Make warehouse values comparable: ids as text, numbers as ints or floats."""
    out = []
    for row in rows:
        values: list[Any] = []
        for value in row:
            if isinstance(value, datetime):
                values.append(value.replace(tzinfo=None))
            elif isinstance(value, date | str) or value is None:
                values.append(value)
            elif isinstance(value, float) or hasattr(value, "as_integer_ratio"):
                values.append(float(value) if not float(value).is_integer() else int(value))
            else:
                values.append(value)
        out.append(tuple(values))
    return out


def check_models(
    query: Any, url: str, as_of_ms: int, journeys: dict[str, str] | None
) -> dict[str, int]:
    """Compare every model with what the emulator's answers say; return the figures."""
    tickets = _read_tickets(url)
    stages = _pipelines(url)
    periods = expected_periods(tickets, as_of_ms)

    got = _normalise(query(f"SELECT {PERIOD_COLUMNS} FROM analytics.ticket_stage_periods"))
    assert Counter(got) == Counter(periods)
    by_ticket: dict[str, list[tuple[Any, ...]]] = {}
    for row in periods:
        by_ticket.setdefault(row[0], []).append(row)
    if journeys:
        # The journeys are in the expectation, and look as they should.
        moved = by_ticket[journeys["moved"]]
        assert len({row[1] for row in moved}) == 2, moved
        assert any(row[3] == 2 for row in by_ticket[journeys["returned"]])
        reopened = [row[2] for row in by_ticket[journeys["reopened"]]]
        assert len(reopened) >= 3, reopened
        archived = by_ticket[journeys["archived"]][-1]
        archived_ms = next(t.archived_ms for t in tickets if t.id == journeys["archived"])
        assert archived_ms is not None
        assert archived[5] is None
        entered_ms = round((archived[4] - EPOCH).total_seconds() * 1000)
        assert archived[6] == _seconds(entered_ms, archived_ms)

    days = expected_days(tickets, as_of_ms)
    got_days = _normalise(query(f"SELECT {DAILY_COLUMNS} FROM analytics.ticket_daily_history"))
    assert Counter(got_days) == Counter(days)
    # ... and each day's stage is that of the visit the ticket was in when the day ended.
    sample = random.Random(3).sample(days, min(500, len(days)))
    for ticket_id, day, _pipeline, stage, _priority, _owner in sample:
        midnight = datetime.combine(day + timedelta(days=1), datetime.min.time())
        covering = [
            p
            for p in by_ticket.get(ticket_id, [])
            if p[4] < midnight and (p[5] or midnight) >= midnight
        ]
        assert (covering[-1][2] if covering else None) == stage, (ticket_id, day)

    summary = expected_summary(periods, stages, as_of_ms)
    got_summary = {
        (row[0], row[1], row[2]): row[3:]
        for row in _normalise(
            query(f"SELECT {SUMMARY_COLUMNS} FROM analytics.ticket_stage_summary")
        )
    }
    assert set(got_summary) == set(summary)
    for key, want in summary.items():
        have = got_summary[key]
        assert have[:3] == want[:3], key
        for mine, theirs in zip(have[3:], want[3:], strict=True):
            assert (mine is None) == (theirs is None), key
            if theirs is not None:
                assert mine == pytest.approx(theirs, abs=1e-6), key

    current = {
        row[0]: row[1:]
        for row in query(
            "SELECT ticket_id, is_archived, stage_id, stage_label FROM analytics.tickets_current"
        )
    }
    assert set(current) == {t.id for t in tickets}
    for ticket in tickets:
        is_archived, stage_id, label = current[ticket.id]
        assert bool(is_archived) == (ticket.archived_ms is not None), ticket.id
        assert stage_id == ticket.current["hs_pipeline_stage"], ticket.id
        key = (ticket.current["hs_pipeline"] or "", stage_id or "")
        assert label == stages[key]["label"], ticket.id
    return {"periods": len(periods), "days": len(days), "summary": len(summary)}


def _duckdb_query(path: Path) -> Any:
    def query(sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(path), read_only=True) as db:
            return db.execute(sql).fetchall()

    return query


# Stage ids of the emulator's two pipelines (hubspot_emulator/pipelines.py).
NEW, WAITING_CONTACT, WAITING_US, CLOSED = "1034562871", "1034562872", "1034562873", "1034562874"
TRIAGE, INVESTIGATING = "1034562912", "1034562913"
SUPPORT, ESCALATIONS = "0", "58213947"


def _journey(
    ticket_id: int, changes: list[tuple[str, str, str]], archived_at: str | None = None
) -> dict[str, Any]:
    """Return a ticket in the API's shape from (instant, property, value) changes."""
    history: dict[str, list[dict[str, str]]] = {}
    for instant, name, value in changes:
        history.setdefault(name, []).insert(0, {"value": value, "timestamp": instant})
    item: dict[str, Any] = {
        "id": str(ticket_id),
        "createdAt": changes[0][0],
        "updatedAt": changes[-1][0],
        "properties": {name: entries[0]["value"] for name, entries in history.items()},
        "propertiesWithHistory": history,
    }
    if archived_at:
        item.update(archived=True, archivedAt=archived_at)
    return item


EDGE_JOURNEYS = [
    # A stage recorded twice in a row: one visit, not two.
    _journey(
        1001,
        [
            ("2026-11-20T09:00:00.000Z", "hs_pipeline", SUPPORT),
            ("2026-11-20T09:00:00.000Z", "hs_pipeline_stage", NEW),
            ("2026-11-21T10:00:00.000Z", "hs_pipeline_stage", NEW),
            ("2026-11-22T11:00:00.500Z", "hs_pipeline_stage", WAITING_US),
        ],
    ),
    # A move to another pipeline: pipeline and stage change in the same millisecond.
    _journey(
        1002,
        [
            ("2026-11-20T09:00:00.000Z", "hs_pipeline", SUPPORT),
            ("2026-11-20T09:00:00.000Z", "hs_pipeline_stage", NEW),
            ("2026-11-23T00:00:00.000Z", "hs_pipeline", ESCALATIONS),
            ("2026-11-23T00:00:00.000Z", "hs_pipeline_stage", TRIAGE),
            ("2026-11-24T15:30:00.250Z", "hs_pipeline_stage", INVESTIGATING),
        ],
    ),
    # Closed, re-opened, closed again: second visits to both stages.
    _journey(
        1003,
        [
            ("2026-11-18T08:00:00.000Z", "hs_pipeline", SUPPORT),
            ("2026-11-18T08:00:00.000Z", "hs_pipeline_stage", NEW),
            ("2026-11-19T08:00:00.000Z", "hs_pipeline_stage", CLOSED),
            ("2026-11-25T23:59:59.999Z", "hs_pipeline_stage", NEW),
            ("2026-11-26T00:00:00.000Z", "hs_pipeline_stage", CLOSED),
        ],
    ),
    # The stage cleared for a while: no visit in between.
    _journey(
        1004,
        [
            ("2026-11-20T09:00:00.000Z", "hs_pipeline", SUPPORT),
            ("2026-11-20T09:00:00.000Z", "hs_pipeline_stage", NEW),
            ("2026-11-21T09:00:00.000Z", "hs_pipeline_stage", ""),
            ("2026-11-22T09:00:00.000Z", "hs_pipeline_stage", WAITING_CONTACT),
        ],
    ),
    # Archived while waiting: the last visit ends at archivedAt.
    _journey(
        1005,
        [
            ("2026-11-20T09:00:00.000Z", "hs_pipeline", SUPPORT),
            ("2026-11-20T09:00:00.000Z", "hs_pipeline_stage", NEW),
            ("2026-11-21T09:00:00.000Z", "hs_pipeline_stage", WAITING_CONTACT),
        ],
        archived_at="2026-11-27T12:00:00.000Z",
    ),
]


def test_duckdb_models_match_the_emulator(emulator: Any, dbt_meltano: Any, tmp_path: Path) -> None:
    # The seeded portal, plus hand-written journeys for the rules no API call can produce.
    portal = tmp_path / "journeys.jsonl"
    portal.write_text("".join(json.dumps(item) + "\n" for item in EDGE_JOURNEYS))
    server = emulator(tickets=TICKETS, seed=31, load=str(portal))
    edge = frozenset(item["id"] for item in EDGE_JOURNEYS)
    journeys = give_hard_journeys(server.url, _read_tickets(server.url), seed=1, spare=edge)
    path = tmp_path / "warehouse.duckdb"
    as_of, as_of_ms = _as_of()
    env = {**_tap_env(server.url), **_dbt_env(tmp_path, as_of), "TARGET_DUCKDB_FILEPATH": str(path)}

    output = dbt_meltano(env, "run", "--full-refresh", "sync-transform-duckdb")

    assert "dbt-duckdb" in output
    figures = check_models(_duckdb_query(path), server.url, as_of_ms, journeys)
    assert figures["periods"] > TICKETS
    check_edge_journeys(_duckdb_query(path))
    print(f"duckdb: {figures}")


def check_edge_journeys(query: Any) -> None:
    """Check the hand-written journeys against the rules, spelled out visit by visit."""
    ids = ", ".join(f"'{item['id']}'" for item in EDGE_JOURNEYS)
    rows = query(
        "SELECT ticket_id, stage_id, visit_number, entered_at, exited_at, seconds_in_stage "
        f"FROM analytics.ticket_stage_periods WHERE ticket_id IN ({ids}) "
        "ORDER BY ticket_id, entered_at"
    )
    visits: dict[str, list[tuple[Any, ...]]] = {}
    for ticket_id, *rest in rows:
        visits.setdefault(ticket_id, []).append(tuple(rest))
    day = datetime(2026, 11, 20, 9)
    assert visits["1001"] == [
        (NEW, 1, day, datetime(2026, 11, 22, 11, 0, 0, 500_000), 2 * 86_400 + 2 * 3600),
        (WAITING_US, 1, datetime(2026, 11, 22, 11, 0, 0, 500_000), None, visits["1001"][1][4]),
    ]
    assert [(v[0], v[1]) for v in visits["1002"]] == [(NEW, 1), (TRIAGE, 1), (INVESTIGATING, 1)]
    assert [(v[0], v[1]) for v in visits["1003"]] == [(NEW, 1), (CLOSED, 1), (NEW, 2), (CLOSED, 2)]
    assert visits["1003"][2][4] == 1  # 23:59:59.999 to midnight crosses one second boundary
    assert [v[0] for v in visits["1004"]] == [NEW, WAITING_CONTACT]
    assert visits["1004"][0][3] == datetime(2026, 11, 21, 9)
    assert visits["1005"][-1][2:] == (datetime(2026, 11, 21, 9), None, 6 * 86_400 + 3 * 3600)
    days = dict(
        ((r[0], r[1]), r[2])
        for r in query(
            "SELECT ticket_id, date_day, stage_id FROM analytics.ticket_daily_history "
            f"WHERE ticket_id IN ({ids})"
        )
    )
    assert days[("1003", date(2026, 11, 25))] == NEW  # re-opened a millisecond before midnight
    assert days[("1003", date(2026, 11, 26))] == CLOSED
    assert days[("1004", date(2026, 11, 21))] is None  # cleared at the end of that day
    assert max(d for t, d in days if t == "1005") == date(2026, 11, 27)  # archived that day


def test_postgres_models_match_the_emulator_full_then_incremental(
    emulator: Any, postgres: Any, dbt_meltano: Any, tmp_path: Path
) -> None:
    server = emulator(tickets=TICKETS, seed=32)
    source, url = "hubspot_dbt", postgres.url
    as_of, as_of_ms = _as_of()
    env = {
        **_tap_env(server.url),
        **_dbt_env(tmp_path, as_of),
        "TARGET_POSTGRES_SQLALCHEMY_URL": (
            f"postgresql+psycopg://postgres@127.0.0.1:{postgres.port}/postgres"
        ),
        "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": source,
    }
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS analytics CASCADE")
        conn.execute(f"DROP SCHEMA IF EXISTS {source} CASCADE")

    def query(sql: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(url) as conn:
            return list(conn.execute(sql).fetchall())  # type: ignore[arg-type]

    dbt_meltano(env, "run", "--full-refresh", "sync-transform-postgres")
    first = check_models(query, server.url, as_of_ms, None)

    # The hard journeys happen after the first build: the next run's tap reads them
    # incrementally and ticket_daily_history is built incrementally over the first build.
    journeys = give_hard_journeys(server.url, _read_tickets(server.url), seed=2)
    time.sleep(1.5)  # past the tap's search-lag margin
    output = dbt_meltano(env, "run", "sync-transform-postgres")

    assert "incremental model analytics.ticket_daily_history" in output
    second = check_models(query, server.url, as_of_ms, journeys)
    assert second["periods"] > first["periods"]
    print(f"postgres: first {first}, after the journeys {second}")


def test_snowflake_project_parses_and_compiles_offline(dbt_meltano: Any, tmp_path: Path) -> None:
    # No Snowflake is reachable: dummy credentials make a valid profile that never connects.
    env = {
        "TARGET_SNOWFLAKE_ACCOUNT": "offline-check",
        "TARGET_SNOWFLAKE_USER": "nobody",
        "TARGET_SNOWFLAKE_PASSWORD": "unused",
        "TARGET_SNOWFLAKE_DATABASE": "ANALYTICS_DB",
        **_dbt_env(tmp_path, "2026-01-31 12:00:00"),
    }
    dbt_meltano(env, "invoke", "dbt-snowflake:parse")
    manifest = json.loads((tmp_path / "dbt-target" / "manifest.json").read_text())
    models = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    assert {"tickets_current", "ticket_stage_periods", "ticket_daily_history"} <= models
    assert "ticket_stage_summary" in models
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    assert len(tests) >= 30

    # compile renders each model's Snowflake SQL without a connection, except that of the
    # incremental model: is_incremental() asks the warehouse whether the table exists.
    dbt_meltano(
        env,
        "invoke",
        "dbt-snowflake",
        "--no-populate-cache",
        "compile",
        "--no-introspect",
        "--exclude",
        "ticket_daily_history",
        *SNOWFLAKE_PROJECT_ARGS,
    )
    compiled = tmp_path / "dbt-target" / "compiled" / "hubspot_tickets" / "models"
    sql = {path.stem: path.read_text() for path in compiled.rglob("*.sql")}
    assert "convert_timezone('UTC', history.timestamp)" in sql["stg_ticket_property_changes"]
    assert "percentile_cont(0.9) within group" in sql["ticket_stage_summary"]
    assert "as timestamp_ntz)" in sql["ticket_stage_periods"]
    assert "ANALYTICS_DB.HUBSPOT.tickets" in sql["stg_tickets"]
