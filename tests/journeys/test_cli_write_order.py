"""An archive and another write of one ticket end as the input orders them, in any batch (issue 19).

The target applies the input in its order: a write before an archive lands, then the archive; a
write after an archive is refused, as HubSpot refuses a write of an archived ticket. Batches,
archives held for `max_archives` and writes running at once must not change that, nor what the
results file says. Each layout pipes the same two records into the real command line: side by
side in one batch, far apart with small batches, and with archives sent as they come.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

NEW_SUBJECT = "changed by the input"
FILLERS = 30
LAYOUTS = {
    "one batch": {},
    "far apart, small batches": {"batch_size_rows": 4},
    "archives sent as they come": {"max_archives": -1},
}


def _run(target_cli, messages, server, *, where, ticket, others, order, settings):
    """Write an archive and an update of `ticket` in `order`; return run, lines, ticket."""
    archive = {"id": ticket["id"], "archived": True}
    update = {"id": ticket["id"], "subject": NEW_SUBJECT}
    first, last = (archive, update) if order == "archive, update" else (update, archive)
    far = "batch_size_rows" in settings
    # Updates of other tickets put the two records into different batches.
    fillers = [{"id": t["id"], "subject": f"filler {t['id']}"} for t in others] if far else []
    records = [first, *fillers, last]
    results = where / "results.jsonl"
    run = target_cli(
        server,
        [messages.schema(), *(messages.record(r) for r in records)],
        results_path=str(results),
        **settings,
    )
    run.assert_clean_success()
    lines = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines()]
    ours = sorted(
        (line for line in lines if line["id"] == ticket["id"]), key=lambda line: line["position"]
    )
    after = next(t for t in server.portal.snapshot() if t["id"] == ticket["id"])
    return run, ours, after


@pytest.mark.parametrize("order", ["archive, update", "update, archive"])
def test_an_archive_and_an_update_of_one_ticket_follow_the_input_order_in_any_batch(
    emulator, singer_input, target_cli, tmp_path, order
):
    server = emulator(tickets=len(LAYOUTS) * (FILLERS + 1) + 5, seed=31)
    live = [t for t in server.portal.snapshot() if not t["archived"]]
    outcomes: dict[str, Any] = {}
    for n, (layout, settings) in enumerate(LAYOUTS.items()):
        ticket, *others = live[n * (FILLERS + 1) : (n + 1) * (FILLERS + 1)]
        where = tmp_path / f"layout-{n}"
        where.mkdir()
        run, ours, after = _run(
            target_cli,
            singer_input(server),
            server,
            where=where,
            ticket=ticket,
            others=others,
            order=order,
            settings=settings,
        )
        outcomes[layout] = (
            after["archived"],
            after["properties"]["subject"] == NEW_SUBJECT,
            [line["action"] for line in ours],
        )
        # What the results file says was written, was written to this ticket.
        assert {line["hubspot_id"] for line in ours if line["action"] != "rejected"} == {
            ticket["id"]
        }
        if order == "archive, update":
            [reject] = run.rejects
            assert reject["category"] == "ARCHIVED"
            assert (
                f"record #1 earlier in this input archives ticket {ticket['id']}"
                in (reject["reason"])
            )

    if order == "archive, update":
        expected = (True, False, ["archive", "rejected"])
    else:
        expected = (True, True, ["update", "archive"])
    assert outcomes == dict.fromkeys(LAYOUTS, expected)


def test_an_update_before_a_refused_archive_still_lands(
    emulator, singer_input, target_cli, tmp_path
):
    server = emulator(tickets=3, seed=37)
    ticket = next(t for t in server.portal.snapshot() if not t["archived"])
    messages = singer_input(server)
    records = [{"id": ticket["id"], "subject": NEW_SUBJECT}, {"id": ticket["id"], "archived": True}]

    run = target_cli(
        server,
        [messages.schema(), *(messages.record(r) for r in records)],
        max_archives=0,
        results_path=str(tmp_path / "results.jsonl"),
    )

    run.assert_one_line_error("max_archives=0")
    after = next(t for t in server.portal.snapshot() if t["id"] == ticket["id"])
    # The archive superseded nothing: refusing it leaves the update written, as in two batches.
    assert (after["archived"], after["properties"]["subject"]) == (False, NEW_SUBJECT)
    lines = (tmp_path / "results.jsonl").read_text(encoding="utf-8").splitlines()
    actions = [json.loads(line)["action"] for line in lines]
    assert sorted(actions) == ["rejected", "update"]
