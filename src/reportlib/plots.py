"""Figures of the book, built from result tables (no computation here)."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .languages import LANGUAGES
from .ruler import average_scores
from .tokenstats import wide_table

plt.rcParams.update({"svg.hashsalt": "reportlib", "figure.dpi": 100})


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
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(wide) + 1.5))
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
    ax.legend(title="tokenizer", loc="lower right")
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def chars_per_token_figure(
    table: pd.DataFrame, labels: dict[str, str] | None = None, cited: float | None = None
) -> Figure:
    """Characters per token per language and tokenizer (95% intervals where the table has
    them), with the report's '4 characters' rule and, if given, a cited English figure."""
    wide = wide_table(table, "chars_per_token", labels)
    fig, ax = plt.subplots(figsize=(9, 3.8))
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
    ax.legend(loc="upper right", fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def probe_heatmap(
    rates: pd.DataFrame,
    style_labels: dict[str, str],
    label: str = "answers in the requested language",
) -> Figure:
    """A rate per language (rows, grouped as in the report) and prompt style, as % in each
    cell (colour-blind-safe ``cividis`` scale)."""
    from matplotlib.ticker import PercentFormatter

    order = [lang for lang in LANGUAGES if lang.flores in set(rates["language"])]
    wide = rates.pivot(index="language", columns="style", values="rate")
    wide = wide.loc[[lang.flores for lang in order], [s for s in style_labels if s in wide]]
    fig, ax = plt.subplots(figsize=(7, 0.36 * len(order) + 1.8))
    values = wide.to_numpy(dtype=float) * 100
    image = ax.imshow(values, cmap="cividis", vmin=0, vmax=100, aspect="auto")
    ticks = [style_labels[s].replace(" ", "\n", 1) for s in wide.columns]
    ax.set_xticks(range(wide.shape[1]), ticks, fontsize=10)
    ax.xaxis.tick_top()
    ax.set_yticks(
        range(len(order)), [f"{lang.name} ({lang.report_group})" for lang in order], fontsize=10
    )
    for (i, j), value in pd.DataFrame(values).stack().items():
        colour = "black" if value > 55 else "white"
        ax.text(j, i, f"{value:.0f}%", ha="center", va="center", fontsize=9, color=colour)
    for i in range(1, len(order)):
        if order[i].report_group != order[i - 1].report_group:
            ax.axhline(i - 0.5, color="white", linewidth=2)
    bar = fig.colorbar(image, ax=ax, shrink=0.6, format=PercentFormatter(decimals=0))
    bar.set_label(label, fontsize=10)
    fig.tight_layout()
    return fig


def pooled_rates_figure(table: pd.DataFrame, style_labels: dict[str, str]) -> Figure:
    """Pooled rates per prompt style (rows) and label (markers), with clustered 95%
    intervals; ``table`` has columns style, label, rate, low, high."""
    fig, ax = plt.subplots(figsize=(7, 3.4))
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
    ax.set_yticks(range(len(styles)), [style_labels[s] for s in styles], fontsize=10)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of answers, % (95% interval, clustered by language and frame)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=2, fontsize=9, frameon=False)
    fig.tight_layout()
    return fig


#: pixels per displayed pixel of the book's figures: sharp on high-density screens
FIGURE_SCALE = 2


def figure_png(fig: Figure, scale: int = FIGURE_SCALE) -> tuple[bytes, int]:
    """The figure as PNG at ``scale`` times its dpi, and the width to display it at (px)."""
    import io

    buffer = io.BytesIO()
    fig.savefig(
        buffer, format="png", dpi=fig.dpi * scale, bbox_inches="tight", metadata={"Software": None}
    )
    data = buffer.getvalue()
    width = int.from_bytes(data[16:20], "big")  # the PNG header's IHDR width
    return data, width // scale


def glue_figure(name: str, fig: Figure) -> None:
    """Glue a figure for ``{glue:figure}`` as a 2x PNG shown at 1x, and close it."""
    from IPython.display import Image
    from myst_nb import glue

    data, width = figure_png(fig)
    glue(name, Image(data=data, format="png", width=width), display=False)
    plt.close(fig)


