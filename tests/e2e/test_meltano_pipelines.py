"""Real `meltano run` pipelines: emulator -> tap -> PostgreSQL / DuckDB, and back.

Every check compares the warehouse with the emulator's own ground truth. Meltano, its plugin
virtualenvs, target-postgres, target-duckdb and tap-postgres are the published packages,
installed by the `meltano_env` fixture on first use.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import duckdb
import psycopg
import pytest
import requests

from hubspot_emulator.config import DEFAULT_TOKEN

pytestmark = pytest.mark.e2e

HISTORY_PROPERTIES = ["hs_pipeline_stage", "hs_pipeline", "hs_ticket_priority", "subject"]
ASSOCIATION_TYPES = ["contacts", "companies", "deals"]
TICKETS = 400


def _truth(server: Any) -> dict[str, Any]:
    """Compute what each warehouse table must hold from the emulator's own state."""
    snapshot = server.portal.snapshot()
    history = 0
    for ticket in snapshot:
        entries = ticket.get("propertiesWithHistory") or {}
        history += sum(len(entries.get(name) or []) for name in HISTORY_PROPERTIES)
    associations = 0
    for ticket in snapshot:
        if ticket.get("archived"):
            continue  # HubSpot reads no associations of deleted tickets
        for kind in ASSOCIATION_TYPES:
            block = (ticket.get("associations") or {}).get(kind) or {}
            associations += len(block.get("results", []))  # one row per association type
    pipelines = requests.get(
        f"{server.url}/crm/v3/pipelines/tickets",
        headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"},
        timeout=10,
    ).json()["results"]
    return {
        "tickets": {t["id"]: t for t in snapshot},
        "history": history,
        "associations": associations,
        "pipelines": len(pipelines),
        "stages": sum(len(p["stages"]) for p in pipelines),
    }


def _tap_env(server: Any) -> dict[str, str]:
    return {
        "TAP_HUBSPOT_TICKETS_API_URL": server.url,
        "TAP_HUBSPOT_TICKETS_ACCESS_TOKEN": DEFAULT_TOKEN,
        "TAP_HUBSPOT_TICKETS_SEARCH_LAG_MARGIN_SECONDS": "1",
        "TAP_HUBSPOT_TICKETS_HISTORY_PROPERTIES": str(HISTORY_PROPERTIES).replace("'", '"'),
        "TARGET_HUBSPOT_TICKETS_API_URL": server.url,
        "TARGET_HUBSPOT_TICKETS_ACCESS_TOKEN": DEFAULT_TOKEN,
    }


def _pg_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return list(conn.execute(sql).fetchall())  # type: ignore[arg-type]


def test_postgres_forward_incremental_and_write_back(
    emulator: Any, postgres: Any, meltano: Any
) -> None:
    server = emulator(tickets=TICKETS, seed=11)
    schema = "hubspot_pg"
    env = {
        **_tap_env(server),
        "TARGET_POSTGRES_SQLALCHEMY_URL": f"postgresql+psycopg://postgres@127.0.0.1:{postgres.port}/postgres",
        "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema,
        "TAP_POSTGRES_SQLALCHEMY_URL": f"postgresql://postgres:trust@127.0.0.1:{postgres.port}/postgres",
    }
    truth = _truth(server)

    meltano(env, "run", "--full-refresh", "tap-hubspot-tickets", "target-postgres")

    rows = _pg_rows(
        postgres.url,
        f"SELECT id, subject, hs_pipeline_stage, archived FROM {schema}.tickets",
    )
    assert {r[0] for r in rows} == set(truth["tickets"])
    for ticket_id, subject, stage, archived in rows:
        expected = truth["tickets"][ticket_id]
        assert subject == expected["properties"].get("subject"), ticket_id
        assert stage == expected["properties"].get("hs_pipeline_stage"), ticket_id
        assert bool(archived) == bool(expected.get("archived")), ticket_id
    counts = {
        table: _pg_rows(postgres.url, f"SELECT count(*) FROM {schema}.{table}")[0][0]
        for table in (
            "ticket_property_history",
            "ticket_associations",
            "ticket_pipelines",
            "ticket_pipeline_stages",
        )
    }
    assert counts == {
        "ticket_property_history": truth["history"],
        "ticket_associations": truth["associations"],
        "ticket_pipelines": truth["pipelines"],
        "ticket_pipeline_stages": truth["stages"],
    }

    # Change a few tickets in HubSpot and delete one; the next run picks up exactly those.
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    active = sorted(t for t, v in truth["tickets"].items() if not v.get("archived"))
    changed, deleted = active[:3], active[3]
    for ticket_id in changed:
        requests.patch(
            f"{server.url}/crm/v3/objects/tickets/{ticket_id}",
            json={"properties": {"hs_ticket_priority": "URGENT"}},
            headers=headers,
            timeout=10,
        ).raise_for_status()
    requests.delete(
        f"{server.url}/crm/v3/objects/tickets/{deleted}", headers=headers, timeout=10
    ).raise_for_status()
    # Removing an association does not touch the ticket; it must still vanish downstream.
    linked = next(
        t
        for t in active[4:]
        if (truth["tickets"][t].get("associations") or {}).get("contacts", {}).get("results")
    )
    contact = truth["tickets"][linked]["associations"]["contacts"]["results"][0]["id"]
    requests.delete(
        f"{server.url}/crm/v4/objects/tickets/{linked}/associations/contacts/{contact}",
        headers=headers,
        timeout=10,
    ).raise_for_status()
    time.sleep(1.5)  # past the tap's search-lag margin
    before = _pg_rows(postgres.url, f"SELECT max(_sdc_batched_at) FROM {schema}.tickets")[0][0]

    meltano(env, "run", "tap-hubspot-tickets", "target-postgres")

    reloaded = _pg_rows(
        postgres.url,
        f"SELECT id, hs_ticket_priority, archived FROM {schema}.tickets "
        f"WHERE _sdc_batched_at > '{before.isoformat()}'",
    )
    assert sorted(r[0] for r in reloaded) == sorted([*changed, deleted])
    by_id = {r[0]: r for r in reloaded}
    assert all(by_id[t][1] == "URGENT" for t in changed)
    assert by_id[deleted][2] is True
    assert _pg_rows(postgres.url, f"SELECT count(*) FROM {schema}.tickets")[0][0] == TICKETS
    # ACTIVATE_VERSION: target-postgres soft-deletes associations that are gone in HubSpot.
    live = _pg_rows(
        postgres.url,
        f"SELECT ticket_id, to_object_id FROM {schema}.ticket_associations "
        f"WHERE _sdc_deleted_at IS NULL",
    )
    assert len(live) == _truth(server)["associations"]
    assert (linked, contact) not in set(live)

    # Write-back: a cleaned table in the warehouse goes back into HubSpot through the target.
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS writeback CASCADE")
        conn.execute("CREATE SCHEMA writeback")
        conn.execute(
            f"CREATE TABLE writeback.tickets AS SELECT id, subject || ' (cleaned)' AS subject "
            f"FROM {schema}.tickets WHERE NOT archived ORDER BY id LIMIT 7"
        )
        conn.execute("ALTER TABLE writeback.tickets ADD PRIMARY KEY (id)")
        cleaned = dict(conn.execute("SELECT id, subject FROM writeback.tickets").fetchall())
    meltano(env, "run", "tap-postgres", "target-hubspot-tickets")
    for ticket_id, subject in cleaned.items():
        got = server.portal.get_ticket(
            ticket_id,
            id_property=None,
            properties=["subject"],
            properties_with_history=None,
            associations=None,
            archived=False,
        )
        assert got["properties"]["subject"] == subject


def test_duckdb_forward_write_back_and_incremental(
    emulator: Any, meltano: Any, tmp_path: Any
) -> None:
    # target-duckdb with duckdb >= 1.3 drops the first row of every batch: counts catch it.
    server = emulator(tickets=TICKETS, seed=12)
    path = tmp_path / "warehouse.duckdb"
    export = tmp_path / "writeback.jsonl"
    env = {
        **_tap_env(server),
        "TARGET_DUCKDB_FILEPATH": str(path),
        "TAP_JSONL_PATH": str(export),
    }
    truth = _truth(server)

    meltano(env, "run", "--full-refresh", "tap-hubspot-tickets", "target-duckdb")

    with duckdb.connect(str(path)) as db:
        ids = [r[0] for r in db.execute("SELECT id FROM hubspot.tickets").fetchall()]
        assert Counter(ids) == Counter(list(truth["tickets"]))
        history = db.execute("SELECT count(*) FROM hubspot.ticket_property_history").fetchone()
        stages = db.execute("SELECT count(*) FROM hubspot.ticket_pipeline_stages").fetchone()
        assert history == (truth["history"],)
        assert stages == (truth["stages"],)
        # Clean a few tickets in the warehouse and export them for the write-back job.
        cleaned = db.execute(
            "SELECT id, upper(subject) FROM hubspot.tickets WHERE NOT archived ORDER BY id LIMIT 6"
        ).fetchall()
        before = db.execute("SELECT max(_sdc_batched_at) FROM hubspot.tickets").fetchone()
    export.write_text(
        "".join(json.dumps({"id": i, "subject": subject}) + "\n" for i, subject in cleaned)
    )

    meltano(env, "run", "tap-jsonl", "target-hubspot-tickets")
    snapshot = {t["id"]: t for t in server.portal.snapshot()}
    assert all(snapshot[i]["properties"]["subject"] == subject for i, subject in cleaned)

    time.sleep(1.5)  # past the tap's search-lag margin
    meltano(env, "run", "tap-hubspot-tickets", "target-duckdb")
    with duckdb.connect(str(path), read_only=True) as db:
        reloaded = dict(
            db.execute(
                "SELECT id, subject FROM hubspot.tickets WHERE _sdc_batched_at > ?",
                [before[0] if before else None],
            ).fetchall()
        )
        total = db.execute("SELECT count(*) FROM hubspot.tickets").fetchone()
    assert reloaded == dict(cleaned)
    assert total == (TICKETS,)
