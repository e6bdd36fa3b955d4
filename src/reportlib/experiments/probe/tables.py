"""The probe's tables as a reader sees them: quality shares per style, rates with intervals,
and escaped sample answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from reportlib.core.html import FILTER_SCRIPT, escape_text, filter_box_html
from reportlib.core.languages import LANGUAGES, detected_name
from reportlib.core.stats import rate_text
from reportlib.experiments.probe.prompts import PROMPT_STYLES


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
ANSWER_CELL = "<td class='model-output' style='white-space:pre-wrap'{}>{}</td>"

#: answer tables on a phone: one block per row, each cell under its column's name (from the
#: cell's ``data-label``), so that no column is squeezed to a few characters a line
STACKED_STYLE = (
    "<style>@media (max-width:700px){{table.{0},table.{0} tbody,table.{0} tr,table.{0} td"
    "{{display:block;width:auto}}table.{0} thead{{display:none}}"
    "table.{0} tr{{border-top:1px solid #ccc;padding:6px 0}}"
    "table.{0} td::before{{content:attr(data-label);display:block;font-weight:600;"
    "font-size:85%}}}}</style>"
)


def _cell(text: str, label: str, limit: int | None = None) -> str:
    """One escaped cell with its column's name for the phone layout."""
    return f'<td data-label="{escape_text(label)}">{escape_text(text, limit)}</td>'


def _answer_cell(text: str, limit: int | None) -> str:
    """An answer as a table cell: escaped, cut to ``limit`` characters, its line breaks kept
    by the cell's ``white-space:pre-wrap`` (a ``<br>`` would be markup inside model output)."""
    return ANSWER_CELL.format(' data-label="answer"', escape_text(text, limit))


def sample_answers_html(
    results: pd.DataFrame,
    per_group: int = 1,
    limit: int = 200,
    by: Sequence[str] = ("style",),
    value_labels: dict[str, dict[str, str]] | None = None,
) -> str:
    """Answers per report group and per value of each column of ``by`` (every style, and
    the decoding when asked), escaped and cut, line breaks kept, as an HTML table with the
    judge's verdict (the language it heard, by name) and the quality labels. The values of
    ``by`` are shown through ``value_labels`` (the prompt styles by their names by default);
    on a phone each answer is a block of its own."""
    labels = {"style": PROMPT_STYLES, **(value_labels or {})}
    columns = ["group", "language", *by, "answer", "language judged", "quality"]
    head = "<tr>" + "".join(f"<th>{escape_text(c)}</th>" for c in columns) + "</tr>"
    body = []
    for group in dict.fromkeys(lang.report_group for lang in LANGUAGES):
        part = results[results.group == group]
        for _, cell in part.groupby(list(by), sort=False):
            for _, row in cell.iloc[::7].head(per_group).iterrows():
                heard = detected_name(str(row.detected_language))
                judged = f"{'on' if row.on_language else 'off'} ({heard})"
                quality = row.get("degenerate_reason") or "answer"
                if row.get("self_intro"):
                    quality += ", first person"
                values = [group, row["name"], *(labels.get(k, {}).get(row[k], row[k]) for k in by)]
                cells = [_cell(str(v), c, limit) for v, c in zip(values, columns, strict=False)]
                cells.append(_answer_cell(str(row["answer"]), limit))
                cells += [_cell(judged, "language judged"), _cell(quality, "quality")]
                body.append("<tr>" + "".join(cells) + "</tr>")
    style = STACKED_STYLE.format("probe-samples")
    return (
        f'{style}<table class="probe-samples"><thead>{head}</thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


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
            f"<tr>{_cell(name_of(a.asked_in).name, 'asked in')}{_cell(decoding, 'decoding')}"
            f"{_answer_cell(a.answer, 400)}{_cell(named, 'languages named')}</tr>"
        )
    style = STACKED_STYLE.format("languages-asked")
    return HTML(
        f'{style}<table class="languages-asked"><thead>{head}</thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


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


def answer_label(row: Any) -> str:
    """One label per answer, as the probe's labels decide it: a good answer, or why not."""
    if bool(row.get("good")):
        return "good answer"
    reason = row.get("degenerate_reason") or ""
    if reason:
        return str(reason)
    return "other language" if not bool(row.get("on_language")) else "not good"


#: the answer browser's filters: (label, column of the browser's rows)
BROWSER_FILTERS = (
    ("language", "language"),
    ("style", "style"),
    ("model", "model"),
    ("decoding", "decoding"),
    ("label", "label"),
)


def answer_browser_html(
    results: pd.DataFrame, value_labels: dict[str, dict[str, str]] | None = None
) -> str:
    """Every answer of the probe as one static table: language, prompt style, model,
    decoding, prompt variant, label and the whole answer (escaped, line breaks kept), with
    filters by language, style, model, decoding and label (a small script; without it the
    whole table is there, and on a phone each answer is a block)."""
    labels = {"style": PROMPT_STYLES, **(value_labels or {})}
    rows = []
    for _, row in results.iterrows():
        rows.append(
            {
                "language": str(row["name"]),
                "style": labels.get("style", {}).get(row["style"], str(row["style"])),
                "model": str(row["model"]),
                "decoding": labels.get("decoding", {}).get(row["decoding"], str(row["decoding"])),
                "variant": str(int(row["sample"]) + 1),
                "label": answer_label(row),
                "answer": str(row["answer"]),
            }
        )
    box = filter_box_html(
        [(label, name, [r[name] for r in rows]) for label, name in BROWSER_FILTERS],
        "answer-filters",
    )
    head = "".join(
        f"<th>{escape_text(c)}</th>"
        for c in ("language", "style", "model", "decoding", "variant", "label", "answer")
    )
    body = []
    for r in rows:
        data = " ".join(f'data-{name}="{escape_text(r[name])}"' for _, name in BROWSER_FILTERS)
        cells = [_cell(r[c], c) for c in ("language", "style", "model", "decoding", "variant")]
        cells.append(_cell(r["label"], "label"))
        cells.append(_answer_cell(r["answer"], None))
        body.append(f"<tr {data}>{''.join(cells)}</tr>")
    style = STACKED_STYLE.format("answer-browser") + (
        "<style>.answer-filters{margin:0 0 .5em}.answer-filters label{margin-right:1em;"
        "white-space:nowrap}.answer-filters select{max-width:14em}</style>"
    )
    return (
        f"{style}{box}<script>{FILTER_SCRIPT}</script>"
        f'<table class="answer-browser"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )
