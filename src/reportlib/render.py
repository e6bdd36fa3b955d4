"""HTML for untrusted text: model output, corpus text, token pieces.

Everything that reaches the page goes through :func:`html.escape`; nothing here
builds markup from unescaped input.
"""

from __future__ import annotations

import html
from typing import Any

from .tokenization import TokenPiece

_COLOURS = ("#fde68a", "#bfdbfe", "#bbf7d0", "#fbcfe8", "#ddd6fe")
#: the ledger's column of what the book's own model shows, for claims about the report's model
BOOK_MODEL_COLUMN = "this book's model shows"


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


def _evidence_link(evidence: str, citation_page: str) -> str:
    if evidence.startswith(("https://", "http://")):
        return link_html(evidence, evidence.split("/")[2])  # show the host, link the page
    if evidence.startswith(("notebooks/", "book/")):
        return link_html(evidence)
    if evidence not in ("", "—"):  # a citation key of the bibliography
        return f'<a href="{escape_text(citation_page)}">{escape_text(evidence)}</a>'
    return "—"


_VERDICT_COLOURS = {  # light fills behind dark text; the verdict is also written out
    "supported": "#cfe8ff",
    "partly true": "#fde68a",
    "refuted": "#fbd0c0",
    "not decided": "#e9d5ff",
    "not checkable": "#e5e7eb",
}


def ledger_html(rows: list[dict[str, str]], citation_page: str = "../book/references.html") -> str:
    """The claims ledger as an HTML table that wraps instead of scrolling: the claim, its
    verdict (and what the book's model shows), what decides it (rule, number, model), the
    source and the note. Every cell escaped, every source linked."""
    head = "".join(
        f"<th>{escape_text(c)}</th>"
        for c in ("#", "claim", "verdict", "what decides it", "source", "note")
    )
    body = []
    for row in rows:
        colour = _VERDICT_COLOURS.get(row["verdict"], "#ffffff")
        verdict = (
            f'<span style="background:{colour};padding:0 4px;white-space:nowrap">'
            f"{escape_text(row['verdict'])}</span>"
        )
        shows = row.get(BOOK_MODEL_COLUMN, "—")
        if shows != "—":
            verdict += f"<br><small>{escape_text(BOOK_MODEL_COLUMN)}: {escape_text(shows)}</small>"
        if row["how"] == "measured":
            decides = (
                f"<b>measured</b> on {escape_text(row['model'])}: "
                f"{escape_text(row['measured'])}<br><small>rule: {escape_text(row['rule'])}"
                "</small>"
            )
        else:
            decides = f"<b>{escape_text(row['how'])}</b>"
        claim = f"<small>{escape_text(row['section'])}</small><br>{escape_text(row['claim'])}"
        cells = [
            escape_text(row["#"]),
            claim,
            verdict,
            decides,
            "<br>".join(_evidence_link(e, citation_page) for e in row["evidence"].split()),
            escape_text(row["note"]),
        ]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    style = (  # wide screens: fixed column shares; phones: one block per claim
        "<style>table.claims-ledger td{vertical-align:top;overflow-wrap:break-word;"
        "word-break:normal}table.claims-ledger{table-layout:fixed;width:100%}"
        + "".join(  # fixed shares of the page's width: no column runs off the right edge
            f"table.claims-ledger th:nth-child({i}){{width:{w}%}}"
            for i, w in enumerate((4, 24, 14, 28, 12, 18), start=1)
        )
        + "@media (max-width:700px){table.claims-ledger,table.claims-ledger tbody,"
        "table.claims-ledger tr,table.claims-ledger td{display:block;width:auto;"
        "min-width:0!important}table.claims-ledger tr:first-child{display:none}"
        "table.claims-ledger tr{border-top:1px solid #ccc;padding:6px 0}}</style>"
    )
    return f'{style}<table class="claims-ledger"><tr>{head}</tr>{"".join(body)}</table>'


def not_measured_over_http(what: str, spec: str) -> Any:
    """A note for a chapter that ``what`` needs the model in process and was not measured
    (an IPython Markdown object, to display or glue)."""
    from IPython.display import Markdown

    return Markdown(
        f"**Not measured:** {escape_text(what)} needs the model loaded in this process "
        f"(llama.cpp's own timers and memory accounting); {escape_text(spec)} is a "
        "server, which does not report them."
    )


#: what the context chapter says in place of the in-process findings when the model is a server
NOT_MEASURED_OVER_HTTP = {
    "paragraph": "Not measured: the model is a server, which reports no timings or memory.",
    "summary": "not measured (the model is a server).",
}


def latency_findings(latency: Any) -> dict[str, str]:
    """The context chapter's sentences on prompt length and time, from its latency summary
    (one row per prompt length, shortest first)."""
    first, last = latency.iloc[0], latency.iloc[-1]
    length_ratio = last.prompt_tokens / first.prompt_tokens
    time_ratio = last.prompt_seconds_median / first.prompt_seconds_median
    return {
        "paragraph": (
            f"A {length_ratio:.0f}× longer prompt took {time_ratio:.0f}× longer to read "
            f"({first.prompt_seconds_median:.2f} s against {last.prompt_seconds_median:.1f} s): "
            "attention makes the cost grow faster than the length. Generation slows too, from "
            f"{first.generation_tokens_per_s_median:.1f} to "
            f"{last.generation_tokens_per_s_median:.1f} tokens per second, because every new "
            "token attends to the whole context."
        ),
        "summary": (
            f"reading a {length_ratio:.0f}× longer prompt took {time_ratio:.0f}× longer on "
            "this machine."
        ),
    }


def kv_findings(kv: Any, n_ctx: int) -> dict[str, str]:
    """The context chapter's sentences on KV-cache memory at the largest window ``n_ctx``,
    from its table (columns n_ctx, swa_full, kv_mib, formula_mib)."""
    big = kv[kv.n_ctx == n_ctx].set_index("swa_full")
    full, window, formula = big.kv_mib[True], big.kv_mib[False], big.formula_mib[True]
    return {
        "paragraph": (
            f"With a full-size cache, llama.cpp's figure matches the formula: at {n_ctx:,} "
            f"tokens, {full:,.0f} MiB measured against {formula:,.0f} MiB computed. When "
            "llama.cpp sizes the cache of the sliding-window layers to their window, the same "
            f"context needs only {window:,.0f} MiB."
        ),
        "summary": (
            f"the KV cache grows linearly with the window, as the formula says ({full:,.0f} MiB "
            f"at {n_ctx:,} tokens), unless the architecture limits it (sliding windows: "
            f"{window:,.0f} MiB)."
        ),
    }
