"""Our tap's own scenarios, each beside the floor (`benchmarks/floor.py`) and the peers that can.

- full sync, tickets only, and every stream (tickets, history, associations, pipelines, stages,
  properties), at the scenario's latency: wall time as a multiple of the floor;
- an incremental sync after N changes (made through the emulator's batch update, as another
  integration would): only the changed tickets may come out, each once;
- first syncs with and without `start_date`, ours and meltano-tap-hubspot side by side;
- CPU seconds per 1,000 tickets with no latency and no budgets, and peak memory at two sizes;
- start-up: process start to the first request, and `--discover`'s wall time.

Every count is checked against the emulator's truth: distinct ticket ids equal the portal's.
"""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.connectors import OUR_BIN, STREAM, MeltanoLabs, base_env
from benchmarks.emulator import EmulatorProcess, Scenario
from benchmarks.floor import Budgets, Workload, floor
from benchmarks.measure import RecordTally, RunResult, run_measured
from benchmarks.venvs import Unavailable
from hubspot_api.config import LEGACY_API_VERSION
from hubspot_api.paths import Call, path_for

EVERY_STREAM = (
    "tickets",
    "ticket_property_history",
    "ticket_associations",
    "ticket_pipelines",
    "ticket_pipeline_stages",
    "ticket_properties",
)
DEFAULT_ASSOCIATION_TYPES = 3  # contacts, companies, deals: the tap's default `associations`
# Pipelines (with their stages) and property definitions: one ordinary call each.
FIXED_CALLS = 2
UPDATE_BATCH = 100
PEER_CPU_MAX = 100_000
START_DATE_DAYS = 90  # `start_date` this many days before now: about a fifth of the portal
# The tap's highest budgets, so only CPU bounds the run.
UNTHROTTLED = {"requests_per_10_seconds": 10_000, "search_requests_per_second": 100}
# The incremental check wants exactly the changed tickets: no re-read margin for late indexing.
NO_LAG_MARGIN = {"search_lag_margin_seconds": 0}
_PREP = Scenario(tickets=10, latency_ms=0, jitter_ms=0, rate_limit_10s=0, search_rate_limit=0)


@dataclass
class SingerTally(RecordTally):
    """A record tally that also keeps the last STATE, counts per stream and archived ids."""

    state: dict[str, Any] | None = None
    per_stream: Counter[str] = field(default_factory=Counter)
    archived: set[str] = field(default_factory=set)

    def feed(self, line: str) -> None:
        """Take one stdout line."""
        super().feed(line)
        if not line.startswith("{"):
            return
        try:
            message = json.loads(line)
        except ValueError:
            return
        if message.get("type") == "STATE":
            self.state = message.get("value")
        elif message.get("type") == "RECORD":
            self.per_stream[message.get("stream", "")] += 1
            record = message.get("record") or {}
            if message.get("stream") == self.stream and record.get("archived"):
                self.archived.add(str(record.get("id")))


@dataclass
class Row:
    """One measured scenario run."""

    scenario: str
    connector: str
    wall_s: float | None = None
    cpu_s: float | None = None
    max_rss_mib: float | None = None
    requests: int = 0
    tickets: int = 0  # distinct ticket ids emitted
    expected: int = 0  # the emulator's truth
    repeats: int = 0
    floor_s: float | None = None
    records: dict[str, int] = field(default_factory=dict)
    status: str = "ok"
    throttled: int = 0

    @property
    def exact(self) -> bool:
        """Every expected ticket once, no other."""
        return self.status == "ok" and self.tickets == self.expected and not self.repeats


