"""HubSpot's clock as this machine sees it, from the `Date` header of every answer.

Callers that compare with HubSpot's own timestamps (`createdate`, `hs_lastmodifieddate`) use it
instead of the local clock, which may be off by any amount.
"""

from __future__ import annotations

import email.utils
import math
import threading
import time
from collections.abc import Callable

SERVER_CLOCK_UNCERTAINTY_MS = 1_000
"""How far `ServerClock.now_ms()` may be from HubSpot's clock: the `Date` header counts whole
seconds (half a second either way from the middle of that second) and an answer's time on the
wire adds up to half of its round trip. Widen any window compared with HubSpot's timestamps by
this much on each side."""


class ServerClock:
    """HubSpot's clock, estimated from the `Date` header of its answers; thread-safe."""

    def __init__(self, local_clock: Callable[[], float] = time.time) -> None:
        """Start with no observation: until the first answer, the local clock is used."""
        self._local = local_clock
        self._lock = threading.Lock()
        self._offset_s: float | None = None
        self._observed_at = -math.inf
        self._parsed: tuple[str, float] | None = None

    def local_time(self) -> float:
        """Return the local clock in epoch seconds (what `observe` expects)."""
        return self._local()

    def observe(self, date_header: str | None, sent_at: float, received_at: float) -> None:
        """Take the offset from one answer's `Date`, sent and received at these local times."""
        server_s = self._parse(date_header)
        if server_s is None:
            return
        # The server wrote the header somewhere in [sent_at, received_at] local time, during the
        # second it names: take the middle of both.
        offset = server_s + 0.5 - (sent_at + received_at) / 2
        with self._lock:
            if received_at >= self._observed_at:
                self._observed_at = received_at
                self._offset_s = offset

    def _parse(self, date_header: str | None) -> float | None:
        if not date_header:
            return None
        cached = self._parsed
        if cached is not None and cached[0] == date_header:
            return cached[1]
        try:
            moment = email.utils.parsedate_to_datetime(date_header)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            return None  # not an HTTP date: those are always GMT
        seconds = moment.timestamp()
        self._parsed = (date_header, seconds)
        return seconds

    @property
    def offset_ms(self) -> int | None:
        """Return HubSpot's clock minus the local one, or None before any answer was seen."""
        offset = self._offset_s
        return None if offset is None else round(offset * 1000)

    def now_ms(self) -> int:
        """Return HubSpot's current time in epoch milliseconds, as well as it is known."""
        return int((self._local() + (self._offset_s or 0.0)) * 1000)
