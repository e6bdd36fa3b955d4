"""HTML for untrusted text: model output, corpus text, token pieces.

Everything that reaches the page goes through :func:`html.escape`; nothing here
builds markup from unescaped input.
"""

from __future__ import annotations

import html
import re
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


_LEDGER_CELLS = ("number", "claim", "verdict", "decides", "source", "note")


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
        body.append(
            "<tr>"
            + "".join(
                f'<td class="{k}">{c}</td>' for k, c in zip(_LEDGER_CELLS, cells, strict=True)
            )
            + "</tr>"
        )
    style = (  # wide screens: fixed column shares; phones: one block per claim
        # the page that holds the ledger gives its article the whole width beside the menu
        "<style>.bd-main .bd-content .bd-article-container{max-width:none}"
        "table.claims-ledger td{vertical-align:top;overflow-wrap:break-word;"
        "word-break:normal}table.claims-ledger{table-layout:fixed!important;width:100%!important;"
        "margin:0!important}"  # the theme's output tables are auto-sized with a negative margin
        + "".join(  # fixed shares of the page's width: no column runs off the right edge
            f"table.claims-ledger th:nth-child({i}){{width:{w}%}}"
            for i, w in enumerate((4, 22, 13, 21, 10, 30), start=1)
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


#: column names of result tables and model cards, as a reader reads them (with units)
LABELS = {
    "parameters_b": "parameters (billions)",
    "size_bytes": "file size (bytes)",
    "size_label": "size",
    "n_ctx": "window (tokens)",
    "swa_full": "full-size sliding-window cache",
    "head_dim": "head dimension",
    "kv_heads": "KV heads",
    "llama_decode": "llama_decode loop",
    "llama_cpp_features": "llama.cpp CPU features",
    "llama_threads": "llama.cpp threads",
    "llama_batch": "llama.cpp batch size",
    "logical_cpus": "logical CPUs",
    "memory_gib": "memory (GiB)",
    "adapter_sha256": "adapter sha256",
    "cpu_seconds_per_token": "CPU seconds per token",
    "generation_tokens_per_s": "generation (tokens/s)",
    "prompt_tokens_per_s": "prompt processing (tokens/s)",
    "load_seconds": "load time (s)",
    "file_mib": "file (MiB)",
    "resident_mib_before": "resident memory before (MiB)",
    "resident_mib_after": "resident memory after (MiB)",
    "mean_prompt_tokens": "mean prompt (tokens)",
}

#: unit suffixes of code names, for names not in :data:`LABELS`
_SUFFIXES = (
    ("_per_s", " per second"),
    ("_seconds", " (s)"),
    ("_mib", " (MiB)"),
    ("_gib", " (GiB)"),
    ("_bytes", " (bytes)"),
    ("_ms", " (ms)"),
    ("_s", " (s)"),
)


def human_label(name: object) -> str:
    """A column or row name as a reader reads it: ``"trained_context"`` -> ``"trained
    context"``, ``"latency_ms"`` -> ``"latency (ms)"``; other text is left as it is."""
    text = str(name)
    if text in LABELS:
        return LABELS[text]
    if not all(part.isalnum() for part in text.split("_")) or "_" not in text:
        return text
    for suffix, unit in _SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)].replace("_", " ") + unit
    return text.replace("_", " ")


def format_cell(value: Any, digits: int = 2) -> str:
    """One table cell as text: ``—`` for a missing value (None, NaN, pandas' NA and NaT),
    ``yes``/``no`` for booleans, thousands separators, whole floats as integers, ``digits``
    decimals from 1 up, two significant digits below 1, no decimals from 1,000 up."""
    import math

    import numpy as np

    if _missing(value):
        return "—"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        value = float(value)
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        if value.is_integer() or abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:,.{digits}f}"
        return f"{value:.2g}" if value else "0"
    if isinstance(value, list | tuple):
        return ", ".join(format_cell(v, digits) for v in value)
    return str(value)


