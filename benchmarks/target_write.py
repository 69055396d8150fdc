"""Write 10,000 mixed records through target-hubspot-tickets into a slow, rate-limited emulator.

Mix: creates, updates, upserts (by external_ticket_id), archives, and 1% invalid records.
The emulator answers in 150 +- 50 ms and allows 190 requests per rolling 10 s, like a
Professional portal. Prints wall time, requests used, and whether every record landed exactly.

    .venv/bin/python -m benchmarks.target_write [--records 10000]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from hubspot_emulator.config import EmulatorConfig
from hubspot_emulator.server import EmulatorServer
from target_hubspot_tickets.target import TargetHubSpotTickets


def build_records(
    existing: list[dict[str, Any]], total: int, rng: random.Random
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Return the records and the expected outcome counts."""
    active = [t for t in existing if not t["archived"]]
    rng.shuffle(active)
    invalid = total // 100
    archives = total * 14 // 100
    updates = total * 30 // 100
    upserts = total * 15 // 100
    creates = total - invalid - archives - updates - upserts
    assert updates + archives <= len(active), "seed more tickets"
    to_update, to_archive = active[:updates], active[updates : updates + archives]
    records: list[dict[str, Any]] = []
    records += [
        {"subject": f"bench create {i}", "hs_pipeline_stage": "New", "content": f"body {i}"}
        for i in range(creates)
    ]
    records += [
        {"id": t["id"], "hs_ticket_priority": rng.choice(["LOW", "HIGH"]), "subject": "bench upd"}
        for t in to_update
    ]
    records += [{"id": t["id"], "archived": True} for t in to_archive]
    records += [
        {
            "external_ticket_id": f"BENCH-{i}",
            "subject": f"bench upsert {i}",
            "hs_pipeline_stage": "Waiting on us",
        }
        for i in range(upserts)
    ]
    records += [
        {"subject": f"bench invalid {i}", "hs_pipeline_stage": "New", "hs_ticket_priority": "X"}
        for i in range(invalid)
    ]
    rng.shuffle(records)
    expected = {
        "created": creates,
        "updated": updates,
        "archived": archives,
        "upserted": upserts,
        "rejected": invalid,
    }
    return records, expected


def main() -> None:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=150)
    parser.add_argument("--jitter-ms", type=float, default=50)
    parser.add_argument("--rate-limit-10s", type=int, default=190)
    args = parser.parse_args()
    rng = random.Random(42)
    config = EmulatorConfig(
        tickets=args.records // 2,
        seed=42,
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
        rate_limit_10s=args.rate_limit_10s,
    )
    with EmulatorServer(config) as server, tempfile.TemporaryDirectory() as tmp:
        before = server.portal.snapshot()
        records, expected = build_records(before, args.records, rng)
        schema = {
            "type": "SCHEMA",
            "stream": "tickets",
            "schema": {"type": "object", "properties": {}, "additionalProperties": True},
            "key_properties": [],
        }
        lines = [json.dumps(schema)]
        lines += [json.dumps({"type": "RECORD", "stream": "tickets", "record": r}) for r in records]
        lines.append(json.dumps({"type": "STATE", "value": {"done": True}}))
        rejects = Path(tmp) / "rejects.jsonl"
        target_config = {
            "api_url": server.url,
            "access_token": config.token,
            "id_property": "external_ticket_id",
            # The mix's creates carry no source id: measured as plain batch creates.
            "allow_unkeyed_creates": True,
            "rejects_path": str(rejects),
            "max_rejects": args.records,
            # The mix archives 14% of the records on purpose: lift the archive guard.
            "max_archives": -1,
            "requests_per_10_seconds": args.rate_limit_10s,
        }
        server.reset_stats()
        started = time.monotonic()
        with contextlib.redirect_stdout(io.StringIO()):
            target = TargetHubSpotTickets(config=target_config)
            target.listen(file_input=io.StringIO("\n".join(lines) + "\n"))
        wall = time.monotonic() - started
        stats = server.stats()
        summary = target.summary or {}
        after = server.portal.snapshot()
        subjects = Counter(t["properties"].get("subject") for t in after)
        creates_once = all(subjects[f"bench create {i}"] == 1 for i in range(expected["created"]))
        reject_lines = rejects.read_text().splitlines()
        exact = (
            all(summary.get(k) == v for k, v in expected.items())
            and creates_once
            and len(reject_lines) == expected["rejected"]
            and len(after) == len(before) + expected["created"] + expected["upserted"]
        )
        rows = [
            ("records", args.records),
            ("wall time (s)", f"{wall:.1f}"),
            ("records / s", f"{args.records / wall:.0f}"),
            ("requests (emulator)", stats["requests"]),
            ("429s answered", stats["rate_limited"]),
            ("expected", json.dumps(expected)),
            ("summary", json.dumps({k: summary.get(k) for k in expected})),
            ("rejects file lines", len(reject_lines)),
            ("landed exactly", exact),
        ]
        width = max(len(name) for name, _ in rows)
        for name, value in rows:
            print(f"{name:<{width}}  {value}")
        print("requests by route:")
        for route, statuses in sorted(stats["by_route"].items()):
            print(f"  {route:<40} {statuses}")


if __name__ == "__main__":
    main()
