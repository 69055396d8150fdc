"""Two taps and a target at once on one portal with a tight limit, sharing the budget or not.

A data team's tickets job and its write-back often overlap on one portal; HubSpot counts their
calls together. Each process is given the portal's whole limit (`requests_per_10_seconds`), as
a user would; with `shared_rate_limit: true` they book their calls in one file per portal and
app (`hubspot_api/sharedbudget.py`), with `false` each throttles alone and together they overrun
the portal. Printed for each: 429s the emulator answered, wall time of the three, and whether
every process's records are exact (each tap: every seeded ticket once, none unknown; the
target: every create landed once).
"""

from __future__ import annotations

import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.connectors import OUR_BIN, STREAM, base_env
from benchmarks.emulator import EmulatorProcess, Scenario
from benchmarks.measure import RecordTally, RunResult, run_measured
from benchmarks.scenarios import Catalogs

LIMIT = 30  # calls per rolling 10 s: the portal's, and each process's setting


@dataclass
class SharedRow:
    """One run of the three processes at once."""

    shared: bool
    wall_s: float
    requests: int
    throttled: int
    taps_exact: bool
    target_exact: bool
    detail: str


def run_three(catalogs: Catalogs, tickets: int, creates: int, *, shared: bool) -> SharedRow:
    """Two every-stream taps and a target writing `creates` tickets, all at once."""
    scenario = Scenario(tickets=tickets, rate_limit_10s=LIMIT)
    settings = {"requests_per_10_seconds": LIMIT, "shared_rate_limit": shared}
    with EmulatorProcess(scenario.arguments()) as emulator, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = base_env(emulator.url, redirect=False)
        env["XDG_CACHE_HOME"] = str(work / "cache")  # a budget file of this run's own
        config = catalogs.write_config(emulator.url, emulator.token, name="shared.json", **settings)
        tap = [str(OUR_BIN / "tap-hubspot-tickets"), "--config", str(config)]
        tap += ["--catalog", str(catalogs.every)]
        target_config = work / "target.json"
        target_config.write_text(
            json.dumps(
                {
                    "api_url": emulator.url,
                    "access_token": emulator.token,
                    "summary_path": str(work / "summary.json"),
                    # Measures creates as such: no source id, so they must be allowed.
                    "allow_unkeyed_creates": True,
                    **settings,
                }
            )
        )
        feed = work / "input.jsonl"
        schema = {"type": "object", "properties": {}, "additionalProperties": True}
        lines = [json.dumps({"type": "SCHEMA", "stream": STREAM, "schema": schema,
                             "key_properties": []})]  # fmt: skip
        lines += [
            json.dumps(
                {
                    "type": "RECORD",
                    "stream": STREAM,
                    "record": {"subject": f"shared {i}", "hs_pipeline_stage": "New"},
                }
            )
            for i in range(creates)
        ]
        feed.write_text("\n".join(lines) + "\n")
        before = emulator.active_tickets()
        time.sleep(1.1)  # the count's search leaves the search window before the taps start
        emulator.reset_stats()
        tallies = [RecordTally(STREAM), RecordTally(STREAM)]

        def run_tap(tally: RecordTally) -> RunResult:
            return run_measured(tap, env=env, cwd=work, tally=tally, timeout_s=900)

        started = time.perf_counter()
        with ThreadPoolExecutor(3) as pool:
            taps = [pool.submit(run_tap, tally) for tally in tallies]
            target = pool.submit(
                run_measured,
                [str(OUR_BIN / "target-hubspot-tickets"), "--config", str(target_config)],
                env=env,
                cwd=work,
                stdin_path=feed,
                timeout_s=900,
            )
            results = [t.result() for t in taps] + [target.result()]
        wall = time.perf_counter() - started
        stats = emulator.stats()
        after = emulator.active_tickets()
        summary: dict[str, Any] = (
            json.loads((work / "summary.json").read_text())
            if (work / "summary.json").exists()
            else {}
        )
    taps_exact = all(
        r.returncode == 0 and t.records == t.distinct and tickets <= t.distinct <= tickets + creates
        for r, t in zip(results, tallies, strict=False)
    )
    target_exact = (
        results[2].returncode == 0
        and summary.get("created") == creates
        and after - before == creates
    )
    detail = ", ".join(f"tap {i + 1}: {t.distinct:,} tickets" for i, t in enumerate(tallies))
    detail += f"; target: {summary.get('created')} created, portal +{after - before}"
    return SharedRow(
        shared=shared,
        wall_s=wall,
        requests=int(stats.get("requests", 0)),
        throttled=int(stats.get("rate_limited", 0)),
        taps_exact=taps_exact,
        target_exact=target_exact,
        detail=detail,
    )
