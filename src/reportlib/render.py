"""HTML for untrusted text: model output, corpus text, token pieces.

Everything that reaches the page goes through :func:`html.escape`; nothing here
builds markup from unescaped input.
"""

from __future__ import annotations

import html

from .tokenization import TokenPiece

_COLOURS = ("#fde68a", "#bfdbfe", "#bbf7d0", "#fbcfe8", "#ddd6fe")


def escape_text(text: str, limit: int | None = None) -> str:
    """Escape ``text`` for HTML, cutting it to ``limit`` characters (with an ellipsis)."""
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    return html.escape(text, quote=True)


def token_boundaries_html(pieces: list[TokenPiece], title: str = "") -> str:
    """Coloured token boundaries, each token's id and bytes in its tooltip."""
    spans = []
    for i, piece in enumerate(pieces):
        shown = piece.readable.replace(" ", "\u2423")  # make spaces visible: ␣
        tip = f"id {piece.token_id}: {piece.raw!r}"
        spans.append(
            f'<span title="{escape_text(tip)}" style="background:{_COLOURS[i % len(_COLOURS)]};'
            f'padding:1px 2px;margin:0 1px;border-radius:3px;font-family:monospace">'
            f"{escape_text(shown)}</span>"
        )
    head = f"<strong>{escape_text(title)}</strong> " if title else ""
    return f'<div class="token-boundaries">{head}{"".join(spans)}</div>'
