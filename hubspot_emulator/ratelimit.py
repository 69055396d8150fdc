"""HubSpot's request budgets: a rolling ten-second window, a search budget, a daily cap.

Budgets are counted per app (the private-app token, or the OAuth client). Requests that are
refused do not consume budget, so a client that backs off recovers as soon as the window
rolls on. Search calls have their own per-second budget and carry no rate-limit headers, as
on HubSpot; every call of a private app counts toward its daily limit. OAuth apps get the same
ten-second budget as the private app (HubSpot gives public apps 110 per 10 s per account; set
the budget to match the app being imitated) and, as on HubSpot, no daily limit.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hubspot_emulator.auth import Principal
from hubspot_emulator.clock import Clock
from hubspot_emulator.errors import error_body

TEN_SECONDS = 10.0
ONE_SECOND = 1.0

_MESSAGES = {
    "TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
    "SECONDLY": "You have reached your secondly limit.",
    "DAILY": "You have reached your daily limit.",
}


def rate_limit_body(policy: str, correlation_id: str) -> dict[str, Any]:
    """Render HubSpot's 429 body for one of its policies."""
    return error_body(
        _MESSAGES[policy], correlation_id=correlation_id, errorType="RATE_LIMIT", policyName=policy
    )


@dataclass(frozen=True)
class Verdict:
    """Whether one request may go ahead, and the headers its answer carries."""

    allowed: bool
    headers: tuple[tuple[str, str], ...] = ()
    policy: str | None = None  # set when refused
    retry_after_s: int | None = None  # whole seconds until the budget has room again


ALLOWED = Verdict(allowed=True)


@dataclass
class _Budget:
    window: deque[float] = field(default_factory=deque)
    search_window: deque[float] = field(default_factory=deque)
    day: int = -1
    day_count: int = 0


def _prune(window: deque[float], horizon: float) -> None:
    while window and window[0] <= horizon:
        window.popleft()


class RateLimiter:
    """Admit or refuse requests against HubSpot's budgets; thread-safe; 0 turns one off."""

    def __init__(
        self,
        *,
        per_10s: int,
        search_per_s: int,
        daily: int,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] | None = None,
    ) -> None:
        self._per_10s = per_10s
        self._search_per_s = search_per_s
        self._daily = daily
        self._clock = clock
        self._wall_clock = wall_clock or Clock().now  # the day of the daily budget
        self._lock = threading.Lock()
        self._budgets: dict[str, _Budget] = {}

    @property
    def enabled(self) -> bool:
        """Tell whether any budget is on."""
        return bool(self._per_10s or self._search_per_s or self._daily)

    def admit(self, principal: Principal, *, search: bool) -> Verdict:
        """Count one request against the caller's budgets, or refuse it without counting."""
        if not self.enabled:
            return ALLOWED
        daily = self._daily if principal.kind == "private" else 0
        with self._lock:
            budget = self._budgets.setdefault(principal.budget_key, _Budget())
            now = self._clock()
            if daily:
                # HubSpot resets daily limits at midnight; UTC days stand in for the portal's zone.
                today = int(self._wall_clock() // 86400)
                if budget.day != today:
                    budget.day, budget.day_count = today, 0
            if search:
                return self._admit_search(budget, now, daily)
            return self._admit_standard(budget, now, daily)

    def _admit_search(self, budget: _Budget, now: float, daily: int) -> Verdict:
        window = budget.search_window
        if daily and budget.day_count >= daily:
            return Verdict(False, policy="DAILY", retry_after_s=self._until_tomorrow())
        if self._search_per_s:
            _prune(window, now - ONE_SECOND)
            if len(window) >= self._search_per_s:
                wait = window[0] + ONE_SECOND - now
                return Verdict(False, policy="SECONDLY", retry_after_s=max(1, math.ceil(wait)))
            window.append(now)
        budget.day_count += 1
        return ALLOWED

    def _admit_standard(self, budget: _Budget, now: float, daily: int) -> Verdict:
        window = budget.window
        if self._per_10s:
            _prune(window, now - TEN_SECONDS)
        refused: str | None = None
        retry_after: int | None = None
        if daily and budget.day_count >= daily:
            refused, retry_after = "DAILY", self._until_tomorrow()
        elif self._per_10s and len(window) >= self._per_10s:
            refused = "TEN_SECONDLY_ROLLING"
            retry_after = max(1, math.ceil(window[0] + TEN_SECONDS - now))
        if refused is None:
            if self._per_10s:
                window.append(now)
            budget.day_count += 1
        headers: list[tuple[str, str]] = []
        if self._per_10s:
            headers += [
                ("X-HubSpot-RateLimit-Max", str(self._per_10s)),
                ("X-HubSpot-RateLimit-Remaining", str(max(0, self._per_10s - len(window)))),
                ("X-HubSpot-RateLimit-Interval-Milliseconds", str(int(TEN_SECONDS * 1000))),
            ]
        if daily:
            headers += [
                ("X-HubSpot-RateLimit-Daily", str(daily)),
                ("X-HubSpot-RateLimit-Daily-Remaining", str(max(0, daily - budget.day_count))),
            ]
        return Verdict(refused is None, tuple(headers), refused, retry_after)

    def _until_tomorrow(self) -> int:
        return max(1, math.ceil(86400 - self._wall_clock() % 86400))
