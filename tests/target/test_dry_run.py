"""Dry runs, skipped no-op updates, the results file and the archive guard, against the emulator."""

from __future__ import annotations

import json
from pathlib import Path

KEY = "external_ticket_id"
# Calls that only read; every other POST, and every PATCH, PUT or DELETE, writes.
READ_POSTS = {
    "POST tickets.batch_read",
    "POST tickets.search",
    "POST properties.batch_read",
    "POST associations.batch_read",
    "POST oauth.token",
}


def _writes(server) -> dict[str, dict[str, int]]:
    return {
        route: counts
        for route, counts in server.stats()["by_route"].items()
        if not route.startswith("GET ") and route not in READ_POSTS
    }


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def _live(server) -> list[dict]:
    return [t for t in server.portal.snapshot() if not t["archived"]]


def _tickets(server) -> dict[str, dict]:
    return {t["id"]: t for t in server.portal.snapshot()}


def _mixed_input(server) -> list[dict]:
    """Return one record of every kind, on a portal with live and archived tickets."""
    live = [t for t in server.portal.snapshot() if not t["archived"]]
    archived, deleted = [t for t in server.portal.snapshot() if t["archived"]][:2]
    keyed = [t for t in live if t["properties"].get(KEY)]
    same = live[0]
    return [
        {"subject": "a new ticket", "hs_pipeline_stage": "New", KEY: "NEW-1"},  # upsert-create
        {"subject": "another new one", "hs_pipeline_stage": "New"},  # create
        {"id": live[1]["id"], "hs_ticket_priority": "LOW", "subject": "renamed"},  # update
        {"id": same["id"], "subject": same["properties"]["subject"]},  # unchanged
        {KEY: keyed[0]["properties"][KEY], "subject": "by key"},  # upsert-update
        {"id": live[2]["id"], "archived": True},  # archive
        {"id": archived["id"], "archived": True},  # archive (already)
        {"id": "999999991", "archived": True},  # rejected: no such ticket
        {"id": "999999992", "subject": "nobody"},  # rejected: no such ticket
        {"id": deleted["id"], "subject": "too late"},  # rejected: archived
        {"subject": "bad stage", "hs_pipeline_stage": "Nowhere"},  # rejected: validation
        {"id": live[3]["id"], "subject": "first version"},  # superseded
        {"id": live[3]["id"], "subject": "second version"},  # update
    ]


def test_a_dry_run_writes_nothing_and_plans_what_the_real_run_then_does(
    emulator, singer, target_config, run_target, tmp_path
):
    server = emulator(tickets=100, seed=5)  # a portal with archived tickets
    records = _mixed_input(server)
    before = _tickets(server)
    lines = singer(server).lines(records)
    plan_path, results_path = tmp_path / "plan.jsonl", tmp_path / "results.jsonl"

    dry = run_target(
        target_config(
            server,
            id_property=KEY,
            dry_run=True,
            plan_path=str(plan_path),
            results_path=str(results_path),
            summary_path=str(tmp_path / "dry-summary.json"),
        ),
        lines,
    )

    assert _writes(server) == {}
    assert _tickets(server) == before
    assert not results_path.exists()  # a dry run claims nothing was done
    plan = {line["position"]: line for line in _lines(plan_path)}
    assert sorted(plan) == list(range(1, len(records) + 1))
    assert "nothing was written to HubSpot" in dry.log
    assert dry.rejects == []  # a dry run's rejects are in its plan only
    assert plan[11]["reason"].startswith("tickets record #11 (line 12): unknown stage 'Nowhere'")

    real = run_target(target_config(server, id_property=KEY, results_path=str(results_path)), lines)

    results = {line["position"]: line for line in _lines(results_path)}
    assert {p: r["action"] for p, r in results.items()} == {
        p: line["action"] for p, line in plan.items()
    }
    assert real.summary == dry.summary
    assert [results[p]["action"] for p in sorted(results)] == [
        "upsert-create",
        "create",
        "update",
        "unchanged",
        "upsert-update",
        "archive",
        "archive",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "superseded",
        "update",
    ]
    assert [results[p]["category"] for p in (8, 9, 10, 11)] == [
        "OBJECT_NOT_FOUND",
        "OBJECT_NOT_FOUND",
        "ARCHIVED",
        "VALIDATION",
    ]
    # The plan shows each change from HubSpot's value to the new one, and what only HubSpot knows.
    update = plan[3]
    assert update["certain"] is True
    assert update["changes"]["subject"] == {
        "current": before[records[2]["id"]]["properties"]["subject"],
        "new": "renamed",
    }
    assert [plan[1]["certain"], plan[2]["certain"]] == [False, False]  # creates
    assert plan[4]["changes"] == {}  # unchanged
    # The ticket each line names is the one the run wrote (creates have none before the run).
    assert {p: line["hubspot_id"] for p, line in plan.items() if p not in {1, 2}} == {
        p: line["hubspot_id"] for p, line in results.items() if p not in {1, 2}
    }