def needle_heatmap(rows: pd.DataFrame) -> Figure:
    """Retrieval rate per haystack length (columns) and needle depth (rows)."""
    wide = rows.groupby(["depth", "length"])["found"].mean().unstack("length")
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    image = ax.imshow(wide.to_numpy(dtype=float), cmap="cividis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(wide.shape[1]), [f"{c:,}" for c in wide.columns])
    ax.set_yticks(range(wide.shape[0]), [f"{d:.0%}" for d in wide.index])
    ax.set_xlabel("prompt length (model tokens)")
    ax.set_ylabel("needle depth")
    for (i, j), value in pd.DataFrame(wide.to_numpy()).stack().items():
        colour = "white" if value < 0.5 else "black"  # readable on cividis' dark and light ends
        ax.text(j, i, f"{value:.0%}", ha="center", va="center", fontsize=9, color=colour)
    from matplotlib.ticker import PercentFormatter

    fig.colorbar(image, ax=ax, label="needles retrieved", format=PercentFormatter(1.0))
    fig.tight_layout()
    return fig


def latency_figure(summary: pd.DataFrame) -> Figure:
    """Prompt-processing time and generation speed against prompt length (median, min-max)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    x = summary["prompt_tokens"]
    for ax, col, label in (
        (left, "prompt_seconds", "time to process the prompt (s)"),
        (right, "generation_tokens_per_s", "generation speed (tokens/s)"),
    ):
        mid = summary[f"{col}_median"]
        err = [mid - summary[f"{col}_min"], summary[f"{col}_max"] - mid]
        ax.errorbar(x, mid, yerr=err, marker="o", capsize=3)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("prompt length (tokens)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def kv_memory_figure(measured: pd.DataFrame, formula_mib: pd.Series) -> Figure:
    """KV-cache MiB against n_ctx: llama.cpp's accounting (two cache modes) and the formula."""
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    for full, part in measured.groupby("swa_full"):
        label = "llama.cpp, full-size SWA cache" if full else "llama.cpp, windowed SWA cache"
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
    ax.set_xlabel("n_ctx (tokens)")
    ax.set_ylabel("KV cache (MiB)")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def timeline_figure(releases: list) -> Figure:
    """The LLaMA releases on a time axis, labelled with their sizes."""
    from datetime import date

    dates: Any = [date.fromisoformat(r.date) for r in releases]  # matplotlib plots dates
    fig, ax = plt.subplots(figsize=(9, 2.6))
    ax.plot(dates, [0] * len(dates), color="grey", zorder=1)
    ax.scatter(dates, [0] * len(dates), s=60, zorder=2)
    for i, (when, release) in enumerate(zip(dates, releases, strict=True)):
        y = 0.6 if i % 2 == 0 else -0.6
        ax.annotate(
            f"{release.name}\n{release.date}\n{release.sizes}",
            (when, 0),
            (when, y),
            ha="center",
            va="center",
            fontsize=8,
            arrowprops={"arrowstyle": "-", "color": "grey"},
        )
    ax.set_ylim(-1.2, 1.2)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    return fig


def cost_growth_figure(
    probe_rows: list[dict],
    grid_rows: list[dict],
    pp_rows: list[dict],
    fit: tuple[float, float, float],
) -> Figure:
    """Three panels: probe seconds by samples; needle-grid seconds by its largest length;
    one prompt's processing seconds by length, with its quadratic fit."""
    import numpy as np

    fig, axes = plt.subplots(1, 3, figsize=(8.7, 3.4))
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
    pp = pd.DataFrame(pp_rows)
    xs = np.linspace(0, pp.prompt_tokens.max() * 1.05, 100)
    a, b, c = fit
    axes[2].plot(pp.prompt_tokens, pp.seconds, "o", label="measured")
    axes[2].plot(xs, a + b * xs + c * xs**2, "--", label="a + bn + cn² fit")
    axes[2].plot(xs, a + b * xs, ":", color="grey", label="linear part")
    axes[2].set(xlabel="prompt length n (tokens)", ylabel="seconds", title="one prompt")
    axes[2].legend(fontsize="small")
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
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
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
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
    ax.legend(loc="lower right", fontsize=8.5)
    fig.tight_layout()
    return fig


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
    fig, axes = plt.subplots(1, len(kinds), figsize=(2.8 * len(kinds) + 0.3, 3.9), sharey=True)
    axes = np.atleast_1d(axes)
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
        ax.set_title(haystacks[kind], fontsize=11)
        ax.set_xlabel("prompt length (model tokens)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("score (% of expected answers)")
    axes[0].set_ylim(-3, 103)
    handles: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    columns = max(1, len(handles) if len(kinds) >= 3 else 3)  # narrow: the legend in rows
    fig.legend(
        list(handles.values()),
        list(handles.keys()),
        loc="lower center",
        ncol=columns,
        fontsize="small",
        frameon=False,
    )
    fig.suptitle(f"{model}: RULER's tasks (red dashes: the threshold)", fontsize=11)
    rows = -(-len(handles) // columns)
    fig.tight_layout(rect=(0, 0.02 + 0.05 * rows, 1, 1))
    return fig


def _length_labels(lengths: list[int]) -> list[str]:
    """Prompt lengths for one axis, in one form: "1k", "32k" when every length is a whole
    number of 1,024 tokens, else "448", "1,024"."""
    if all(n % 1024 == 0 for n in lengths):
        return [f"{n // 1024}k" for n in lengths]
    return [f"{n:,}" for n in lengths]
