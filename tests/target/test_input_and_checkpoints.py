"""What the target makes of input as data teams send it, and the checkpoints it hands back."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from hubspot_api.errors import DailyLimitError
from target_hubspot_tickets.input import InputError


def _creates(n: int, prefix: str, start: int = 0) -> list[dict]:
    return [{"subject": f"{prefix} {i:04d}", "hs_pipeline_stage": "New"} for i in range(start, n)]


def _subjects(server) -> Counter[str]:
    return Counter(t["properties"]["subject"] for t in server.portal.snapshot())


def test_a_missing_or_null_key_is_a_create(emulator, singer, target_config, run_target):
    server = emulator()
    builder = singer(server)
    lines = [
        builder.schema(key_properties=["id"]),
        builder.record({"subject": "no id at all", "hs_pipeline_stage": "New"}),
        builder.record({"id": None, "subject": "null id", "hs_pipeline_stage": "New"}),
    ]

    run = run_target(target_config(server), lines)

    assert run.error is None
    assert run.summary["created"] == 2
    assert set(_subjects(server)) == {"no id at all", "null id"}


def test_a_record_with_an_id_and_nothing_to_write_is_unchanged(
    emulator, singer, target_config, run_target
):
    server = emulator(tickets=3)
    ticket = server.portal.snapshot()[0]
    before = ticket["properties"]["hs_lastmodifieddate"]

    run = run_target(target_config(server), singer(server).lines([{"id": ticket["id"]}]))

    assert run.error is None
    assert run.summary["unchanged"] == 1
    assert run.summary["updated"] == 0
    assert "has an id and nothing to write" in run.log
    after = {t["id"]: t for t in server.portal.snapshot()}[ticket["id"]]
    assert after["properties"]["hs_lastmodifieddate"] == before


@pytest.mark.parametrize("flag", [1, "true", "TRUE", "1", "yes"], ids=repr)
def test_archived_spelled_as_csv_and_databases_spell_it_archives(
    emulator, singer, target_config, run_target, flag
):
    server = emulator(tickets=2)
    ticket = server.portal.snapshot()[0]
    builder = singer(server)
    # Upstream typed the column as it found it (text or number), as tap-jsonl infers.
    lines = [
        builder.schema().replace('"archived": {"type": ["boolean", "null"]}', '"archived": {}'),
        builder.record({"id": ticket["id"], "archived": flag}),
    ]

    run = run_target(target_config(server), lines)

    assert run.error is None, run.rejects
    assert run.summary["archived"] == 1
    assert {t["id"]: t for t in server.portal.snapshot()}[ticket["id"]]["archived"] is True


def test_bad_line_drains_what_came_before_then_fails_naming_the_line(
    emulator, singer, target_config, run_target
):
    server = emulator()
    builder = singer(server)
    lines = [
        "\ufeff" + builder.schema(),
        "",
        *(builder.record(r) for r in _creates(3, "before")),
        builder.state({"bookmark": 3}),
        '{"type": "RECORD", "stream": "tickets", "record": {"subject": "broken"',
        *(builder.record(r) for r in _creates(2, "after")),
    ]

    run = run_target(target_config(server), lines, expect_error=True)

    assert isinstance(run.error, InputError)
    assert str(run.error).startswith("line 7: not valid JSON")
    # The place within line 7, never the decoder's "line 2" that its newline makes.
    assert "(Expecting ',' delimiter at character 72)" in str(run.error), run.error
    assert "line 2" not in str(run.error)
    assert "3 record(s) before it processed" in str(run.error)
    assert set(_subjects(server)) == {f"before {i:04d}" for i in range(3)}
    assert run.states[-1] == {"bookmark": 3}
    assert run.summary["received"] == 3


def test_states_are_handed_back_as_batches_settle(emulator, singer, target_config, run_target):
    # The daily limit stops the run part-way; every state emitted by then covers only records
    # that are in HubSpot, and the batches that settled were checkpointed before the end.
    server = emulator(daily_limit=6)
    builder = singer(server)
    records = _creates(600, "checkpointed")
    lines = [builder.schema()]
    for index, record in enumerate(records, start=1):
        lines.append(builder.record(record))
        if index % 50 == 0:
            lines.append(builder.state({"position": index}))
    config = target_config(server, batch_size_rows=600, max_concurrency=1)

    run = run_target(config, lines, expect_error=True)

    assert isinstance(run.error, DailyLimitError)
    assert run.states, "no state was handed back before the run stopped"
    reached = run.states[-1]["position"]
    assert reached >= 100
    landed = _subjects(server)
    assert all(landed[r["subject"]] == 1 for r in records[:reached])
    assert len(landed) < len(records)


def test_reconciliation_never_claims_a_ticket_another_record_owns(
    emulator, singer, target_config, run_target
):
    # Pairs of records share subject and stage; answers are slow and uneven and a third of the
    # batch creates are applied and then dropped, so lookups run while other batches' answers
    # are still on their way.
    server = emulator(apply_then_drop_rate=0.3, latency_ms=60, jitter_ms=50, seed=5)
    records = [{"subject": f"twin {i // 2:03d}", "hs_pipeline_stage": "New"} for i in range(400)]
    config = target_config(server, batch_size_rows=400, max_concurrency=4)

    run = run_target(config, singer(server).lines(records))

    assert run.error is None
    assert server.stats()["applied_then_dropped"] > 0
    landed = _subjects(server)
    assert run.summary["created"] + run.summary["rejected"] == 400
    assert sum(landed.values()) == run.summary["created"]
    # Every rejected record is a create whose outcome stayed unknown, and it made no ticket.
    assert all(r["category"] == "OUTCOME_UNKNOWN" for r in run.rejects)
    assert all(count <= 2 for count in landed.values())


def test_a_machine_clock_ahead_of_hubspot_does_not_resend_creates(
    emulator, singer, target_config, run_target
):
    server = emulator(apply_then_drop_rate=0.4, clock_offset_s=-30, seed=3)
    records = _creates(200, "skewed")

    run = run_target(target_config(server, batch_size_rows=200), singer(server).lines(records))

    assert run.error is None
    assert server.stats()["applied_then_dropped"] > 0
    assert run.summary["created"] == 200, run.rejects
    assert set(_subjects(server).values()) == {1}
    assert len(_subjects(server)) == 200


def test_rejects_file_is_strict_json_for_values_json_allows_and_hubspot_refuses(
    emulator, singer, target_config, run_target, tmp_path
):
    server = emulator()
    builder = singer(server)
    lines = [
        builder.schema(),
        '{"type":"RECORD","stream":"tickets","record":{"subject":"n","hs_pipeline_stage":"New",'
        '"content":NaN}}',
        '{"type":"RECORD","stream":"tickets","record":{"subject":"s\\ud800",'
        '"hs_pipeline_stage":"New"}}',
        builder.record({"subject": "long", "hs_pipeline_stage": "New", "content": "x" * 65_537}),
        builder.record({"subject": "ok", "hs_pipeline_stage": "New"}),
    ]

    run = run_target(target_config(server), lines)

    assert run.summary["rejected"] == 3
    assert run.summary["created"] == 1

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in the rejects file")

    text = (tmp_path / "rejects.jsonl").read_text(encoding="utf-8")
    parsed = [json.loads(line, parse_constant=refuse) for line in text.splitlines()]
    assert [p["field"] for p in parsed] == ["content", "subject", "content"]
    assert "65,536" in parsed[2]["reason"]


@pytest.mark.parametrize("spelling", ["contact", "Contacts", "0-1"])
def test_an_object_type_in_any_spelling_links_with_its_default_type(
    emulator, singer, target_config, run_target, spelling
):
    server = emulator()
    contact = server.portal.object_ids("contacts")[0]
    record = {
        "subject": f"linked via {spelling}",
        "hs_pipeline_stage": "New",
        "associations": [{"to_object_type": spelling, "to_object_id": contact}],
    }

    run = run_target(target_config(server), singer(server).lines([record]))

    assert run.error is None, run.rejects
    assert run.summary["created"] == 1, run.rejects
    (ticket,) = [
        t for t in server.portal.snapshot() if t["properties"]["subject"] == record["subject"]
    ]
    links = server.portal.list_ticket_associations(ticket["id"], "contacts", limit=500, after=None)
    found = {
        (str(r["toObjectId"]), t["typeId"]) for r in links["results"] for t in r["associationTypes"]
    }
    assert found >= {(contact, 16)}
