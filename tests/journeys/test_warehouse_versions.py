"""A run that did not read a full-table stream whole leaves the warehouse's rows of it alone.

ACTIVATE_VERSION tells target-postgres that the rows of older versions are gone (it sets their
`_sdc_deleted_at`). The tap sends it once the stream was read and emitted whole in that run; a
read that fails, or that a signal stops, sends none, and the run exits non-zero: the warehouse
keeps its live association rows as they were. Real `meltano run` into a real PostgreSQL, the
association reads of one object type failing on an emulator that shares the first one's portal.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from hubspot_emulator.config import DEFAULT_TOKEN
from tap_hubspot_tickets.runtime import DEFAULT_ASSOCIATIONS

pytestmark = pytest.mark.journeys

TICKETS = 200
SCHEMA = "versions_pg"
# The v4 batch read of tickets' deals, in either path family.
DEALS_READS = "*/tickets/deals/batch/read"
LIVE = (
    f"SELECT ticket_id, to_object_type, to_object_id, association_type_id "
    f"FROM {SCHEMA}.ticket_associations WHERE _sdc_deleted_at IS NULL"
)
# A hang guard only: a signalled tap ends within seconds (`stopping`).
RUN_GUARD_S = 300


def _env(warehouse_meltano: Any, server: Any, postgres: Any, where: Path) -> dict[str, str]:
    return {
        **warehouse_meltano.database(where),
        "TAP_HUBSPOT_TICKETS_API_URL": server.url,
        "TAP_HUBSPOT_TICKETS_ACCESS_TOKEN": DEFAULT_TOKEN,
        "TAP_HUBSPOT_TICKETS_SEARCH_LAG_MARGIN_SECONDS": "0",
        "TAP_HUBSPOT_TICKETS_HISTORY_PROPERTIES": "[]",
        "TARGET_POSTGRES_SQLALCHEMY_URL": (
            f"postgresql+psycopg://postgres@127.0.0.1:{postgres.port}/postgres"
        ),
        "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": SCHEMA,
    }


def _live(postgres: Any) -> Counter[tuple[Any, ...]]:
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{postgres.port}/postgres") as conn:
        return Counter(tuple(row) for row in conn.execute(LIVE).fetchall())


def _truth(server: Any) -> set[tuple[str, str, str]]:
    """Return every linked pair of every live ticket, by the emulator's own state."""
    return {
        (ticket["id"], kind, link["id"])
        for ticket in server.portal.snapshot()
        if not ticket.get("archived")
        for kind, block in (ticket.get("associations") or {}).items()
        if kind in DEFAULT_ASSOCIATIONS
        for link in block.get("results", [])
    }


def _pairs(rows: Counter[tuple[Any, ...]]) -> set[tuple[str, str, str]]:
    """Return the linked pairs of association rows (a pair has a row per association type)."""
    return {(row[0], row[1], row[2]) for row in rows}


def _tap_pids(parent: int) -> list[int]:
    """Return the ids of the tap processes below `parent` (Meltano runs it as a child)."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        pid, ppid = int(entry.name), int(stat.rsplit(")", 1)[1].split()[1])
        if any(arg.endswith(b"/tap-hubspot-tickets") for arg in argv) and _below(ppid, parent):
            found.append(pid)
    return found


def _below(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return False


def _run_and_signal_the_tap(
    warehouse_meltano: Any, env: dict[str, str], server: Any, where: Path
) -> tuple[int, str]:
    """Run `meltano run`; once the tap's reads of deals fail, SIGTERM the tap alone."""
    log = where / f"meltano-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        proc = warehouse_meltano.start(env, out, "run", "tap-hubspot-tickets", "target-postgres")
    try:
        deadline = time.monotonic() + RUN_GUARD_S
        # Only the reads of deals fail on `server`: a fault counted is the tap amid them.
        while not server.stats()["injected_faults"]:
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the tap never read the deals"
            time.sleep(0.05)
        (tap,) = _tap_pids(proc.pid)
        os.kill(tap, signal.SIGTERM)
        status = proc.wait(timeout=RUN_GUARD_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return status, log.read_text()


def test_an_unfinished_association_read_leaves_the_warehouse_as_it_was(
    emulator, warehouse_meltano, postgres, tmp_path
):
    server = emulator(tickets=TICKETS, seed=96)
    env = _env(warehouse_meltano, server, postgres, tmp_path)
    first = warehouse_meltano.run(env, "run", "tap-hubspot-tickets", "target-postgres")
    assert first.returncode == 0, first.tail()
    before = _live(postgres)
    assert _pairs(before) == _truth(server)
    assert any(row[1] == "deals" for row in before)

    # 1. Every read of tickets' deals fails at once (a 403: the app lost the deals scope).
    refused = emulator(
        portal=server.portal,
        seed=97,
        fault_rate=1.0,
        fault_statuses=(403,),
        fault_paths=(DEALS_READS,),
    )
    failed = warehouse_meltano.run(
        {**env, "TAP_HUBSPOT_TICKETS_API_URL": refused.url},
        "run",
        "tap-hubspot-tickets",
        "target-postgres",
    )
    assert failed.returncode != 0, failed.tail()
    assert "403 MISSING_SCOPES" in failed.output, failed.tail()
    assert _live(postgres) == before

    # 2. The reads of deals keep failing (502s and the like, retried), and the tap is stopped
    # while it waits on them, the associations of contacts and companies already sent.
    flaky = emulator(portal=server.portal, seed=98, fault_rate=1.0, fault_paths=(DEALS_READS,))
    status, output = _run_and_signal_the_tap(
        warehouse_meltano, {**env, "TAP_HUBSPOT_TICKETS_API_URL": flaky.url}, flaky, tmp_path
    )
    assert status != 0, output[-3000:]
    assert "tap-hubspot-tickets: stopped: SIGTERM stopped the run" in output, output[-3000:]
    assert _live(postgres) == before

    # A whole read activates its version: an association removed in HubSpot leaves the rows.
    ticket_id, kind, to_id, _ = next(row for row in before if row[1] == "contacts")
    requests.delete(
        f"{server.url}/crm/v4/objects/tickets/{ticket_id}/associations/{kind}/{to_id}",
        headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"},
        timeout=10,
    ).raise_for_status()
    healed = warehouse_meltano.run(env, "run", "tap-hubspot-tickets", "target-postgres")
    assert healed.returncode == 0, healed.tail()
    after = _live(postgres)
    assert _pairs(after) == _truth(server)
    assert (ticket_id, kind, to_id) not in _pairs(after)
