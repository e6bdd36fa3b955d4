"""The probe's tables as a reader sees them: quality shares per style, rates with intervals,
and escaped sample answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from reportlib.core.html import escape_text
from reportlib.core.languages import LANGUAGES
from reportlib.core.stats import rate_text


def quality_table(
    results: pd.DataFrame, style_labels: dict[str, str], by: Sequence[str] = ("style",)
) -> pd.DataFrame:
    """Per prompt style (and whatever else ``by`` names, e.g. the decoding): the share of
    answers that are real answers, loops, echoes, gibberish or empty (in % of the row's
    answers)."""
    reasons = results["degenerate_reason"].replace("", "answer")
    keys = [results[k] for k in by]
    table = pd.crosstab(keys, reasons, normalize="index") * 100
    columns = [c for c in ("answer", "loop", "echo", "gibberish", "empty") if c in table]
    table = table.reindex(columns=columns)
    styles = [s for s in style_labels if s in set(results["style"])]
    position = {s: i for i, s in enumerate(styles)}
    order = sorted(
        table.index,
        key=lambda k: [position.get(v, -1) for v in (k if isinstance(k, tuple) else (k,))],
    )
    table = table.loc[order]
    table.index = [
        ", ".join(style_labels.get(v, str(v)) for v in (k if isinstance(k, tuple) else (k,)))
        for k in table.index
    ]
    table.columns.name = None
    return table.round(0).astype(int).astype(str) + "%"


#: a model-output cell keeps the answer's line breaks as text (no markup inside it)
ANSWER_CELL = "<td class='model-output' style='white-space:pre-wrap'>{}</td>"


def _answer_cell(text: str, limit: int) -> str:
    """An answer as a table cell: escaped, cut to ``limit`` characters, its line breaks kept
    by the cell's ``white-space:pre-wrap`` (a ``<br>`` would be markup inside model output)."""
    return ANSWER_CELL.format(escape_text(text, limit))


def sample_answers_html(
    results: pd.DataFrame,
    per_group: int = 1,
    limit: int = 200,
    by: Sequence[str] = ("style",),
) -> str:
    """Answers per report group and per value of each column of ``by`` (every style, and
    the decoding when asked), escaped and cut, line breaks kept, as an HTML table with the
    judge's verdict and the quality labels."""
    columns = ["group", "language", *by, "answer", "language judged", "quality"]
    head = "<tr>" + "".join(f"<th>{escape_text(c)}</th>" for c in columns) + "</tr>"
    body = []
    for group in dict.fromkeys(lang.report_group for lang in LANGUAGES):
        part = results[results.group == group]
        for _, cell in part.groupby(list(by), sort=False):
            for _, row in cell.iloc[::7].head(per_group).iterrows():
                judged = f"{'on' if row.on_language else 'off'} ({row.detected_language})"
                quality = row.get("degenerate_reason") or "answer"
                if row.get("self_intro"):
                    quality += ", first person"
                values = [group, row["name"], *(row[k] for k in by)]
                cells = [f"<td>{escape_text(str(v), limit)}</td>" for v in values]
                cells.append(_answer_cell(str(row["answer"]), limit))
                cells += [f"<td>{escape_text(v)}</td>" for v in (judged, quality)]
                body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="probe-samples">{head}{"".join(body)}</table>'


def languages_answers_html(asked: Sequence[Any], name_of: Any) -> Any:
    """The answers to "which languages can you use?" as an HTML table: asked in, decoding
    and seed, the answer (escaped, line breaks kept) and the probed languages it names."""
    from IPython.display import HTML

    head = "<tr><th>asked in</th><th>decoding</th><th>answer</th><th>languages named</th></tr>"
    rows = []
    for a in asked:
        decoding = a.decoding if a.decoding == "greedy" else f"{a.decoding}, seed {a.seed}"
        named = ", ".join(name_of(code).name for code in a.named) or "none"
        rows.append(
            f"<tr><td>{escape_text(name_of(a.asked_in).name)}</td><td>{escape_text(decoding)}"
            f"</td>{_answer_cell(a.answer, 400)}"
            f"<td>{escape_text(named)}</td></tr>"
        )
    return HTML(f'<table class="languages-asked">{head}{"".join(rows)}</table>')


def format_rates(
    rates: pd.DataFrame, index: str, columns: str, labels: dict[str, str] | None = None
) -> pd.DataFrame:
    """A readable pivot: ``"67% (21–94%)"`` per cell, rate with its 95% interval."""
    triples = zip(rates.rate, rates.low, rates.high, strict=True)
    text = [rate_text(r, lo, hi) for r, lo, hi in triples]
    wide = rates.assign(cell=text).pivot(index=index, columns=columns, values="cell")
    wide = wide.loc[list(dict.fromkeys(rates[index]))]  # keep the order of the results
    wide = wide[[c for c in (labels or {}) if c in wide.columns] or list(wide.columns)]
    wide.columns.name = None
    return wide.rename(columns=labels or {})
