"""Figures of the context chapter: latency, KV-cache memory, and RULER's grid."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from reportlib.experiments.context.ruler_scoring import average_scores
from reportlib.site.figures.common import legend_below, log2_ticks, mib_label, token_count_label


def latency_figure(summary: pd.DataFrame) -> Figure:
    """Prompt-processing time and generation speed against prompt length (median, min-max),
    stacked (readable on a phone)."""
    fig, (left, right) = plt.subplots(2, 1, figsize=(6.5, 5.8), sharex=True, layout="constrained")
    x = summary["prompt_tokens"]
    for ax, col, label in (
        (left, "prompt_seconds", "time to process the prompt (s)"),
        (right, "generation_tokens_per_s", "generation speed (tokens/s)"),
    ):
        mid = summary[f"{col}_median"]
        err = [mid - summary[f"{col}_min"], summary[f"{col}_max"] - mid]
        ax.errorbar(x, mid, yerr=err, marker="o", capsize=3)
        ax.set_xscale("log", base=2)
        log2_ticks(ax, "x", x, token_count_label)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    right.set_xlabel("prompt length (tokens)")
    return fig


def kv_memory_figure(measured: pd.DataFrame, formula_mib: pd.Series) -> Figure:
    """KV-cache MiB against n_ctx: llama.cpp's accounting (two cache modes) and the formula."""
    fig, ax = plt.subplots(figsize=(6.5, 4.6), layout="constrained")
    for full, part in measured.groupby("swa_full"):
        label = (
            "llama.cpp, sliding-window (SWA) layers cached for the whole window"
            if full
            else "llama.cpp, sliding-window (SWA) layers cached for their own window only"
        )
        ax.plot(part["n_ctx"], part["kv_mib"], marker="o", label=label)
    ax.plot(
        formula_mib.index,
        formula_mib.values,
        linestyle="--",
        color="black",
        label="formula: 2 × layers × KV heads × head dim × n_ctx × 2 bytes",
    )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    log2_ticks(ax, "x", measured["n_ctx"], token_count_label)
    sizes = np.concatenate([measured["kv_mib"].to_numpy(), formula_mib.to_numpy()])
    low, high = np.floor(np.log2(sizes.min())), np.ceil(np.log2(sizes.max()))
    log2_ticks(ax, "y", 2 ** np.arange(low, high + 1, 2), mib_label)
    ax.set_xlabel("window n_ctx (tokens; K = 1,024)")
    ax.set_ylabel("KV cache")
    legend_below(fig, ax, ncol=1)
    ax.grid(alpha=0.3)
    return fig


#: one colour per RULER task (Okabe–Ito, colour-blind safe), the average in black
_TASK_COLOURS = {
    "single needle": "#7f7f7f",
    "multi-key": "#0072B2",
    "multi-query": "#E69F00",
    "multi-value": "#009E73",
    "variable tracking": "#CC79A7",
    "average": "black",
}


def ruler_figure(
    scores: pd.DataFrame, haystacks: dict[str, str], threshold: float, model: str
) -> Figure:
    """RULER's tasks: score against prompt length (log scale), one panel per haystack, a line
    per task with its 95% Wilson interval, the task average in black, the threshold dashed."""
    kinds = [k for k in haystacks if k in set(scores["haystack"])]
    columns = min(2, len(kinds))  # two panels a row at most: readable on a phone
    rows = -(-len(kinds) // columns)
    fig, grid = plt.subplots(
        rows, columns, figsize=(6.5, 3.1 * rows + 1.4), sharey=True, layout="constrained"
    )
    grid = np.atleast_1d(grid).ravel()
    for spare in grid[len(kinds) :]:
        spare.set_visible(False)
    axes = grid[: len(kinds)]
    average = average_scores(scores)
    for ax, kind in zip(axes, kinds, strict=True):
        for offset, (task, colour) in enumerate(_TASK_COLOURS.items()):
            frame = scores if task != "average" else average
            rows = frame[(frame["haystack"] == kind) & (frame["task"] == task)]
            rows = rows.sort_values("length")
            if rows.empty:
                continue
            shift = 2 ** ((offset - 2.5) * 0.04)  # side by side, so the intervals stay apart
            x, y = rows["length"].to_numpy() * shift, 100 * rows["score"].to_numpy()
            err = None
            if "low" in rows and task != "average":
                low, high = 100 * rows["low"].to_numpy(), 100 * rows["high"].to_numpy()
                err = np.clip([y - low, high - y], 0, None)  # rounding can put y past a bound
            ax.errorbar(
                x,
                y,
                yerr=err,
                color=colour,
                marker="o",
                markersize=3.5,
                linewidth=2.4 if task == "average" else 1.2,
                linestyle="--" if task == "single needle" else "-",
                capsize=2,
                label=task,
            )
        ax.axhline(100 * threshold, color="crimson", linestyle="--", linewidth=1)
        ax.set_xscale("log", base=2)
        lengths = sorted(set(scores.loc[scores["haystack"] == kind, "length"]))
        ax.set_xticks(lengths, _length_labels(lengths))
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
        ax.set_title(haystacks[kind])
        ax.set_xlabel("prompt length (model tokens)")
        ax.grid(alpha=0.3)
    for ax in axes[::columns]:
        ax.set_ylabel("score (% of expected answers)")
    axes[0].set_ylim(-3, 103)
    handles: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    fig.legend(
        list(handles.values()),
        list(handles.keys()),
        loc="outside lower center",
        ncol=3,
        frameon=False,
    )
    fig.suptitle(f"{model}: RULER's tasks (red dashes: the threshold)")
    return fig


def _length_labels(lengths: list[int]) -> list[str]:
    """Prompt lengths for one axis, in one form: "1K", "32K" when every length is a whole
    number of 1,024 tokens, else "448", "1,024"."""
    if all(n % 1024 == 0 for n in lengths):
        return [token_count_label(n) for n in lengths]
    return [f"{n:,}" for n in lengths]
