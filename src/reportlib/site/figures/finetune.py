"""Figures of the fine-tuning chapter: training loss and bits per character."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure


def training_loss_figure(record: dict[str, Any], window: int = 10) -> Figure:
    """Training loss per step (faint) with its running mean over ``window`` steps, and the
    held-out loss at each evaluation, from a fine-tune's training record."""
    train = pd.Series(record["train_loss"], index=range(1, len(record["train_loss"]) + 1))
    held = pd.DataFrame(record["held_out_loss"], columns=["step", "loss"])
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.plot(train.index, train, color="#9ecae1", linewidth=0.8, label="training loss, per step")
    ax.plot(
        train.index,
        train.rolling(window, min_periods=1).mean(),
        color="#08519c",
        linewidth=2,
        label=f"training loss, mean of {window} steps",
    )
    ax.plot(
        held["step"], held["loss"], "o-", color="#e6550d", label="held-out loss (bills never seen)"
    )
    if record.get("selected_step"):
        ax.axvline(
            record["selected_step"],
            color="black",
            linestyle="--",
            linewidth=1,
            label="adapter kept (lowest held-out loss)",
        )
    ax.set_xlabel("training step (one block of Korean legal text each)")
    ax.set_ylabel("cross-entropy (nats per token)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def bits_change_figure(table: pd.DataFrame) -> Figure:
    """The change in bits per character from base to fine-tune per evaluation text, with
    95% bootstrap intervals (left of zero: the fine-tune predicts the text better)."""
    order = table.index[::-1]
    changes = table.loc[order, "change"]
    low = [table.loc[t, "95% interval"][0] for t in order]
    high = [table.loc[t, "95% interval"][1] for t in order]
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(order) + 1.4))
    y = range(len(order))
    ax.errorbar(
        changes,
        y,
        xerr=[changes - low, [h - c for h, c in zip(high, changes, strict=True)]],
        fmt="o",
        color="#08519c",
        capsize=4,
    )
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(list(y), list(order))
    ax.set_xlabel("change in bits per character, fine-tune minus base (left = better)")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig
