"""HTML for untrusted text: model output, corpus text, token pieces.

Everything that reaches the page goes through :func:`html.escape`; nothing here
builds markup from unescaped input.
"""

from __future__ import annotations

import re
from typing import Any

from reportlib.core.html import escape_text

#: column names of result tables and model cards, as a reader reads them (with units)
COLUMN_LABELS = {
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

#: unit suffixes of code names, for names not in :data:`COLUMN_LABELS`
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
    if text in COLUMN_LABELS:
        return COLUMN_LABELS[text]
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


def _index_names_in_header(html: str, levels: int) -> str:
    """pandas writes a named index's names in a second header row of their own, empty
    besides them; they go into the header's empty corner cells instead."""
    head = re.search(r"<thead>(.*?)</thead>", html, re.S)
    if head is None:
        return html
    rows = re.findall(r"<tr[^>]*>.*?</tr>", head.group(1), re.S)
    if len(rows) != 2:
        return html
    names = re.findall(r"<th[^>]*>(.*?)</th>", rows[1], re.S)
    if len(names) < levels or any(n.strip() for n in names[levels:]):
        return html
    first = rows[0]
    for name in names[:levels]:
        first = first.replace("<th></th>", f"<th>{name}</th>", 1)
    merged = head.group(1).replace(rows[1], "").replace(rows[0], first)
    merged = re.sub(r"\n\s*\n", "\n", merged)
    return html[: head.start(1)] + merged + html[head.end(1) :]


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

    names = {**COLUMN_LABELS, **(labels or {})}
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
    # a frame marked attrs["numeric"] keeps its columns on a phone (scrolled sideways) instead
    # of showing each row as a block: a table of numbers reads better so (book/_ext)
    classes = "reportlib-table numeric-table" if frame.attrs.get("numeric") else "reportlib-table"
    body = cells.to_html(index=index, escape=True, border=0, classes=classes)
    if index:
        body = _index_names_in_header(body, shown.index.nlevels)
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
