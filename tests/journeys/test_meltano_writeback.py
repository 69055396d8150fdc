"""Real `meltano run` write-back journeys against the emulator (issue #9: A, B, F, J, K).

The write-back jobs of meltano.yml, as a data engineer runs them: a file (tap-jsonl) or a table
(tap-postgres) of cleaned tickets goes back into HubSpot through target-hubspot-tickets. Each
test has its own Meltano system database (its own state); the plugins and the catalog cache
live in the session's own `.meltano` directory, so a catalog discovered by one run is what
the next run would reuse.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
import pytest

from hubspot_emulator.config import DEFAULT_TOKEN

pytestmark = pytest.mark.journeys

SUPPORT_PIPELINE = "0"
NEW_STAGE = "1034562871"


def _tickets(server: Any) -> dict[str, dict[str, Any]]:
    return {t["id"]: t for t in server.portal.snapshot()}


def _support_tickets(server: Any) -> list[str]:
    """Return live tickets of the default pipeline, oldest first."""
    return sorted(
        i
        for i, t in _tickets(server).items()
        if not t.get("archived") and t["properties"].get("hs_pipeline") == SUPPORT_PIPELINE
    )


def _other_stage(server: Any, ticket_id: str) -> str:
    current = _tickets(server)[ticket_id]["properties"]["hs_pipeline_stage"]
    pipeline = next(
        p for p in server.portal.list_pipelines()["results"] if p["id"] == SUPPORT_PIPELINE
    )
    return next(s["id"] for s in pipeline["stages"] if s["id"] != current)


def _env(server: Any, tmp_path: Path, journey_meltano: Any, **extra: str) -> dict[str, str]:
    return {
        **journey_meltano.database(tmp_path),
        "TAP_JSONL_PATH": str(tmp_path / "tickets.jsonl"),
        "TARGET_HUBSPOT_TICKETS_API_URL": server.url,
        "TARGET_HUBSPOT_TICKETS_ACCESS_TOKEN": DEFAULT_TOKEN,
        "TARGET_HUBSPOT_TICKETS_SUMMARY_PATH": str(tmp_path / "summary.json"),
        "TARGET_HUBSPOT_TICKETS_REJECTS_PATH": str(tmp_path / "rejects.jsonl"),
        **extra,
    }


def _write_file(path: Path, rows: list[dict[str, Any]], after: float | None = None) -> None:
    """Write a write-back file; `after`: make sure its mtime is a later second than that.

    tap-jsonl skips a file whose mtime (in whole seconds) is not past its bookmark.
    """
    if after is not None:
        while int(time.time()) <= int(after):
            time.sleep(0.05)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def _summary(tmp_path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((tmp_path / "summary.json").read_text())
    return loaded


# -- B: the second run carries the columns the first did not have --------------------------------
def test_second_writeback_run_carries_columns_the_first_run_did_not_have(
    emulator: Any, journey_meltano: Any, tmp_path: Path
) -> None:
    server = emulator(tickets=20, seed=61)
    renamed, archived, moved = _support_tickets(server)[:3]
    new_stage = _other_stage(server, moved)
    env = _env(server, tmp_path, journey_meltano)
    export = tmp_path / "tickets.jsonl"

    _write_file(export, [{"id": t, "subject": f"cleaned {t}"} for t in (renamed, archived, moved)])
    first = journey_meltano.run(env, "run", "writeback-duckdb")
    assert first.returncode == 0, first.tail()
    tickets = _tickets(server)
    assert all(tickets[t]["properties"]["subject"] == f"cleaned {t}" for t in (renamed, moved))

    _write_file(
        export,
        [{"id": archived, "archived": True}, {"id": moved, "hs_pipeline_stage": new_stage}],
        after=export.stat().st_mtime,
    )
    second = journey_meltano.run(env, "run", "writeback-duckdb")

    assert second.returncode == 0, second.tail()
    assert "not found in catalog schema" not in second.output, second.tail()
    tickets = _tickets(server)
    assert tickets[archived].get("archived") is True, "the archive was not carried to HubSpot"
    assert tickets[moved]["properties"]["hs_pipeline_stage"] == new_stage
    summary = _summary(tmp_path)
    assert (summary["received"], summary["archived"], summary["updated"]) == (2, 1, 1), summary


# -- A: creates in a file keyed by id ------------------------------------------------------------
def test_writeback_file_of_creates_without_ids(
    emulator: Any, journey_meltano: Any, tmp_path: Path
) -> None:
    server = emulator(tickets=20, seed=62)
    (updated,) = _support_tickets(server)[:1]
    env = _env(server, tmp_path, journey_meltano)
    rows = [
        {"subject": "journey: new, no id", "hs_pipeline_stage": NEW_STAGE},
        {"id": None, "subject": "journey: new, null id", "hs_pipeline_stage": NEW_STAGE},
        {"id": updated, "subject": "journey: updated"},
    ]
    _write_file(tmp_path / "tickets.jsonl", rows)

    run = journey_meltano.run(env, "run", "writeback-duckdb")

    assert run.returncode == 0, run.tail()
    assert "MissingKeyProperties" not in run.output, run.tail()
    subjects = [t["properties"].get("subject") for t in server.portal.snapshot()]
    assert subjects.count("journey: new, no id") == 1
    assert subjects.count("journey: new, null id") == 1
    assert _tickets(server)[updated]["properties"]["subject"] == "journey: updated"
    summary = _summary(tmp_path)
    assert (summary["created"], summary["updated"], summary["rejected"]) == (2, 1, 0), summary


# -- issue #18: the same file written back twice never makes a second ticket -------------------
def test_the_same_file_written_back_twice_makes_each_ticket_once(
    emulator: Any, journey_meltano: Any, tmp_path: Path
) -> None:
    server = emulator(tickets=10, seed=65)
    export = tmp_path / "tickets.jsonl"
    # Each row carries its own key: tap-jsonl's STATE holds the file's modification time, so a
    # file written again is new input to source ids derived from the state (docs/target.md).
    rows = [
        {"source_row_id": "row-1", "subject": "twice: printer", "hs_pipeline_stage": "New"},
        {"source_row_id": "row-2", "subject": "twice: vpn", "hs_pipeline_stage": "New"},
    ]
    _write_file(export, rows)
    unkeyed = _env(server, tmp_path, journey_meltano, TARGET_HUBSPOT_TICKETS_SOURCE_ID_PROPERTY="")
    keyed = _env(
        server,
        tmp_path,
        journey_meltano,
        TARGET_HUBSPOT_TICKETS_SOURCE_ID_PROPERTY="source_row_id",
        TARGET_HUBSPOT_TICKETS_CREATE_SOURCE_ID_PROPERTY="true",
    )

    refused = journey_meltano.run(unkeyed, "run", "writeback-duckdb")
    assert refused.returncode != 0, refused.tail()
    assert "no source_id_property is set" in refused.output
    assert (_summary(tmp_path)["created"], _summary(tmp_path)["rejected"]) == (0, 0)

    counts = []
    for _ in range(2):
        _write_file(export, rows, after=export.stat().st_mtime)  # tap-jsonl reads it again
        run = journey_meltano.run(keyed, "run", "writeback-duckdb")
        assert run.returncode == 0, run.tail()
        counts.append((_summary(tmp_path)["created"], _summary(tmp_path)["upserted"]))
        server.clock.offset_s += 60  # the next run comes later

    assert counts == [(2, 0), (0, 2)]
    subjects = Counter(t["properties"].get("subject") for t in server.portal.snapshot())
    assert (subjects["twice: printer"], subjects["twice: vpn"]) == (1, 1)


# -- B and F: a column first seen after tap-jsonl's default sample of 1,000 lines ---------------
def test_writeback_reads_columns_and_types_first_seen_after_a_thousand_lines(
    emulator: Any, journey_meltano: Any, tmp_path: Path
) -> None:
    # With tap-jsonl's default sample, `archived` is typed boolean from the first 1,000 lines
    # (the SDK then reads a later "false" as true and archives) and `hs_pipeline_stage`,
    # first seen on line 1,002, is dropped.
    server = emulator(tickets=40, seed=63)
    support = _support_tickets(server)
    bulk, kept, moved = support[:20], support[20], support[21]
    new_stage = _other_stage(server, moved)
    env = _env(server, tmp_path, journey_meltano)
    rows: list[dict[str, Any]] = [
        {"id": bulk[n % len(bulk)], "subject": f"bulk {n}", "archived": False} for n in range(1_000)
    ]
    rows.append({"id": kept, "subject": "kept live", "archived": "false"})
    rows.append({"id": moved, "hs_pipeline_stage": new_stage})
    _write_file(tmp_path / "tickets.jsonl", rows)

    run = journey_meltano.run(env, "run", "writeback-duckdb")

    assert run.returncode == 0, run.tail()
    tickets = _tickets(server)
    assert not tickets[kept].get("archived"), '"archived": "false" archived the ticket'
    assert tickets[kept]["properties"]["subject"] == "kept live"
    assert tickets[moved]["properties"]["hs_pipeline_stage"] == new_stage
    assert not any(tickets[t].get("archived") for t in bulk)


# -- F: control columns of other JSON types, through the whole pipeline -------------------------
def test_writeback_file_archived_as_the_user_wrote_it(
    emulator: Any, journey_meltano: Any, tmp_path: Path
) -> None:
    server = emulator(tickets=20, seed=64)
    ids = _support_tickets(server)[:6]
    meant = {
        ids[0]: (True, True),
        ids[1]: ("TRUE", True),
        ids[2]: (1, True),
        ids[3]: ("false", False),
        ids[4]: (0, False),
        ids[5]: ("0", False),
    }
    env = _env(server, tmp_path, journey_meltano)
    rows = [
        {"id": t, "archived": value, "subject": f"as written {t}"}
        for t, (value, _) in meant.items()
    ]
    _write_file(tmp_path / "tickets.jsonl", rows)

    run = journey_meltano.run(env, "run", "writeback-duckdb")

    assert run.returncode == 0, run.tail()
    tickets = _tickets(server)
    got = {t: bool(tickets[t].get("archived")) for t in meant}
    assert got == {t: archive for t, (_, archive) in meant.items()}
    for t, (_, archive) in meant.items():
        if not archive:
            assert tickets[t]["properties"]["subject"] == f"as written {t}"
    summary = _summary(tmp_path)
    assert (summary["archived"], summary["updated"], summary["rejected"]) == (3, 3, 0), summary


# -- K: a wrong token ends the job with one line naming the 401, never the token ----------------
def test_writeback_with_a_wrong_token_names_the_401_and_hides_the_token(
    emulator: Any, journey_meltano: Any, tmp_path: Path
) -> None:
    server = emulator(tickets=5, seed=65)
    token = "pat-na1-feedface-0000-1111-2222-333344445555"  # a wrong one on purpose
    env = _env(server, tmp_path, journey_meltano, TARGET_HUBSPOT_TICKETS_ACCESS_TOKEN=token)
    _write_file(tmp_path / "tickets.jsonl", [{"id": "1", "subject": "never written"}])

    run = journey_meltano.run(env, "run", "writeback-duckdb")

    assert run.returncode != 0, run.tail()
    assert token not in run.output
    assert "Traceback" not in run.output, run.tail()
    errors = [line for line in run.output.splitlines() if "target-hubspot-tickets: error:" in line]
    assert len(errors) == 1, run.tail()
    assert "401" in errors[0], errors[0]
    for name in ("summary.json", "rejects.jsonl"):
        path = tmp_path / name
        assert not path.exists() or token not in path.read_text(encoding="utf-8"), name


def test_a_misspelt_dry_run_variable_stops_the_writeback_before_any_write(
    emulator: Any, journey_meltano: Any, tmp_path: Path
) -> None:
    # Meltano passes only known settings into the config file; the variable reaches the target
    # through the environment it inherits, beside every variable Meltano sets itself.
    server = emulator(tickets=5, seed=66)
    (ticket,) = _support_tickets(server)[:1]
    env = _env(server, tmp_path, journey_meltano, TARGET_HUBSPOT_TICKETS_DRY_RUNN="true")
    _write_file(tmp_path / "tickets.jsonl", [{"id": ticket, "subject": "meant as a dry run"}])
    before = server.portal.snapshot()

    run = journey_meltano.run(env, "run", "writeback-duckdb")

    assert run.returncode != 0, run.tail()
    assert "Traceback" not in run.output, run.tail()
    said = [line for line in run.output.splitlines() if "target-hubspot-tickets: " in line]
    assert [line.split("target-hubspot-tickets: ", 1)[1] for line in said] == [
        "error: environment variable TARGET_HUBSPOT_TICKETS_DRY_RUNN is not a setting; did you "
        "mean TARGET_HUBSPOT_TICKETS_DRY_RUN? A misspelt dry_run would let this run write to "
        "HubSpot, so it stops before reading any input"
    ], run.tail()
    assert server.portal.snapshot() == before
    # The summary file says the run failed and read nothing, whatever an earlier run left.
    summary = _summary(tmp_path)
    assert (summary["status"], summary["received"]) == ("failed", 0), summary


def test_a_load_method_that_does_not_apply_stops_the_writeback_before_any_write(
    emulator: Any, journey_meltano: Any, tmp_path: Path
) -> None:
    # A known setting: Meltano writes it into the target's config file.
    server = emulator(tickets=5, seed=67)
    (ticket,) = _support_tickets(server)[:1]
    env = _env(server, tmp_path, journey_meltano, TARGET_HUBSPOT_TICKETS_LOAD_METHOD="overwrite")
    _write_file(tmp_path / "tickets.jsonl", [{"id": ticket, "subject": "never written"}])
    before = server.portal.snapshot()

    run = journey_meltano.run(env, "run", "writeback-duckdb")

    assert run.returncode != 0, run.tail()
    assert "Traceback" not in run.output, run.tail()
    errors = {
        line[line.index("target-hubspot-tickets: error:") :]
        for line in run.output.splitlines()
        if "target-hubspot-tickets: error:" in line
    }
    assert errors == {
        "target-hubspot-tickets: error: load_method 'overwrite' does not apply: this target "
        "writes each record to HubSpot as a create, update, upsert or archive; remove the setting"
    }, run.tail()
    assert server.portal.snapshot() == before


# -- J with PostgreSQL: a table that gains columns between two write-back runs -------------------
def test_postgres_writeback_carries_columns_added_to_the_table(
    emulator: Any, journey_meltano: Any, postgres: Any, tmp_path: Path
) -> None:
    server = emulator(tickets=20, seed=66)
    renamed, archived, moved = _support_tickets(server)[:3]
    new_stage = _other_stage(server, moved)
    env = _env(
        server,
        tmp_path,
        journey_meltano,
        TAP_POSTGRES_SQLALCHEMY_URL=(
            f"postgresql://{postgres.user}:trust@{postgres.host}:{postgres.port}/postgres"
        ),
    )
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS writeback CASCADE")
        conn.execute("CREATE SCHEMA writeback")
        conn.execute("CREATE TABLE writeback.tickets (id text PRIMARY KEY, subject text)")
        for t in (renamed, archived, moved):
            conn.execute("INSERT INTO writeback.tickets VALUES (%s, %s)", (t, f"from pg {t}"))

    first = journey_meltano.run(env, "run", "writeback-postgres")
    assert first.returncode == 0, first.tail()
    assert _tickets(server)[renamed]["properties"]["subject"] == f"from pg {renamed}"

    with psycopg.connect(postgres.url, autocommit=True) as conn:
        conn.execute("ALTER TABLE writeback.tickets ADD COLUMN archived boolean")
        conn.execute("ALTER TABLE writeback.tickets ADD COLUMN hs_pipeline_stage text")
        conn.execute("UPDATE writeback.tickets SET archived = true WHERE id = %s", (archived,))
        conn.execute(
            "UPDATE writeback.tickets SET hs_pipeline_stage = %s WHERE id = %s", (new_stage, moved)
        )
    second = journey_meltano.run(env, "run", "writeback-postgres")

    assert second.returncode == 0, second.tail()
    tickets = _tickets(server)
    assert tickets[archived].get("archived") is True, "the archive was not carried to HubSpot"
    assert tickets[moved]["properties"]["hs_pipeline_stage"] == new_stage
    assert not tickets[renamed].get("archived")
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA writeback CASCADE")


# -- files written back one after another ---------------------------------------------------------
def test_each_writeback_file_is_sent_once_and_a_file_read_again_duplicates_nothing(
    emulator: Any, journey_meltano: Any, tmp_path: Path
) -> None:
    server = emulator(tickets=5, seed=64)
    env = _env(server, tmp_path, journey_meltano)
    received = []
    for day in ("monday", "tuesday", "wednesday"):
        export = tmp_path / f"{day}.jsonl"
        rows = [{"subject": f"journey: {day} {n}", "hs_pipeline_stage": NEW_STAGE} for n in (1, 2)]
        _write_file(export, rows)
        run = journey_meltano.run({**env, "TAP_JSONL_PATH": str(export)}, "run", "writeback-duckdb")
        assert run.returncode == 0, run.tail()
        received.append(_summary(tmp_path)["received"])
    # The same export once more (a retried job): its creates find their tickets.
    again = journey_meltano.run(
        {**env, "TAP_JSONL_PATH": str(tmp_path / "monday.jsonl")}, "run", "writeback-duckdb"
    )
    assert again.returncode == 0, again.tail()
    summary = _summary(tmp_path)

    assert received == [2, 2, 2]
    assert (summary["received"], summary["created"], summary["upserted"]) == (2, 0, 2), summary
    subjects = Counter(t["properties"].get("subject") for t in server.portal.snapshot())
    journey = {s: n for s, n in subjects.items() if s and s.startswith("journey: ")}
    assert len(journey) == 6
    assert set(journey.values()) == {1}
