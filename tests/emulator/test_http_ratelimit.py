"""Request budgets: headers, 429 bodies for each policy, and how windows roll."""

from __future__ import annotations

import time

import pytest
import requests

from hubspot_emulator.auth import Principal
from hubspot_emulator.faults import FaultInjector
from hubspot_emulator.ratelimit import RateLimiter

LIST = "/crm/v3/objects/tickets"
SEARCH = "/crm/v3/objects/tickets/search"
REFRESH = {
    "grant_type": "refresh_token",
    "client_id": "emulator-client",
    "client_secret": "emulator-secret",
    "refresh_token": "emulator-refresh-token",
}
RATE_HEADERS = (
    "X-HubSpot-RateLimit-Max",
    "X-HubSpot-RateLimit-Remaining",
    "X-HubSpot-RateLimit-Interval-Milliseconds",
    "X-HubSpot-RateLimit-Daily",
    "X-HubSpot-RateLimit-Daily-Remaining",
)


def test_private_app_answers_carry_every_header(emulator, api_session):
    server = emulator(tickets=2, rate_limit_10s=5, daily_limit=1000)
    remaining = []
    for _ in range(3):
        response = api_session.get(f"{server.url}{LIST}")
        assert response.status_code == 200
        assert response.headers["X-HubSpot-RateLimit-Max"] == "5"
        assert response.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
        assert response.headers["X-HubSpot-RateLimit-Daily"] == "1000"
        remaining.append(
            (
                response.headers["X-HubSpot-RateLimit-Remaining"],
                response.headers["X-HubSpot-RateLimit-Daily-Remaining"],
            )
        )
    assert remaining == [("4", "999"), ("3", "998"), ("2", "997")]


def test_oauth_answers_have_no_daily_headers(emulator):
    server = emulator(rate_limit_10s=5, daily_limit=1000)
    token = requests.post(f"{server.url}/oauth/v1/token", data=REFRESH, timeout=5).json()
    assert (
        "X-HubSpot-RateLimit-Max"
        not in requests.post(f"{server.url}/oauth/v1/token", data=REFRESH, timeout=5).headers
    )
    response = requests.get(
        f"{server.url}{LIST}",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=5,
    )
    assert response.headers["X-HubSpot-RateLimit-Max"] == "5"
    assert "X-HubSpot-RateLimit-Daily" not in response.headers
    assert "X-HubSpot-RateLimit-Daily-Remaining" not in response.headers


def test_no_headers_when_limits_are_off(emulator, api_session):
    server = emulator()
    response = api_session.get(f"{server.url}{LIST}")
    assert not set(RATE_HEADERS) & set(response.headers)


