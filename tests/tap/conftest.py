"""Fixtures for tap tests: run the tap in this process against an emulator, and read truth.

- `run_tap(server, state=None, catalog=None, kill_after=None, **settings)` runs a full
  `sync_all` of the tap against `server` and returns a `TapRun` (parsed messages, records per
  stream, the last STATE). Settings default to the emulator's token and a zero search-lag
  margin. `kill_after=N` stops the run like a kill right after the N-th RECORD of `tickets`;
  the messages written until then (with the last STATE) are still returned.
- `truth`: functions reading the expected rows from `server.portal.snapshot()`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from singer_sdk.singerlib.encoding.simple import SimpleSingerWriter

from hubspot_emulator.config import DEFAULT_TOKEN
from hubspot_emulator.server import EmulatorServer
from tap_hubspot_tickets.runtime import DEFAULT_ASSOCIATIONS, DEFAULT_HISTORY_PROPERTIES
from tap_hubspot_tickets.tap import TapHubSpotTickets


class Killed(Exception):
    """Raised by the collecting writer to cut a run short, as a kill would."""


@dataclass
class TapRun:
    """The Singer messages of one tap run."""

    messages: list[dict[str, Any]]
    killed: bool = False

    def records(self, stream: str) -> list[dict[str, Any]]:
        """Return the records of one stream, in order."""
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    def count(self, stream: str) -> int:
        """Return how many records of `stream` were written."""
        return len(self.records(stream))

    @property
    def state(self) -> dict[str, Any] | None:
        """Return the value of the last STATE message, if any."""
        states = [m["value"] for m in self.messages if m["type"] == "STATE"]
        return states[-1] if states else None

    def types(self, stream: str) -> Counter[str]:
        """Count the message types of one stream."""
        return Counter(m["type"] for m in self.messages if m.get("stream") == stream)


class _CollectingWriter(SimpleSingerWriter):
    """Keep each serialized message instead of printing it; optionally 'die' mid-run."""

    def __init__(self, kill_after: int | None) -> None:
        self.lines: list[str] = []
        self.kill_after = kill_after
        self.tickets = 0

    def write_message(self, message: Any) -> None:
        line = self.format_message(message)
        self.lines.append(line)
        if self.kill_after is not None and message.type == "RECORD" and message.stream == "tickets":
            self.tickets += 1
            if self.tickets >= self.kill_after:
                raise Killed


def tap_config(server: EmulatorServer, **settings: Any) -> dict[str, Any]:
    """Return a tap config pointing at `server`."""
    return {
        "api_url": server.url,
        "access_token": DEFAULT_TOKEN,
        "search_lag_margin_seconds": 0,
        **settings,
    }


@pytest.fixture
def run_tap() -> Callable[..., TapRun]:
    """Return a function running the tap in this process and collecting its messages."""

    def run(
        server: EmulatorServer,
        *,
        state: dict[str, Any] | None = None,
        catalog: dict[str, Any] | None = None,
        kill_after: int | None = None,
        **settings: Any,
    ) -> TapRun:
        writer = _CollectingWriter(kill_after)
        tap = TapHubSpotTickets(
            config=tap_config(server, **settings),
            state=state,
            catalog=catalog,
            message_writer=writer,
        )
        killed = False
        try:
            tap.sync_all()
        except Killed:
            killed = True
        return TapRun([json.loads(line) for line in writer.lines], killed=killed)

    return run


@pytest.fixture
def select_streams() -> Callable[..., dict[str, Any]]:
    """Return a function building a catalog with only the named streams selected."""

    def build(server: EmulatorServer, *names: str, **settings: Any) -> dict[str, Any]:
        tap = TapHubSpotTickets(config=tap_config(server, **settings))
        catalog: dict[str, Any] = tap.catalog_dict
        for entry in catalog["streams"]:
            for item in entry["metadata"]:
                if item["breadcrumb"] == []:
                    item["metadata"]["selected"] = entry["tap_stream_id"] in names
        return catalog

    return build


class Truth:
    """Expected rows, read from the emulator's ground truth."""

    def __init__(self, server: EmulatorServer) -> None:
        self.tickets = server.portal.snapshot()

    def ids(self, *, archived: bool | None = None) -> set[str]:
        """Return ticket ids, all or only the (non-)archived ones."""
        return {
            t["id"] for t in self.tickets if archived is None or bool(t.get("archived")) is archived
        }

    def history_keys(
        self, properties: tuple[str, ...] = DEFAULT_HISTORY_PROPERTIES
    ) -> Counter[tuple[str, str, str]]:
        """Count (ticket, property, timestamp) of every recorded value of `properties`."""
        return Counter(
            (t["id"], name, entry["timestamp"])
            for t in self.tickets
            for name in properties
            for entry in (t.get("propertiesWithHistory") or {}).get(name, ())
        )

    def association_keys(
        self, kinds: tuple[str, ...] = DEFAULT_ASSOCIATIONS
    ) -> Counter[tuple[str, str, str]]:
        """Count (ticket, object type, object id) pairs, once per association type."""
        return Counter(
            (t["id"], kind, str(link["id"]))
            for t in self.tickets
            if not t.get("archived")
            for kind in kinds
            for link in (t.get("associations") or {}).get(kind, {}).get("results", ())
        )


@pytest.fixture
def truth() -> Callable[[EmulatorServer], Truth]:
    """Return a function reading an emulator's ground truth."""
    return Truth
