"""The dry run and the archive guard on the target's real command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.journeys

WRITE_ROUTES = ("batch_create", "batch_update", "batch_upsert", "batch_archive", "associations")


def _writes(server: Any) -> dict[str, Any]:
    return {
        route: counts
        for route, counts in server.stats()["by_route"].items()
        if any(name in route for name in WRITE_ROUTES) and "batch_read" not in route
    }


def test_a_dry_run_on_the_command_line_sends_no_write_and_exits_0(
    emulator: Any, singer_input: Any, target_cli: Any, tmp_path: Path
) -> None:
    server = emulator(tickets=10, seed=72)
    live = [t for t in server.portal.snapshot() if not t["archived"]]
    build = singer_input(server)
    records = [
        {"subject": "would be new", "hs_pipeline_stage": "New"},
        {"id": live[0]["id"], "subject": "would be renamed"},
        {"id": live[1]["id"], "archived": True},
    ]
    plan = tmp_path / "plan.jsonl"

    run = target_cli(
        server,
        [build.schema(), *map(build.record, records), build.state({"bookmark": 3})],
        dry_run=True,
        plan_path=str(plan),
    )

    summary = run.assert_clean_success()
    # No state goes back: the upstream tap must send these records again to the real run.
    assert run.states == []
    assert (summary["created"], summary["updated"], summary["archived"]) == (1, 1, 1)
    assert _writes(server) == {}
    actions = [json.loads(line)["action"] for line in plan.read_text().splitlines()]
    assert sorted(actions) == ["archive", "create", "update"]


def test_the_archive_guard_ends_the_run_with_one_line_and_archives_nothing(
    emulator: Any, singer_input: Any, target_cli: Any
) -> None:
    server = emulator(tickets=10, seed=73)
    live = [t for t in server.portal.snapshot() if not t["archived"]]
    build = singer_input(server)
    records = [
        *({"id": t["id"], "_sdc_deleted_at": "2026-11-30T00:00:00Z"} for t in live[:3]),
        {"id": live[4]["id"], "subject": "written all the same"},
    ]

    run = target_cli(server, [build.schema(), *map(build.record, records)], max_archives=2)

    line = run.assert_one_line_error("archive 3 tickets", "max_archives=2", "none was archived")
    assert run.returncode == 1, line
    tickets = {t["id"]: t for t in server.portal.snapshot()}
    assert not any(tickets[t["id"]]["archived"] for t in live[:3])
    assert tickets[live[4]["id"]]["properties"]["subject"] == "written all the same"
    assert {r["category"] for r in run.rejects} == {"MAX_ARCHIVES"}
