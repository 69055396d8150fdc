"""Shared fixtures: a real HubSpot emulator on loopback, in this process.

- `emulator`: a factory. `server = emulator(tickets=50, rate_limit_10s=20)` starts an
  `EmulatorServer` from those `EmulatorConfig` fields on a free port and returns it; every
  server it started stops when the test ends. `server.url` is the base URL to give a client
  (as `api_url`), `server.portal` the state behind it (`server.portal.snapshot()` is the ground
  truth), `server.stats()` the requests it answered. Pass `portal=` to serve a `Portal` built
  by the test, `verbose=True` to log each request to stderr.
- `seeded_emulator`: one emulator per test module, 300 tickets from seed 7 (read them back from
  `server.config.tickets` / `server.config.seed`). Tests in a module share it, so only read
  from it; use `emulator` for anything that writes.
- `api_session`: a `requests.Session` that sends the emulator's private-app token; it is
  closed when the test ends.

The run's processes share their rate budgets through files under `XDG_CACHE_HOME`
(`hubspot_api.sharedbudget`); the suite points it at a directory of its own, so no test reads
bookings left by another run or writes into the user's cache.

Every emulator accepts the private-app token `hubspot_emulator.config.DEFAULT_TOKEN` unless a
test passes `token=`. Tests import nothing from this file: they ask for fixtures by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from hubspot_emulator.config import DEFAULT_TOKEN, EmulatorConfig
from hubspot_emulator.server import EmulatorServer
from hubspot_emulator.store import Portal

SEEDED_TICKETS = 300
SEEDED_SEED = 7

StartEmulator = Callable[..., EmulatorServer]


@pytest.fixture(scope="session", autouse=True)
def _own_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the shared rate budgets of this test run (and its subprocesses) to itself."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture
def emulator() -> Iterator[StartEmulator]:
    """Start emulators from config fields; stop them all when the test ends."""
    servers: list[EmulatorServer] = []

    def start(
        *, portal: Portal | None = None, verbose: bool = False, **fields: Any
    ) -> EmulatorServer:
        server = EmulatorServer(EmulatorConfig(**fields), portal, verbose=verbose)
        servers.append(server.start())
        return server

    yield start
    for server in reversed(servers):
        server.stop()


@pytest.fixture(scope="module")
def seeded_emulator() -> Iterator[EmulatorServer]:
    """Serve a seeded portal to every test of one module (read-only by convention)."""
    with EmulatorServer(EmulatorConfig(tickets=SEEDED_TICKETS, seed=SEEDED_SEED)) as server:
        yield server


@pytest.fixture
def api_session() -> Iterator[requests.Session]:
    """Return a session that authenticates as the emulator's private app."""
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {DEFAULT_TOKEN}"
        yield session
