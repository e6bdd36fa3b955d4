"""Figures of the Performance page: the book's cost growth and batched throughput."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from reportlib.site.figures.common import legend_below, token_count_label


def cost_growth_figure(
    probe_rows: list[dict],
    grid_rows: list[dict],
    pp_rows: list[dict],
    fit: tuple[float, float, float],
) -> Figure:
    """Three panels, stacked (readable on a phone): probe seconds by samples; needle-grid
    seconds by its largest length; one prompt's processing seconds by length, with its
    quadratic fit."""

    fig, axes = plt.subplots(3, 1, figsize=(6.5, 8.6), layout="constrained")
    probe = pd.DataFrame(probe_rows)
    axes[0].plot(probe.samples, probe.seconds, "o-")
    axes[0].set_ylim(bottom=0)
    axes[0].set(
        xlabel="prompt variants per language and style",
        ylabel="seconds of model work",
        title="multilingual probe",
        xticks=list(probe.samples),
    )
    grid = pd.DataFrame(grid_rows)
    axes[1].plot(grid.largest_length, grid.seconds, "o-")
    axes[1].set(xlabel="largest haystack (tokens)", ylabel="seconds", title="needle grid")
    axes[1].set_xticks(
        list(grid.largest_length), [token_count_label(n) for n in grid.largest_length]
    )
    pp = pd.DataFrame(pp_rows)
    xs = np.linspace(0, pp.prompt_tokens.max() * 1.05, 100)
    a, b, c = fit
    axes[2].plot(pp.prompt_tokens, pp.seconds, "o", label="measured")
    axes[2].plot(xs, a + b * xs + c * xs**2, "--", label="a + bn + cn² fit")
    axes[2].plot(xs, a + b * xs, ":", color="grey", label="linear part")
    axes[2].set(xlabel="prompt length n (tokens)", ylabel="seconds", title="one prompt")
    axes[2].legend()
    for ax in axes:
        ax.grid(alpha=0.3)
    return fig


#: colours and legend names of the parts of a chapter's cold time (Okabe-Ito)
TIME_PART_STYLES = {
    "answers": ("computing answers", "#0072B2"),
    "scoring": ("scoring likelihoods", "#E69F00"),
    "other": ("everything else", "#BBBBBB"),
}


def chapter_time_figure(
    chapter_seconds: dict[str, float],
    budget_seconds: float,
    split: dict[str, dict[str, float | None]] | None = None,
) -> Figure:
    """Where a cold build's time goes: each chapter's execution minutes (longest at the top),
    labelled, with the running total against the budget in the title; with ``split`` (see
    :func:`reportlib.site.book_record.chapter_time_split`) each bar is divided into
    computing answers, scoring (when timed) and everything else, with a legend."""
    ranked = sorted(chapter_seconds.items(), key=lambda kv: kv[1])
    names = [name for name, _ in ranked]
    minutes = [seconds / 60 for _, seconds in ranked]
    fig, ax = plt.subplots(figsize=(6.5, 0.42 * len(ranked) + 1.9), layout="constrained")
    if split is None:
        ax.barh(names, minutes, color="#0072B2")
    else:
        left = [0.0] * len(names)
        for part, (label, colour) in TIME_PART_STYLES.items():
            widths = [(split.get(n, {}).get(part) or 0.0) / 60 for n in names]
            if part == "scoring" and all(split.get(n, {}).get(part) is None for n in names):
                continue  # a record made before scoring was timed: it is in "everything else"
            if part == "other" and any(split.get(n, {}).get("scoring") is None for n in names):
                label = "everything else (scoring included)"
            ax.barh(names, widths, left=left, color=colour, label=label)
            left = [a + b for a, b in zip(left, widths, strict=True)]
        ax.legend(loc="lower right", frameon=True)
    for y, value in enumerate(minutes):
        ax.text(value, y, f" {value:.1f}", va="center")
    ax.set_xlim(0, max(minutes, default=1) * 1.15)
    ax.set_xlabel("minutes of execution in the cold build")
    total = sum(minutes)
    ax.set_title(f"chapters: {total:.1f} min in all (budget: {budget_seconds / 60:.0f} min)")
    ax.grid(axis="x", alpha=0.3)
    return fig


def batched_throughput_figure(rows: pd.DataFrame) -> Figure:
    """Probe answers per second (left axis) and the speed-up over one at a time (right
    axis) against the batch width; ``rows`` has width, answers_per_s, speed_up."""
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    ax.plot(rows["width"], rows["answers_per_s"], marker="o", color="#0072B2")
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(rows["width"]), [str(w) for w in rows["width"]])
    ax.minorticks_off()
    ax.set_xlabel("sequences decoded together (batch width)")
    ax.set_ylabel("probe answers per second", color="#0072B2")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    right = ax.twinx()
    right.plot(rows["width"], rows["speed_up"], marker="s", linestyle="--", color="#D55E00")
    right.set_ylabel("× one at a time", color="#D55E00")
    right.set_ylim(bottom=0)
    fig.tight_layout()
    return fig


def batched_bench_figure(rows: pd.DataFrame) -> Figure:
    """Generated tokens per second against the batch width: ``llama-batched-bench``, and
    the harness fed the tool's random tokens, the model's greedy tokens to full length, and
    greedy tokens that may stop early; ``rows`` has the columns of a batched-bench record."""
    fig, ax = plt.subplots(figsize=(6.5, 4.4), layout="constrained")
    lines = (
        ("llama_batched_bench_tokens_per_s", "llama-batched-bench (random tokens)", "s-",
         "#555555"),
        ("harness_random_tokens_per_s", "harness, random tokens", "o--", "#0072B2"),
        ("harness_greedy_tokens_per_s", "harness, greedy, every sequence to full length", "^-",
         "#009E73"),
        ("harness_greedy_stops_tokens_per_s", "harness, greedy, a sequence may stop early", "v-",
         "#D55E00"),
    )  # fmt: skip
    for column, label, style, color in lines:
        ax.plot(rows["width"], rows[column], style, color=color, label=label)
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(rows["width"]), [str(w) for w in rows["width"]])
    ax.minorticks_off()
    ax.set_xlabel("sequences decoded together (batch width)")
    ax.set_ylabel("generated tokens per second")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    legend_below(fig, ax, ncol=1)
    return fig
