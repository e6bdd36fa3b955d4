"""The probe's tables as a reader sees them: quality shares per style, rates with intervals,
and escaped sample answers."""

from __future__ import annotations

import pandas as pd

from reportlib.core.html import escape_text
from reportlib.core.languages import LANGUAGES
from reportlib.core.stats import rate_text


def quality_table(results: pd.DataFrame, style_labels: dict[str, str]) -> pd.DataFrame:
    """Per prompt style: the share of answers that are empty, loops, echoes or real
    continuations (rows: styles, in % of that style's answers)."""
    reasons = results["degenerate_reason"].replace("", "real continuation")
    table = pd.crosstab(results["style"], reasons, normalize="index") * 100
    columns = [c for c in ("real continuation", "loop", "echo", "empty") if c in table]
    table = table.reindex(columns=columns).reindex([s for s in style_labels if s in table.index])
    table.index = [style_labels[s] for s in table.index]
    table.columns.name = None
    return table.round(0).astype(int).astype(str) + "%"


def sample_answers_html(results: pd.DataFrame, per_group: int = 2, limit: int = 160) -> str:
    """A few answers per report group, escaped and truncated, as an HTML table with the
    judge's verdict and the quality labels."""
    head = (
        "<tr><th>group</th><th>language</th><th>style</th><th>answer</th><th>language "
        "judged</th><th>quality</th></tr>"
    )
    body = []
    for group in dict.fromkeys(lang.report_group for lang in LANGUAGES):
        part = results[results.group == group].iloc[::7].head(per_group)
        for _, row in part.iterrows():
            judged = f"{'on' if row.on_language else 'off'} ({row.detected_language})"
            quality = row.get("degenerate_reason") or "real"
            if row.get("self_intro"):
                quality += ", first person"
            body.append(
                "<tr>"
                + "".join(
                    ("<td class='model-output'>" if k == 3 else "<td>")
                    + f"{escape_text(str(v), limit)}</td>"
                    for k, v in enumerate(
                        (group, row["name"], row["style"], row["answer"], judged, quality)
                    )
                )
                + "</tr>"
            )
    return f'<table class="probe-samples">{head}{"".join(body)}</table>'


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
