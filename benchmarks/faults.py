"""What each fault does to a sync and a write: `python -m benchmarks.faults [--quick]`.

For the tap (a full sync, then an incremental one after changes, one in six an archive) and the
target (creates and updates), each fault alone and then all together, on a fresh emulator per
row: requests the emulator served, faults it injected (or 429s its budgets answered), and
records expected, delivered, lost and duplicated, checked against the emulator's own data. The
faults are the emulator's options (`hubspot_emulator/config.py`):

- 429 TEN_SECONDLY_ROLLING: another integration of the same app (a thread here, sending 2
  calls a second with the private-app token) spends most of a small budget
  (`--rate-limit-10s=30`); alone, a connector reads `X-HubSpot-RateLimit-Max` and slows to the
  portal's limit, so it meets no 429 of this policy;
- 429 SECONDLY: the search budget is lower than `search_requests_per_second`;
- 429 DAILY: a daily limit smaller than the run needs (`daily_request_reserve: 0`); HubSpot
  means it, so the run must end with one clear line and its checkpoint, not retry;
- 429/502/503/504 (and 423 on writes) at random: `--fault-rate` (one rate for all of them;
  the emulator cannot inject one status alone);
- dropped connections: `--drop-rate`;
- read timeouts: the emulator has no option for them, so answers slower than the connector's
  `request_timeout` stand in (latency with jitter straddling it); a write still applies after
  the client gave up, as on HubSpot;
- OAuth token expiry: short-lived access tokens (`--token-lifetime-s`), OAuth credentials;
- search lag: `--search-lag-ms` (writes invisible to search for a while);
- apply-then-drop: `--apply-then-drop-rate` (writes applied, then the connection closed).

The driver's own calls (changes, counts, the truth) use an OAuth app of the emulator: another
app has its own budgets and no daily limit, as on HubSpot, and they are retried until answered.
"""

from __future__ import annotations

import argparse
import base64
import json
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.connectors import OUR_BIN, STREAM, base_env
from benchmarks.emulator import EmulatorProcess
from benchmarks.fault_driver import OAUTH, Driver
from benchmarks.fault_stops import tap_stop_rows, target_stop_rows
from benchmarks.measure import RunResult, run_measured
from benchmarks.report import table
from benchmarks.scenarios import Catalogs, SingerTally
from benchmarks.venvs import ROOT
from hubspot_api.config import LEGACY_API_VERSION
from hubspot_api.paths import Call, path_for

LATENCY = ["--latency-ms=20", "--jitter-ms=10"]
OUTPUT = ROOT / "output" / "bench"
NEIGHBOUR_HEAD_START_S = 5.0
OUTCOME_CHARS = 110  # of the last stderr line, in the table (the JSON keeps 400)
ARCHIVED_SHARE = 6
NEXT_RUN_WAIT_S = 3.5  # longer than the longest search lag below


@dataclass(frozen=True)
class Fault:
    """One row: the emulator's flags and the connectors' settings that meet them."""

    name: str
    flags: tuple[str, ...] = ()
    settings: tuple[tuple[str, Any], ...] = ()
    oauth: bool = False
    fatal: bool = False  # the run is expected to stop cleanly, not to finish
    neighbour_per_s: float = 0.0  # another integration of the same app, calls per second
    hidden: int = 0  # tickets search counts but never returns, spread over the portal's ids
    tap_only: bool = False  # the fault is in calls only the tap makes: no target row
    # The driver's own calls use the private-app token: the row breaks the OAuth token endpoint.
    driver_private_app: bool = False

    def arguments(self, tickets: int, seed: int) -> list[str]:
        """The emulator's command-line flags for this row."""
        latency = [] if any(f.startswith("--latency") for f in self.flags) else LATENCY
        base = [f"--tickets={tickets}", f"--seed={seed}"]
        return [*base, *latency, *self.flags, *_hidden_flags(base, self.hidden)]


