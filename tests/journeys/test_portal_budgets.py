"""Two taps and a write-back at once on one portal spend one budget, as HubSpot counts it.

A data team's tickets job, associations job and write-back often overlap on one portal. HubSpot
counts their calls together; each of our processes books its calls in the budget file of the
portal and app (`hubspot_api.sharedbudget`), so together they stay under the limit. With
`shared_rate_limit: false` each throttles alone, and together they overrun it (`make bench`
measures that side by side; here only the shared case runs, as it is the one users get).
"""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

pytestmark = pytest.mark.journeys

TICKETS = 300
CREATES = 50
LIMIT = 20  # calls per rolling ten seconds, for the portal and for each process


def _run_all_at_once(
    server: Any, tap_cli: Any, target_cli: Any, singer_input: Any, *, shared: bool
) -> tuple[list[Any], Any]:
    budget = {"requests_per_10_seconds": LIMIT, "shared_rate_limit": shared}
    records = [
        {"subject": f"write-back {i}", "hs_pipeline_stage": "New", "content": f"row {i}"}
        for i in range(CREATES)
    ]
    feed = singer_input(server)
    lines = [feed.schema(), *(feed.record(r) for r in records)]
    with ThreadPoolExecutor(3) as pool:
        taps = [pool.submit(tap_cli, server, max_concurrency=4, **budget) for _ in range(2)]
        target = pool.submit(target_cli, server, lines, batch_size_rows=10, **budget)
        return [t.result() for t in taps], target.result()


def test_overlapping_jobs_on_one_portal_share_its_budget(
    module_emulator, tap_cli, target_cli, singer_input
):
    server = module_emulator(tickets=TICKETS, seed=31, rate_limit_10s=LIMIT)
    before = {t["id"] for t in server.portal.snapshot() if not t.get("archived")}

    taps, target = _run_all_at_once(server, tap_cli, target_cli, singer_input, shared=True)

    for tap in taps:
        assert tap.returncode == 0, tap.describe()
        read = Counter(str(r["id"]) for r in tap.records("tickets"))
        assert before <= set(read), "a ticket of the portal was not read"
        assert set(read.values()) == {1}
    summary = target.assert_clean_success()
    assert summary["created"] == CREATES
    written = Counter(
        t["properties"]["content"]
        for t in server.portal.snapshot()
        if t["properties"].get("subject", "").startswith("write-back ")
    )
    assert len(written) == CREATES
    assert set(written.values()) == {1}
    # Together the three jobs send more than twice the limit; alone each would send under it.
    assert server.stats()["requests"] > 2 * LIMIT
    refused = server.stats()["rate_limited"]
    assert refused <= 1, f"{refused} calls met a 429 although the jobs shared one budget"


def _tickets_only(catalog: dict[str, Any]) -> dict[str, Any]:
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if not item["breadcrumb"]:
                item["metadata"]["selected"] = entry["tap_stream_id"] == "tickets"
    return catalog


def test_a_sync_stops_before_the_daily_reserve_with_its_state_written(module_emulator, tap_cli):
    server = module_emulator(tickets=3_000, seed=32, daily_limit=100)
    discovered = tap_cli(server, discover=True)
    assert discovered.returncode == 0, discovered.describe()
    catalog = _tickets_only(json.loads(discovered.stdout))
    # Leave the sync twelve calls before the reserve.
    reserve = 100 - server.stats()["requests"] - 12

    run = tap_cli(server, catalog=catalog, daily_request_reserve=reserve, max_concurrency=1)

    assert run.returncode == 1, run.describe()
    assert "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines()[-1] == (
        f"tap-hubspot-tickets: error: stopped before HubSpot's daily limit: {reserve} calls are "
        f"left today and daily_request_reserve keeps {reserve} for other integrations; what was "
        "read or written so far is checkpointed, and the next run goes on from there"
    )
    assert server.stats()["rate_limited"] == 0
    # Search answers carry no daily headers, so a search sent alongside may follow the answer
    # that reached the reserve.
    assert 100 - reserve <= server.stats()["requests"] <= 100 - reserve + 2
    # Every ticket emitted is covered by the last state: the next run goes on after them.
    full_sync = run.state["bookmarks"]["tickets"]["full_sync"]
    emitted = sorted(int(r["id"]) for r in run.records("tickets"))
    assert len(emitted) >= 500
    listed = [i for i in emitted if i <= full_sync["list_high"]]
    searched = [i for i in emitted if i > full_sync["list_high"]]
    assert listed
    assert full_sync["after"] is not None
    assert not searched or min(searched) >= full_sync["search_below"]
