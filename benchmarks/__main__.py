"""Run the benchmarks: `python -m benchmarks [--quick] [--only NAME] [--skip-write]`.

Every connector syncs the tickets stream in full from its own fresh emulator with the same
data, latency and rate limits; the report is a table of wall time, CPU, peak memory, requests
and records, then each peer's numbers as a multiple of ours. Then target-hubspot-tickets
writes records (half creates, half updates) beside a one-request-per-record baseline.
Peers install into `.bench/venvs/` on first use; one that cannot install or run is reported,
not fatal.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from benchmarks.connectors import CONNECTORS, Connector
from benchmarks.emulator import Scenario
from benchmarks.report import notes, ratio_table, save_chart, save_json, tap_table
from benchmarks.tap_compare import run_taps
from benchmarks.venvs import ROOT
from benchmarks.write_compare import run_baseline, run_target, write_table

WRITE = "write"
FULL = Scenario(tickets=10_000)
QUICK = Scenario(tickets=2_000, latency_ms=30, jitter_ms=10)
OUTPUT = ROOT / "output" / "bench"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    names = [c.name for c in CONNECTORS] + [WRITE]
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="2,000 tickets, 30 ms latency")
    parser.add_argument(
        "--only", action="append", choices=names, metavar="NAME",
        help=f"run only this connector or the write bench (repeatable): {', '.join(names)}",
    )  # fmt: skip
    parser.add_argument("--tickets", type=int, help="override the scenario's ticket count")
    parser.add_argument("--repeat", type=int, default=1, help="runs per connector; best kept")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds per run")
    parser.add_argument("--skip-write", action="store_true", help="skip the target write bench")
    parser.add_argument("--write-records", type=int, help="records to write (600; quick: 200)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run, print, save; exit 0 even when a peer is unavailable."""
    args = parse_args(argv)
    scenario = QUICK if args.quick else FULL
    if args.tickets:
        scenario = Scenario(
            tickets=args.tickets, latency_ms=scenario.latency_ms, jitter_ms=scenario.jitter_ms
        )
    chosen = [c for c in CONNECTORS if not args.only or c.name in args.only]
    mode = "quick" if args.quick else "full"
    print(f"scenario: {scenario.describe()}")
    if chosen:
        run_tap_bench(chosen, scenario, args, mode)
    if not args.skip_write and (not args.only or WRITE in args.only):
        count = args.write_records or (200 if args.quick else 600)
        run_write_bench(scenario, count, args.timeout, mode)
    return 0


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
    save_json(OUTPUT / f"taps-{mode}.json", scenario.describe(), rows, {})
    save_chart(OUTPUT / f"taps-{mode}.svg", f"Full sync of tickets: {scenario.describe()}", rows)
    print(f"\nraw numbers: {(OUTPUT / f'taps-{mode}.json').relative_to(ROOT)}")
    print(f"chart: {(OUTPUT / f'taps-{mode}.svg').relative_to(ROOT)}")


def run_write_bench(scenario: Scenario, count: int, timeout_s: float, mode: str) -> None:
    """Our target against the one-request-per-record baseline; print and save the results."""
    seeded = Scenario(
        tickets=max(count, 100),
        latency_ms=scenario.latency_ms,
        jitter_ms=scenario.jitter_ms,
        rate_limit_10s=scenario.rate_limit_10s,
    )
    print(f"\nwriting {count:,} records: target-hubspot-tickets", flush=True)
    rows = [run_target(seeded, count, timeout_s)]
    print(f"writing {count:,} records: baseline, one request per record", flush=True)
    rows.append(run_baseline(seeded, count))
    print()
    print(f"## Write {count:,} records (half creates, half updates): {seeded.describe()}")
    print()
    print(write_table(rows, count))
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
