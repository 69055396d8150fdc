"""The emulator's wall clock: every "now" it serves comes from here.

`clock_offset_s` shifts it from this machine's clock, so a test can play a HubSpot whose clock
differs from the client's (`--clock-offset-s -30`: HubSpot is 30 s behind the machine). The
offset moves every timestamp the emulator hands out or compares: `createdate`,
`hs_lastmodifieddate`, `createdAt`/`updatedAt`, history timestamps, batch `startedAt`/
`completedAt`, the search index's lag, the daily budget's day, and the `Date` header. Durations
(token lifetimes, rate-limit windows, latency) use the monotonic clock and need no offset.
"""

from __future__ import annotations

import email.utils
import time

_ISO_SECONDS = "%Y-%m-%dT%H:%M:%S"


class Clock:
    """This machine's clock shifted by a fixed offset; thread-safe."""

    def __init__(self, offset_s: float = 0.0) -> None:
        self.offset_s = offset_s
        self._date_cache: tuple[int, str] = (0, "")

    def now(self) -> float:
        """Return the emulator's time in epoch seconds."""
        return time.time() + self.offset_s

    def now_ms(self) -> int:
        """Return the emulator's time in epoch milliseconds."""
        return (time.time_ns() // 1_000_000) + round(self.offset_s * 1000)

    def iso_now(self) -> str:
        """Return the emulator's time as HubSpot writes instants: `2026-11-28T10:15:30.123Z`."""
        ms = self.now_ms()
        return f"{time.strftime(_ISO_SECONDS, time.gmtime(ms // 1000))}.{ms % 1000:03d}Z"

    def http_date(self) -> str:
        """Return the emulator's time as an HTTP `Date` header value (whole seconds, GMT)."""
        # Formatting once a second keeps the header off the per-request cost. The tuple is
        # replaced whole, so a reader on another thread sees an old or a new pair, never a mix.
        now = int(self.now())
        cached = self._date_cache
        if cached[0] != now:
            cached = (now, email.utils.formatdate(now, usegmt=True))
            self._date_cache = cached
        return cached[1]
