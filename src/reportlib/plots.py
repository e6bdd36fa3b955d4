"""Figures of the book, built from result tables (no computation here)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from .tokenstats import wide_table

plt.rcParams.update({"svg.hashsalt": "reportlib", "figure.dpi": 100})


def premium_figure(table: pd.DataFrame, labels: dict[str, str] | None = None) -> Figure:
    """Grouped horizontal bars: tokens relative to English, per language and tokenizer."""
    wide = wide_table(table, "premium", labels)
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(wide) + 1.5))
    wide.iloc[::-1].plot.barh(ax=ax, width=0.8)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("tokens relative to English on the same text (log scale; 1 = parity)")
    ax.set_ylabel("")
    ax.legend(title="tokenizer", loc="lower right")
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def chars_per_token_figure(table: pd.DataFrame, labels: dict[str, str] | None = None) -> Figure:
    """Characters per token per language and tokenizer, with the report's '4 characters' rule."""
    wide = wide_table(table, "chars_per_token", labels)
    fig, ax = plt.subplots(figsize=(9, 3.8))
    wide.plot.bar(ax=ax, width=0.8)
    ax.axhline(4.0, color="crimson", linestyle="--", linewidth=1, label="report: ~4 (English)")
    ax.set_ylabel("characters per token")
    ax.set_xlabel("")
    ax.legend(loc="upper right", fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig
