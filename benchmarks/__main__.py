"""Run the benchmarks: `python -m benchmarks [--quick] [--only NAME] [--skip-write]`.

1. Every connector syncs the tickets stream in full from its own fresh emulator with the same
   data, latency and rate limits: wall time, CPU, peak memory, requests and records, each
   peer's numbers as a multiple of ours, and our wall time against the floor (`floor.py`).
2. Our scenarios (`scenarios.py`): every stream, an incremental run after changes, first syncs
   with and without `start_date` beside meltano-tap-hubspot, CPU and peak memory at two
   sizes with no latency, and start-up (first request, `--discover`).
3. target-hubspot-tickets writes records (half creates, half updates) beside a
   one-request-per-record baseline.
4. Two taps and a target at once on one portal with a tight limit, with the shared budget on
   and off (`shared_budget.py`).

Tables print as they are measured; raw numbers (JSON) and charts (PNG) go to `output/bench/`.
Peers install into `.bench/venvs/` on first use; one that cannot install or run is reported,
not fatal.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks import scenarios
from benchmarks.charts import bars
from benchmarks.connectors import CONNECTORS, Connector
from benchmarks.emulator import Scenario
from benchmarks.floor import Workload, floor, versus_floor
from benchmarks.report import (
    notes,
    ratio_table,
    save_chart,
    save_json,
    scenario_chart,
    scenario_table,
    table,
    tap_table,
)
from benchmarks.shared_budget import LIMIT, run_three
from benchmarks.tap_compare import run_taps
from benchmarks.venvs import ROOT
from benchmarks.write_compare import run_baseline, run_target, write_table

WRITE = "write"
SCENARIOS = "scenarios"
SHARED = "shared-budget"
FULL = Scenario(tickets=10_000)
QUICK = Scenario(tickets=2_000, latency_ms=30, jitter_ms=10)
OUTPUT = ROOT / "output" / "bench"
START_UP_GOAL_S = 0.5
START_DATE_GOAL = 2.5  # meltano-tap-hubspot's wall over ours


@dataclass(frozen=True)
class Sizes:
    """How big each part of a mode is."""

    changes: int
    cpu_sizes: tuple[int, ...]
    write_records: int
    baseline_records: int
    shared_tickets: int
    shared_creates: int


FULL_SIZES = Sizes(2_000, (10_000, 100_000, 200_000), 10_000, 600, 2_000, 500)
QUICK_SIZES = Sizes(400, (2_000, 20_000), 1_000, 100, 300, 100)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    names = [c.name for c in CONNECTORS] + [SCENARIOS, WRITE, SHARED]
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help="2,000 tickets, 30 ms latency, smaller parts"
    )
    parser.add_argument(
        "--only", action="append", choices=names, metavar="NAME",
        help=f"run only this connector or part (repeatable): {', '.join(names)}",
    )  # fmt: skip
    parser.add_argument("--tickets", type=int, help="override the scenario's ticket count")
    parser.add_argument("--repeat", type=int, default=1, help="runs per connector; best kept")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds per run")
    parser.add_argument("--skip-write", action="store_true", help="skip the target write bench")
    parser.add_argument(
        "--write-records", type=int, help="records our target writes (10,000; quick: 1,000)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run, print, save; exit 0 even when a peer is unavailable."""
    args = parse_args(argv)
    scenario = QUICK if args.quick else FULL
    if args.tickets:
        scenario = Scenario(
            tickets=args.tickets, latency_ms=scenario.latency_ms, jitter_ms=scenario.jitter_ms
        )
    # Quick mode compares with the main peer only: the others need most of two minutes alone.
    peers = CONNECTORS[:2] if args.quick and not args.only else CONNECTORS
    chosen = [c for c in peers if not args.only or c.name in args.only]
    mode = "quick" if args.quick else "full"
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    print(f"scenario: {scenario.describe()}")
    if chosen:
        run_tap_bench(chosen, scenario, args, mode)
    if not args.only or SCENARIOS in args.only:
        run_scenarios(scenario, sizes, args.timeout, mode)
    if not args.skip_write and (not args.only or WRITE in args.only):
        count = args.write_records or sizes.write_records
        run_write_bench(scenario, count, min(count, sizes.baseline_records), args.timeout, mode)
    if not args.only or SHARED in args.only:
        run_shared_bench(sizes, mode)
    return 0


