"""Figures of the multilingual probe: rates per language and style, and pooled rates with both
intervals."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from reportlib.core.languages import LANGUAGES
from reportlib.site.figures.common import legend_below


def probe_heatmap(
    rates: pd.DataFrame,
    style_labels: dict[str, str],
    label: str = "answers in the requested language",
) -> Figure:
    """A rate per language (rows, grouped as in the report) and prompt style, as % in each
    cell (colour-blind-safe ``cividis`` scale, from 0 to the largest rate rounded up to
    ten, so that low rates are not all one colour)."""
    from matplotlib.ticker import PercentFormatter

    order = [lang for lang in LANGUAGES if lang.flores in set(rates["language"])]
    wide = rates.pivot(index="language", columns="style", values="rate")
    wide = wide.loc[[lang.flores for lang in order], [s for s in style_labels if s in wide]]
    fig, ax = plt.subplots(figsize=(6.5, 0.4 * len(order) + 1.8))
    values = wide.to_numpy(dtype=float) * 100
    top = max(10.0, float(np.ceil(np.nanmax(values) / 10) * 10)) if values.size else 100.0
    image = ax.imshow(values, cmap="cividis", vmin=0, vmax=top, aspect="auto")
    ticks = [style_labels[s].replace(" ", "\n", 1) for s in wide.columns]
    ax.set_xticks(range(wide.shape[1]), ticks, fontsize=11)
    ax.xaxis.tick_top()
    ax.set_yticks(
        range(len(order)), [f"{lang.name} ({lang.report_group})" for lang in order], fontsize=11
    )
    for (i, j), value in pd.DataFrame(values).stack().items():
        colour = "black" if value > 0.55 * top else "white"
        ax.text(j, i, f"{value:.0f}%", ha="center", va="center", fontsize=11, color=colour)
    for i in range(1, len(order)):
        if order[i].report_group != order[i - 1].report_group:
            ax.axhline(i - 0.5, color="white", linewidth=2)
    bar = fig.colorbar(image, ax=ax, shrink=0.6, format=PercentFormatter(decimals=0))
    bar.set_label(label, fontsize=11)
    fig.tight_layout()
    return fig


def pooled_rates_figure(table: pd.DataFrame, style_labels: dict[str, str]) -> Figure:
    """Pooled rates per prompt style (rows) and label (markers), with clustered 95%
    intervals; ``table`` has columns style, label, rate, low, high."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8), layout="constrained")
    styles = [s for s in style_labels if s in set(table["style"])]
    labels = list(dict.fromkeys(table["label"]))
    markers, colours = ("o", "s", "D", "^"), ("#0072B2", "#E69F00", "#009E73", "#CC79A7")
    for k, label in enumerate(labels):
        part = table[table["label"] == label].set_index("style").loc[styles]
        y = [i + (k - (len(labels) - 1) / 2) * 0.22 for i in range(len(styles))]
        err = [(part.rate - part.low) * 100, (part.high - part.rate) * 100]
        ax.errorbar(
            part.rate * 100,
            y,
            xerr=err,
            fmt=markers[k % 4],
            color=colours[k % 4],
            capsize=3,
            label=label,
        )
    ax.set_yticks(range(len(styles)), [style_labels[s] for s in styles], fontsize=11)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of answers, % (95% interval, clustered by language and frame)")
    ax.grid(axis="x", alpha=0.3)
    legend_below(fig, ax)
    return fig


def preference_figure(summary: pd.DataFrame, style_labels: dict[str, str]) -> Figure:
    """The judge-free preference per language (rows, grouped as in the report) and prompt
    style (markers), with 95% intervals; ``summary`` has columns language, style,
    preference, low, high (bits per native character)."""
    order = [lang for lang in LANGUAGES if lang.flores in set(summary["language"])]
    styles = [s for s in style_labels if s in set(summary["style"])]
    fig, ax = plt.subplots(figsize=(6.5, 0.36 * len(order) + 2.4), layout="constrained")
    markers, colours = ("o", "s", "D"), ("#0072B2", "#E69F00", "#009E73")
    for k, style in enumerate(styles):
        part = summary[summary["style"] == style].set_index("language")
        part = part.loc[[lang.flores for lang in order]]
        y = [i + (k - (len(styles) - 1) / 2) * 0.28 for i in range(len(order))]
        ax.errorbar(
            part.preference,
            y,
            xerr=[part.preference - part.low, part.high - part.preference],
            fmt=markers[k],
            color=colours[k],
            label=style_labels[style],
            capsize=2,
            markersize=4,
        )
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(order)), [lang.name for lang in order], fontsize=11)
    ax.invert_yaxis()
    ax.set_xlabel("log2 P(native reply) - log2 P(English reply),\nbits per native character")
    ax.grid(axis="x", alpha=0.3)
    legend_below(fig, ax, ncol=1)
    return fig
