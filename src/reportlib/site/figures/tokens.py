"""Figures of the tokenization chapter: the token premium and characters per token, with
intervals."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from reportlib.experiments.tokens import wide_table
from reportlib.site.figures.common import legend_below


def _interval_errors(table: pd.DataFrame, value: str, wide: pd.DataFrame, labels) -> Any:
    """Asymmetric error bars (series x 2 x points) from ``value_low``/``value_high``, in the
    order of ``wide``; ``None`` when the table has no intervals."""
    if f"{value}_low" not in table:
        return None
    low = wide_table(table, f"{value}_low", labels)[wide.columns].to_numpy(dtype=float)
    high = wide_table(table, f"{value}_high", labels)[wide.columns].to_numpy(dtype=float)
    mid = wide.to_numpy(dtype=float)
    return np.stack([mid - low, high - mid], axis=1).transpose(2, 1, 0).clip(min=0)


def premium_figure(table: pd.DataFrame, labels: dict[str, str] | None = None) -> Figure:
    """Grouped horizontal bars: tokens relative to English, per language and tokenizer, with
    95% bootstrap intervals over sentences where the table has them."""
    wide = wide_table(table, "premium", labels)
    fig, ax = plt.subplots(figsize=(6.5, 0.36 * len(wide) + 2.0), layout="constrained")
    flipped = wide.iloc[::-1]
    errors = _interval_errors(table, "premium", wide, labels)
    if errors is not None:
        errors = errors[:, :, ::-1]  # the points of the flipped table
    flipped.plot.barh(ax=ax, width=0.8, xerr=errors, error_kw={"elinewidth": 0.8})
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    low, high = float(np.nanmin(wide)), float(np.nanmax(wide))
    ticks = [
        t for t in (0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 8, 12, 16) if low / 1.15 <= t <= 1.15 * high
    ]
    ax.set_xticks(ticks, [f"{t:g}×" for t in ticks])
    ax.xaxis.set_minor_formatter(plt.NullFormatter())
    ax.set_xlabel("tokens relative to English on the same text (log scale; 1 = parity)")
    ax.set_ylabel("")
    drawn = ax.get_legend()
    if drawn is not None:
        drawn.remove()  # below the plot, where it covers no bar
    legend_below(fig, ax, ncol=2, title="tokenizer")
    ax.grid(axis="x", which="both", alpha=0.3)
    return fig


def chars_per_token_figure(
    table: pd.DataFrame, labels: dict[str, str] | None = None, cited: float | None = None
) -> Figure:
    """Characters per token per language and tokenizer (95% intervals where the table has
    them), with the report's '4 characters' rule and, if given, a cited English figure."""
    wide = wide_table(table, "chars_per_token", labels)
    fig, ax = plt.subplots(figsize=(6.5, 4.8), layout="constrained")
    errors = _interval_errors(table, "chars_per_token", wide, labels)
    wide.plot.bar(ax=ax, width=0.8, yerr=errors, error_kw={"elinewidth": 0.8})
    ax.axhline(4.0, color="crimson", linestyle="--", linewidth=1, label="report: ~4 (English)")
    if cited is not None:
        ax.axhline(
            cited,
            color="black",
            linestyle=":",
            linewidth=1,
            label=f"Meta: {cited} (Llama 3, its English data)",
        )
    ax.set_ylabel("characters per token")
    ax.set_xlabel("")
    ax.tick_params(axis="x", labelrotation=45)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
    drawn = ax.get_legend()
    if drawn is not None:
        drawn.remove()  # below the plot, where it covers no bar
    legend_below(fig, ax, ncol=2)
    ax.grid(axis="y", alpha=0.3)
    return fig
