"""Progress lines while a run works: how far each stream is, how fast, and how long is left.

Both connectors count as they go and hand the counts here; a line goes to the log (stderr,
never stdout, which carries the Singer messages) at most once per `progress_interval_s`:

    tickets: 12,400 of 30,000 read (41%), 2,150/s, about 8 s left
    tickets: 4,200 of 5,000 read settled (3,900 created, 12 rejected), 6 batches in flight, 830/s

and one line per stream when it ends. Whether a line is due is checked where the counts change
(each record read, each batch settled), against the monotonic clock: no timer thread, nothing
that outlives the run, and a changed wall clock moves no line. A stream waiting on HubSpot says
so through the client instead (its retry and rate-limit lines).

HubSpot's totals are counts of a search taken as the read starts, and search trails writes: a
run can read more than was counted. The percentage then stops at 100 and the time left at 0,
and neither is shown once the count is passed. The formatting and arithmetic are pure functions
of the counts and the seconds elapsed, unit-tested with a fake clock.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from singer_sdk import typing as th

from hubspot_api.errors import ConfigError

PROGRESS_INTERVAL_SETTING = "progress_interval_s"
DEFAULT_PROGRESS_INTERVAL_S = 10.0
# A day: a larger interval is almost certainly a unit mistake (milliseconds).
MAX_PROGRESS_INTERVAL_S = 86_400.0

PROGRESS_SETTING = th.Property(
    PROGRESS_INTERVAL_SETTING,
    th.NumberType,
    default=DEFAULT_PROGRESS_INTERVAL_S,
    description=(
        "Seconds between progress lines on stderr while a stream works (records so far, "
        "HubSpot's total where it counts one, the rate, the time left), plus one line when "
        "each stream ends; 0 turns them off."
    ),
)

Clock = Callable[[], float]
Log = Callable[[str], None]


def progress_interval(config: Mapping[str, Any]) -> float:
    """Return the validated `progress_interval_s` (0: off); raise `ConfigError` in one line."""
    value = config.get(PROGRESS_INTERVAL_SETTING)
    if value is None or value == "":
        return DEFAULT_PROGRESS_INTERVAL_S
    if (
        isinstance(value, bool)
        # Config files are read with decimals (singer-sdk's `parse_float`).
        or not isinstance(value, int | float | Decimal)
        or not 0 <= value <= MAX_PROGRESS_INTERVAL_S
    ):
        raise ConfigError(
            f"{PROGRESS_INTERVAL_SETTING} must be a number of seconds from 0 (no progress "
            f"lines) to {MAX_PROGRESS_INTERVAL_S:,.0f}, got {value!r}"
        )
    return float(value)


# -- the pure core ------------------------------------------------------------------------------
def per_second(count: int, seconds: float) -> float:
    """Return the rate of `count` things over `seconds` (0 before any time has passed)."""
    return count / seconds if seconds > 0 else 0.0


def percent(count: int, total: int) -> int:
    """Return how much of `total` `count` is, in whole percent from 0 to 100.

    Rounded down, so 100% means done; a count past the total (an approximate one) is 100%.
    """
    if total <= 0 or count >= total:
        return 100
    return max(0, count * 100 // total)


def seconds_left(count: int, total: int | None, rate: float) -> float | None:
    """Return the seconds until `count` reaches `total` at `rate`, or None when unknown."""
    if total is None or rate <= 0:
        return None
    return max(0.0, (total - count) / rate)


def amount(count: int) -> str:
    """Return a count with thousands separators: 12,400."""
    return f"{count:,}"


def rate_text(rate: float) -> str:
    """Return a rate as people read it: 2,150/s, 3.5/s."""
    return f"{rate:,.0f}/s" if rate >= 10 else f"{rate:.1f}/s"


def duration_text(seconds: float) -> str:
    """Return a duration in its largest sensible unit: 8 s, 4 min, 1.5 h."""
    if seconds < 90:
        return f"{math.ceil(seconds)} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def read_line(name: str, count: int, total: int | None, seconds: float) -> str:
    """Return a tap stream's progress line.

    `tickets: 12,400 of 30,000 read (41%), 2,150/s, about 8 s left`; without a total
    `ticket_associations: 12,400 read, 2,150/s`.
    """
    rate = per_second(count, seconds)
    if total is None:
        return f"{name}: {amount(count)} read, {rate_text(rate)}"
    line = f"{name}: {amount(count)} of {amount(total)} read ({percent(count, total)}%)"
    line += f", {rate_text(rate)}"
    left = seconds_left(count, total, rate)
    if left is not None and count < total:
        line += f", about {duration_text(left)} left"
    return line


def read_done_line(name: str, count: int, seconds: float) -> str:
    """Return a tap stream's last line: `tickets: 30,000 read in 14.2 s (2,110/s)`."""
    rate = rate_text(per_second(count, seconds))
    return f"{name}: {amount(count)} read in {seconds:.1f} s ({rate})"


