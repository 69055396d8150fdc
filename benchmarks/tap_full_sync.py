"""Time tap-hubspot-tickets against a slow, rate-limited emulator: a full sync, then an incremental.

The emulator answers in 150 +- 50 ms and allows 190 requests per rolling 10 s and 5 searches per
second, like a Professional portal. The tap runs as its console script (a separate process, as
Meltano runs it) with its output thrown away. Prints wall time and requests per stream set.

    .venv/bin/python -m benchmarks.tap_full_sync [--tickets 10000] [--updates 500]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.measure import PEAK_LAUNCHER
from benchmarks.scenarios import EVERY_STREAM
from hubspot_emulator.config import DEFAULT_TOKEN, EmulatorConfig
from hubspot_emulator.server import EmulatorServer


def catalog_for(config: Path, selected: set[str]) -> dict[str, Any]:
    """Discover, then select only the named streams."""
    tap = str(Path(sys.executable).parent / "tap-hubspot-tickets")
    out = subprocess.run(
        [tap, "--config", str(config), "--discover"], capture_output=True, check=True, text=True
    ).stdout
    catalog: dict[str, Any] = json.loads(out)
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] in selected
    return catalog


class Run:
    """What one tap run emitted, kept small: counts, ticket ids and subjects, peak memory."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.ticket_ids: list[str] = []
        self.subjects: dict[str, Any] = {}
        self.peak_rss_mib = 0.0


def run_tap(
    server: EmulatorServer, workdir: Path, catalog: dict[str, Any], state: dict[str, Any] | None
) -> tuple[float, dict[str, Any], Run, dict[str, Any]]:
    """Run the tap once; return wall seconds, final state, what it emitted, emulator stats."""
    tap = str(Path(sys.executable).parent / "tap-hubspot-tickets")
    config = workdir / "config.json"
    (workdir / "catalog.json").write_text(json.dumps(catalog))
    args = [tap, "--config", str(config), "--catalog", str(workdir / "catalog.json")]
    if state is not None:
        (workdir / "state.json").write_text(json.dumps(state))
        args += ["--state", str(workdir / "state.json")]
    server.reset_stats()
    started = time.monotonic()
    run = Run()
    final: dict[str, Any] = {}
    usage_file = workdir / "usage.json"
    launcher = [sys.executable, str(PEAK_LAUNCHER), str(usage_file), "--"]
    with subprocess.Popen(
        [*launcher, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            message = json.loads(line)
            if message["type"] == "RECORD":
                stream = message["stream"]
                run.counts[stream] = run.counts.get(stream, 0) + 1
                if stream == "tickets":
                    record = message["record"]
                    run.ticket_ids.append(record["id"])
                    run.subjects[record["id"]] = record.get("subject")
            elif message["type"] == "STATE":
                final = message["value"]
    if proc.returncode != 0:
        raise SystemExit(f"the tap exited {proc.returncode}")
    # The launcher measures the tap itself: this process's emulator would inflate the figure.
    run.peak_rss_mib = json.loads(usage_file.read_text())["max_rss_kib"] / 1024
    wall = time.monotonic() - started
    return wall, final, run, server.stats()


def requests_of(stats: dict[str, Any]) -> dict[str, int]:
    """Count answered requests per route."""
    return {route: sum(by.values()) for route, by in stats["by_route"].items()}


def report(title: str, wall: float, run: Run, stats: dict[str, Any]) -> None:
    """Print one run as a small table."""
    counts = run.counts
    routes = requests_of(stats)
    total = sum(routes.values())
    tickets = max(counts.get("tickets", 0), 1)
    print(f"\n## {title}")
    print(
        f"wall {wall:.1f} s, {total} requests, {100 * total / tickets:.2f} per 100 tickets, "
        f"peak memory {run.peak_rss_mib:.0f} MiB"
    )
    print("| route | requests |\n|---|---|")
    for route, n in sorted(routes.items()):
        print(f"| {route} | {n} |")
    print("records: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))


def check(title: str, emitted: list[str], expected: set[str]) -> None:
    """Print whether a run emitted exactly the expected tickets, each once."""
    repeats = len(emitted) - len(set(emitted))
    missing = expected - set(emitted)
    extra = set(emitted) - expected
    exact = not (repeats or missing or extra)
    print(
        f"{title}: {len(set(emitted))} tickets, {'EXACT' if exact else 'NOT EXACT'} "
        f"(missing {len(missing)}, unexpected {len(extra)}, repeated {repeats})"
    )


def main() -> None:
    """Seed, run a full sync of each stream set, update tickets, run an incremental sync."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--updates", type=int, default=500)
    args = parser.parse_args()
    config = EmulatorConfig(
        tickets=args.tickets,
        seed=42,
        latency_ms=150,
        jitter_ms=50,
        rate_limit_10s=190,
        search_rate_limit=5,
    )
    with EmulatorServer(config) as server, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "config.json").write_text(
            json.dumps(
                {
                    "api_url": server.url,
                    "access_token": DEFAULT_TOKEN,
                    "search_lag_margin_seconds": 0,
                }
            )
        )
        properties = len(server.portal.snapshot()[0]["properties"])
        print(f"# tap-hubspot-tickets: {args.tickets} tickets, ~{properties} properties each")
        only_tickets = catalog_for(workdir / "config.json", {"tickets"})
        everything = catalog_for(workdir / "config.json", set(EVERY_STREAM))

        truth = {t["id"]: t for t in server.portal.snapshot()}
        wall, state, run, stats = run_tap(server, workdir, only_tickets, None)
        report("full sync, tickets only", wall, run, stats)
        check("full sync, tickets only", run.ticket_ids, set(truth))
        wall, state, run, stats = run_tap(server, workdir, everything, None)
        report("full sync, every stream", wall, run, stats)
        check("full sync, every stream", run.ticket_ids, set(truth))
        mismatched = [
            t for t, s in run.subjects.items() if s != truth[t]["properties"].get("subject")
        ]
        print(f"subjects equal to the emulator's: {'yes' if not mismatched else mismatched[:5]}")

        active = [t["id"] for t in truth.values() if not t.get("archived")]
        updated = active[: args.updates]
        for ticket_id in updated:
            server.portal.update_ticket(
                ticket_id,
                {"properties": {"subject": f"benchmark update {ticket_id}"}},
                id_property=None,
                api_version="v3",
            )
        wall, state, run, stats = run_tap(server, workdir, everything, state)
        report(f"incremental after {args.updates} updates, every stream", wall, run, stats)
        check("incremental", run.ticket_ids, set(updated))
        wrong = [t for t in updated if run.subjects.get(t) != f"benchmark update {t}"]
        print(f"updated values read back: {'yes' if not wrong else wrong[:5]}")


if __name__ == "__main__":
    main()
