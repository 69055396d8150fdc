"""Run `hubspot-emulator` as its own process and read its counters over HTTP.

A separate process keeps the emulator's work off the connector's CPU numbers and off the
driver's interpreter; a fresh one per measured run gives every connector the same data and an
empty rate-limit window.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from hubspot_api.config import LEGACY_API_VERSION
from hubspot_api.paths import Call, path_for
from hubspot_emulator.config import DEFAULT_TOKEN

EMULATOR = Path(sys.executable).with_name("hubspot-emulator")
_START_TIMEOUT_S = 120.0
_HTTP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Scenario:
    """The emulator options every connector meets in one comparison."""

    tickets: int
    seed: int = 1
    latency_ms: float = 150.0
    jitter_ms: float = 50.0
    rate_limit_10s: int = 190
    search_rate_limit: int = 5

    def arguments(self) -> list[str]:
        """The CLI flags for this scenario."""
        return [
            f"--tickets={self.tickets}",
            f"--seed={self.seed}",
            f"--latency-ms={self.latency_ms:g}",
            f"--jitter-ms={self.jitter_ms:g}",
            f"--rate-limit-10s={self.rate_limit_10s}",
            f"--search-rate-limit={self.search_rate_limit}",
        ]

    def describe(self) -> str:
        """One line for the report header."""
        return (
            f"{self.tickets:,} tickets (seed {self.seed}), {self.latency_ms:g} ms +- "
            f"{self.jitter_ms:g} latency, {self.rate_limit_10s} requests / 10 s, "
            f"{self.search_rate_limit} searches / s"
        )


class EmulatorProcess:
    """A running `hubspot-emulator --port 0`; use as a context manager."""

    token = DEFAULT_TOKEN

    def __init__(self, arguments: list[str]) -> None:
        self._arguments = arguments
        self._proc: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> EmulatorProcess:
        self._proc = subprocess.Popen(
            [str(EMULATOR), "--port=0", *self._arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        assert self._proc.stdout is not None
        first = self._proc.stdout.readline().strip()
        prefix = "listening on "
        if not first.startswith(prefix):
            self.__exit__(None, None, None)
            raise RuntimeError(f"hubspot-emulator did not start: {first!r}")
        self.url = first[len(prefix) :]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._proc is None:
            return
        if self._proc.poll() is None:
            os.kill(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._proc = None

    def _call(self, method: str, path: str, body: Any = None, *, auth: bool = False) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if auth:
            request.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(request, timeout=_HTTP_TIMEOUT_S) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def stats(self) -> dict[str, Any]:
        """The emulator's counters: requests by route and status."""
        stats: dict[str, Any] = self._call("GET", "/_emulator/stats")
        return stats

    def reset_stats(self) -> None:
        """Zero the counters."""
        self._call("POST", "/_emulator/reset-stats")

    def active_tickets(self) -> int:
        """How many tickets are not archived: one search, spending a slot of the search budget."""
        search = path_for(Call.SEARCH, LEGACY_API_VERSION)
        answer = self._call("POST", search, {"limit": 1}, auth=True)
        return int(answer["total"])


def requests_by_route(stats: dict[str, Any]) -> dict[str, dict[str, int]]:
    """The emulator's per-route counters, keyed by `"METHOD route"` then status."""
    by_route: dict[str, dict[str, int]] = stats.get("by_route", {})
    return by_route
