"""HTML for untrusted text: model output, corpus text, links. Everything that reaches the page
goes through :func:`html.escape`; nothing here builds markup from unescaped input."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence


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


#: shows a filter box (the element before the script) and applies its selects to the rows of
#: the table after the script (``data-NAME`` of each row); without it the whole table is there
FILTER_SCRIPT = """
(function () {
  var script = document.currentScript;
  var box = script.previousElementSibling;
  var table = script.nextElementSibling;
  var selects = box.querySelectorAll("select");
  function apply() {
    table.querySelectorAll("tbody tr").forEach(function (row) {
      var shown = true;
      selects.forEach(function (s) {
        if (s.value && row.dataset[s.name] !== s.value) { shown = false; }
      });
      row.hidden = !shown;
    });
  }
  selects.forEach(function (s) { s.addEventListener("change", apply); });
  box.hidden = false;
})();
"""


def filter_box_html(filters: Sequence[tuple[str, str, Iterable[str]]], css_class: str) -> str:
    """A hidden box of selects, one per ``(label, name, values)``: its options the distinct
    values in their order, plus "all"; :data:`FILTER_SCRIPT`, placed after the box and
    before the table, shows it and filters the table's rows by their ``data-NAME``."""
    parts = []
    for label, name, values in filters:
        options = "".join(
            f'<option value="{escape_text(v)}">{escape_text(v)}</option>'
            for v in dict.fromkeys(values)
        )
        parts.append(
            f'<label>{escape_text(label)} <select name="{escape_text(name)}">'
            f'<option value="">all</option>{options}</select></label>'
        )
    return f'<div class="{escape_text(css_class)}" hidden>Show only: ' + " ".join(parts) + "</div>"