def run_scenarios(scenario: Scenario, sizes: Sizes, timeout_s: float, mode: str) -> None:
    """Our scenarios beside the floor and meltano-tap-hubspot; print and save the results."""
    with scenarios.workdir() as tmp:
        catalogs = scenarios.Catalogs(Path(tmp))
        first_request = scenarios.time_to_first_request(catalogs)
        discover = scenarios.discover_wall(catalogs, scenario)
        rows = scenarios.full_and_incremental(catalogs, scenario, sizes.changes, timeout_s)
        peer = scenarios.Peer(catalogs)
        dated = scenarios.start_date_side_by_side(catalogs, peer, scenario, timeout_s)
        machine = scenarios.cpu_and_memory(catalogs, peer, list(sizes.cpu_sizes), timeout_s)
    print()
    print(f"## Our tap against the floor: {scenario.describe()}")
    print()
    print(scenario_table(rows))
    print()
    print("## First syncs with and without start_date, beside meltano-tap-hubspot")
    print()
    print(scenario_table(dated))
    for label in sorted({r.scenario for r in dated}):
        pair = {r.connector: r for r in dated if r.scenario == label}
        ours, other = pair.get("ours"), next((r for c, r in pair.items() if c != "ours"), None)
        if ours and other and ours.wall_s and other.wall_s:
            ratio = other.wall_s / ours.wall_s
            verdict = "meets" if ratio >= START_DATE_GOAL else "misses"
            print(
                f"- {label}: meltano-tap-hubspot / ours = {ratio:.2f}x "
                f"({verdict} the goal of {START_DATE_GOAL}x or more)"
            )
    print("- meltano-tap-hubspot has no incremental or start_date for tickets: it reads all")
    print()
    print("## CPU and peak memory (no latency, no budgets)")
    print()
    body = []
    for row in sorted(machine, key=lambda r: r.connector != "ours"):
        per_k = (row.cpu_s or 0) / max(row.tickets, 1) * 1000
        exact = "yes" if row.exact else f"no ({row.tickets:,}/{row.expected:,}, {row.status})"
        body.append([row.scenario, row.connector, f"{row.wall_s or 0:.1f}",
                     f"{row.cpu_s or 0:.2f}", f"{per_k:.3f}", f"{row.max_rss_mib or 0:.0f}",
                     exact])  # fmt: skip
    headers = ["run", "connector", "wall s", "CPU s", "CPU s / 1,000 tickets", "peak MiB", "exact"]
    print(table(headers, body))
    peaks = [r.max_rss_mib for r in machine if r.max_rss_mib and r.connector == "ours"]
    if len(peaks) >= 2:
        print(f"- our peak memory, largest over smallest portal: {peaks[-1] / peaks[0]:.2f}x")
    print("- CPU includes each process's start-up (about 0.5 s of ours at any size)")
    print()
    print("## Start-up")
    print()
    print(
        table(
            ["measure", "seconds", f"goal < {START_UP_GOAL_S} s"],
            [
                [
                    "process start to first request",
                    f"{first_request:.2f}",
                    _meets(first_request < START_UP_GOAL_S),
                ],
                [
                    f"--discover ({scenario.latency_ms:g} ms latency)",
                    f"{discover:.2f}",
                    _meets(discover < START_UP_GOAL_S),
                ],
            ],
        )
    )
    everything = rows + dated + machine
    path = OUTPUT / f"scenarios-{mode}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "scenario": scenario.describe(),
        "start_up": {"first_request_s": first_request, "discover_s": discover},
        "rows": [asdict(row) for row in everything],
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    chart = scenario_chart(
        OUTPUT / f"scenarios-{mode}.png", f"Our tap against the floor: {scenario.describe()}",
        rows + dated,
    )  # fmt: skip
    print(f"\nraw numbers: {path.relative_to(ROOT)}")
    if chart:
        print(f"chart: {chart.relative_to(ROOT)}")


def _meets(ok: bool) -> str:
    return "meets" if ok else "misses"


