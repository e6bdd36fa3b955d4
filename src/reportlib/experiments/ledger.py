"""The claims ledger as an HTML table: every cell escaped, every source linked, one block per
claim on a phone."""

from __future__ import annotations

from reportlib.core.html import escape_text, link_html

#: the ledger's column of what the book's own model shows, for claims about the report's model
BOOK_MODEL_COLUMN = "this book's model shows"

#: beside the verdict of a measured claim whose rule cannot fail (not counted as evidence)
DEFINITIONAL_MARK = "by definition: its rule cannot fail, so it is not counted as evidence"


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
    verdict (marked where it holds by definition, and what the book's model shows), what
    decides it (rule, number, model), the
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
