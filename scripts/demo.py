"""Run the demo: emulator -> tap -> DuckDB, a summary, a write-back, an incremental sync, and
the dbt models in transform/ with a table of time in stage.

`make demo` runs this with the project's virtualenv. Everything happens on this machine: a
seeded hubspot-emulator on loopback stands in for HubSpot, Meltano runs the real plugins, and
the warehouse is an embedded DuckDB file under output/.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# Everything the demo makes lives under output/demo/, which each demo starts afresh: the
# warehouse, write-back file and Meltano state that `meltano run` uses by default
# (output/warehouse.duckdb, output/writeback/, .meltano/) are the user's and stay untouched.
OUTPUT = ROOT / "output" / "demo"
DEMO_STATE = OUTPUT / "meltano.db"
LOGS = OUTPUT / "logs"
WAREHOUSE = OUTPUT / "warehouse.duckdb"
WRITEBACK = OUTPUT / "writeback" / "tickets.jsonl"
DBT_ARTEFACTS = OUTPUT / "dbt"
SUMMARY_WINDOW_DAYS = 90
TOKEN = "emulator-token"  # noqa: S105 - the local emulator's documented token
TICKETS = int(os.environ.get("DEMO_TICKETS", "2000"))
SEED = int(os.environ.get("DEMO_SEED", "42"))
CHANGED = 5
# Each run reads changes up to its start and the next one starts this much earlier. The
# emulator's search index follows writes at once, so a short margin keeps the incremental run's
# re-read window (and its count) small; against real HubSpot keep the default of five minutes.
SEARCH_MARGIN_S = 2

_started = time.monotonic()


def say(text: str) -> None:
    """Print one progress line with the time since the demo started."""
    print(f"[{time.monotonic() - _started:6.1f}s] {text}", flush=True)


@contextmanager
def emulator() -> Iterator[str]:
    """Start a seeded hubspot-emulator on a free loopback port; stop it afterwards."""
    process = subprocess.Popen(  # noqa: S603 - our own console script
        [
            str(BIN / "hubspot-emulator"),
            "--port",
            "0",
            "--tickets",
            str(TICKETS),
            "--seed",
            str(SEED),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        if not first.startswith("listening on "):
            raise SystemExit(f"the emulator did not start: {first!r}")
        yield first.removeprefix("listening on ")
    finally:
        process.terminate()
        process.wait(timeout=10)


def meltano(env: dict[str, str], *args: str, log: str) -> None:
    """Run one meltano command, its output in a log file; show the tail if it fails."""
    LOGS.mkdir(parents=True, exist_ok=True)
    path = LOGS / f"{log}.log"
    with path.open("w", encoding="utf-8") as out:
        done = subprocess.run(  # noqa: S603 - meltano from our own virtualenv
            [str(BIN / "meltano"), *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0:
        tail = path.read_text(encoding="utf-8").splitlines()[-30:]
        print("\n".join(tail), file=sys.stderr)
        raise SystemExit(f"meltano {' '.join(args)} failed (full log: {path})")


def summary(db: duckdb.DuckDBPyConnection) -> None:
    """Print what a person wants to see first: tickets by stage, history, associations."""
    rows = db.execute(
        """
        SELECT p.label AS pipeline, s.label AS stage, count(*) AS tickets
        FROM hubspot.tickets t
        JOIN hubspot.ticket_pipeline_stages s
          ON s.pipeline_id = t.hs_pipeline AND s.stage_id = t.hs_pipeline_stage
        JOIN hubspot.ticket_pipelines p ON p.id = t.hs_pipeline
        WHERE NOT coalesce(t.archived, false)
        GROUP BY ALL ORDER BY pipeline, min(s.display_order)
        """
    ).fetchall()
    print("\n  Tickets per pipeline stage")
    for pipeline, stage, count in rows:
        print(f"    {pipeline:<28} {stage:<28} {count:>6}")
    counts = {
        "tickets": "SELECT count(*) FROM hubspot.tickets WHERE NOT coalesce(archived, false)",
        "archived (deleted) tickets": "SELECT count(*) FROM hubspot.tickets WHERE archived",
        "property history rows": "SELECT count(*) FROM hubspot.ticket_property_history",
        "associations": "SELECT count(*) FROM hubspot.ticket_associations",
        "ticket properties": "SELECT count(*) FROM hubspot.ticket_properties",
    }
    print()
    for label, sql in counts.items():
        row = db.execute(sql).fetchone()
        print(f"  {label:<28} {row[0] if row else 0:>8}")
    print()


def _duration(seconds: float | None) -> str:
    """Spell a time in stage the way a person reads it: 45m, 7.5h, 3.2d."""
    if seconds is None:
        return "-"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 86_400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86_400:.1f}d"


def time_in_stage(db: duckdb.DuckDBPyConnection) -> None:
    """Print time in stage per stage from the dbt model ticket_stage_summary."""
    rows = db.execute(
        """
        SELECT pipeline_label, stage_label, tickets_entered, visits_exited,
               median_seconds_in_stage, p90_seconds_in_stage
        FROM analytics.ticket_stage_summary
        WHERE window_days = ?
        ORDER BY pipeline_id, display_order
        """,
        [SUMMARY_WINDOW_DAYS],
    ).fetchall()
    print(f"\n  Time in stage, last {SUMMARY_WINDOW_DAYS} days (analytics.ticket_stage_summary)")
    print(f"    {'pipeline':<26} {'stage':<20} {'entered':>7} {'left':>6} {'median':>7} {'p90':>7}")
    for pipeline, stage, entered, left, median, p90 in rows:
        print(
            f"    {pipeline:<26} {stage:<20} {entered:>7} {left:>6} "
            f"{_duration(median):>7} {_duration(p90):>7}"
        )
    print("    (median and p90 over the visits that left the stage in those days)\n")


def change_tickets(db: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """Edit a few open tickets in the warehouse copy and export them for the write-back."""
    picked = db.execute(
        """
        SELECT id, subject FROM hubspot.tickets
        WHERE NOT coalesce(archived, false) AND coalesce(hs_ticket_priority, '') <> 'URGENT'
        ORDER BY id LIMIT ?
        """,
        [CHANGED],
    ).fetchall()
    changes: dict[str, dict[str, Any]] = {}
    for ticket_id, subject in picked:
        changes[str(ticket_id)] = {
            "id": str(ticket_id),
            "subject": f"{subject} [reviewed]",
            "hs_ticket_priority": "URGENT",
        }
        db.execute(
            "UPDATE hubspot.tickets SET subject = ?, hs_ticket_priority = 'URGENT' WHERE id = ?",
            [changes[str(ticket_id)]["subject"], ticket_id],
        )
    WRITEBACK.parent.mkdir(parents=True, exist_ok=True)
    with WRITEBACK.open("w", encoding="utf-8") as out:
        for record in changes.values():
            out.write(json.dumps(record) + "\n")
    return changes


def main() -> None:
    """Run every step of the demo."""
    if OUTPUT.is_dir():
        shutil.rmtree(OUTPUT)
    OUTPUT.mkdir(parents=True)
    env = {
        **os.environ,
        "MELTANO_ENVIRONMENT": "emulator",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        # The demo's state lives apart from the project's own: a later `meltano run` against
        # another portal must not resume the demo's bookmarks.
        "MELTANO_DATABASE_URI": f"sqlite:///{DEMO_STATE}",
        "TARGET_DUCKDB_FILEPATH": str(WAREHOUSE),
        "TAP_JSONL_PATH": str(WRITEBACK),
        # dbt's compiled SQL and logs stay with the demo's other output.
        "DBT_TARGET_PATH": str(DBT_ARTEFACTS / "target"),
        "DBT_LOG_PATH": str(DBT_ARTEFACTS / "logs"),
    }

    say(f"Starting hubspot-emulator with {TICKETS} seeded tickets")
    with emulator() as url:
        say(f"Emulator listening on {url}")
        env.update(
            {
                "TAP_HUBSPOT_TICKETS_API_URL": url,
                "TAP_HUBSPOT_TICKETS_ACCESS_TOKEN": TOKEN,
                "TAP_HUBSPOT_TICKETS_SEARCH_LAG_MARGIN_SECONDS": str(SEARCH_MARGIN_S),
                "TARGET_HUBSPOT_TICKETS_API_URL": url,
                "TARGET_HUBSPOT_TICKETS_ACCESS_TOKEN": TOKEN,
                "TARGET_HUBSPOT_TICKETS_REJECTS_PATH": str(OUTPUT / "writeback" / "rejects.jsonl"),
                "TARGET_HUBSPOT_TICKETS_SUMMARY_PATH": str(OUTPUT / "writeback" / "summary.json"),
            }
        )
        say("Installing the Meltano plugins (first run takes a minute)")
        meltano(
            env,
            "install",
            "tap-hubspot-tickets",
            "target-duckdb",
            "tap-jsonl",
            "target-hubspot-tickets",
            "dbt-duckdb",
            log="install",
        )

        say("Full sync: meltano run tap-hubspot-tickets target-duckdb")
        meltano(env, "run", "--full-refresh", "tap-hubspot-tickets", "target-duckdb", log="sync-1")
        with duckdb.connect(str(WAREHOUSE)) as db:
            summary(db)
            changes = change_tickets(db)
        say(f"Changed {len(changes)} tickets in the warehouse: priority URGENT, subject tagged")

        say("Write-back: meltano run tap-jsonl target-hubspot-tickets")
        meltano(env, "run", "tap-jsonl", "target-hubspot-tickets", log="writeback")
        written = json.loads((OUTPUT / "writeback" / "summary.json").read_text(encoding="utf-8"))
        say(f"Target summary: {json.dumps(written)}")
        with requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {TOKEN}"
            for ticket_id, change in changes.items():
                answer = http.get(
                    f"{url}/crm/objects/2026-03/tickets/{ticket_id}",
                    params={"properties": "subject,hs_ticket_priority"},
                    timeout=10,
                )
                answer.raise_for_status()
                props = answer.json()["properties"]
                ok = (
                    props["subject"] == change["subject"]
                    and props["hs_ticket_priority"] == "URGENT"
                )
                print(
                    f"    HubSpot ticket {ticket_id}: {props['hs_ticket_priority']:<7} "
                    f"{props['subject'][:50]!r} {'ok' if ok else 'MISMATCH'}"
                )
                if not ok:
                    raise SystemExit(f"ticket {ticket_id} was not written back")

        # Past the first run's re-read window, so the incremental run loads only the changes.
        time.sleep(SEARCH_MARGIN_S + 1)
        with duckdb.connect(str(WAREHOUSE)) as db:
            row = db.execute("SELECT max(_sdc_batched_at) FROM hubspot.tickets").fetchone()
        before = row[0] if row else None
        say("Incremental sync: meltano run tap-hubspot-tickets target-duckdb")
        meltano(env, "run", "tap-hubspot-tickets", "target-duckdb", log="sync-2")
        with duckdb.connect(str(WAREHOUSE)) as db:
            picked = {
                str(r[0])
                for r in db.execute(
                    "SELECT id FROM hubspot.tickets WHERE _sdc_batched_at > ?", [before]
                ).fetchall()
            }
        exact = picked == set(changes)
        say(
            f"Incremental sync loaded {len(picked)} ticket(s): "
            f"{'exactly the ones written back' if exact else 'NOT the expected set'}"
        )
        if not exact:
            raise SystemExit(f"expected {sorted(changes)}, got {sorted(picked)}")

        say("Models: meltano run dbt-duckdb:run dbt-duckdb:test (transform/)")
        meltano(env, "run", "dbt-duckdb:run", "dbt-duckdb:test", log="dbt")
        with duckdb.connect(str(WAREHOUSE), read_only=True) as db:
            time_in_stage(db)
    say(f"Done. Warehouse: {WAREHOUSE.relative_to(ROOT)}; logs: {LOGS.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
