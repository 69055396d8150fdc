"""Tickets search counts but never returns: a first sync still reads every one, once.

HubSpot's search index can lose a document: the ticket is counted in `total` but never in
`results` (the emulator's `search_hidden_ids`). The first sync's search walk then leaves a gap
in its half of the ids; the list walk covers that half too, so the sync ends complete.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.journeys

TICKETS = 700


def _hidden(live: list[int], where: str, seed: int) -> list[int]:
    """Choose ten live ids to hide from search, at `where` in the id range."""
    rng = random.Random(seed)
    if where == "top":
        return live[-10:]
    if where == "upper-half":
        return rng.sample(live[len(live) // 2 :], 10)
    return rng.sample(live, 10)  # anywhere


@pytest.mark.parametrize(
    ("seed", "where"),
    [
        pytest.param(191, "top", id="top"),
        pytest.param(192, "upper-half", id="upper-half"),
        pytest.param(193, "anywhere", id="anywhere"),
        pytest.param(194, "upper-half", id="upper-half-other-seed"),
    ],
)
def test_a_first_sync_reads_every_ticket_search_hides(emulator, tap_cli, tmp_path, seed, where):
    server = emulator(tickets=TICKETS, seed=seed)
    live = sorted(int(t["id"]) for t in server.portal.snapshot() if not t["archived"])
    hidden = _hidden(live, where, seed)
    for ticket_id in hidden:
        server.portal.hide_from_search(ticket_id)
    report_path = tmp_path / "report.json"

    done = tap_cli(server, run_report_path=str(report_path))
    assert done.returncode == 0, done.describe()
    emitted = Counter(int(r["id"]) for r in done.records("tickets") if not r["archived"])
    twice = sorted(i for i, n in emitted.items() if n > 1)
    assert not twice, f"{len(twice)} tickets emitted twice: {twice[:5]}"
    missed = sorted(set(live) - emitted.keys())
    assert not missed, f"{len(missed)} tickets never read (hidden: {sorted(hidden)}): {missed}"
    # The run report shows the walk complete, without a warning.
    report: dict[str, Any] = json.loads(Path(report_path).read_text(encoding="utf-8"))
    (walk,) = [part for part in report["tickets"] if part["part"] == "full walk"]
    assert walk["difference"] == 0, walk
    assert not [w for w in report["warnings"] if "full walk" in w], report["warnings"]
    # The walk is over: the next run reads changes only.
    assert "full_sync" not in done.state["bookmarks"]["tickets"]
