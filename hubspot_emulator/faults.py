"""Injected latency, transient errors and dropped connections, reproducible from a seed.

One seeded generator decides for every request, always drawing the same five numbers per
request, so a client that sends the same requests in the same order sees the same faults.
Faults and drops can be limited to some paths (`fault_paths`), and faults to some statuses
(`fault_statuses`): one object type's association reads failing while everything else answers,
as when one of HubSpot's backends is down (502) or the app lacks that object's scope (403).
"""

from __future__ import annotations

import fnmatch
import random
import threading
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from hubspot_emulator.errors import error_body
from hubspot_emulator.ratelimit import rate_limit_body

# 423 is what HubSpot answers while a record is locked by mass writes, so only writes get it.
READ_FAULTS = (429, 502, 503, 504)
WRITE_FAULTS = (*READ_FAULTS, 423)

_FAULT_MESSAGES = {
    502: "Bad Gateway: the upstream server did not answer in time",
    503: "Service Unavailable: please try again later",
    504: "Gateway Timeout: the request took too long to process",
    423: "The resource is locked by another operation; retry in a couple of seconds",
    403: "This app hasn't been granted all required scopes to make this call.",
}
_FAULT_CATEGORIES = {423: "LOCKED", 403: "MISSING_SCOPES"}


def fault_body(status: int, correlation_id: str) -> dict[str, Any]:
    """Render the body of an injected error."""
    if status == 429:
        return rate_limit_body("TEN_SECONDLY_ROLLING", correlation_id)
    message = _FAULT_MESSAGES.get(status) or _phrase(status)
    category = _FAULT_CATEGORIES.get(status) or (
        "INTERNAL_ERROR" if status >= 500 else "VALIDATION_ERROR"
    )
    return error_body(message, category, correlation_id=correlation_id)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:  # a status of HubSpot's own, or none at all
        return f"Injected error {status}"


@dataclass(frozen=True)
class FaultPlan:
    """What happens to one request besides its normal handling."""

    delay_s: float = 0.0
    drop: bool = False  # close the connection before doing anything
    status: int | None = None  # answer with this injected error instead
    drop_after_apply: bool = False  # apply a write, then close without answering


NO_FAULT = FaultPlan()


class FaultInjector:
    """Decide latency and faults per request from one seeded generator; thread-safe."""

    def __init__(
        self,
        *,
        seed: int,
        latency_ms: float = 0.0,
        jitter_ms: float = 0.0,
        fault_rate: float = 0.0,
        drop_rate: float = 0.0,
        apply_then_drop_rate: float = 0.0,
        fault_paths: tuple[str, ...] = (),
        fault_statuses: tuple[int, ...] = (),
    ) -> None:
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._latency_s = latency_ms / 1000.0
        self._jitter_s = jitter_ms / 1000.0
        self._fault_rate = fault_rate
        self._drop_rate = drop_rate
        self._apply_then_drop_rate = apply_then_drop_rate
        self._fault_paths = fault_paths
        self._fault_statuses = fault_statuses
        self.enabled = bool(
            latency_ms or jitter_ms or fault_rate or drop_rate or apply_then_drop_rate
        )

    def plan(self, *, write: bool, path: str = "") -> FaultPlan:
        """Draw the plan for one request; `write` marks requests that change the portal.

        A request whose `path` matches none of `fault_paths` (when given) is only delayed.
        """
        if not self.enabled:
            return NO_FAULT
        with self._lock:
            jitter, drop, fault, kind, after = (self._random.random() for _ in range(5))
        # Latency L with jitter J is uniform in [L - J, L + J]: "150 ms +- 50" as usually written.
        delay = max(0.0, self._latency_s + (2.0 * jitter - 1.0) * self._jitter_s)
        if self._fault_paths and not any(
            fnmatch.fnmatchcase(path, pattern) for pattern in self._fault_paths
        ):
            return FaultPlan(delay_s=delay)
        if drop < self._drop_rate:
            return FaultPlan(delay_s=delay, drop=True)
        if fault < self._fault_rate:
            choices = self._fault_statuses or (WRITE_FAULTS if write else READ_FAULTS)
            return FaultPlan(delay_s=delay, status=choices[int(kind * len(choices))])
        return FaultPlan(
            delay_s=delay, drop_after_apply=write and after < self._apply_then_drop_rate
        )


# A list whose paging cursor goes wrong. From the second page on, each page's next cursor serves
# that same page again (`repeat`), or the pages after the second alternate with it (`cycle`).
# HubSpot's cursors are opaque: each one handed out is a fresh string (the position with one
# more leading zero), so only the ids of the pages show the list going back.
LIST_CURSOR_FAULTS = ("repeat", "cycle")


def misdirect_list_cursor(
    page: dict[str, Any], after: str | None, fault: str, second: str | None
) -> dict[str, Any]:
    """Point a list page's next cursor back as `fault` says; `second`: the second page's cursor.

    `after` is the cursor the page was asked with (None: the first page). The first page and
    the last keep their paging.
    """
    following = (page.get("paging") or {}).get("next")
    if after is None or following is None:
        return page
    position = after.lstrip("0") or "0"
    fresh = "0" * (len(after) - len(position) + 1)
    back: str | None = position
    if fault == "cycle":
        back = str(following["after"]) if position == second else second
    if back is None:
        return page
    following["after"] = fresh + back
    following["link"] = f"?after={fresh + back}"
    return page
