"""Fixtures for target tests: configs pointing at an emulator, Singer input, in-process runs.

- `target_config(server, **overrides)`: a valid target config for `server` with a rejects
  file and a summary file under the test's tmp_path.
- `singer`: builds Singer lines; `singer.schema()` is the tap-shaped `tickets` schema (one
  typed column per emulator property, plus id, created_at, updated_at, archived, archived_at,
  associations, _sdc_deleted_at), `singer.record(rec)`, `singer.state(value)`.
- `run_target(config, lines)`: runs `TargetHubSpotTickets` in this process on those lines and
  returns a `TargetRun` (summary, rejects, state lines, log text). A run that fails re-raises
  its exception, unless the test passes `expect_error=True` to read it as `run.error`.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hubspot_api.properties import PropertyDefinition, json_schema_for
from hubspot_emulator.config import DEFAULT_TOKEN
from hubspot_emulator.server import EmulatorServer
from target_hubspot_tickets.target import TargetHubSpotTickets

STREAM = "tickets"
# The summary file's fields that say how the run ended, beside its counts.
ENDED_KEYS = ("status", "error", "dry_run")


@dataclass
class TargetRun:
    """What one target run left behind."""

    summary: dict[str, int]
    rejects: list[dict[str, Any]]
    states: list[dict[str, Any]]
    log: str
    error: BaseException | None = None
    target: TargetHubSpotTickets | None = field(default=None, repr=False)
    # How the summary file says the run ended: its `status`, `error` and `dry_run`.
    ended: dict[str, Any] = field(default_factory=dict)

    def reject_reasons(self) -> list[str]:
        return [r["reason"] for r in self.rejects]


class Singer:
    """Build Singer messages for the `tickets` stream."""

    def __init__(self) -> None:
        self._properties: dict[str, Any] = {}

    def use_properties(self, results: list[dict[str, Any]]) -> None:
        """Type the schema from the portal's property definitions, as the tap does."""
        self._properties = {}
        for item in results:
            defn = PropertyDefinition.from_api(item)
            schema = json_schema_for(defn)
            if defn.is_multi_select:
                # Upstream may send either HubSpot's ";"-joined string or a list of options.
                schema = {"type": ["string", "array", "null"], "items": {"type": "string"}}
            self._properties[defn.name] = schema

    def schema(self, key_properties: list[str] | None = None) -> str:
        props: dict[str, Any] = dict(self._properties)
        props.update(
            {
                "id": {"type": ["string", "null"]},
                "created_at": {"type": ["string", "null"], "format": "date-time"},
                "updated_at": {"type": ["string", "null"], "format": "date-time"},
                "archived": {"type": ["boolean", "null"]},
                "archived_at": {"type": ["string", "null"], "format": "date-time"},
                "associations": {
                    "type": ["array", "null"],
                    "items": {"type": "object"},
                },
                "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"},
            }
        )
        message = {
            "type": "SCHEMA",
            "stream": STREAM,
            "schema": {"type": "object", "properties": props},
            "key_properties": key_properties or [],
        }
        return json.dumps(message)

    @staticmethod
    def record(record: dict[str, Any], stream: str = STREAM) -> str:
        return json.dumps({"type": "RECORD", "stream": stream, "record": record})

    @staticmethod
    def state(value: dict[str, Any]) -> str:
        return json.dumps({"type": "STATE", "value": value})

    def lines(self, records: Iterable[dict[str, Any]]) -> list[str]:
        """Return the schema followed by one RECORD line per record."""
        return [self.schema(), *(self.record(r) for r in records)]


@pytest.fixture
def singer(api_session: Any) -> Callable[[EmulatorServer], Singer]:
    """Return a factory: a `Singer` builder typed from `server`'s property definitions."""

    def build(server: EmulatorServer) -> Singer:
        answer = api_session.get(
            f"{server.url}/crm/v3/properties/tickets",
            headers={"Authorization": f"Bearer {server.config.token}"},
            timeout=10,
        )
        answer.raise_for_status()
        builder = Singer()
        builder.use_properties(answer.json()["results"])
        return builder

    return build


@pytest.fixture
def target_config(tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """Return a factory of target configs for an emulator."""

    def build(server: EmulatorServer, **overrides: Any) -> dict[str, Any]:
        config: dict[str, Any] = {
            "api_url": server.url,
            "access_token": server.config.token or DEFAULT_TOKEN,
            "rejects_path": str(tmp_path / "rejects.jsonl"),
            "summary_path": str(tmp_path / "summary.json"),
            "requests_per_10_seconds": 10_000,
            "search_requests_per_second": 100,
            "max_concurrency": 4,
            "max_rejects": 1_000_000,
            "unknown_outcome_wait_s": 3,
            # Most tests create tickets without a source id and check what happens then (search
            # reconciliation, validation, checkpoints); the refusal that is the default is tested
            # with `allow_unkeyed_creates=False`.
            "allow_unkeyed_creates": True,
        }
        config.update(overrides)
        return config

    return build


@pytest.fixture
def run_target(
    caplog: pytest.LogCaptureFixture,
) -> Callable[..., TargetRun]:
    """Return a function running the target in-process on Singer lines."""

    def run(config: dict[str, Any], lines: list[str], *, expect_error: bool = False) -> TargetRun:
        caplog.clear()
        out = io.StringIO()
        error: BaseException | None = None
        target: TargetHubSpotTickets | None = None
        with caplog.at_level(logging.INFO), contextlib.redirect_stdout(out):
            try:
                target = TargetHubSpotTickets(config=config)
                target.listen(file_input=io.StringIO("".join(line + "\n" for line in lines)))
            except Exception as exc:
                error = exc
        summary_path = Path(config.get("summary_path") or "")
        summary = (
            json.loads(summary_path.read_text())
            if config.get("summary_path") and summary_path.exists()
            else {}
        )
        rejects_path = Path(config.get("rejects_path") or "")
        rejects = (
            [json.loads(line) for line in rejects_path.read_text().splitlines() if line]
            if config.get("rejects_path") and rejects_path.exists()
            else []
        )
        states = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
        if error is not None and not expect_error:
            # A test that does not look for an error must not pass over one.
            raise error
        ended = {key: summary.pop(key) for key in ENDED_KEYS if key in summary}
        return TargetRun(summary, rejects, states, caplog.text, error, target, ended)

    return run