def test_ten_second_budget_answers_429(emulator, api_session):
    server = emulator(rate_limit_10s=3)
    statuses = [api_session.get(f"{server.url}{LIST}").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    refused = api_session.get(f"{server.url}{LIST}")
    assert refused.status_code == 429
    body = refused.json()
    assert body == {
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": body["correlationId"],
        "policyName": "TEN_SECONDLY_ROLLING",
    }
    assert refused.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert "Retry-After" not in refused.headers
    assert server.stats()["rate_limited"] == 1


def test_retry_after_when_asked(emulator, api_session):
    server = emulator(rate_limit_10s=1, retry_after=True)
    assert api_session.get(f"{server.url}{LIST}").status_code == 200
    refused = api_session.get(f"{server.url}{LIST}")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 10


def test_budgets_are_per_app(emulator, api_session):
    server = emulator(rate_limit_10s=1)
    assert api_session.get(f"{server.url}{LIST}").status_code == 200
    assert api_session.get(f"{server.url}{LIST}").status_code == 429
    token = requests.post(f"{server.url}/oauth/v1/token", data=REFRESH, timeout=5).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert requests.get(f"{server.url}{LIST}", headers=headers, timeout=5).status_code == 200


def test_search_has_its_own_budget_and_no_headers(emulator, api_session):
    server = emulator(tickets=3, rate_limit_10s=10, search_rate_limit=2)
    searches = [api_session.post(f"{server.url}{SEARCH}", json={}) for _ in range(2)]
    assert [r.status_code for r in searches] == [200, 200]
    for response in searches:
        assert not set(RATE_HEADERS) & set(response.headers)
    refused = api_session.post(f"{server.url}{SEARCH}", json={})
    assert refused.status_code == 429
    body = refused.json()
    assert body["message"] == "You have reached your secondly limit."
    assert body["policyName"] == "SECONDLY"
    assert body["errorType"] == "RATE_LIMIT"
    assert not set(RATE_HEADERS) & set(refused.headers)
    # Searches spent nothing of the ten-second budget.
    listing = api_session.get(f"{server.url}{LIST}")
    assert listing.headers["X-HubSpot-RateLimit-Remaining"] == "9"
    time.sleep(1.05)
    assert api_session.post(f"{server.url}{SEARCH}", json={}).status_code == 200


def test_daily_limit(emulator, api_session):
    server = emulator(daily_limit=2)
    assert api_session.get(f"{server.url}{LIST}").status_code == 200
    last = api_session.get(f"{server.url}{LIST}")
    assert last.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    refused = api_session.get(f"{server.url}{LIST}")
    assert refused.status_code == 429
    assert refused.json()["policyName"] == "DAILY"
    assert refused.json()["message"] == "You have reached your daily limit."


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


PRIVATE = Principal("private", "private:t")


def test_window_rolls_and_refusals_spend_nothing():
    clock = _Clock()
    limiter = RateLimiter(per_10s=3, search_per_s=0, daily=0, clock=clock)
    for step in range(3):
        clock.now += 1
        assert limiter.admit(PRIVATE, search=False).allowed, step
    for _ in range(5):
        assert limiter.admit(PRIVATE, search=False).policy == "TEN_SECONDLY_ROLLING"
    clock.now = 1011.0  # the first request (at 1001) just left the window
    assert limiter.admit(PRIVATE, search=False).allowed
    assert not limiter.admit(PRIVATE, search=False).allowed
    clock.now = 1013.0  # the other two left as well
    verdicts = [limiter.admit(PRIVATE, search=False) for _ in range(3)]
    assert [v.allowed for v in verdicts] == [True, True, False]


def test_retry_after_counts_until_the_oldest_request_leaves():
    clock = _Clock()
    limiter = RateLimiter(per_10s=2, search_per_s=0, daily=0, clock=clock)
    limiter.admit(PRIVATE, search=False)
    clock.now += 4
    limiter.admit(PRIVATE, search=False)
    assert limiter.admit(PRIVATE, search=False).retry_after_s == 6


def test_daily_counter_resets_at_midnight_utc():
    clock = _Clock()
    wall = _Clock()
    wall.now = 86400 * 20_000 - 1
    limiter = RateLimiter(per_10s=0, search_per_s=0, daily=1, clock=clock, wall_clock=wall)
    assert limiter.admit(PRIVATE, search=False).allowed
    assert limiter.admit(PRIVATE, search=True).policy == "DAILY"
    wall.now += 2
    assert limiter.admit(PRIVATE, search=True).allowed


@pytest.mark.parametrize("search", [False, True], ids=["standard", "search"])
def test_limiter_off_admits_everything(search):
    limiter = RateLimiter(per_10s=0, search_per_s=0, daily=0)
    assert all(limiter.admit(PRIVATE, search=search).allowed for _ in range(1000))


def _seed_for_slow_then_fast(jitter_ms: float) -> int:
    """Find a fault seed whose first request is delayed long and whose second is not."""
    for seed in range(10_000):
        injector = FaultInjector(seed=seed, jitter_ms=jitter_ms)
        first, second = (injector.plan(write=False).delay_s for _ in range(2))
        if first >= 0.5 and second <= 0.05:
            return seed
    raise AssertionError("no such seed")


def test_budgets_count_a_request_when_it_arrives_not_after_its_latency(emulator, api_session):
    # One search a second. The first search is delayed ~0.5 s or more, the second barely; sent
    # 1.1 s apart they are a second apart on arrival, though the first's answer leaves late.
    jitter_ms = 600.0
    server = emulator(
        tickets=1,
        search_rate_limit=1,
        jitter_ms=jitter_ms,
        seed=_seed_for_slow_then_fast(jitter_ms),
    )
    sent = time.monotonic()
    assert api_session.post(f"{server.url}{SEARCH}", json={}).status_code == 200
    time.sleep(max(0.0, sent + 1.1 - time.monotonic()))
    assert api_session.post(f"{server.url}{SEARCH}", json={}).status_code == 200
