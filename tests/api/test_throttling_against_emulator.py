"""Client-side throttling keeps a busy run under the emulator's budgets: zero 429s."""

from __future__ import annotations

import logging
import re

from hubspot_api import Call
from hubspot_api.paths import Budget


def _statuses(server) -> dict[str, int]:
    totals: dict[str, int] = {}
    for statuses in server.stats()["by_route"].values():
        for status, count in statuses.items():
            totals[status] = totals.get(status, 0) + count
    return totals


def test_concurrent_calls_stay_inside_the_ten_second_window(emulator, make_client):
    server = emulator(tickets=20, rate_limit_10s=30)
    client = make_client(server, requests_per_10_seconds=30, max_concurrency=8)
    pages = list(
        client.map_concurrent(
            lambda _: client.get_json(Call.LIST_TICKETS, params={"limit": 1}), range(45)
        )
    )
    assert len(pages) == 45
    assert server.stats()["rate_limited"] == 0
    assert _statuses(server) == {"200": 45}
    assert client.stats.snapshot()["retries"] == 0
    # The emulator refused nothing because the client held the calls past the 30th itself.
    assert client.stats.snapshot()["throttle_wait_s"] > 0


def test_searches_use_their_own_budget(emulator, make_client):
    server = emulator(tickets=20, rate_limit_10s=100, search_rate_limit=4)
    client = make_client(server, search_requests_per_second=4, max_concurrency=8)
    body = {"filterGroups": [], "limit": 1}
    results = list(client.map_concurrent(lambda _: client.post_json(Call.SEARCH, body), range(12)))
    # Ordinary calls go out alongside the searches without waiting for them.
    listed = [client.get_json(Call.LIST_TICKETS, params={"limit": 1}) for _ in range(5)]
    assert len(results) == 12
    assert len(listed) == 5
    assert server.stats()["rate_limited"] == 0
    assert _statuses(server) == {"200": 17}


def test_a_lower_account_tier_is_learned_from_headers(emulator, make_client):
    server = emulator(tickets=5, rate_limit_10s=6)
    client = make_client(server, max_concurrency=2)  # configured for 190
    for _ in range(6):
        client.get_json(Call.LIST_TICKETS, params={"limit": 1})
    assert client.limiter.limit(Budget.STANDARD) == 6
    # The seventh call would now wait for the window instead of meeting a 429.
    assert client.limiter.reserve(Budget.STANDARD) > 9.0
    assert server.stats()["rate_limited"] == 0


def test_a_long_wait_for_the_budget_is_said_once(emulator, make_client, caplog):
    server = emulator(tickets=5)
    # One call per ten seconds: the second and third calls wait about 10 and 20 s (sped up).
    client = make_client(server, fast=True, requests_per_10_seconds=1, max_concurrency=3)
    with caplog.at_level(logging.INFO, logger="hubspot_api"):
        pages = list(
            client.map_concurrent(
                lambda _: client.get_json(Call.LIST_TICKETS, params={"limit": 1}), range(3)
            )
        )
    assert len(pages) == 3
    said = [r.getMessage() for r in caplog.records if "rate limit" in r.getMessage()]
    assert len(said) == 1, said
    assert re.fullmatch(r"waiting \d+ s for HubSpot's rate limit \(standard budget\)", said[0])