def _hidden_flags(base: list[str], count: int) -> list[str]:
    """Hide `count` tickets of the seeded portal from search, evenly spread over its ids."""
    if not count:
        return []
    with EmulatorProcess(base) as probe:
        ids = sorted((t["id"] for t in Driver(probe).tickets()), key=int)
    step = max(1, len(ids) // count)
    return [f"--hide-from-search={ticket}" for ticket in ids[step // 2 :: step][:count]]


# Search only: the driver reads the truth from the tickets list, and must get true answers.
HOSTILE_SEARCH = ("--hostile-answer-on=POST */search",)
TIMEOUT_SETTINGS = (("request_timeout", 0.15),)
FAULTS = (
    Fault("none"),
    Fault(
        "429 TEN_SECONDLY_ROLLING (a neighbour spends the budget)",
        ("--rate-limit-10s=30",),
        neighbour_per_s=2.0,
    ),
    Fault("429 SECONDLY", ("--search-rate-limit=1",)),
    Fault(
        "429 DAILY (fatal)",
        ("--daily-limit=3",),
        (("daily_request_reserve", 0),),
        fatal=True,
    ),
    Fault("429/502/503/504/423 at random, 15%", ("--fault-rate=0.15",)),
    Fault("dropped connections, 15%", ("--drop-rate=0.15",)),
    Fault(
        "read timeouts (answers 0-300 ms, timeout 150 ms)",
        ("--latency-ms=150", "--jitter-ms=150"),
        TIMEOUT_SETTINGS,
    ),
    Fault("OAuth token expiry (tokens live 3 s)", ("--token-lifetime-s=3",), oauth=True),
    Fault("search lag 3 s", ("--search-lag-ms=3000",)),
    Fault("search counts 10 tickets it never returns", hidden=10, tap_only=True),
    Fault("clock skew: this machine 10 min ahead of HubSpot", ("--clock-offset-s=-600",)),
    Fault("clock skew: this machine 10 min behind HubSpot", ("--clock-offset-s=600",)),
    Fault("apply-then-drop, 30% of writes", ("--apply-then-drop-rate=0.3",)),
    Fault(
        "200s not as documented: results without ids (search, batch update)",
        (
            "--hostile-answer=no-ids",
            "--hostile-answer-on=POST */search",
            "--hostile-answer-on=POST */batch/update",
        ),
        fatal=True,
    ),
    Fault(
        "answers trickled past request_timeout (the first 3 searches)",
        (
            "--hostile-answer=trickle",
            "--hostile-trickle-s=0.2",
            "--hostile-answer-times=3",
            *HOSTILE_SEARCH,
        ),
        (("request_timeout", 1),),
        tap_only=True,
    ),
    Fault(
        "a gzip bomb (4 MB decoded, max_answer_mb 1)",
        ("--hostile-answer=gzip-bomb", "--hostile-answer-mb=4", *HOSTILE_SEARCH),
        (("max_answer_mb", 1),),
        fatal=True,
        tap_only=True,
    ),
    Fault(
        "credentials echoed back in base64 (OAuth)",
        ("--hostile-answer=echo-secret-base64", "--hostile-answer-on=POST /oauth/*"),
        oauth=True,
        fatal=True,
        driver_private_app=True,
    ),
    Fault(
        "all together (but DAILY)",
        (
            "--rate-limit-10s=30",
            "--search-rate-limit=2",
            "--fault-rate=0.1",
            "--drop-rate=0.05",
            "--apply-then-drop-rate=0.05",
            "--search-lag-ms=2000",
            "--token-lifetime-s=5",
            "--latency-ms=60",
            "--jitter-ms=60",
        ),
        (("request_timeout", 0.1),),
        oauth=True,
    ),
)
MISSING = (
    "non-JSON error pages (an HTML 502 from a proxy): the emulator answers every error in JSON",
    "read timeouts as such: stood in for by latency beyond the client's request_timeout",
)


class Neighbour:
    """Another integration of the same private app, spending its budget while a run goes on."""

    def __init__(self, emulator: EmulatorProcess, per_s: float) -> None:
        self._url = emulator.url + path_for(Call.LIST_TICKETS, LEGACY_API_VERSION) + "?limit=1"
        self._token = emulator.token
        self._interval = 1 / per_s if per_s else 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spend, daemon=True)
        self.sent = 0  # answered or refused: each one the emulator counted
        self.refused = 0  # of which 429s

    def __enter__(self) -> Neighbour:
        if self._interval:
            self._thread.start()
            time.sleep(NEIGHBOUR_HEAD_START_S)  # its calls fill the window before the run's
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _spend(self) -> None:
        while not self._stop.wait(self._interval):
            request = urllib.request.Request(self._url)
            request.add_header("Authorization", f"Bearer {self._token}")
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    response.read()
                self.sent += 1
            except urllib.error.HTTPError as exc:
                self.sent += 1
                self.refused += exc.code == 429
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass


@dataclass
class FaultRow:
    """One connector run under one fault."""

    fault: str
    run: str
    served: int = 0
    injected: dict[str, int] = field(default_factory=dict)
    expected: int = 0
    delivered: int = 0
    lost: int = 0
    duplicated: int = 0
    outcome: str = ""


def _injected(stats: dict[str, Any]) -> dict[str, int]:
    counts = {
        "429 budget": int(stats.get("rate_limited", 0)),
        "injected": int(stats.get("injected_faults", 0)),
        "dropped": int(stats.get("dropped", 0)),
        "applied+dropped": int(stats.get("applied_then_dropped", 0)),
    }
    return {k: v for k, v in counts.items() if v}


def _outcome(run: RunResult, fatal: bool) -> str:
    if run.timed_out:
        return "killed: timeout"
    if run.returncode == 0:
        return "finished" if not fatal else "finished (expected a stop)"
    lines = [line for line in run.stderr_tail.splitlines() if line.strip()]
    clean = "Traceback" not in run.stderr_tail
    last = lines[-1][:400] if lines else ""
    if _leaked(run.stderr_tail):
        return f"exit {run.returncode}, SECRET SHOWN: {last}"
    return f"exit {run.returncode}, {'clean' if clean else 'TRACEBACK'}: {last}"


def _leaked(text: str) -> bool:
    """Whether a credential, raw or base64-encoded (alone or as Basic auth), is in `text`."""
    secrets = [OAUTH["client_secret"], OAUTH["refresh_token"], EmulatorProcess.token]
    basic = f"{OAUTH['client_id']}:{OAUTH['client_secret']}".encode()
    forms = {base64.b64encode(basic).decode()}
    for secret in secrets:
        forms |= {secret, base64.b64encode(secret.encode()).decode().rstrip("=")}
    return any(form in text for form in forms)


def _config(
    catalogs: Catalogs, emulator: EmulatorProcess, fault: Fault, name: str, **extra: Any
) -> Path:
    credentials: dict[str, Any] = dict(OAUTH) if fault.oauth else {"access_token": emulator.token}
    path = catalogs.workdir / name
    config = {"api_url": emulator.url, **credentials, **dict(fault.settings), **extra}
    path.write_text(json.dumps(config))
    return path


def _tap(
    catalogs: Catalogs,
    emulator: EmulatorProcess,
    fault: Fault,
    state: dict[str, Any] | None,
) -> tuple[RunResult, SingerTally, dict[str, Any]]:
    config = _config(catalogs, emulator, fault, "fault-tap.json")
    command = [str(OUR_BIN / "tap-hubspot-tickets"), "--config", str(config)]
    command += ["--catalog", str(catalogs.tickets)]
    if state is not None:
        (catalogs.workdir / "fault-state.json").write_text(json.dumps(state))
        command += ["--state", str(catalogs.workdir / "fault-state.json")]
    emulator.reset_stats()
    tally = SingerTally(STREAM)
    with Neighbour(emulator, fault.neighbour_per_s) as neighbour:
        run = run_measured(
            command,
            env=base_env(emulator.url, redirect=False),
            cwd=catalogs.workdir,
            tally=tally,
            timeout_s=600,
        )
    return run, tally, _own(emulator.stats(), neighbour)


def _own(stats: dict[str, Any], neighbour: Neighbour) -> dict[str, Any]:
    """The emulator's counts less the neighbour's calls (its 429s stay out of the count too)."""
    mine = dict(stats)
    mine["requests"] = int(stats.get("requests", 0)) - neighbour.sent
    mine["rate_limited"] = int(stats.get("rate_limited", 0)) - neighbour.refused
    mine["neighbour"] = neighbour.sent
    return mine


def tap_rows(catalogs: Catalogs, fault: Fault, tickets: int, changes: int) -> list[FaultRow]:
    """A full sync, then an incremental one after `changes` changes, under `fault`."""
    rows = []
    with EmulatorProcess(fault.arguments(tickets, seed=7)) as emulator:
        driver = Driver(emulator, private_app=fault.driver_private_app)
        truth = {t["id"] for t in driver.tickets()}
        run, tally, stats = _tap(catalogs, emulator, fault, None)
        rows.append(_read_row(fault, "tap, full", run, tally=tally, stats=stats, expected=truth))
        if fault.fatal or run.returncode != 0:
            return rows
        live = sorted((i for i in truth if i not in tally.archived), key=int)
        changed = set(live[:changes])
        # One change in ARCHIVED_SHARE is an archive: the incremental run reads both kinds.
        archived = sorted(changed, key=int)[: changes // ARCHIVED_SHARE]
        driver.change(sorted(changed - set(archived)))
        driver.archive(archived)
        run, after, stats = _tap(catalogs, emulator, fault, tally.state)
        row = _read_row(fault, "tap, incremental", run, tally=after, stats=stats, expected=changed)
        rows.append(row)
        if row.lost and after.state is not None:
            # Search indexed the changes late: the next run starts `search_lag_margin_seconds`
            # earlier than this one ended, so it finds them. Its row counts both runs.
            time.sleep(NEXT_RUN_WAIT_S)
            run, again, stats = _tap(catalogs, emulator, fault, after.state)
            both = _read_row(
                fault, "tap, next incremental", run, tally=again, stats=stats, expected=changed
            )
            both.delivered = len(changed & (set(after.ids) | set(again.ids)))
            both.lost = len(changed) - both.delivered
            rows.append(both)
    return rows


def _read_row(
    fault: Fault,
    name: str,
    run: RunResult,
    *,
    tally: SingerTally,
    stats: dict[str, Any],
    expected: set[str],
) -> FaultRow:
    delivered = expected & set(tally.ids)
    return FaultRow(
        fault=fault.name,
        run=name,
        served=int(stats.get("requests", 0)),
        injected=_injected(stats),
        expected=len(expected),
        delivered=len(delivered),
        lost=len(expected - delivered),
        duplicated=tally.records - tally.distinct,
        outcome=_outcome(run, fault.fatal),
    )


def target_row(catalogs: Catalogs, fault: Fault, tickets: int, records: int) -> FaultRow:
    """Half creates, half updates of seeded tickets, under `fault`."""
    with EmulatorProcess(fault.arguments(tickets, seed=8)) as emulator:
        driver = Driver(emulator, private_app=fault.driver_private_app)
        before = driver.tickets()
        live = [t["id"] for t in before if not t.get("archived")][: records // 2]
        creates = records - len(live)
        rows = [
            {"subject": f"fault create {i}", "hs_pipeline_stage": "New"} for i in range(creates)
        ]
        rows += [{"id": i, "content": f"fault update {i}"} for i in live]
        schema = {"type": "object", "properties": {}, "additionalProperties": True}
        lines = [json.dumps({"type": "SCHEMA", "stream": STREAM, "schema": schema,
                             "key_properties": []})]  # fmt: skip
        lines += [json.dumps({"type": "RECORD", "stream": STREAM, "record": r}) for r in rows]
        feed = catalogs.workdir / "fault-input.jsonl"
        feed.write_text("\n".join(lines) + "\n")
        # Unkeyed creates on purpose: the row counts what reconciliation by search duplicates.
        config = _config(catalogs, emulator, fault, "fault-target.json", allow_unkeyed_creates=True)
        emulator.reset_stats()
        with Neighbour(emulator, fault.neighbour_per_s) as neighbour:
            run = run_measured(
                [str(OUR_BIN / "target-hubspot-tickets"), "--config", str(config)],
                env=base_env(emulator.url, redirect=False),
                cwd=catalogs.workdir,
                stdin_path=feed,
                timeout_s=600,
            )
        stats = _own(emulator.stats(), neighbour)
        after = driver.tickets()
    subjects = Counter(t["properties"].get("subject") for t in after)
    content = {t["id"]: t["properties"].get("content") for t in after}
    landed = sum(1 for i in range(creates) if subjects[f"fault create {i}"] >= 1)
    duplicated = sum(max(0, subjects[f"fault create {i}"] - 1) for i in range(creates))
    updated = sum(1 for i in live if content.get(i) == f"fault update {i}")
    return FaultRow(
        fault=fault.name,
        run="target",
        served=int(stats.get("requests", 0)),
        injected=_injected(stats),
        expected=records,
        delivered=landed + updated,
        lost=records - landed - updated,
        duplicated=duplicated,
        outcome=_outcome(run, fault.fatal),
    )


def fault_table(rows: list[FaultRow]) -> str:
    """The table of docs/faults.md."""
    headers = ["fault", "run", "requests served", "faults injected", "expected", "delivered",
               "lost", "duplicated", "outcome"]  # fmt: skip
    body = [
        [
            row.fault,
            row.run,
            f"{row.served:,}",
            ", ".join(f"{k} {v}" for k, v in row.injected.items()) or "0",
            f"{row.expected:,}",
            f"{row.delivered:,}",
            f"{row.lost:,}",
            f"{row.duplicated:,}",
            row.outcome[:OUTCOME_CHARS],
        ]
        for row in rows
    ]
    return table(headers, body)


def _chosen(name: str, only: list[str] | None) -> bool:
    return not only or any(part in name for part in only)


def main(argv: list[str] | None = None) -> int:
    """Run every fault row and print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.faults", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller portal and writes")
    parser.add_argument("--only", action="append", metavar="NAME", help="faults whose name has")
    parser.add_argument("--no-stops", action="store_true", help="leave out the stop rows")
    args = parser.parse_args(argv)
    tickets, changes, records = (300, 60, 200) if args.quick else (3_000, 600, 2_000)
    chosen = [f for f in FAULTS if _chosen(f.name, args.only)]
    rows: list[FaultRow] = []
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        catalogs = Catalogs(Path(tmp))
        for fault in chosen:
            print(f"fault: {fault.name}", flush=True)
            rows += tap_rows(catalogs, fault, tickets, changes)
            if not fault.tap_only:
                rows.append(target_row(catalogs, fault, tickets, records))
        if not args.no_stops:
            print("stops: a signal during each stream, full disks", flush=True)
            stops = tap_stop_rows(catalogs, tickets) + target_stop_rows(catalogs, tickets, records)
            rows += [FaultRow(**row) for row in stops if _chosen(row["fault"], args.only)]
    print()
    print(
        f"## Faults: {tickets:,} tickets ({changes:,} changed before the incremental run), "
        f"{records:,} records written (half creates, half updates), 20 ms +- 10 latency"
    )
    print()
    print(fault_table(rows))
    print()
    print("Not injectable by the emulator (so not in the table):")
    for line in MISSING:
        print(f"- {line}")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"faults-{'quick' if args.quick else 'full'}.json"
    path.write_text(json.dumps([row.__dict__ for row in rows], indent=2) + "\n")
    print(f"\nraw numbers: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
