"""The release timeline."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure


def timeline_figure(releases: list) -> Figure:
    """The LLaMA releases on a time axis, labelled with their sizes (long lists of sizes
    wrapped, so that neighbouring labels do not overlap)."""
    import textwrap
    from datetime import date

    dates: Any = [date.fromisoformat(r.date) for r in releases]  # matplotlib plots dates
    fig, ax = plt.subplots(figsize=(9, 3))
    ax.plot(dates, [0] * len(dates), color="grey", zorder=1)
    ax.scatter(dates, [0] * len(dates), s=60, zorder=2)
    for i, (when, release) in enumerate(zip(dates, releases, strict=True)):
        y = 0.6 if i % 2 == 0 else -0.6
        ax.annotate(
            f"{release.name}\n{release.date}\n{textwrap.fill(release.sizes, 18)}",
            (when, 0),
            (when, y),
            ha="center",
            va="center",
            fontsize=8,
            arrowprops={"arrowstyle": "-", "color": "grey"},
        )
    ax.set_ylim(-1.4, 1.4)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    return fig
