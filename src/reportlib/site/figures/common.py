"""What every figure shares: the PNG it becomes (drawn at twice its shown size) and glueing it."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

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
