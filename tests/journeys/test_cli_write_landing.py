"""A write addressed to one ticket lands on that ticket, or on none (issue 19).

HubSpot answers a merged-away id with the ticket it was merged into, and writes to that id land
there: the tap emits merged-away tickets as archived, so its own output fed back would archive
the survivors. And a record naming its ticket twice (`id` and `id_property`) must name one.
Each journey pipes Singer input into the real `target-hubspot-tickets` command line (the round
trip takes the real `tap-hubspot-tickets` output) and reads the emulator's own state after it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

KEY = "external_ticket_id"
MERGES = 10


def _results(run: Any) -> list[dict[str, Any]]:
    path = Path(run.config["results_path"])
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _ticket(server: Any, ticket_id: str) -> dict[str, Any]:
    return next(t for t in server.portal.snapshot() if t["id"] == ticket_id)


def _merge(server: Any, count: int) -> list[tuple[str, str]]:
    """Merge `count` live tickets into `count` others; return (merged-away id, survivor id)."""
    live = [t["id"] for t in server.portal.snapshot() if not t["archived"]]
    pairs = list(zip(live[count : 2 * count], live[:count], strict=True))
    for merged, survivor in pairs:
        server.portal.merge({"primaryObjectId": survivor, "objectIdToMerge": merged})
    return pairs


def test_a_round_trip_of_the_taps_output_archives_no_survivor_of_a_merge(
    emulator, tap_cli, target_cli, tmp_path
):
    server = emulator(tickets=30, seed=19)
    pairs = _merge(server, MERGES)
    before = {t["id"]: t for t in server.portal.snapshot()}
    tap = tap_cli(server)
    assert tap.returncode == 0, tap.describe()
    emitted = {r["id"]: r for r in tap.records("tickets")}
    assert all(emitted[merged]["archived"] for merged, _ in pairs), "the tap marks them archived"
    lines = [
        json.dumps(m) for m in tap.messages if m.get("stream") == "tickets" or m["type"] == "STATE"
    ]

    run = target_cli(server, lines, results_path=str(tmp_path / "results.jsonl"))

    run.assert_clean_success()
    after = {t["id"]: t for t in server.portal.snapshot()}
    archived_now = {i for i, t in after.items() if t["archived"] and not before[i]["archived"]}
    assert archived_now == set(), "the round trip archived live tickets"
    merged_rejects = {r["record"]["id"]: r for r in run.rejects if r["category"] == "MERGED"}
    assert set(merged_rejects) == {merged for merged, _ in pairs}
    for merged, survivor in pairs:
        reason = merged_rejects[merged]["reason"]
        assert f"ticket {merged} was merged into ticket {survivor}" in reason, reason
        assert "not archived" in reason
    lines_by_id = {line["id"]: line for line in _results(run)}
    for merged, _ in pairs:
        assert lines_by_id[merged]["action"] == "rejected"
    # Every write names the ticket it was addressed to: none landed on another.
    written = [line for line in _results(run) if line["action"] not in ("rejected", "superseded")]
    assert written
    assert all(line["hubspot_id"] == line["id"] for line in written), written


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(({"subject": "written over the survivor"}, "not updated"), id="update"),
        pytest.param(({"archived": True}, "not archived"), id="archive"),
        pytest.param(
            (
                {"associations": [{"to_object_type": "contacts", "to_object_id": "CONTACT"}]},
                "not linked",
            ),
            id="associate",
        ),
        pytest.param(({"hs_pinned_engagement_id": "NOTE"}, "not linked or pinned"), id="pin"),
    ],
)
def test_a_write_addressed_to_a_merged_id_is_refused_naming_both(
    emulator, singer_input, target_cli, tmp_path, case
):
    record, not_done = case
    server = emulator(tickets=6, seed=23)
    [(merged, survivor)] = _merge(server, 1)
    contact = server.portal.add_object("contacts")
    note = server.portal.add_object("notes")
    server.portal.associate(survivor, "notes", note, [])
    values = {
        k: contact if v == "CONTACT" else int(note) if v == "NOTE" else v for k, v in record.items()
    }
    if "associations" in values:
        values["associations"] = [
            {**link, "to_object_id": contact} for link in values["associations"]
        ]
    before = _ticket(server, survivor)
    messages = singer_input(server)

    run = target_cli(
        server,
        [messages.schema(), messages.record({"id": merged, **values})],
        results_path=str(tmp_path / "results.jsonl"),
    )

    run.assert_clean_success()
    [reject] = run.rejects
    assert reject["category"] == "MERGED"
    assert f"ticket {merged} was merged into ticket {survivor}" in reject["reason"]
    assert not_done in reject["reason"]
    after = _ticket(server, survivor)
    assert after["archived"] is False
    assert after["properties"] == before["properties"]
    assert after.get("associations") == before.get("associations")
    [line] = _results(run)
    assert (line["action"], line["id"]) == ("rejected", merged)


def _keyed(server: Any) -> list[dict[str, Any]]:
    return [t for t in server.portal.snapshot() if not t["archived"] and t["properties"].get(KEY)]


def _unkeyed(server: Any) -> list[dict[str, Any]]:
    live = [t for t in server.portal.snapshot() if not t["archived"]]
    return [t for t in live if not t["properties"].get(KEY)]


@pytest.mark.parametrize(
    "case",
    [
        "new key, the ticket holds another",
        "key of another ticket",
        "archive, key of another ticket",
    ],
)
def test_a_record_whose_id_and_key_name_two_tickets_is_refused_naming_both(
    emulator, singer_input, target_cli, tmp_path, case
):
    server = emulator(tickets=12, seed=29)
    first, other = _keyed(server)[:2]
    key = "NEW-KEY-1" if case.startswith("new key") else other["properties"][KEY]
    change = {"archived": True} if case.startswith("archive") else {"subject": "from the row"}
    before = server.portal.snapshot()
    messages = singer_input(server)

    run = target_cli(
        server,
        [messages.schema(), messages.record({"id": first["id"], KEY: key, **change})],
        id_property=KEY,
        results_path=str(tmp_path / "results.jsonl"),
    )

    run.assert_clean_success()
    [reject] = run.rejects
    assert reject["category"] == "KEY_CONFLICT"
    assert reject["field"] == KEY
    reason = reject["reason"]
    assert f"id {first['id']}" in reason
    assert repr(key) in reason
    if case.startswith("new key"):
        assert repr(first["properties"][KEY]) in reason
    else:
        assert f"ticket {other['id']}" in reason
    assert server.portal.snapshot() == before, "nothing is written, nothing created"


def test_a_record_whose_id_and_key_agree_is_written_once_by_id(
    emulator, singer_input, target_cli, tmp_path
):
    server = emulator(tickets=12, seed=29)
    keyed = _keyed(server)[0]
    bare = _unkeyed(server)[0]
    count = len(server.portal.snapshot())
    messages = singer_input(server)
    records = [
        {"id": keyed["id"], KEY: keyed["properties"][KEY], "subject": "agrees"},
        {"id": bare["id"], KEY: "NEW-KEY-2", "subject": "gets its key"},
    ]

    run = target_cli(
        server,
        [messages.schema(), *(messages.record(r) for r in records)],
        id_property=KEY,
        results_path=str(tmp_path / "results.jsonl"),
    )

    summary = run.assert_clean_success()
    assert summary["updated"] == 2, run.rejects
    assert len(server.portal.snapshot()) == count, "no second ticket"
    assert _ticket(server, keyed["id"])["properties"]["subject"] == "agrees"
    gets = _ticket(server, bare["id"])["properties"]
    assert (gets["subject"], gets[KEY]) == ("gets its key", "NEW-KEY-2")
    actions = {line["id"]: (line["action"], line["hubspot_id"]) for line in _results(run)}
    assert actions == {
        keyed["id"]: ("update", keyed["id"]),
        bare["id"]: ("update", bare["id"]),
    }
