"""Print results as plain-text tables, ratios against ours, and save them as JSON."""

from __future__ import annotations

import json
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.charts import bars
from benchmarks.floor import versus_floor
from benchmarks.scenarios import Row
from benchmarks.tap_compare import TapRow

OURS = "ours"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Format a left-aligned first column and right-aligned others, GitHub-markdown style."""
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            str(cell).ljust(width) if i == 0 else str(cell).rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(parts) + " |"

    rule = (
        "|" + "|".join("-" * (w + 1) + ("-" if i == 0 else ":") for i, w in enumerate(widths)) + "|"
    )
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def _exact(row: TapRow) -> str:
    if row.exact:
        return "yes" if row.distinct == row.expected else "yes, with archived"
    extra = row.records - row.distinct
    detail = f"{row.distinct:,}/{row.expected:,}"
    return f"no ({detail}" + (f", {extra:,} repeats)" if extra else ")")


def tap_table(rows: Sequence[TapRow]) -> str:
    """The measured numbers, one row per connector."""
    headers = ["connector", "wall s", "CPU s", "CPU s / 1k", "peak MiB", "requests", "records",
               "exact"]  # fmt: skip
    body: list[list[str]] = []
    for row in rows:
        run = row.run
        if run is None or not row.ok:
            body.append([row.connector.label, "-", "-", "-", "-", "-", "-", "-"])
            continue
        per_k = run.cpu_s / row.records * 1000 if row.records else 0.0
        body.append(
            [
                row.connector.label,
                f"{run.wall_s:.1f}",
                f"{run.cpu_s:.2f}",
                f"{per_k:.3f}",
                f"{run.max_rss_mib:.0f}",
                f"{row.requests:,}",
                f"{row.records:,}",
                _exact(row),
            ]
        )
    return table(headers, body)


def ratio_table(rows: Sequence[TapRow]) -> str | None:
    """Each peer's numbers divided by ours (above 1: ours is faster / lighter)."""
    ours = next((r for r in rows if r.connector.name == OURS and r.ok), None)
    if ours is None or ours.run is None:
        return None
    headers = ["peer / ours", "wall", "CPU", "CPU per ticket", "peak memory", "requests"]
    body: list[list[str]] = []
    for row in rows:
        if row is ours or not row.ok or row.run is None:
            continue
        peer_per = row.run.cpu_s / max(row.records, 1)
        ours_per = ours.run.cpu_s / max(ours.records, 1)
        body.append(
            [
                row.connector.label,
                _ratio(row.run.wall_s, ours.run.wall_s),
                _ratio(row.run.cpu_s, ours.run.cpu_s),
                _ratio(peer_per, ours_per),
                _ratio(row.run.max_rss_mib, ours.run.max_rss_mib),
                _ratio(row.requests, ours.requests),
            ]
        )
    return table(headers, body) if body else None


def _ratio(peer: float, ours: float) -> str:
    return f"{peer / ours:.2f}x" if ours else "-"


def notes(rows: Sequence[TapRow]) -> list[str]:
    """Why a connector has no numbers, what it asked for that failed, and caveats."""
    lines: list[str] = []
    for row in rows:
        name = row.connector.label
        if not row.ok:
            lines.append(f"{name}: {row.status}")
        if row.not_ok:
            answers = ", ".join(f"{k} x{v}" for k, v in sorted(row.not_ok.items()))
            lines.append(f"{name}: non-2xx answers: {answers}")
        if row.connector.note and row.ok:
            lines.append(f"{name}: {row.connector.note}")
    return lines


def save_json(path: Path, scenario: str, rows: Sequence[TapRow], extra: dict[str, Any]) -> None:
    """Write the raw numbers for later comparison or charts."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "scenario": scenario,
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "taps": [
            {
                "name": row.connector.name,
                "label": row.connector.label,
                "status": row.status,
                "wall_s": row.run.wall_s if row.run else None,
                "cpu_s": row.run.cpu_s if row.run else None,
                "max_rss_mib": row.run.max_rss_mib if row.run else None,
                "requests": row.requests,
                "records": row.records,
                "distinct": row.distinct,
                "expected": row.expected,
                "seeded": row.seeded,
                "not_ok": row.not_ok,
            }
            for row in rows
        ],
        **extra,
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")


def save_chart(path: Path, title: str, rows: Sequence[TapRow]) -> Path | None:
    """Write a PNG bar chart of wall time and CPU per 1,000 records."""
    measured = [r for r in rows if r.ok and r.run is not None and r.records]
    if not measured:
        return None
    wall = [(r.connector.label, r.run.wall_s, r.connector.name == OURS) for r in measured if r.run]
    cpu = [
        (r.connector.label, r.run.cpu_s / r.records * 1000, r.connector.name == OURS)
        for r in measured
        if r.run
    ]
    return bars(path, title, [("wall time, s", wall), ("CPU per 1,000 records, s", cpu)])


def scenario_table(rows: Sequence[Row]) -> str:
    """Our scenarios (and peers beside them): wall, the floor and the ratio, and the checks."""
    headers = ["scenario", "connector", "wall s", "floor s", "wall / floor", "CPU s", "peak MiB",
               "requests", "429s", "tickets", "exact"]  # fmt: skip
    body = []
    for row in rows:
        exact = "yes" if row.exact else f"no ({row.tickets:,}/{row.expected:,}, {row.status})"
        if row.repeats:
            exact += f", {row.repeats:,} repeats"
        body.append(
            [
                row.scenario,
                row.connector,
                _num(row.wall_s, 1),
                _num(row.floor_s, 2),
                versus_floor(row.wall_s, row.floor_s) if row.wall_s and row.floor_s else "-",
                _num(row.cpu_s, 2),
                _num(row.max_rss_mib, 0),
                f"{row.requests:,}",
                f"{row.throttled:,}",
                f"{row.tickets:,}",
                exact,
            ]
        )
    return table(headers, body)


def _num(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def scenario_chart(path: Path, title: str, rows: Sequence[Row]) -> Path | None:
    """A PNG of each scenario's wall time with its floor marked."""
    timed = [r for r in rows if r.wall_s is not None]
    if not timed:
        return None
    wall = [(f"{r.scenario} ({r.connector})", r.wall_s or 0.0, r.connector == OURS) for r in timed]
    return bars(path, title, [("wall time, s", wall)], floors=[r.floor_s for r in timed])
