"""Figures of the fine-tuning chapter: training and held-out loss per adapter, the dose and
response of the Korean preference, and bits per character."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from reportlib.site.figures.common import legend_below

COLOURS = ("#c6dbef", "#6baed6", "#2171b5", "#08306b", "#e6550d")


def _thousands(value: float, _: Any) -> str:
    return f"{value / 1000:g}K" if value >= 1000 else f"{value:g}"


def training_loss_figure(records: Sequence[dict[str, Any]], window: int = 10) -> Figure:
    """Per adapter, the training loss (running mean over ``window`` steps) and the held-out
    loss at each evaluation, against the tokens seen, stacked in two panels (readable on a
    phone)."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.5, 6.4), sharex=True)
    for record, colour in zip(records, COLOURS, strict=False):
        per_step = record["tokens_seen"] / max(1, record["steps"])
        train = pd.Series(record["train_loss"]).rolling(window, min_periods=1).mean()
        top.plot(
            (train.index + 1) * per_step, train, color=colour, linewidth=2, label=record["name"]
        )
        held = pd.DataFrame(record["held_out_loss"], columns=["step", "loss"])
        bottom.plot(held["step"] * per_step, held["loss"], "o-", color=colour, label=record["name"])
    top.set_ylabel(f"training loss\n(mean of {window} steps)", fontsize=11)
    bottom.set_ylabel("held-out loss\n(replies never trained on)", fontsize=11)
    bottom.set_xlabel("training tokens seen", fontsize=11)
    bottom.xaxis.set_major_formatter(FuncFormatter(_thousands))
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=11)
    top.legend()
    fig.tight_layout()
    return fig


def dose_response_figure(
    doses: pd.DataFrame, control: pd.DataFrame, fit: Any, language: str = "Korean"
) -> Figure:
    """The paired shift of the preference for ``language`` of each Korean dose (``doses``:
    columns tokens, shift, low, high) against its training tokens (log scale), the fitted
    line, and the English control at its own tokens (``control``: the same columns)."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    ax.errorbar(
        doses["tokens"],
        doses["shift"],
        yerr=[doses["shift"] - doses["low"], doses["high"] - doses["shift"]],
        fmt="o",
        color="#08519c",
        capsize=4,
        label="Korean LoRA (doses)",
    )
    x = np.geomspace(doses["tokens"].min(), doses["tokens"].max(), 50)
    ax.plot(
        x,
        fit.intercept + fit.slope * np.log2(x),
        color="#08519c",
        linewidth=1,
        alpha=0.6,
        label="fit: shift against log2 tokens",
    )
    ax.errorbar(
        control["tokens"],
        control["shift"],
        yerr=[control["shift"] - control["low"], control["high"] - control["shift"]],
        fmt="s",
        color="#e6550d",
        capsize=4,
        label="English LoRA (control)",
    )
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.set_xlabel("training tokens (log scale)", fontsize=11)
    ax.set_ylabel(f"shift of the {language} preference\n(bits per character)", fontsize=11)
    ax.tick_params(labelsize=11)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def bits_change_figure(table: pd.DataFrame) -> Figure:
    """The change in bits per character from the base to each fine-tune per evaluation text,
    with 95% bootstrap intervals (left of zero: the fine-tune predicts the text better);
    ``table`` has columns model, text, change, low, high."""
    texts = list(dict.fromkeys(table["text"]))
    models = list(dict.fromkeys(table["model"]))
    fig, ax = plt.subplots(
        figsize=(6.5, 0.55 * len(texts) * len(models) ** 0.5 + 2.2), layout="constrained"
    )
    for k, model in enumerate(models):
        part = table[table["model"] == model].set_index("text").loc[texts]
        y = [i + (k - (len(models) - 1) / 2) * 0.8 / len(models) for i in range(len(texts))]
        ax.errorbar(
            part["change"],
            y,
            xerr=[part["change"] - part["low"], part["high"] - part["change"]],
            fmt="o",
            color=COLOURS[k % len(COLOURS)] if k < len(COLOURS) else None,
            capsize=3,
            label=model,
        )
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(texts)), texts, fontsize=11)
    ax.invert_yaxis()
    ax.set_xlabel("change in bits per character,\nfine-tune minus base (left = better)")
    ax.grid(axis="x", alpha=0.3)
    legend_below(fig, ax)
    return fig
