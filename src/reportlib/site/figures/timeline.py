"""The release timeline."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure


def timeline_figure(releases: list) -> Figure:
    """The LLaMA releases on a vertical time axis (earliest at the top), one row each, with
    its date and sizes beside it: no label can overlap another, at any width."""
    from datetime import date

    dates: Any = [date.fromisoformat(r.date) for r in releases]  # matplotlib plots dates
    order = sorted(range(len(releases)), key=lambda i: dates[i])
    fig, ax = plt.subplots(figsize=(6.5, 0.55 * len(releases) + 0.6), layout="constrained")
    ys = list(range(len(order)))
    ax.plot([0] * len(ys), ys, color="grey", zorder=1)
    ax.scatter([0] * len(ys), ys, s=50, zorder=2)
    for y, i in zip(ys, order, strict=True):
        release = releases[i]
        ax.text(0.06, y, f"{release.date}   {release.name}: {release.sizes}", va="center")
    ax.set_xlim(-0.05, 1)
    ax.set_ylim(len(ys) - 0.5, -0.5)
    ax.axis("off")
    return fig