def settled_line(
    name: str, read: int, outcomes: Mapping[str, int], in_flight: int, seconds: float
) -> str:
    """Return the target's progress line: records settled of records read, and how.

    `tickets: 4,200 of 5,000 read settled (3,900 created, 12 rejected), 6 batches in flight,
    830/s`; the outcomes shown are the ones that happened, in the order given.
    """
    settled = sum(outcomes.values())
    how = ", ".join(f"{amount(n)} {outcome}" for outcome, n in outcomes.items() if n)
    line = f"{name}: {amount(settled)} of {amount(read)} read settled"
    if how:
        line += f" ({how})"
    batches = "batch" if in_flight == 1 else "batches"
    return f"{line}, {in_flight} {batches} in flight, {rate_text(per_second(settled, seconds))}"


def settled_done_line(name: str, read: int, outcomes: Mapping[str, int], seconds: float) -> str:
    """Return the target's last line: `tickets: 5,000 of 5,000 read settled in 6.1 s (...)`."""
    settled = sum(outcomes.values())
    how = ", ".join(f"{amount(n)} {outcome}" for outcome, n in outcomes.items() if n)
    rate = rate_text(per_second(settled, seconds))
    return (
        f"{name}: {amount(settled)} of {amount(read)} read settled in {seconds:.1f} s "
        f"({how + ', ' if how else ''}{rate})"
    )


# -- pacing -------------------------------------------------------------------------------------
class Pacer:
    """Tell when a line is due: once per interval on a monotonic clock; thread-safe.

    `interval` 0 never says a line is due.
    """

    def __init__(self, interval: float, clock: Clock = time.monotonic) -> None:
        """Start the clock now."""
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self.started = clock()
        self._last = self.started

    @property
    def on(self) -> bool:
        """Tell whether lines are wanted at all."""
        return self.interval > 0

    def elapsed(self) -> float:
        """Return the seconds since the start."""
        return max(0.0, self._clock() - self.started)

    def restart(self) -> None:
        """Start again now (when the counted work begins, not when it was set up)."""
        with self._lock:
            self.started = self._last = self._clock()

    def due(self) -> bool:
        """Return True at most once per interval, and never when off."""
        if not self.on:
            return False
        now = self._clock()
        with self._lock:
            if now - self._last < self.interval:
                return False
            self._last = now
            return True


class StreamProgress:
    """One tap stream's records this run, beside HubSpot's total when one is known."""

    def __init__(self, name: str, interval: float, log: Log, clock: Clock = time.monotonic) -> None:
        """Count nothing yet; `log` receives each line."""
        self.name = name
        self.count = 0
        self.total: int | None = None
        self._log = log
        self._pacer = Pacer(interval, clock)

    def start(self) -> None:
        """Start timing the stream (its rate counts from here)."""
        self._pacer.restart()

    def expect(self, total: int | None) -> None:
        """Set how many records the stream will have read when done (None: unknown)."""
        self.total = total

    def add(self, n: int = 1) -> None:
        """Count `n` records; log a line when one is due."""
        self.count += n
        if self._pacer.due():
            self._log(read_line(self.name, self.count, self.total, self._pacer.elapsed()))

    def finish(self) -> None:
        """Log the stream's last line (unless progress lines are off)."""
        if self._pacer.on:
            self._log(read_done_line(self.name, self.count, self._pacer.elapsed()))


class SettleProgress:
    """The target's records settled of records read, and its batches in flight; thread-safe.

    `counts` returns the records read and the count of each outcome so far (the run's tally).
    """

    def __init__(
        self,
        name: str,
        interval: float,
        log: Log,
        counts: Callable[[], tuple[int, Mapping[str, int]]],
        clock: Clock = time.monotonic,
    ) -> None:
        """Start the clock now: the target's run starts with its first message."""
        self.name = name
        self._log = log
        self._counts = counts
        self._pacer = Pacer(interval, clock)
        self._lock = threading.Lock()
        self.in_flight = 0

    @classmethod
    def silent(cls, name: str) -> SettleProgress:
        """Return a progress that never logs (until a run sets its own)."""
        return cls(name, 0.0, lambda _line: None, lambda: (0, {}))

    def poke(self) -> None:
        """Log a line when one is due (call it whenever a count changed)."""
        if self._pacer.due():
            read, outcomes = self._counts()
            self._log(
                settled_line(self.name, read, outcomes, self.in_flight, self._pacer.elapsed())
            )

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Count one batch in flight for the length of the block."""
        with self._lock:
            self.in_flight += 1
        try:
            yield
        finally:
            with self._lock:
                self.in_flight -= 1

    def finish(self) -> None:
        """Log the last line (unless progress lines are off)."""
        if self._pacer.on:
            read, outcomes = self._counts()
            self._log(settled_done_line(self.name, read, outcomes, self._pacer.elapsed()))
