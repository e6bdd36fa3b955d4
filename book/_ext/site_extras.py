"""What the site adds around the chapters (a local Sphinx extension of the book).

- each chapter page links its paired ``.ipynb`` (with the stored outputs), copied into
  the site as ``_notebooks/<chapter>.ipynb``;
- every page has a description (its first paragraph, for search results and link previews);
- the footer gives the book's version, the commit it was built from and the build date;
- scripts a page would load twice (sphinx-thebe's configuration is added twice by
  Jupyter Book 1, which redeclares a ``const`` and logs a console error) are loaded once.
"""

from __future__ import annotations

import datetime
import html
import shutil
import subprocess
from pathlib import Path
from typing import Any

NOTEBOOK_DIR = "_notebooks"


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
    notebook = Path(app.srcdir) / f"{pagename}.ipynb"
    if pagename.startswith("notebooks/") and notebook.exists() and "body" in context:
        link = "../" * pagename.count("/") + f"{NOTEBOOK_DIR}/{notebook.name}"
        context["body"] += (
            '<p class="notebook-download"><small>This chapter as a Jupyter notebook, with its '
            f'stored outputs: <a href="{html.escape(link)}" download>'
            f"{html.escape(notebook.name)}</a>. Rerun it on your own model with papermill "
            "(see <em>Run it on your own models</em>).</small></p>"
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


def setup(app: Any) -> dict[str, Any]:
    app.add_config_value("site_extras_footer", "", "html")
    app.connect("builder-inited", on_builder_inited)
    app.connect("html-page-context", on_page_context)
    app.connect("build-finished", on_build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
