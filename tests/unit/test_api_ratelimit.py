"""Rate limiter arithmetic on an injected clock (no real sleeping), alone and shared."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path
from typing import Any

import pytest

from hubspot_api.paths import Budget
from hubspot_api.ratelimit import (
    EXHAUSTED_PAUSE_S,
    HOLD_JITTER_S,
    SEARCH_MARGIN_S,
    TEN_SECOND_MARGIN_S,
    TEN_SECOND_WINDOW_S,
    RateLimiter,
    SlidingWindow,
    credential_fingerprint,
    shared_limiter,
)
from hubspot_api.sharedbudget import BudgetFile, open_budget_file


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_window_admits_limit_then_waits_a_full_span():
    window = SlidingWindow(3, 10.0, 0.5)
    starts = [window.reserve(0.0) for _ in range(7)]
    assert starts == [0.0, 0.0, 0.0, 10.5, 10.5, 10.5, 21.0]


def test_window_frees_slots_as_they_age():
    window = SlidingWindow(2, 10.0)
    assert window.reserve(0.0) == 0.0
    assert window.reserve(4.0) == 4.0
    assert window.reserve(5.0) == 10.0  # the start at 0 ages out at 10
    assert window.reserve(30.0) == 30.0  # long idle: no wait


def test_any_window_holds_at_most_limit_starts():
    window = SlidingWindow(5, 1.0)
    starts = [window.reserve(t * 0.07) for t in range(200)]
    for i, start in enumerate(starts):
        inside = [s for s in starts if start <= s < start + 1.0]
        assert len(inside) <= 5, i
    assert starts == sorted(starts)


def test_block_until_holds_everyone():
    window = SlidingWindow(10, 10.0)
    window.block_until(5.0)
    assert window.reserve(1.0) == 5.0
    assert window.reserve(6.0) == 6.0


def test_limiter_sleeps_exactly_the_reserved_delay():
    clock = FakeClock()
    limiter = RateLimiter(2, 5, clock=clock, sleep=clock.sleep)
    waits = [limiter.acquire(Budget.STANDARD) for _ in range(3)]
    assert waits[:2] == [0.0, 0.0]
    assert waits[2] == pytest.approx(10.0 + TEN_SECOND_MARGIN_S)
    assert clock.slept == [pytest.approx(10.0 + TEN_SECOND_MARGIN_S)]


def test_search_budget_is_separate():
    clock = FakeClock()
    limiter = RateLimiter(1, 2, clock=clock, sleep=clock.sleep)
    assert limiter.reserve(Budget.STANDARD) == 0.0
    assert limiter.reserve(Budget.SEARCH) == 0.0
    assert limiter.reserve(Budget.SEARCH) == 0.0
    assert limiter.reserve(Budget.SEARCH) == pytest.approx(1.0 + SEARCH_MARGIN_S)
    assert limiter.reserve(Budget.NONE) == 0.0


@pytest.mark.parametrize(
    ("headers", "limit", "paused"),
    [
        (
            {
                "X-HubSpot-RateLimit-Max": "100",
                "X-HubSpot-RateLimit-Remaining": "99",
                "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
            },
            100,
            False,
        ),
        ({"X-HubSpot-RateLimit-Max": "250", "X-HubSpot-RateLimit-Remaining": "5"}, 190, False),
        ({"X-HubSpot-RateLimit-Remaining": "0"}, 190, True),
        (
            {
                "X-HubSpot-RateLimit-Max": "10",
                "X-HubSpot-RateLimit-Remaining": "0",
                "X-HubSpot-RateLimit-Interval-Milliseconds": "1000",
            },
            190,
            False,
        ),
        ({"X-HubSpot-RateLimit-Max": "junk"}, 190, False),
    ],
    ids=["lower-tier", "higher-max-ignored", "exhausted", "other-interval", "junk"],
)
def test_headers_adapt_the_budget(headers, limit, paused):
    clock = FakeClock()
    limiter = RateLimiter(190, 5, clock=clock, sleep=clock.sleep)
    limiter.observe_headers(headers)
    assert limiter.limit(Budget.STANDARD) == limit
    expected = EXHAUSTED_PAUSE_S if paused else 0.0
    assert limiter.reserve(Budget.STANDARD) == pytest.approx(expected)


def test_registry_shares_one_limiter_per_account():
    fp = credential_fingerprint("token-a")
    first = shared_limiter("http://127.0.0.1:1", fp, 50, 5)
    again = shared_limiter("http://127.0.0.1:1", fp, 40, 5)
    other = shared_limiter("http://127.0.0.1:1", credential_fingerprint("token-b"), 50, 5)
    assert first is again
    assert first is not other
    assert first.limit(Budget.STANDARD) == 40  # the smaller ask wins


def test_fingerprint_does_not_contain_the_secret():
    fp = credential_fingerprint("pat-na1-secret")
    assert "secret" not in fp
    assert len(fp) == 16


# -- one budget across processes -----------------------------------------------------------------
def _shared(tmp_path, clock, *, limit=3, fingerprint="app"):
    shared = BudgetFile(tmp_path, "http://127.0.0.1:1", fingerprint)
    return RateLimiter(limit, 5, clock=clock, sleep=clock.sleep, shared=shared)


def test_limiters_sharing_a_file_book_as_one(tmp_path):
    clock = FakeClock()
    first, second = _shared(tmp_path, clock), _shared(tmp_path, clock)
    waits = [limiter.reserve(Budget.STANDARD) for limiter in (first, second, first, second)]
    assert waits == [0.0, 0.0, 0.0, pytest.approx(10.0 + TEN_SECOND_MARGIN_S)]
    # A 429 met by one holds the other.
    first.pause(Budget.SEARCH, 4.0)
    assert second.reserve(Budget.SEARCH) == pytest.approx(4.0)


def test_other_accounts_and_unshared_limiters_keep_their_own_budget(tmp_path):
    clock = FakeClock()
    ours = _shared(tmp_path, clock, limit=1)
    theirs = _shared(tmp_path, clock, limit=1, fingerprint="another app")
    alone = RateLimiter(1, 5, clock=clock, sleep=clock.sleep)
    assert [x.reserve(Budget.STANDARD) for x in (ours, theirs, alone)] == [0.0, 0.0, 0.0]
    assert ours.reserve(Budget.STANDARD) > 0


def test_stale_or_torn_shared_state_is_not_honoured(tmp_path):
    clock = FakeClock()
    limiter = _shared(tmp_path, clock, limit=1)
    limiter.reserve(Budget.STANDARD)
    clock.now += 3600  # bookings from an hour ago bind nothing
    assert limiter.reserve(Budget.STANDARD) == 0.0
    path = next(tmp_path.iterdir())
    path.write_text('{"standard": {"starts": [1e12], "blocked_until": 1e12}}')
    # Far in the future (a clock that jumped, or a crafted file): held no longer than a window.
    assert limiter.reserve(Budget.STANDARD) == pytest.approx(TEN_SECOND_WINDOW_S + HOLD_JITTER_S)
    path.write_text("{torn")
    assert limiter.reserve(Budget.STANDARD) == 0.0


def test_a_cache_dir_that_cannot_be_written_falls_back_to_a_budget_of_ones_own(tmp_path, caplog):
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert open_budget_file(blocked / "dir", "http://127.0.0.1:1", "app") is None
    assert "not shared with other processes" in caplog.text


def _book(directory: str, count: int, out: Any) -> None:
    shared = BudgetFile(Path(directory), "http://127.0.0.1:1", "app")
    limiter = RateLimiter(6, 5, shared=shared)
    for _ in range(count):
        out.put(time.time() + limiter.reserve(Budget.STANDARD))


def test_processes_sharing_a_budget_never_book_more_than_the_limit_per_window(tmp_path):
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    workers = [context.Process(target=_book, args=(str(tmp_path), 8, out)) for _ in range(3)]
    for worker in workers:
        worker.start()
    starts = sorted(out.get(timeout=60) for _ in range(24))
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    # Read back through the wall clock after the booking, so allow it a few milliseconds.
    span = 10.0 + TEN_SECOND_MARGIN_S - 0.05
    most = max(sum(1 for s in starts if t <= s < t + span) for t in starts)
    assert most == 6
