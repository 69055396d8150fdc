"""A client-side throttle holding HubSpot's two request budgets, shared by a whole process.

HubSpot counts ordinary calls in a rolling ten-second window (190 for Pro/Enterprise private
apps) and search calls in a separate per-second budget (5), per account
(https://developers.hubspot.com/docs/guides/apps/api-usage/usage-details). Staying under both
on the client side is cheaper than answering 429s.

The limiter works by reservation: each caller books the earliest start time that keeps at most
`limit` starts in any window, then sleeps exactly until it. No polling, and callers are served
first come, first served. The server counts arrivals, not departures, so a window is widened by
a small margin to absorb network jitter (2.5% of throughput on the ten-second window, instead of
the 10% a count headroom would cost).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from hubspot_api.paths import Budget
from hubspot_api.sharedbudget import BudgetFile, open_budget_file

TEN_SECOND_WINDOW_S = 10.0
TEN_SECOND_MARGIN_S = 0.25
SEARCH_WINDOW_S = 1.0
SEARCH_MARGIN_S = 0.1
# When HubSpot reports no requests left (another app of the account spends the same budget),
# hold this budget for a moment rather than walk into a 429.
EXHAUSTED_PAUSE_S = 1.0
# A 429 holds a budget for at most its window (the daily limit stops a run instead:
# `DailyLimitError`) plus the jitter added to a retry (`retries`). A longer pause in the shared
# file is corrupt or crafted, not HubSpot's: it is cut to that (`SlidingWindow.max_hold`).
HOLD_JITTER_S = 1.0
# The most callers that may be queued on one budget at once (each holds one booking): one run's
# threads at the highest max_concurrency. Bookings reaching further ahead are not trusted.
QUEUED_CALLERS = 64

logger = logging.getLogger("hubspot_api")

HEADER_MAX = "X-HubSpot-RateLimit-Max"
HEADER_REMAINING = "X-HubSpot-RateLimit-Remaining"
HEADER_INTERVAL_MS = "X-HubSpot-RateLimit-Interval-Milliseconds"
HEADER_DAILY = "X-HubSpot-RateLimit-Daily"
HEADER_DAILY_REMAINING = "X-HubSpot-RateLimit-Daily-Remaining"
# The share of the daily limit left to other integrations unless `daily_request_reserve` says.
DEFAULT_DAILY_RESERVE_SHARE = 0.05


class SlidingWindow:
    """Book start times so that at most `limit` fall in any `window + margin` seconds.

    Not thread-safe on its own: `RateLimiter` serializes access. Pure, so tests drive it with
    an explicit `now`.
    """

    def __init__(self, limit: int, window: float, margin: float = 0.0) -> None:
        """Create an empty window admitting `limit` starts per `window` seconds."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.span = window + margin
        # The longest pause a 429 can stand for: on either budget it may be the ten-second
        # window's (a search call counts there too).
        self.max_hold = TEN_SECOND_WINDOW_S + HOLD_JITTER_S
        self._starts: deque[float] = deque()
        self._blocked_until = 0.0

    def reserve(self, now: float) -> float:
        """Book the earliest allowed start at or after `now` and return it."""
        start = max(now, self._blocked_until)
        if self._starts:
            start = max(start, self._starts[-1])  # first come, first served
            if len(self._starts) >= self.limit:
                start = max(start, self._starts[-self.limit] + self.span)
        self._starts.append(start)
        # Bookings are in order, so a start a whole span before this one can bind no later one.
        while self._starts[0] <= start - self.span:
            self._starts.popleft()
        return start

    def block_until(self, moment: float) -> None:
        """Let nothing start before `moment` (after a 429 or an exhausted-budget header)."""
        self._blocked_until = max(self._blocked_until, moment)

    def load(self, state: Any, now: float) -> str | None:
        """Take the bookings another process stored (see `sharedbudget`), dropping stale ones.

        Trust them only as far as HubSpot's windows reach: a pause beyond `max_hold` is cut
        to it, and a start booked further ahead than `reach` is dropped. Return what was cut,
        if anything, in words.
        """
        starts = state.get("starts") if isinstance(state, dict) else None
        blocked = state.get("blocked_until") if isinstance(state, dict) else None
        numbers = [t for t in starts or () if isinstance(t, int | float) and t > now - self.span]
        ahead = now + self.reach
        self._starts = deque(t for t in numbers if t <= ahead)
        cut: list[str] = []
        if len(self._starts) < len(numbers):
            farthest = max(numbers) - now
            cut.append(f"{len(numbers) - len(self._starts)} start(s) up to {farthest:.0f} s ahead")
        self._blocked_until = blocked if isinstance(blocked, int | float) else 0.0
        if self._blocked_until > now + self.max_hold:
            cut.append(f"a pause of {self._blocked_until - now:.0f} s")
            self._blocked_until = now + self.max_hold
        return "; ".join(cut) or None

    @property
    def reach(self) -> float:
        """Return how far ahead a booked start may be: a pause, then a queue of callers.

        Each waiting caller holds one booking; `QUEUED_CALLERS` of them fill `limit` a window.
        """
        return self.max_hold + self.span * (1 + math.ceil(QUEUED_CALLERS / self.limit))

    def dump(self) -> dict[str, Any]:
        """Return the bookings to store for the other processes."""
        return {"starts": list(self._starts), "blocked_until": self._blocked_until}

    def set_limit(self, limit: int) -> None:
        """Change the number of starts allowed per window."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit


class RateLimiter:
    """Both HubSpot budgets of one account, safe to share between threads."""

    def __init__(
        self,
        requests_per_10_seconds: int,
        search_requests_per_second: int,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        shared: BudgetFile | None = None,
    ) -> None:
        """Create the limiter; `clock` and `sleep` are injectable for tests.

        With `shared`, bookings go through that file, so every process using it shares the
        budgets; the clock is then the wall clock, which all processes read alike.
        """
        self._clock = clock or (time.time if shared is not None else time.monotonic)
        self._sleep = sleep
        self._shared = shared
        # What was already said of the shared file (each warning once per run).
        self._said: set[str] = set()
        self._lock = threading.Lock()
        # The daily limit and what is left of it, as HubSpot last reported (None: not seen).
        self.daily_limit: int | None = None
        self.daily_remaining: int | None = None
        self._windows = {
            Budget.STANDARD: SlidingWindow(
                requests_per_10_seconds, TEN_SECOND_WINDOW_S, TEN_SECOND_MARGIN_S
            ),
            Budget.SEARCH: SlidingWindow(
                search_requests_per_second, SEARCH_WINDOW_S, SEARCH_MARGIN_S
            ),
        }

    def limit(self, budget: Budget) -> int:
        """Return the current limit of `budget`."""
        return self._windows[budget].limit

    def reserve(self, budget: Budget) -> float:
        """Book a slot on `budget` and return how many seconds to wait before sending."""
        window = self._windows.get(budget)
        if window is None:
            return 0.0
        with self._lock, self._synced() as now:
            return max(0.0, window.reserve(now) - now)

    def acquire(
        self, budget: Budget, *, before_wait: Callable[[Budget, float], None] | None = None
    ) -> float:
        """Block until a request on `budget` may be sent; return the seconds waited.

        `before_wait(budget, seconds)` is told of a wait before it starts.
        """
        delay = self.reserve(budget)
        if delay > 0:
            if before_wait is not None:
                before_wait(budget, delay)
            self._sleep(delay)
        return delay

    def pause(self, budget: Budget, seconds: float) -> None:
        """Hold every later request on `budget` for `seconds` from now."""
        window = self._windows.get(budget)
        if window is None:
            return
        with self._lock, self._synced() as now:
            window.block_until(now + seconds)

    @contextlib.contextmanager
    def _synced(self) -> Iterator[float]:
        """Yield the time now, with the windows holding every process's bookings if shared."""
        shared = self._shared
        if shared is None:
            yield self._clock()
            return
        now: float | None = None
        body_failed = False
        try:
            with shared.locked() as state:
                now = self._clock()
                for budget, window in self._windows.items():
                    cut = window.load(state.get(budget.value), now)
                    if cut is not None:
                        self._say_once(
                            f"cut:{budget.value}",
                            "shared rate budget %s holds more than HubSpot's windows allow "
                            "(%s budget: %s): taken as corrupt and cut to them",
                            shared.path,
                            budget.value,
                            cut,
                        )
                try:
                    yield now
                except BaseException:
                    body_failed = True
                    raise
                for budget, window in self._windows.items():
                    state[budget.value] = window.dump()
        except OSError as exc:
            if body_failed:
                raise
            # The bookings made so far stay in this process's windows; it goes on alone.
            self._shared = None
            shared.close()
            self._say_once(
                "alone",
                "rate budget no longer shared with other processes (%s: %s); this run "
                "throttles alone",
                shared.path,
                exc.strerror or exc,
            )
            if now is None:  # the file failed before the windows were used: use them alone
                yield self._clock()

    def _say_once(self, key: str, message: str, *args: object) -> None:
        if key not in self._said:
            self._said.add(key)
            logger.warning(message, *args)

    def close(self) -> None:
        """Let go of the shared budget file, if any."""
        if self._shared is not None:
            self._shared.close()

    def lower_limit(self, budget: Budget, limit: int) -> None:
        """Lower `budget`'s limit to `limit` if that is below the current one."""
        window = self._windows.get(budget)
        if window is None or limit < 1:
            return
        with self._lock:
            if limit < window.limit:
                window.set_limit(limit)

    def observe_headers(self, headers: Mapping[str, str]) -> None:
        """Adapt to HubSpot's rate-limit headers on an ordinary (non-search) answer.

        A `Max` below the configured budget (a lower account tier) lowers the budget; a
        `Remaining` of zero holds the budget briefly, since other apps share it. The daily
        headers are kept (`daily_limit`, `daily_remaining`) for the client's reserve check.
        """
        left = _int_header(headers, HEADER_DAILY_REMAINING)
        if left is not None:
            self.daily_limit, self.daily_remaining = _int_header(headers, HEADER_DAILY), left
        interval = _int_header(headers, HEADER_INTERVAL_MS)
        if interval is not None and interval != int(TEN_SECOND_WINDOW_S * 1000):
            return
        maximum = _int_header(headers, HEADER_MAX)
        if maximum is not None:
            self.lower_limit(Budget.STANDARD, maximum)
        if _int_header(headers, HEADER_REMAINING) == 0:
            self.pause(Budget.STANDARD, EXHAUSTED_PAUSE_S)