def test_updates_that_change_nothing_are_not_sent(
    emulator, singer, target_config, run_target, api_session
):
    server = emulator(tickets=8, seed=32)
    first, second = _live(server)[:2]
    keyed = next(t for t in _live(server)[2:] if t["properties"].get(KEY))
    # Values as another app may have written them: HubSpot keeps numbers as given.
    stored = {
        "estimated_effort_hours": "1.50",
        "last_customer_reply_at": "2025-01-02T03:04:05.000Z",
        "affected_products": "web_app;mobile_ios",
        "is_escalated": "true",
        "sla_due_date": "2025-04-20",
    }
    answer = api_session.patch(
        f"{server.url}/crm/v3/objects/tickets/{first['id']}",
        json={"properties": stored},
        headers={"Authorization": f"Bearer {server.config.token}"},
        timeout=10,
    )
    answer.raise_for_status()
    stamp = _tickets(server)[first["id"]]["properties"]["hs_lastmodifieddate"]
    server.reset_stats()
    same_values = [
        {
            "id": first["id"],
            "estimated_effort_hours": 1.5,  # the same number
            "last_customer_reply_at": "2025-01-02T03:04:05Z",  # the same instant
            "affected_products": ["mobile_ios", "web_app"],  # the same options
            "is_escalated": True,
            "sla_due_date": "2025-04-20",
            "content": None,  # a null leaves HubSpot's value
        },
        {"id": second["id"], "subject": "changed", "hs_ticket_priority": None},
        # An upsert by a unique property is compared the same way when its ticket exists.
        {KEY: keyed["properties"][KEY], "subject": keyed["properties"]["subject"]},
    ]

    run = run_target(target_config(server, id_property=KEY), singer(server).lines(same_values))

    assert run.summary["unchanged"] == 2
    assert run.summary["updated"] == 1
    assert run.summary["upserted"] == 0
    after = _tickets(server)
    assert after[first["id"]]["properties"]["hs_lastmodifieddate"] == stamp
    unmoved = keyed["properties"]["hs_lastmodifieddate"]
    assert after[keyed["id"]]["properties"]["hs_lastmodifieddate"] == unmoved
    assert after[second["id"]]["properties"]["subject"] == "changed"
    # One read per batch (updates, upserts), one update carrying only the changed ticket.
    routes = server.stats()["by_route"]
    assert routes["POST tickets.batch_read"] == {"200": 2}
    assert routes["POST tickets.batch_update"] == {"200": 1}
    assert "POST tickets.batch_upsert" not in routes


def test_an_update_sends_only_the_values_that_change(emulator, singer, target_config, run_target):
    server = emulator(tickets=3, seed=33)
    ticket = _live(server)[0]
    props = ticket["properties"]
    record = {"id": ticket["id"], "subject": props["subject"], "content": "new content"}

    run = run_target(target_config(server), singer(server).lines([record]))

    assert run.summary["updated"] == 1
    history = _tickets(server)[ticket["id"]]["propertiesWithHistory"]
    assert len(history["subject"]) == len(ticket["propertiesWithHistory"]["subject"])
    assert len(history["content"]) == len(ticket["propertiesWithHistory"]["content"]) + 1


