"""The book's figures: readable on a phone (width and text size checked when a figure
becomes a PNG, and the smallest text's size written into it for the site test)."""

from __future__ import annotations

import struct
import zlib

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from reportlib.core.errors import ReportlibError
from reportlib.site.figures import context as context_figures
from reportlib.site.figures import timeline as timeline_figures
from reportlib.site.figures.common import (
    MIN_TEXT_KEY,
    figure_png,
    legend_below,
    mib_label,
    token_count_label,
)


def png_text(data: bytes) -> dict[str, str]:
    """The tEXt chunks of a PNG."""
    out, at = {}, 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        if kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            out[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"zTXt":
            key, _, rest = body.partition(b"\0")
            out[key.decode("latin-1")] = zlib.decompress(rest[1:]).decode("latin-1")
        at += 12 + length
    return out


def test_a_figure_records_its_smallest_text_in_png_pixels():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.set_title("title", fontsize=14)
    ax.set_xlabel("small but allowed", fontsize=11)
    data, width = figure_png(fig, scale=2)
    assert float(png_text(data)[MIN_TEXT_KEY]) == pytest.approx(11 * 200 / 72, abs=0.01)
    assert width < 4 * 100 * 1.05
    plt.close(fig)


@pytest.mark.parametrize(
    ("size", "fontsize"), [((9, 3), 12), ((6, 3), 10.5)], ids=["too wide", "text too small"]
)
def test_a_figure_a_phone_could_not_read_is_refused(size, fontsize):
    """Was: 8.7-inch three-panel figures and 8-point labels, 6-7 px on a phone."""
    fig, ax = plt.subplots(figsize=size)
    ax.set_xlabel("label", fontsize=fontsize)
    with pytest.raises(ReportlibError, match="phone"):
        figure_png(fig)
    plt.close(fig)


def test_long_legend_labels_stack_and_name_their_shared_base_once():
    """Was: five "SmolLM2 ... + Korean LoRA, 20 items" labels in two columns, 12.9 inches."""
    base = "SmolLM2 135M Instruct (Q4_1, Llama architecture)"
    fig, ax = plt.subplots(figsize=(6.5, 3), layout="constrained")
    for k, adapter in enumerate(["Korean LoRA, 20 items", "English LoRA (control), 160 items"]):
        ax.plot([0, 1], [k, k], label=f"{base} + {adapter}")
    legend_below(fig, ax)
    (legend,) = fig.legends
    assert legend.get_title().get_text() == f"{base}, with:"
    assert [t.get_text() for t in legend.get_texts()][0] == "Korean LoRA, 20 items"
    data, width = figure_png(fig)
    assert width <= 6.5 * fig.dpi * 1.04
    plt.close(fig)


def test_tick_labels_are_numbers_a_reader_reads():
    assert [token_count_label(n) for n in (256, 1024, 4096, 32768, 448)] == [
        "256",
        "1K",
        "4K",
        "32K",
        "448",
    ]
    assert [mib_label(m) for m in (18, 0.5, 1024, 1536)] == [
        "18 MiB",
        "0.5 MiB",
        "1 GiB",
        "1.5 GiB",
    ]


def test_the_kv_and_latency_figures_fit_a_phone_and_say_what_swa_is():
    measured = pd.DataFrame(
        {
            "n_ctx": [1024, 1024, 32768, 32768],
            "swa_full": [True, False, True, False],
            "kv_mib": [12.0, 4.0, 384.0, 20.0],
        }
    )
    formula = pd.Series([12.0, 384.0], index=[1024, 32768])
    fig = context_figures.kv_memory_figure(measured, formula)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("sliding-window (SWA)" in label for label in labels)
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == ["1K", "32K"]
    figure_png(fig)  # raises if a phone could not read it
    plt.close(fig)
    summary = pd.DataFrame(
        {
            f"{col}_{stat}": [1.0, 2.0]
            for col in ("prompt_seconds", "generation_tokens_per_s")
            for stat in ("median", "min", "max")
        }
        | {"prompt_tokens": [256, 4096]}
    )
    fig = context_figures.latency_figure(summary)
    assert [t.get_text() for t in fig.axes[1].get_xticklabels()] == ["256", "4K"]
    figure_png(fig)
    plt.close(fig)


def test_the_timeline_has_one_row_per_release():
    from reportlib.core.sources import RELEASES

    fig = timeline_figures.timeline_figure(list(RELEASES))
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len(texts) == len(RELEASES)
    figure_png(fig)
    plt.close(fig)


def test_the_chapter_time_figure_divides_each_bar_into_its_parts():
    from reportlib.site.figures import bench as bench_figures

    seconds = {"context": 600.0, "timeline": 60.0}
    split = {
        "context": {"answers": 480.0, "scoring": None, "other": 120.0},
        "timeline": {"answers": 0.0, "scoring": None, "other": 60.0},
    }
    fig = bench_figures.chapter_time_figure(seconds, 1800, split)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["computing answers", "everything else (scoring included)"]
    # the parts of each bar add up to its chapter's minutes (timeline first: shortest)
    ends = {}
    for patch in ax.patches:
        y = round(patch.get_y() + patch.get_height() / 2)
        ends[y] = max(ends.get(y, 0.0), patch.get_x() + patch.get_width())
    assert ends == pytest.approx({0: 1.0, 1: 10.0})
    split["context"]["scoring"], split["timeline"]["scoring"] = 60.0, 0.0
    split["context"]["other"] = 60.0
    fig = bench_figures.chapter_time_figure(seconds, 1800, split)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["computing answers", "scoring likelihoods", "everything else"]
    plt.close("all")
