"""The release timeline."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure


def timeline_figure(releases: list) -> Figure:
    """The LLaMA releases on a vertical time axis (earliest at the top, spaced by their
    dates, years marked), each with its date, name and sizes on one line beside it, so that
    no label can overlap another at any width."""
    from datetime import date, timedelta

    import matplotlib.dates as mdates

    dates: Any = [date.fromisoformat(r.date) for r in releases]  # matplotlib plots dates
    fig, ax = plt.subplots(figsize=(6.5, 0.6 * len(releases) + 0.8), layout="constrained")
    ax.plot([0] * len(dates), sorted(dates), color="grey", zorder=1)
    ax.scatter([0] * len(dates), dates, s=50, zorder=2)
    for when, release in zip(dates, releases, strict=True):
        ax.text(0.05, when, f"{release.date}  {release.name}: {release.sizes}", va="center")
    ax.set_xlim(-0.04, 1)
    first, last = min(dates), max(dates)
    bottom = mdates.date2num(date(last.year, last.month, 1) + timedelta(days=45))
    ax.set_ylim(bottom, mdates.date2num(date(first.year, 1, 1)))  # earliest at the top
    ax.yaxis.set_major_locator(mdates.YearLocator())
    ax.yaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.set_xticks([])
    for side in ("right", "top", "bottom"):
        ax.spines[side].set_visible(False)
    return fig