class Catalogs:
    """Our tap's catalogs, discovered once against a small emulator."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        with EmulatorProcess(_PREP.arguments()) as prep:
            config = self.write_config(prep.url, prep.token, name="prep.json")
            out = subprocess.run(
                [str(OUR_BIN / "tap-hubspot-tickets"), "--config", str(config), "--discover"],
                capture_output=True,
                text=True,
                check=True,
                env=base_env(prep.url, redirect=False),
                timeout=300,
            ).stdout
        discovered = json.loads(out)
        self.tickets = self._save("tickets-only.json", discovered, {STREAM})
        self.every = self._save("every-stream.json", discovered, set(EVERY_STREAM))

    def write_config(self, url: str, token: str, name: str = "config.json", **extra: Any) -> Path:
        """A config for our tap on this emulator."""
        path = self.workdir / name
        path.write_text(json.dumps({"api_url": url, "access_token": token, **extra}))
        return path

    def _save(self, name: str, discovered: dict[str, Any], chosen: set[str]) -> Path:
        catalog = json.loads(json.dumps(discovered))
        for entry in catalog["streams"]:
            for item in entry["metadata"]:
                if item["breadcrumb"] == []:
                    item["metadata"]["selected"] = entry["tap_stream_id"] in chosen
        path = self.workdir / name
        path.write_text(json.dumps(catalog))
        return path


def run_ours(
    emulator: EmulatorProcess,
    catalogs: Catalogs,
    catalog: Path,
    *,
    state: dict[str, Any] | None = None,
    timeout_s: float,
    settings: Mapping[str, Any] | None = None,
) -> tuple[RunResult, SingerTally, dict[str, Any]]:
    """Run our tap once on `emulator`; return its costs, its output's tally, the emulator stats."""
    config = catalogs.write_config(emulator.url, emulator.token, **(settings or {}))
    command = [str(OUR_BIN / "tap-hubspot-tickets"), "--config", str(config)]
    command += ["--catalog", str(catalog)]
    if state is not None:
        state_path = catalogs.workdir / "state.json"
        state_path.write_text(json.dumps(state))
        command += ["--state", str(state_path)]
    emulator.reset_stats()
    tally = SingerTally(STREAM)
    run = run_measured(
        command,
        env=base_env(emulator.url, redirect=False),
        cwd=catalogs.workdir,
        tally=tally,
        timeout_s=timeout_s,
    )
    return run, tally, emulator.stats()


def _row(
    scenario: str,
    connector: str,
    run: RunResult,
    *,
    tally: RecordTally,
    stats: dict[str, Any],
    expected: int,
) -> Row:
    row = Row(scenario, connector, run.wall_s, run.cpu_s, run.max_rss_mib)
    row.requests = int(stats.get("requests", 0))
    row.throttled = int(stats.get("rate_limited", 0))
    row.tickets, row.expected = tally.distinct, expected
    row.repeats = tally.records - tally.distinct
    if isinstance(tally, SingerTally):
        row.records = dict(tally.per_stream)
    if run.timed_out:
        row.status = "killed (timeout)"
    elif run.returncode != 0:
        row.status = f"exit {run.returncode}"
    return row


def _latency_s(scenario: Scenario) -> float:
    return scenario.latency_ms / 1000


def _budgets(scenario: Scenario) -> Budgets:
    return Budgets(scenario.rate_limit_10s, scenario.search_rate_limit)


# -- full and incremental ----------------------------------------------------------------------
def full_and_incremental(
    catalogs: Catalogs, scenario: Scenario, changes: int, timeout_s: float
) -> list[Row]:
    """Tickets only, every stream, then an incremental run after `changes` changes."""
    rows: list[Row] = []
    latency, budgets = _latency_s(scenario), _budgets(scenario)
    with EmulatorProcess(scenario.arguments()) as emulator:
        print("running ours: full sync, tickets only", flush=True)
        run, tally, stats = run_ours(emulator, catalogs, catalogs.tickets, timeout_s=timeout_s)
        row = _row(
            "full sync, tickets only",
            "ours",
            run,
            tally=tally,
            stats=stats,
            expected=scenario.tickets,
        )
        row.floor_s = floor(Workload(scenario.tickets, latency), budgets).seconds
        rows.append(row)

        print("running ours: full sync, every stream", flush=True)
        run, tally, stats = run_ours(
            emulator, catalogs, catalogs.every, timeout_s=timeout_s, settings=NO_LAG_MARGIN
        )
        row = _row(
            "full sync, every stream",
            "ours",
            run,
            tally=tally,
            stats=stats,
            expected=scenario.tickets,
        )
        every = Workload(
            scenario.tickets,
            latency,
            history=True,
            association_types=DEFAULT_ASSOCIATION_TYPES,
            fixed_calls=FIXED_CALLS,
        )
        row.floor_s = floor(every, budgets).seconds
        rows.append(row)

        live = sorted(set(tally.ids) - tally.archived, key=int)
        changed = live[:changes]
        print(f"changing {len(changed):,} tickets", flush=True)
        change_tickets(emulator, changed)
        print("running ours: incremental, every stream", flush=True)
        run, after, stats = run_ours(
            emulator,
            catalogs,
            catalogs.every,
            state=tally.state,
            timeout_s=timeout_s,
            settings=NO_LAG_MARGIN,
        )
        title = f"incremental after {len(changed):,} changes, every stream"
        row = _row(title, "ours", run, tally=after, stats=stats, expected=len(changed))
        if set(after.ids) - set(changed):
            row.status = f"{len(set(after.ids) - set(changed))} unchanged tickets emitted"
        incremental = Workload(
            len(changed),
            latency,
            history=True,
            association_types=DEFAULT_ASSOCIATION_TYPES,
            fixed_calls=FIXED_CALLS,
            incremental=True,
            portal_tickets=scenario.tickets,
        )
        row.floor_s = floor(incremental, budgets).seconds
        rows.append(row)
    return rows


