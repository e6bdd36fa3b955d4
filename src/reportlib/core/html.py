"""HTML for untrusted text: model output, corpus text, links. Everything that reaches the page
goes through :func:`html.escape`; nothing here builds markup from unescaped input."""

from __future__ import annotations

import html


def escape_text(text: str, limit: int | None = None) -> str:
    """Escape ``text`` for HTML, cutting it to ``limit`` characters (with an ellipsis)."""
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    return html.escape(text, quote=True)


def link_html(target: str, text: str | None = None) -> str:
    """An escaped link: URLs as they are, ``book/...``/``notebooks/...`` pages (with an
    optional ``#section`` label) as relative ``.html`` links from a page in ``notebooks/``,
    other strings as plain text."""
    shown = escape_text(text or target)
    if target.startswith(("https://", "http://")):
        href = target
    elif target.startswith(("notebooks/", "book/")):
        page, hash_mark, section = target.partition("#")
        href = "../" + page + ".html" + hash_mark + section
    else:
        return shown
    return f'<a href="{escape_text(href)}">{shown}</a>'
