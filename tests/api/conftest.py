"""Fixtures for the API layer's tests against the emulator: clients that close themselves.

- `make_client(server, **config)`: a `HubSpotClient` for an emulator, configured like a
  connector config (private-app token by default; pass `access_token=None` plus the OAuth trio
  for OAuth). Each client gets its own rate limiter, so tests never share budgets through the
  process-wide registry. `fast=True` shortens every retry and throttle sleep twentyfold, for
  tests about outcomes rather than timing; throttling tests leave it off.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hubspot_api.client import HubSpotClient
from hubspot_api.config import HubSpotSettings
from hubspot_api.ratelimit import RateLimiter
from hubspot_emulator.config import DEFAULT_TOKEN

SPEED_UP = 20.0


def _fast_sleep(seconds: float) -> None:
    time.sleep(seconds / SPEED_UP)


@pytest.fixture
def make_client() -> Iterator[Callable[..., HubSpotClient]]:
    """Build clients for emulators; close them all when the test ends."""
    clients: list[HubSpotClient] = []

    def build(server: Any, *, fast: bool = False, **config: Any) -> HubSpotClient:
        merged = {"api_url": server.url, "access_token": DEFAULT_TOKEN, **config}
        settings = HubSpotSettings.from_config({k: v for k, v in merged.items() if v is not None})
        sleep = _fast_sleep if fast else time.sleep
        limiter = RateLimiter(
            settings.requests_per_10_seconds, settings.search_requests_per_second, sleep=sleep
        )
        client = HubSpotClient(settings, limiter=limiter, sleep=sleep)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()