def change_tickets(emulator: EmulatorProcess, ids: list[str]) -> None:
    """Change each ticket's subject through the emulator's batch update (100 per call)."""
    path = path_for(Call.BATCH_UPDATE, LEGACY_API_VERSION)
    for start in range(0, len(ids), UPDATE_BATCH):
        chunk = ids[start : start + UPDATE_BATCH]
        body = {"inputs": [{"id": i, "properties": {"subject": f"changed {i}"}} for i in chunk]}
        _post_retrying(emulator, path, body)


def _post_retrying(emulator: EmulatorProcess, path: str, body: Any) -> Any:
    data = json.dumps(body).encode()
    for _ in range(30):
        request = urllib.request.Request(emulator.url + path, data=data, method="POST")
        request.add_header("Content-Type", "application/json")
        request.add_header("Authorization", f"Bearer {emulator.token}")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            if exc.code != 429:
                raise
            time.sleep(1)
    raise RuntimeError(f"POST {path}: still refused after 30 tries")


# -- start_date ----------------------------------------------------------------------------------
class Peer:
    """meltano-tap-hubspot, installed and prepared once, run on any emulator."""

    def __init__(self, catalogs: Catalogs) -> None:
        self.connector = MeltanoLabs()
        self.workdir = catalogs.workdir / "meltano"
        self.workdir.mkdir(exist_ok=True)
        self.bin: Path | None = None
        try:
            bin_dir = self.connector.install()
            with EmulatorProcess(_PREP.arguments()) as prep:
                self.connector.prepare(bin_dir, self.workdir, prep.url, prep.token)
            self.bin = bin_dir
        except Unavailable as exc:
            print(f"meltano-tap-hubspot not available: {exc}")

    def run(
        self, emulator: EmulatorProcess, title: str, timeout_s: float, start_date: str | None
    ) -> Row | None:
        """One measured sync of tickets on `emulator`; its truth: the portal's live tickets."""
        if self.bin is None:
            return None
        config = json.loads((self.workdir / "config.json").read_text())
        config["start_date"] = start_date or "2000-01-01T00:00:00Z"
        (self.workdir / "config.json").write_text(json.dumps(config))
        print(f"running meltano-tap-hubspot: {title}", flush=True)
        emulator.reset_stats()
        tally = RecordTally(STREAM)
        run = run_measured(
            self.connector.command(self.bin, self.workdir),
            env=self.connector.env(emulator.url),
            cwd=self.workdir,
            tally=tally,
            timeout_s=timeout_s,
        )
        stats = emulator.stats()
        # Counted after the run: a count spends a search, which the run's budget must not share.
        active = emulator.active_tickets()
        label = self.connector.label
        return _row(title, label, run, tally=tally, stats=stats, expected=active)


def start_date_side_by_side(
    catalogs: Catalogs, peer: Peer, scenario: Scenario, timeout_s: float
) -> list[Row]:
    """First syncs with and without `start_date`: ours and meltano-tap-hubspot."""
    start = datetime.now(UTC) - timedelta(days=START_DATE_DAYS)
    start_iso = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    rows: list[Row] = []
    latency, budgets = _latency_s(scenario), _budgets(scenario)
    for label, bound in (("without start_date", None), (f"start_date {start_iso}", start_iso)):
        title = f"first sync, {label}"
        with EmulatorProcess(scenario.arguments()) as emulator:
            extra = {} if bound is None else {"start_date": bound}
            print(f"running ours: {title}", flush=True)
            run, tally, stats = run_ours(
                emulator, catalogs, catalogs.tickets, timeout_s=timeout_s, settings=extra
            )
            # Counted after the run, off its budgets; the tap only reads.
            matching = scenario.tickets if bound is None else matching_tickets(emulator, start)
            row = _row(title, "ours", run, tally=tally, stats=stats, expected=matching)
            row.floor_s = floor(Workload(matching, latency), budgets).seconds
            rows.append(row)
        with EmulatorProcess(scenario.arguments()) as emulator:
            peer_row = peer.run(emulator, title, timeout_s, bound)
            if peer_row is not None:
                rows.append(peer_row)
    return rows