def daily_reserve(limit: int | None, setting: int | None) -> int:
    """Return how many calls of the daily limit to leave unspent (`daily_request_reserve`)."""
    if setting is not None:
        return setting
    return int((limit or 0) * DEFAULT_DAILY_RESERVE_SHARE)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


_registry: dict[tuple[str, str], RateLimiter] = {}
_registry_lock = threading.Lock()


def credential_fingerprint(*parts: str | None) -> str:
    """Return a short, one-way digest identifying a credential (never the credential)."""
    digest = hashlib.sha256("\x00".join(p or "" for p in parts).encode())
    return digest.hexdigest()[:16]


def shared_limiter(
    api_url: str,
    fingerprint: str,
    requests_per_10_seconds: int,
    search_requests_per_second: int,
    *,
    across_processes: bool = True,
    state_dir: Path | None = None,
) -> RateLimiter:
    """Return the process-wide limiter for one account, creating it on first use.

    Clients of the same account (a tap and its sub-clients) share one limiter; when they ask
    for different budgets, the smaller one wins. With `across_processes`, the limiter also
    shares its bookings with every other process of this user on the account
    (`sharedbudget`, in `state_dir` or the user's cache directory).
    """
    key = (api_url, fingerprint)
    with _registry_lock:
        limiter = _registry.get(key)
        if limiter is None:
            shared = open_budget_file(state_dir, api_url, fingerprint) if across_processes else None
            limiter = RateLimiter(
                requests_per_10_seconds, search_requests_per_second, shared=shared
            )
            _registry[key] = limiter
            return limiter
    limiter.lower_limit(Budget.STANDARD, requests_per_10_seconds)
    limiter.lower_limit(Budget.SEARCH, search_requests_per_second)
    return limiter
