"""A pin HubSpot holds already is not sent, and every count says what the results file says.

The tap's own output fed back to the target (a round trip with nothing changed) must write
nothing: pins included. The summary, the progress line and the results file agree on each
record's outcome. Each journey takes the real `tap-hubspot-tickets` output and pipes it into
the real `target-hubspot-tickets` command line, then reads the emulator's own state.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

PIN = "hs_pinned_engagement_id"
# Each action of the results file, and the summary count it belongs to (docs/target.md).
COUNT_OF_ACTION = {
    "create": "created",
    "update": "updated",
    "upsert-create": "upserted",
    "upsert-update": "upserted",
    "archive": "archived",
    "associate": "associated",
    "dissociate": "associated",
    "pin": "pinned",
    "unchanged": "unchanged",
    "superseded": "superseded",
    "rejected": "rejected",
}
DONE_LINE = re.compile(r"tickets: [\d,]+ of [\d,]+ read settled in [\d.]+ s \((.*)\)")


def _results(run: Any) -> list[dict[str, Any]]:
    path = Path(run.config["results_path"])
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _round_trip_lines(tap: Any) -> list[str]:
    """Return what `select: [tickets.*]` passes on: the tickets stream and the states."""
    return [
        json.dumps(m) for m in tap.messages if m.get("stream") == "tickets" or m["type"] == "STATE"
    ]


def _progress_counts(stderr: str) -> dict[str, int]:
    """Return the counts of the target's last progress line."""
    found = DONE_LINE.findall(stderr)
    assert found, f"no final progress line in:\n{stderr[-2000:]}"
    counts: dict[str, int] = {}
    for part in found[-1].split(", "):
        amount, _, name = part.partition(" ")
        if name in COUNT_OF_ACTION.values():
            counts[name] = int(amount.replace(",", ""))
    return counts


def _assert_counts_agree(run: Any) -> Counter[str]:
    """Fail unless the summary, the progress line and the results file count alike."""
    summary = run.assert_clean_success()
    actions = Counter(line["action"] for line in _results(run))
    from_file = Counter(COUNT_OF_ACTION[action] for action in actions.elements())
    from_summary = {name: summary[name] for name in set(COUNT_OF_ACTION.values())}
    assert from_summary == {name: from_file[name] for name in from_summary}, (actions, summary)
    progress = _progress_counts(run.stderr)
    assert progress == {name: n for name, n in from_summary.items() if n}, (progress, summary)
    return actions


def test_a_round_trip_sends_no_pin_held_and_counts_a_changed_one(
    emulator, tap_cli, target_cli, tmp_path
):
    server = emulator(tickets=40, seed=23)
    tap = tap_cli(server)
    assert tap.returncode == 0, tap.describe()
    pinned = {r["id"] for r in tap.records("tickets") if r.get(PIN) and not r.get("archived")}
    assert len(pinned) >= 3, "the seed pins some live tickets"
    before = {t["id"]: t["properties"] for t in server.portal.snapshot()}
    lines = _round_trip_lines(tap)

    same = target_cli(server, lines, results_path=str(tmp_path / "same.jsonl"))

    actions = _assert_counts_agree(same)
    assert actions["pin"] == 0, actions  # and `pinned` is 0: the counts agree
    by_id = {line["id"]: line["action"] for line in _results(same)}
    assert {by_id[i] for i in pinned} == {"unchanged"}
    after = {t["id"]: t["properties"] for t in server.portal.snapshot()}
    modified = "hs_lastmodifieddate"
    moved = [i for i in pinned if after[i][modified] != before[i][modified]]
    assert moved == [], "pins HubSpot held were sent again"

    # Unpinned in HubSpot since the tap read them: the same output sends those pins back.
    unpinned = sorted(pinned, key=int)[:2]
    for ticket_id in unpinned:
        body = {"properties": {PIN: ""}}
        server.portal.update_ticket(ticket_id, body, id_property=None, api_version="v3")

    changed = target_cli(server, lines, results_path=str(tmp_path / "changed.jsonl"))

    actions = _assert_counts_agree(changed)
    assert actions["pin"] == len(unpinned), actions
    by_id = {line["id"]: line["action"] for line in _results(changed)}
    assert [by_id[i] for i in unpinned] == ["pin"] * len(unpinned)
    restored = {t["id"]: t["properties"] for t in server.portal.snapshot()}
    assert [restored[i][PIN] for i in unpinned] == [before[i][PIN] for i in unpinned]