def test_the_results_file_hands_back_created_ids_for_every_record(
    emulator, singer, target_config, run_target, tmp_path
):
    server = emulator(tickets=3, seed=34)
    existing = _live(server)[0]
    records = [
        {"subject": "row 1", "hs_pipeline_stage": "New", KEY: "ROW-1"},
        {"subject": "row 2", "hs_pipeline_stage": "New"},
        {"subject": "broken", "hs_pipeline_stage": "Nowhere", KEY: "ROW-3"},
        {"id": existing["id"], "subject": "row 4"},
        {"id": existing["id"], "subject": "row 5"},
    ]
    results_path = tmp_path / "results.jsonl"
    config = target_config(server, source_id_property=KEY, results_path=str(results_path))

    run_target(config, singer(server).lines(records))
    run_target(config, singer(server).lines(records[:1]))  # a second run appends

    first_run, second_run = _lines(results_path)[:5], _lines(results_path)[5:]
    by_position = {line["position"]: line for line in first_run}
    assert sorted(by_position) == [1, 2, 3, 4, 5]
    assert len({line["run_id"] for line in first_run}) == 1
    assert second_run[0]["run_id"] != first_run[0]["run_id"]
    tickets = _tickets(server)
    created = by_position[1]
    assert created["action"] == "create"
    assert created["source_id"] == "ROW-1"
    assert tickets[created["hubspot_id"]]["properties"]["subject"] == "row 1"
    derived = by_position[2]
    assert derived["action"] == "create"
    assert tickets[derived["hubspot_id"]]["properties"][KEY] == derived["source_id"]
    assert by_position[3]["action"] == "rejected"
    assert by_position[3]["source_id"] == "ROW-3"
    assert by_position[3]["category"] == "VALIDATION"
    assert [by_position[4]["action"], by_position[5]["action"]] == ["superseded", "update"]
    assert by_position[5]["hubspot_id"] == existing["id"]
    assert second_run[0]["hubspot_id"] == created["hubspot_id"]  # the same ticket, not a new one
    assert "emulator-token" not in results_path.read_text()


def test_too_many_archives_archive_nothing_and_write_everything_else(
    emulator, singer, target_config, run_target
):
    server = emulator(tickets=10, seed=35)
    live = _live(server)
    records = [
        *({"id": t["id"], "archived": True} for t in live[:4]),
        {"id": live[5]["id"], "subject": "still written"},
        {"subject": "still created", "hs_pipeline_stage": "New"},
    ]

    run = run_target(
        target_config(server, max_archives=3, batch_size_rows=2),
        singer(server).lines(records),
        expect_error=True,
    )

    assert str(run.error) == (
        "the input asks to archive 4 tickets, more than max_archives=3: none was archived "
        "(they are rejected), everything else was written; raise max_archives (-1: no limit) "
        "to archive them"
    )
    assert _writes(server).get("POST tickets.batch_archive") is None
    assert not any(t["archived"] for t in server.portal.snapshot())
    assert run.summary["rejected"] == 4
    assert run.summary["updated"] == 1
    assert run.summary["created"] == 1
    assert {r["category"] for r in run.rejects} == {"MAX_ARCHIVES"}
    assert run.log.count("max_archives=3") == 1  # one line, not one per record


def test_archives_within_the_limit_are_written_at_the_end(
    emulator, singer, target_config, run_target
):
    server = emulator(tickets=10, seed=36)
    live = _live(server)
    records = [{"id": t["id"], "archived": True} for t in live[:3]]

    run = run_target(
        target_config(server, max_archives=3, batch_size_rows=1), singer(server).lines(records)
    )

    assert run.summary["archived"] == 3
    assert server.stats()["by_route"]["POST tickets.batch_archive"] == {"204": 1}


def test_a_dry_run_knows_a_create_whose_source_id_has_its_ticket_already(
    emulator, singer, target_config, run_target, tmp_path
):
    server = emulator(tickets=10, seed=37)
    keyed = next(t for t in _live(server) if t["properties"].get(KEY))
    records = [
        {"subject": "made before", "hs_pipeline_stage": "New", KEY: keyed["properties"][KEY]},
        {"subject": "new", "hs_pipeline_stage": "New", KEY: "NEVER-SEEN"},
    ]
    lines = singer(server).lines(records)
    plan_path, results_path = tmp_path / "plan.jsonl", tmp_path / "results.jsonl"

    dry = run_target(
        target_config(server, source_id_property=KEY, dry_run=True, plan_path=str(plan_path)),
        lines,
    )
    real = run_target(
        target_config(server, source_id_property=KEY, results_path=str(results_path)), lines
    )

    assert _writes(server) == {"POST tickets.batch_upsert": {"200": 1}}  # the real run's
    plan = sorted(_lines(plan_path), key=lambda line: line["position"])
    results = sorted(_lines(results_path), key=lambda line: line["position"])
    assert [line["action"] for line in plan] == ["upsert-update", "create"]
    assert [line["action"] for line in results] == ["upsert-update", "create"]
    assert plan[0]["hubspot_id"] == results[0]["hubspot_id"] == keyed["id"]
    assert plan[0]["changes"]["subject"] == {
        "current": keyed["properties"]["subject"],
        "new": "made before",
    }
    assert dry.summary == real.summary
    assert (real.summary["upserted"], real.summary["created"]) == (1, 1)
