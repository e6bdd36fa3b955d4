"""What the site adds around the chapters (a local Sphinx extension of the book).

- each chapter page links its paired ``.ipynb`` (with the stored outputs), copied into
  the site as ``_notebooks/<chapter>.ipynb``;
- every page has a description (its first paragraph, for search results and link previews);
- the footer gives the book's version, the commit it was built from and the build date;
- tables with a column of running text keep that column readable: at least about 13
  characters a line on a wide screen, one block per row on a phone (``static/reportlib.css``);
- scripts a page would load twice (sphinx-thebe's configuration is added twice by
  Jupyter Book 1, which redeclares a ``const`` and logs a console error) are loaded once.
"""

from __future__ import annotations

import datetime
import html
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

NOTEBOOK_DIR = "_notebooks"
#: a table cell of at least this many characters, with a space in it, is running text (the
#: site test checks such cells for at least 12 characters a line)
TEXT_CELL_CHARACTERS = 24
#: in such a table, a cell of one word this long or shorter (a date, a number, a size) is
#: not broken across lines; a longer one (a URL) may break anywhere, so it does not take the
#: width the running text needs
WORD_CELL_CHARACTERS = 16
#: tables skipped: the claims ledger lays itself out (its own phone layout)
OWN_LAYOUT_TABLES = ("claims-ledger", "numeric-table")  # they lay themselves out
_TABLE = re.compile(r"<table\b.*?</table>", re.DOTALL | re.IGNORECASE)


def _commit(root: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _version_line(app: Any) -> str:
    from reportlib import __version__

    root = Path(app.srcdir)
    built = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    return (
        f"reportlib {html.escape(__version__)} · commit {html.escape(_commit(root))} · "
        f"built {built} · text under CC BY 4.0, code under the MIT licence "
        '(<a href="{license}">licences</a>)'
    )


def _unique_scripts(scripts: list[Any]) -> list[Any]:
    """The scripts, each (same file, same attributes, whatever its priority) once."""
    seen, kept = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        filename = str(getattr(script, "filename", script) or "")  # None and "" both mean inline
        key = (filename, tuple(sorted(attributes.items())))
        if key in seen:
            continue
        seen.add(key)
        kept.append(script)
    return kept


def _cell_text(cell: Any) -> str:
    """A parsed cell's text, its runs of white space made single spaces."""
    return " ".join(cell.get_text(" ", strip=True).split())


def _header_labels(table: Any) -> list[str]:
    """The column names of a parsed table, one per column (colspans repeated), from the
    last header row (pandas writes the index name in a second one, which is left out)."""
    rows = table.thead.find_all("tr") if table.thead else table.find_all("tr")[:1]
    rows = [r for r in rows if any(c.get_text(strip=True) for c in r.find_all(["th", "td"]))]
    if not rows:
        return []
    labels: list[str] = []
    for cell in rows[0].find_all(["th", "td"], recursive=False):
        labels += [_cell_text(cell)] * int(cell.get("colspan", 1) or 1)
    return labels


def mark_text_table(fragment: str) -> str:
    """One ``<table>`` with its running-text cells marked ``text-cell`` (and its one-word
    cells ``word-cell`` or ``long-word-cell``), the table marked ``text-table`` and every
    body cell given its column's name (``data-label``); a table without running text, or
    one that lays itself out, comes back unchanged."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(fragment, "html.parser")
    table = soup.find("table")
    if table is None or set(table.get("class") or []) & set(OWN_LAYOUT_TABLES):
        return fragment
    kinds = {}  # id of a cell -> its kind; cells of a few words get none
    cells = table.find_all(["td", "th"])
    for cell in cells:
        text = _cell_text(cell)
        if " " in text:
            if cell.name == "td" and len(text) >= TEXT_CELL_CHARACTERS:
                kinds[id(cell)] = "text-cell"
        elif text:  # one word: a date, a number, a URL
            kinds[id(cell)] = "word-cell" if len(text) <= WORD_CELL_CHARACTERS else "long-word-cell"
    if "text-cell" not in kinds.values():
        return fragment
    for cell in cells:
        if id(cell) in kinds:
            cell["class"] = [*(cell.get("class") or []), kinds[id(cell)]]
    table["class"] = [*(table.get("class") or []), "text-table"]
    labels = _header_labels(table)
    body_rows = table.tbody.find_all("tr") if table.tbody else table.find_all("tr")[1:]
    for row in body_rows:
        for index, cell in enumerate(row.find_all(["th", "td"], recursive=False)):
            if index < len(labels) and labels[index] and not cell.has_attr("data-label"):
                cell["data-label"] = labels[index]
    return str(soup)


def mark_text_tables(body: str) -> str:
    """Every table of a page's body through :func:`mark_text_table` (tables only: the rest
    of the page is not parsed, so nothing else can change)."""
    return _TABLE.sub(lambda m: mark_text_table(m.group(0)), body)


def _first_paragraph(doctree: Any, limit: int = 200) -> str:
    """The page's first paragraph as plain text, cut at ``limit`` characters."""
    if doctree is None:
        return ""
    from docutils import nodes

    for paragraph in doctree.findall(nodes.paragraph):
        text = " ".join(paragraph.astext().split())
        if len(text) > 40:
            return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"
    return ""


def on_page_context(
    app: Any, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    if "script_files" in context:
        context["script_files"] = _unique_scripts(context["script_files"])
    license_page = app.builder.get_relative_uri(pagename, "book/license")
    context["theme_extra_footer"] = app.config.site_extras_footer.replace("{license}", license_page)
    description = _first_paragraph(doctree)
    if description and "metatags" in context:
        context["metatags"] += f'\n<meta name="description" content="{html.escape(description)}">'
    if "body" in context:
        context["body"] = mark_text_tables(context["body"])
    notebook = Path(app.srcdir) / f"{pagename}.ipynb"
    if pagename.startswith("notebooks/") and notebook.exists() and "body" in context:
        link = "../" * pagename.count("/") + f"{NOTEBOOK_DIR}/{notebook.name}"
        own_models = app.builder.get_relative_uri(pagename, "book/run-your-models")
        context["body"] += (
            '<p class="notebook-download"><small>This chapter as a Jupyter notebook, with its '
            f'stored outputs: <a href="{html.escape(link)}" download>'
            f"{html.escape(notebook.name)}</a>. Rerun it on your own model with papermill "
            f'(see <a href="{html.escape(own_models)}">Run it on your own models</a>).'
            "</small></p>"
        )


def on_build_finished(app: Any, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir) / NOTEBOOK_DIR
    out.mkdir(parents=True, exist_ok=True)
    for notebook in sorted((Path(app.srcdir) / "notebooks").glob("*.ipynb")):
        shutil.copyfile(notebook, out / notebook.name)


def on_builder_inited(app: Any) -> None:
    app.config.site_extras_footer = _version_line(app)


def on_config_inited(app: Any, config: Any) -> None:
    config.html_static_path = [*config.html_static_path, str(Path(__file__).parent / "static")]


def setup(app: Any) -> dict[str, Any]:
    app.add_config_value("site_extras_footer", "", "html")
    app.connect("config-inited", on_config_inited)
    app.connect("builder-inited", on_builder_inited)
    app.add_css_file("reportlib.css")
    app.connect("html-page-context", on_page_context)
    app.connect("build-finished", on_build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
