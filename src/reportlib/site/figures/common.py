"""What every figure shares: the PNG it becomes (drawn at twice its shown size, with the size
of its smallest text written into it) and glueing it."""

from __future__ import annotations

import os
import textwrap
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from reportlib.core.errors import ReportlibError

#: pixels per displayed pixel of the book's figures: sharp on high-density screens
FIGURE_SCALE = 2
#: the PNG text key holding the height of the figure's smallest text, in the PNG's own
#: pixels; the site test scales it by the width the page shows the figure at
MIN_TEXT_KEY = "reportlib:min-text-px"
#: the smallest text a figure may show, in CSS pixels, at either width the site test uses
MIN_SHOWN_TEXT_PX = 8.0
#: the smallest font a figure may use (points): at least MIN_SHOWN_TEXT_PX when a phone's
#: column (about 355 px of a 412-px screen) shows a MAX_FIGURE_INCHES figure at about 55%
MIN_FIGURE_POINTS = 11.0
#: the widest a figure is drawn (inches at the book's 100 dpi): the desktop column is about
#: 690 px, a phone's about 355 px, so a figure this wide is shown at about 55% on a phone
MAX_FIGURE_INCHES = 6.5


def smallest_text_points(fig: Figure) -> float:
    """The font size (points) of the smallest visible, non-empty text of ``fig``."""
    from matplotlib.text import Text

    sizes = [
        t.get_fontsize()
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip() and t.get_figure() is not None
    ]
    return float(min(sizes)) if sizes else 0.0


def token_count_label(n: float) -> str:
    """A token count as a tick label: ``256``, ``4K``, ``32K`` (K = 1,024 tokens), never
    ``2^8``."""
    n = float(n)
    if n >= 1024 and n % 1024 == 0:
        return f"{n / 1024:g}K"
    return f"{n:,.0f}"


def mib_label(mib: float) -> str:
    """A memory size in MiB as a tick label: ``18 MiB``, ``1.5 GiB``, never ``2^4``."""
    mib = float(mib)
    if mib >= 1024:
        return f"{mib / 1024:g} GiB"
    return f"{mib:g} MiB"


def log2_ticks(ax: Any, axis: str, values: Any, label: Any) -> None:
    """Ticks of a log-2 ``axis`` ("x" or "y") at ``values``, labelled by ``label``, no minor
    labels."""
    from matplotlib.ticker import FixedLocator, NullFormatter

    values = sorted(set(float(v) for v in values))
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(FixedLocator(values))
    target.set_ticklabels([label(v) for v in values])
    target.set_minor_formatter(NullFormatter())


# about the characters of 11-point legend text a 6.5-inch figure holds in one line
LEGEND_LINE_CHARACTERS = 72


def legend_below(fig: Figure, ax: Any, ncol: int = 2, title: str | None = None) -> None:
    """The legend of ``ax`` under the figure, where it covers nothing (the figure must use
    ``layout="constrained"``)."""
    handles, labels = ax.get_legend_handles_labels()
    shared = os.path.commonprefix(labels) if len(labels) > 1 else ""
    shared = shared[: shared.rfind(" + ") + 3] if " + " in shared else ""
    if shared and title is None:  # "base + adapter a", "base + adapter b": the base once
        title, labels = shared.removesuffix(" + ") + ", with:", [x[len(shared) :] for x in labels]
    labels = [textwrap.fill(label, LEGEND_LINE_CHARACTERS - 10) for label in labels]
    longest = max((len(line) for label in labels for line in label.splitlines()), default=1)
    ncol = max(1, min(ncol, LEGEND_LINE_CHARACTERS // max(longest, 1)))  # long labels stack
    fig.legend(handles, labels, loc="outside lower center", ncol=ncol, frameon=False, title=title)


def figure_png(fig: Figure, scale: int = FIGURE_SCALE) -> tuple[bytes, int]:
    """The figure as PNG at ``scale`` times its dpi, and the width to display it at (px).

    A figure wider than :data:`MAX_FIGURE_INCHES` or with text smaller than
    :data:`MIN_FIGURE_POINTS` is refused: on a phone its text would be unreadable."""
    import io

    points = smallest_text_points(fig)
    if 0 < points < MIN_FIGURE_POINTS:
        raise ReportlibError(
            f"a figure uses {points:g}-point text; the book's figures use at least "
            f"{MIN_FIGURE_POINTS:g} points, readable on a phone"
        )
    buffer = io.BytesIO()
    dpi = fig.dpi * scale
    text_px = points * dpi / 72
    fig.savefig(
        buffer,
        format="png",
        dpi=dpi,
        bbox_inches="tight",
        metadata={"Software": None, MIN_TEXT_KEY: f"{text_px:.2f}"},
    )
    data = buffer.getvalue()
    width = int.from_bytes(data[16:20], "big")  # the PNG header's IHDR width
    if width / scale > MAX_FIGURE_INCHES * fig.dpi * 1.04:
        raise ReportlibError(
            f"a figure is {width / scale / fig.dpi:.1f} inches wide; the book's figures are at "
            f"most {MAX_FIGURE_INCHES:g}, so that a phone shows their text at a readable size"
        )
    return data, width // scale


def glue_figure(name: str, fig: Figure) -> None:
    """Glue a figure for ``{glue:figure}`` as a 2x PNG shown at 1x, and close it."""
    from IPython.display import Image
    from myst_nb import glue

    data, width = figure_png(fig)
    glue(name, Image(data=data, format="png", width=width), display=False)
    plt.close(fig)