def run_shared_bench(sizes: Sizes, mode: str) -> None:
    """Three processes on one portal with a tight limit, sharing the budget and not."""
    with scenarios.workdir() as tmp:
        catalogs = scenarios.Catalogs(Path(tmp))
        rows = []
        for shared in (True, False):
            print(f"running two taps and a target at once, shared_rate_limit {shared}", flush=True)
            rows.append(
                run_three(catalogs, sizes.shared_tickets, sizes.shared_creates, shared=shared)
            )
    print()
    print(
        f"## Two every-stream taps and a target writing {sizes.shared_creates:,} tickets at once: "
        f"{sizes.shared_tickets:,} tickets, {LIMIT} requests / 10 s for the portal and each process"
    )
    print()
    body = [
        [f"shared_rate_limit: {str(r.shared).lower()}", f"{r.wall_s:.1f}", f"{r.requests:,}",
         f"{r.throttled:,}", "yes" if r.taps_exact else "no", "yes" if r.target_exact else "no",
         r.detail]
        for r in rows
    ]  # fmt: skip
    print(
        table(["run", "wall s", "requests", "429s", "taps exact", "target exact", "detail"], body)
    )
    path = OUTPUT / f"shared-budget-{mode}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")
    chart = bars(
        OUTPUT / f"shared-budget-{mode}.png",
        "Two taps and a target on one portal",
        [
            (
                "429s received",
                [(b[0], float(r.throttled), r.shared) for b, r in zip(body, rows, strict=True)],
            ),
            ("wall time, s", [(b[0], r.wall_s, r.shared) for b, r in zip(body, rows, strict=True)]),
        ],
    )
    print(f"\nraw numbers: {path.relative_to(ROOT)}\nchart: {chart.relative_to(ROOT)}")


def run_tap_bench(
    chosen: list[Connector], scenario: Scenario, args: argparse.Namespace, mode: str
) -> None:
    """Full sync by each chosen connector; print and save the results."""
    rows = run_taps(chosen, scenario, timeout_s=args.timeout, repeats=args.repeat)
    print()
    print(f"## Full sync of tickets: {scenario.describe()}")
    print()
    print(tap_table(rows))
    ratios = ratio_table(rows)
    if ratios:
        print()
        print("Peer / ours (above 1.00x: ours is faster, lighter or uses fewer requests)")
        print()
        print(ratios)
    for line in notes(rows):
        print(f"- {line}")
    floor_s = floor(
        Workload(scenario.tickets, scenario.latency_ms / 1000),
    ).seconds
    ours = next((r for r in rows if r.connector.name == "ours" and r.ok and r.run), None)
    if ours is not None and ours.run is not None:
        print(
            f"- the floor (floor.py): {floor_s:.2f} s; ours: "
            f"{versus_floor(ours.run.wall_s, floor_s)} (start-up included)"
        )
    save_json(OUTPUT / f"taps-{mode}.json", scenario.describe(), rows, {"floor_s": floor_s})
    chart = save_chart(
        OUTPUT / f"taps-{mode}.png", f"Full sync of tickets: {scenario.describe()}", rows
    )
    print(f"\nraw numbers: {(OUTPUT / f'taps-{mode}.json').relative_to(ROOT)}")
    if chart:
        print(f"chart: {chart.relative_to(ROOT)}")


def run_write_bench(
    scenario: Scenario, count: int, baseline: int, timeout_s: float, mode: str
) -> None:
    """Our target against the one-request-per-record baseline; print and save the results."""
    seeded = Scenario(
        tickets=max(count, 100),
        latency_ms=scenario.latency_ms,
        jitter_ms=scenario.jitter_ms,
        rate_limit_10s=scenario.rate_limit_10s,
    )
    print(f"\nwriting {count:,} records: target-hubspot-tickets", flush=True)
    rows = [run_target(seeded, count, timeout_s)]
    print(f"writing {baseline:,} records: baseline, one request per record", flush=True)
    rows.append(run_baseline(seeded, baseline))
    print()
    print(f"## Write records (half creates, half updates): {seeded.describe()}")
    print()
    print(write_table(rows))
    print("- the baseline writes fewer records: one request each would take too long at this")
    print("  latency; records / s compares them")
    for row in rows:
        if not row.ok:
            print(f"- {row.label}: {row.status}")
        if row.not_ok:
            answers = ", ".join(f"{k} x{v}" for k, v in sorted(row.not_ok.items()))
            print(f"- {row.label}: non-2xx answers: {answers}")
    path = OUTPUT / f"write-{mode}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(row) for row in rows], indent=2) + "\n")
    print(f"\nraw numbers: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