def _format_column(values: list[Any], digits: int) -> list[str]:
    """A column's cells, its numbers with one number of decimals where that loses nothing
    (541 beside 535.90 reads 541.00): when every number is finite, not boolean, between 1
    and 1,000 (or 0) and some are not whole. Otherwise each cell by :func:`format_cell`."""
    import math

    import numpy as np

    present = [v for v in values if not _missing(v)]
    numeric = all(
        isinstance(v, int | float | np.integer | np.floating)
        and not isinstance(v, bool | np.bool_)
        and math.isfinite(float(v))
        for v in present
    )
    if present and numeric:
        numbers = [float(v) for v in present]
        if not all(n.is_integer() for n in numbers) and all(
            n == 0 or 1 <= abs(n) < 1000 for n in numbers
        ):
            return ["—" if _missing(v) else f"{float(v):,.{digits}f}" for v in values]
    return [format_cell(v, digits) for v in values]


def _missing(value: Any) -> bool:
    """None, NaN, pandas' NA or NaT (scalars only)."""
    import pandas as pd

    if value is None:
        return True
    try:
        return bool(pd.isna(value)) if pd.api.types.is_scalar(value) else False
    except (TypeError, ValueError):
        return False


def _label(name: Any, names: dict[str, str]) -> Any:
    """A column or row name for readers; whole numbers without separators (years)."""
    import numpy as np

    if isinstance(name, tuple):
        return " ".join(str(_label(n, names)) for n in name if str(n))
    if isinstance(name, str):
        return names.get(name, human_label(name))
    if isinstance(name, int | np.integer) and not isinstance(name, bool):
        return str(int(name))
    return format_cell(name)


#: columns whose numbers are names, not quantities: shown without separators
_PLAIN_COLUMN = re.compile(r"\b(year|date|sha256|sha|id|commit)\b", re.IGNORECASE)


def _default_index(index: Any) -> bool:
    """An unnamed index of the row numbers 0..n-1 (in any order): nothing to show."""
    import pandas as pd

    if index.name is not None or isinstance(index, pd.MultiIndex):
        return False
    if isinstance(index, pd.RangeIndex):
        return True
    return pd.api.types.is_integer_dtype(index) and sorted(index) == list(range(len(index)))


def table_html(
    frame: Any,
    *,
    index: bool | None = None,
    digits: int = 2,
    labels: dict[str, str] | None = None,
    missing: str | None = None,
) -> str:
    """A result table as escaped HTML a reader can read: human column and row names
    (:func:`human_label`), formatted cells (:func:`format_cell`, one number of decimals per
    column where that loses nothing), the index only when it means something
    (``index=None``: not when it is the row numbers 0..n-1); ``missing`` (if given) is a
    sentence under the table saying what ``—`` means there."""
    import pandas as pd

    names = {**LABELS, **(labels or {})}
    if index is None:
        index = not _default_index(frame.index)
    shown = frame.copy()
    index_names = list(shown.index.names)
    shown.columns = [_label(c, names) for c in shown.columns]
    if index:
        if isinstance(shown.index, pd.MultiIndex):
            shown.index = pd.MultiIndex.from_tuples(
                [tuple(_label(v, names) for v in row) for row in shown.index]
            )
        else:
            shown.index = pd.Index([_label(i, names) for i in shown.index])
        shown.index.names = [_label(n, names) if n else None for n in index_names]

    def column(k: int) -> list[str]:
        values = list(shown.iloc[:, k])
        if _PLAIN_COLUMN.search(str(shown.columns[k])):
            return ["—" if _missing(v) else str(v) for v in values]
        return _format_column(values, digits)

    cells = pd.DataFrame({k: column(k) for k in range(shown.shape[1])}, index=shown.index)
    cells.columns = shown.columns
    body = cells.to_html(index=index, escape=True, border=0, classes="reportlib-table")
    note = f"<p><small>— : {escape_text(missing)}</small></p>" if missing else ""
    return f"{body}{note}"


def use_reader_tables() -> None:
    """Show every DataFrame a chapter displays through :func:`table_html` (in IPython)."""
    import pandas as pd

    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the book's kernel
        return
    shell = get_ipython()
    if shell is None:
        return
    html = shell.display_formatter.formatters["text/html"]
    html.for_type(pd.DataFrame, table_html)