def matching_tickets(emulator: EmulatorProcess, start: datetime) -> int:
    """Tickets changed or archived at or after `start`, by the emulator's search and archive."""
    since = str(int(start.timestamp() * 1000))
    search = path_for(Call.SEARCH, LEGACY_API_VERSION)
    body = {
        "limit": 1,
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": since}
                ]
            }
        ],
    }
    live = int(_post_retrying(emulator, search, body)["total"])
    archived = 0
    path = path_for(Call.LIST_TICKETS, LEGACY_API_VERSION)
    after: str | None = None
    while True:
        query = "?archived=true&limit=100" + (f"&after={after}" if after else "")
        request = urllib.request.Request(emulator.url + path + query)
        request.add_header("Authorization", f"Bearer {emulator.token}")
        with urllib.request.urlopen(request, timeout=60) as response:
            page = json.load(response)
        for ticket in page["results"]:
            stamp = ticket.get("archivedAt") or ""
            when = datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None
            archived += bool(when and when >= start)
        after = ((page.get("paging") or {}).get("next") or {}).get("after")
        if not after:
            return live + archived


# -- CPU and memory ------------------------------------------------------------------------------
def cpu_and_memory(catalogs: Catalogs, peer: Peer, sizes: list[int], timeout_s: float) -> list[Row]:
    """A full sync of tickets at each size, no latency, no budgets: CPU and peak memory.

    meltano-tap-hubspot runs beside ours at every size but the largest (at 200,000 its one
    request at a time would take most of the run's time for no new fact).
    """
    rows: list[Row] = []
    for tickets in sizes:
        scenario = Scenario(
            tickets=tickets, latency_ms=0, jitter_ms=0, rate_limit_10s=0, search_rate_limit=0
        )
        print(f"seeding {tickets:,} tickets (no latency, no budgets)", flush=True)
        with EmulatorProcess(scenario.arguments()) as emulator:
            print(f"running ours: {tickets:,} tickets, CPU and memory", flush=True)
            run, tally, stats = run_ours(
                emulator, catalogs, catalogs.tickets, timeout_s=timeout_s, settings=UNTHROTTLED
            )
            rows.append(
                _row(
                    f"{tickets:,} tickets, no latency",
                    "ours",
                    run,
                    tally=tally,
                    stats=stats,
                    expected=tickets,
                )
            )
            if tickets <= PEER_CPU_MAX:
                peer_row = peer.run(emulator, f"{tickets:,} tickets, no latency", timeout_s, None)
                if peer_row is not None:
                    rows.append(peer_row)
    return rows


# -- start-up ------------------------------------------------------------------------------------
class _FirstRequest:
    """A listener standing in for HubSpot that notes when the first request's bytes arrive."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.arrived: float | None = None
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        try:
            connection, _ = self._socket.accept()
        except OSError:
            return
        with connection:
            if connection.recv(1):
                self.arrived = time.perf_counter()

    def close(self) -> None:
        """Stop listening."""
        self._socket.close()


def time_to_first_request(catalogs: Catalogs, tries: int = 3) -> float:
    """Median seconds from starting the tap (a sync on a catalog) to its first request."""
    samples: list[float] = []
    for _ in range(tries):
        listener = _FirstRequest()
        config = catalogs.write_config(listener.url, "token", name="first.json")
        command = [str(OUR_BIN / "tap-hubspot-tickets"), "--config", str(config)]
        command += ["--catalog", str(catalogs.tickets)]
        started = time.perf_counter()
        with subprocess.Popen(
            command,
            env=base_env(listener.url, redirect=False),
            cwd=catalogs.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ) as proc:
            deadline = started + 30
            while listener.arrived is None and time.perf_counter() < deadline:
                time.sleep(0.005)
            proc.kill()
        listener.close()
        if listener.arrived is not None:
            samples.append(listener.arrived - started)
    return statistics.median(samples) if samples else float("nan")


def discover_wall(catalogs: Catalogs, scenario: Scenario, tries: int = 3) -> float:
    """Median wall seconds of `--discover` against the scenario's emulator (its latency)."""
    samples: list[float] = []
    with EmulatorProcess(
        Scenario(10, latency_ms=scenario.latency_ms, jitter_ms=scenario.jitter_ms).arguments()
    ) as emulator:
        config = catalogs.write_config(emulator.url, emulator.token, name="discover.json")
        for _ in range(tries):
            started = time.perf_counter()
            subprocess.run(
                [str(OUR_BIN / "tap-hubspot-tickets"), "--config", str(config), "--discover"],
                env=base_env(emulator.url, redirect=False),
                cwd=catalogs.workdir,
                capture_output=True,
                check=True,
                timeout=120,
            )
            samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def workdir() -> tempfile.TemporaryDirectory[str]:
    """A scratch folder for configs, catalogs and state."""
    return tempfile.TemporaryDirectory(prefix="bench-scenarios-")


__all__ = [
    "Catalogs",
    "Row",
    "cpu_and_memory",
    "discover_wall",
    "full_and_incremental",
    "start_date_side_by_side",
    "time_to_first_request",
    "workdir",
]
