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


def link_html(target: str, text: str | None = None) -> str:
    """An escaped link: URLs as they are, ``book/...``/``notebooks/...`` pages as relative
    ``.html`` links from a page in ``notebooks/``, other strings as plain text."""
    shown = escape_text(text or target)
    if target.startswith(("https://", "http://")):
        href = target
    elif target.startswith(("notebooks/", "book/")):
        href = "../" + target + ".html"
    else:
        return shown
    return f'<a href="{escape_text(href)}">{shown}</a>'


def ledger_html(rows: list[dict[str, str]], citation_page: str = "../book/references.html") -> str:
    """The claims ledger as an HTML table, every cell escaped, evidence linked."""
    colours = {"supported": "#bbf7d0", "partly true": "#fde68a", "refuted": "#fecaca",
               "not checkable": "#e5e7eb"}  # fmt: skip
    head = "".join(f"<th>{escape_text(c)}</th>" for c in ("#", "section", "claim", "verdict",
                                                           "how", "evidence", "note"))  # fmt: skip
    body = []
    for row in rows:
        evidence = row["evidence"]
        if evidence.startswith(("https://", "http://")):
            link = link_html(evidence, evidence.split("/")[2])  # show the host, link the page
        elif evidence.startswith(("notebooks/", "book/")):
            link = link_html(evidence)
        elif evidence not in ("", "—"):  # a citation key of the bibliography
            link = f'<a href="{escape_text(citation_page)}">{escape_text(evidence)}</a>'
        else:
            link = "—"
        colour = colours.get(row["verdict"], "#ffffff")
        cells = [escape_text(row["#"]), escape_text(row["section"]), escape_text(row["claim"]),
                 f'<span style="background:{colour};padding:0 4px">{escape_text(row["verdict"])}</span>',
                 escape_text(row["how"]), link, escape_text(row["note"])]  # fmt: skip
        widths = ("", "", "min-width:16em", "", "", "", "min-width:14em")
        body.append(
            "<tr>"
            + "".join(
                f'<td style="{w}">{c}</td>' if w else f"<td>{c}</td>"
                for w, c in zip(widths, cells, strict=True)
            )
            + "</tr>"
        )
    return f'<table class="claims-ledger"><tr>{head}</tr>{"".join(body)}</table>'


def not_measured_over_http(what: str, spec: str) -> None:
    """Say in a chapter that ``what`` needs the model in process and was not measured."""
    from IPython.display import Markdown, display

    display(Markdown(
        f"**Not measured:** {escape_text(what)} needs the model loaded in this process "
        f"(llama.cpp's own timers and memory accounting); {escape_text(spec)} is a "
        "server, which does not report them."
    ))  # fmt: skip
