"""The claims ledger as an HTML table: every cell escaped, every source linked, one block per
claim on a phone."""

from __future__ import annotations

from reportlib.core.html import FILTER_SCRIPT, escape_text, filter_box_html, link_html

#: the ledger's column of what the book's own model shows, for claims about the report's model
BOOK_MODEL_COLUMN = "this book's model shows"

#: beside the verdict of a measured claim whose rule cannot fail (not counted as evidence)
DEFINITIONAL_MARK = "by definition: its rule cannot fail, so it is not counted as evidence"


def _evidence_link(evidence: str, citation_page: str, labels: dict[str, str]) -> str:
    if evidence.startswith(("https://", "http://")):
        return link_html(evidence, evidence.split("/")[2])  # show the host, link the page
    if evidence.startswith(("notebooks/", "book/")):
        return link_html(evidence)
    if evidence not in ("", "—"):  # a citation key: its entry, by its number there
        shown = f"[{labels[evidence]}]" if evidence in labels else evidence
        target = f"{citation_page}#cite-{evidence}"
        return f'<a href="{escape_text(target)}">{escape_text(shown)}</a>'
    return "—"


_VERDICT_COLOURS = {  # light fills behind dark text; the verdict is also written out
    "supported": "#cfe8ff",
    "partly true": "#fde68a",
    "refuted": "#fbd0c0",
    "not decided": "#e9d5ff",
    "not checkable": "#e5e7eb",
}


_LEDGER_CELLS = ("number", "claim", "verdict", "decides", "source", "note")


#: the ledger's filters: (label, the row attribute they filter on)
_FILTERS = (("verdict", "verdict"), ("section", "section"), ("measured on", "model"))


def _row_model(row: dict[str, str]) -> str:
    return row["model"] if row.get("how") == "measured" and row.get("model") else "not measured"


def _filters_html(rows: list[dict[str, str]]) -> str:
    """One select per filter, its options the values the rows have, in the rows' order."""
    values = {
        "verdict": [r["verdict"] for r in rows],
        "section": [r["section"] for r in rows],
        "model": [_row_model(r) for r in rows],
    }
    return filter_box_html(
        [(label, name, values[name]) for label, name in _FILTERS], "ledger-filters"
    )


def ledger_html(
    rows: list[dict[str, str]],
    citation_page: str = "../book/references.html",
    labels: dict[str, str] | None = None,
) -> str:
    """The claims ledger as an HTML table that wraps instead of scrolling: the claim, its
    verdict (marked where it holds by definition, and what the book's model shows), what
    decides it (rule, number, model), the source and the note. Every cell escaped, every
    source linked; each row has an anchor (``#claim-7``) and carries its verdict, section and
    model, which filters above the table select on (shown by a small script; without it the
    whole table is there); the header stays in view while the table scrolls by. A cited
    source is shown as its number on the References page (``labels``, from
    :func:`~reportlib.core.sources.citation_labels`) and links to its entry."""
    labels = labels or {}
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
        if row.get("definitional") == "yes":
            verdict += f"<br><small>{DEFINITIONAL_MARK}</small>"
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
        anchor = f"claim-{escape_text(row['#'])}"
        cells = [
            f'<a href="#{anchor}" title="link to this claim">{escape_text(row["#"])}</a>',
            claim,
            verdict,
            decides,
            "<br>".join(_evidence_link(e, citation_page, labels) for e in row["evidence"].split()),
            escape_text(row["note"]),
        ]
        data = (
            f'data-verdict="{escape_text(row["verdict"])}" '
            f'data-section="{escape_text(row["section"])}" '
            f'data-model="{escape_text(_row_model(row))}"'
        )
        body.append(
            f'<tr id="{anchor}" {data}>'
            + "".join(
                f'<td class="{k}">{c}</td>' for k, c in zip(_LEDGER_CELLS, cells, strict=True)
            )
            + "</tr>"
        )
    style = (  # wide screens: fixed column shares; phones: one block per claim
        # the page that holds the ledger gives its article the whole width beside the menu
        "<style>.bd-main .bd-content .bd-article-container{max-width:none}"
        # the header stays in view of the page, not of the output's scroll box (where its
        # offset for the page's top bar would move it down over the first rows); the ledger
        # fits the width, so the box has nothing to scroll
        ".output:has(table.claims-ledger),.cell_output:has(table.claims-ledger)"
        "{overflow:visible!important}"
        "table.claims-ledger td{vertical-align:top;overflow-wrap:break-word;"
        "word-break:normal}table.claims-ledger{table-layout:fixed!important;width:100%!important;"
        "margin:0!important}"  # the theme's output tables are auto-sized with a negative margin
        "table.claims-ledger thead th{position:sticky;top:var(--pst-header-height,0);"
        "background:var(--pst-color-background,#fff);z-index:1}"  # the header stays in view
        "table.claims-ledger tr:target{outline:2px solid #0072B2}"  # a linked row is marked
        ".ledger-filters{margin:0 0 .5em}.ledger-filters label{margin-right:1em;white-space:nowrap}"
        ".ledger-filters select{max-width:16em}"
        + "".join(  # fixed shares of the page's width: no column runs off the right edge
            f"table.claims-ledger th:nth-child({i}){{width:{w}%}}"
            for i, w in enumerate((4, 21, 12, 20, 13, 30), start=1)
        )
        + "@media (max-width:700px){table.claims-ledger,table.claims-ledger tbody,"
        "table.claims-ledger tr,table.claims-ledger td{display:block;width:auto;"
        "min-width:0!important}table.claims-ledger thead{display:none}"
        "table.claims-ledger tr{border-top:1px solid #ccc;padding:6px 0}"
        "table.claims-ledger tr[hidden]{display:none}.ledger-filters select{max-width:100%}}"
        "</style>"
    )
    return (
        f"{style}{_filters_html(rows)}<script>{FILTER_SCRIPT}</script>"
        f'<table class="claims-ledger"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )
