"""Bar charts of the benchmark tables, drawn with matplotlib and saved as PNG beside them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib as mpl

mpl.use("Agg")  # files only: no display on a server or in CI

import matplotlib.pyplot as plt

OURS_COLOUR = "#2b6cb0"
PEER_COLOUR = "#a0aec0"
FLOOR_COLOUR = "#e53e3e"


def bars(
    path: Path,
    title: str,
    panels: Sequence[tuple[str, Sequence[tuple[str, float, bool]]]],
    *,
    floors: Sequence[float | None] | None = None,
) -> Path:
    """Horizontal bars, one panel per (caption, [(label, value, is_ours)]); floors as ticks."""
    height = sum(0.5 + 0.38 * len(rows) for _, rows in panels) + 0.6
    figure, axes = plt.subplots(len(panels), 1, figsize=(11, height), squeeze=False)
    for index, (caption, rows) in enumerate(panels):
        ax = axes[index][0]
        labels = [label for label, _, _ in rows]
        values = [value for _, value, _ in rows]
        colours = [OURS_COLOUR if ours else PEER_COLOUR for _, _, ours in rows]
        positions = range(len(rows))
        ax.barh(positions, values, color=colours)
        ax.set_yticks(list(positions), labels)
        ax.invert_yaxis()
        ax.set_title(caption, loc="left", fontsize=10)
        for position, value in zip(positions, values, strict=True):
            ax.annotate(
                f"{value:.2f}",
                (value, position),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
        if index == 0 and floors:
            for position, floor_s in zip(positions, floors, strict=False):
                if floor_s:
                    ax.plot([floor_s, floor_s], [position - 0.4, position + 0.4], FLOOR_COLOUR)
            ax.plot([], [], FLOOR_COLOUR, label="floor")
            ax.legend(loc="lower right", fontsize=8)
        ax.margins(x=0.15)
    figure.suptitle(title, fontsize=11, x=0.01, ha="left")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
