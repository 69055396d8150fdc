"""Archives by id or by unique key land, and a record whose ticket does not exist is rejected."""

from __future__ import annotations

KEY = "external_ticket_id"
DELETED_AT = "2026-11-28T00:00:00Z"


def _live(server):
    return [t for t in server.portal.snapshot() if not t["archived"]]


def _keyed(server):
    return [t for t in _live(server) if t["properties"].get(KEY)]


def _routes(server):
    return server.stats()["by_route"]


def _calls(server, route):
    return sum(_routes(server).get(f"POST tickets.{route}", {}).values())


def test_archive_by_key_resolves_the_id_and_rejects_unknown_keys(
    emulator, singer, target_config, run_target
):
    server = emulator(tickets=6, seed=21)
    by_archived, by_deleted_at = _keyed(server)[:2]
    archived_before = {t["id"] for t in server.portal.snapshot() if t["archived"]}
    records = [
        {KEY: by_archived["properties"][KEY], "archived": True},
        {KEY: by_deleted_at["properties"][KEY], "_sdc_deleted_at": DELETED_AT},
        {KEY: "NO-SUCH-KEY", "archived": True},
    ]

    run = run_target(target_config(server, id_property=KEY), singer(server).lines(records))

    assert run.error is None
    assert run.summary["archived"] == 2
    assert run.summary["rejected"] == 1
    [reject] = run.rejects
    assert reject["field"] == KEY
    assert reject["category"] == "OBJECT_NOT_FOUND"
    assert reject["record"][KEY] == "NO-SUCH-KEY"
    assert reject["reason"] == (
        "tickets record #3 (line 4, key NO-SUCH-KEY): no ticket with external_ticket_id = "
        "'NO-SUCH-KEY', live or archived; nothing was archived"
    )
    tickets = {t["id"]: t for t in server.portal.snapshot()}
    assert tickets[by_archived["id"]]["archived"] is True
    assert tickets[by_deleted_at["id"]]["archived"] is True
    archived_after = {t["id"] for t in tickets.values() if t["archived"]}
    assert archived_after == archived_before | {by_archived["id"], by_deleted_at["id"]}
    # Keys are resolved with batch reads, which are consistent; search never is asked.
    assert _calls(server, "search") == 0
    assert _calls(server, "batch_archive") == 1


def test_unknown_id_is_rejected_not_counted_as_archived(
    emulator, singer, target_config, run_target
):
    server = emulator(tickets=3, seed=22)
    before = server.portal.snapshot()
    records = [{"id": "999999999", "archived": True}]

    run = run_target(target_config(server), singer(server).lines(records))

    assert run.summary["archived"] == 0
    assert run.summary["rejected"] == 1
    [reject] = run.rejects
    assert reject["field"] == "id"
    assert reject["category"] == "OBJECT_NOT_FOUND"
    assert "no ticket with id 999999999, live or archived" in reject["reason"]
    assert server.portal.snapshot() == before
    assert _calls(server, "batch_archive") == 0


def test_an_archive_replayed_counts_as_archived_and_is_not_resent(
    emulator, singer, target_config, run_target
):
    server = emulator(tickets=4, seed=23)
    ticket = _keyed(server)[0]
    records = [
        {"id": ticket["id"], "archived": True},
        {KEY: ticket["properties"][KEY], "_sdc_deleted_at": DELETED_AT},
    ]
    config = target_config(server, id_property=KEY)
    lines = singer(server).lines(records)

    first = run_target(config, lines)
    archive_calls = _calls(server, "batch_archive")
    again = run_target(config, lines)

    for run in (first, again):
        assert run.summary["archived"] == 2, run.rejects
        assert run.summary["rejected"] == 0
    assert archive_calls == 1
    assert _calls(server, "batch_archive") == archive_calls
    assert "archived already" in again.log


def test_an_upsert_then_an_archive_of_one_key_are_both_written_in_order(
    emulator, singer, target_config, run_target
):
    server = emulator(tickets=2, seed=24)
    ticket = _keyed(server)[0]
    key = ticket["properties"][KEY]
    records = [
        {KEY: key, "subject": "renamed first"},
        {KEY: key, "archived": True},
    ]

    run = run_target(target_config(server, id_property=KEY), singer(server).lines(records))

    # An archive does not supersede the writes before it: in one batch as in two.
    assert run.summary["superseded"] == 0
    assert run.summary["upserted"] == 1
    assert run.summary["archived"] == 1
    after = next(t for t in server.portal.snapshot() if t["id"] == ticket["id"])
    assert after["archived"] is True
    assert after["properties"]["subject"] == "renamed first"


def test_many_archives_cost_one_read_per_batch(emulator, singer, target_config, run_target):
    server = emulator(tickets=160, seed=25)
    live = _live(server)[:150]
    records = [
        *({"id": t["id"], "archived": True} for t in live),
        {"id": "999999991", "archived": True},
        {"id": "999999992", "archived": True},
    ]
    config = target_config(server, batch_size_rows=1000, max_archives=-1)

    run = run_target(config, singer(server).lines(records))

    assert run.summary["archived"] == 150
    assert run.summary["rejected"] == 2
    archived = {t["id"] for t in server.portal.snapshot() if t["archived"]}
    assert {t["id"] for t in live} <= archived
    # Two archive batches (100 + 52): each read once for live tickets, and the second (which
    # holds both unknown ids) read once more among archived ones.
    assert _calls(server, "batch_archive") == 2
    assert _calls(server, "batch_read") == 3
