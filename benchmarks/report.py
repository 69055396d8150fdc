"""Print results as plain-text tables, ratios against ours, and save them as JSON."""

from __future__ import annotations

import json
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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


_BAR_HEIGHT = 22
_LABEL_WIDTH = 250
_PLOT_WIDTH = 420
_PANEL_GAP = 40


def save_chart(path: Path, title: str, rows: Sequence[TapRow]) -> None:
    """Write an SVG bar chart of wall time and CPU per 1,000 records (no plotting library)."""
    measured = [r for r in rows if r.ok and r.run is not None and r.records]
    if not measured:
        return
    panels = [
        ("wall time, s", [r.run.wall_s for r in measured if r.run]),
        ("CPU per 1,000 records, s", [r.run.cpu_s / r.records * 1000 for r in measured if r.run]),
    ]
    panel_height = _BAR_HEIGHT * len(measured) + 30
    height = 40 + len(panels) * (panel_height + _PANEL_GAP)
    width = _LABEL_WIDTH + _PLOT_WIDTH + 80
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        f'<text x="10" y="22" font-size="14" font-weight="bold">{_escape(title)}</text>',
    ]
    top = 40
    for caption, values in panels:
        scale = _PLOT_WIDTH / max(values)
        out.append(f'<text x="10" y="{top + 14}" font-weight="bold">{caption}</text>')
        for i, (row, value) in enumerate(zip(measured, values, strict=True)):
            y = top + 24 + i * _BAR_HEIGHT
            colour = "#2b6cb0" if row.connector.name == OURS else "#a0aec0"
            out += [
                f'<text x="10" y="{y + 14}">{_escape(row.connector.label)}</text>',
                f'<rect x="{_LABEL_WIDTH}" y="{y + 3}" width="{value * scale:.1f}" '
                f'height="{_BAR_HEIGHT - 6}" fill="{colour}"/>',
                f'<text x="{_LABEL_WIDTH + value * scale + 6:.1f}" y="{y + 14}">{value:.2f}</text>',
            ]
        top += panel_height + _PANEL_GAP
    out.append("</svg>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
