"""Two taps and a write-back at once on one portal spend one budget, as HubSpot counts it.

A data team's tickets job, associations job and write-back often overlap on one portal. HubSpot
counts their calls together; each of our processes books its calls in the budget file of the
portal and app (`hubspot_api.sharedbudget`), so together they stay under the limit. With
`shared_rate_limit: false` each throttles alone, and together they overrun it (`make bench`
measures that side by side; here only the shared case runs, as it is the one users get).
"""

from __future__ import annotations

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
