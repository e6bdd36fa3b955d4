"""The site's own Sphinx extension (book/_ext/site_extras.py): tables of running text."""

import importlib.util
from pathlib import Path

from bs4 import BeautifulSoup

_PATH = Path(__file__).parents[1] / "book" / "_ext" / "site_extras.py"
_SPEC = importlib.util.spec_from_file_location("site_extras", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
site_extras = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(site_extras)

LONG = "community licence allowing commercial use; 2T tokens"
TABLE = (
    "<table class='table'><thead><tr><th>release</th><th>sizes</th><th>notes</th></tr>"
    "</thead><tbody><tr><td>Llama 2</td><td>7B</td><td>{}</td></tr></tbody></table>"
)


def test_a_table_of_running_text_is_marked_with_its_column_names():
    page = f"<p>before</p>{TABLE.format(LONG)}<p>after &amp; <svg viewBox='0 0 1 1'></svg></p>"
    marked = site_extras.mark_text_tables(page)
    assert marked.startswith("<p>before</p>") and "viewBox" in marked  # the rest untouched
    table = BeautifulSoup(marked, "html.parser").table
    assert table["class"] == ["table", "text-table"]
    cells = table.tbody.find_all("td")
    assert [c.get("data-label") for c in cells] == ["release", "sizes", "notes"]
    assert [c.get("class") for c in cells] == [None, ["word-cell"], ["text-cell"]]


def test_in_such_a_table_a_date_never_breaks_and_a_url_may_break_anywhere():
    url = "https://ai.meta.com/blog/llama-3-2-connect-2024-vision-edge-mobile-devices/"
    page = TABLE.format(LONG).replace("<td>7B</td>", f"<td>2024-09-25</td><td>{url}</td>")
    cells = BeautifulSoup(site_extras.mark_text_tables(page), "html.parser").find_all("td")
    assert [c.get("class") for c in cells[1:3]] == [["word-cell"], ["long-word-cell"]]


def test_a_table_of_numbers_or_one_word_cells_is_left_as_it_is():
    for cell in ("4.75", "a-long-identifier-without-any-space-in-it"):
        page = TABLE.format(cell)
        assert site_extras.mark_text_tables(page) == page


def test_the_ledger_keeps_its_own_layout_and_given_labels_are_kept():
    ledger = TABLE.format(LONG).replace("class='table'", "class='claims-ledger'")
    assert site_extras.mark_text_tables(ledger) == ledger
    labelled = TABLE.format(LONG).replace("<td>Llama 2", "<td data-label='model'>Llama 2")
    cells = BeautifulSoup(site_extras.mark_text_tables(labelled), "html.parser").find_all("td")
    assert cells[0]["data-label"] == "model"


def test_model_output_stays_escaped():
    page = TABLE.format("an answer with &lt;strong&gt;markup&lt;/strong&gt; in it, escaped")
    marked = site_extras.mark_text_tables(page)
    assert "&lt;strong&gt;" in marked and "<strong>" not in marked


def test_pandas_index_rows_get_the_index_name_and_the_second_header_row_is_skipped():
    page = (
        "<table class='dataframe'><thead><tr><th></th><th>claim</th></tr>"
        "<tr><th>language</th><th></th></tr></thead><tbody><tr><th>Korean</th>"
        f"<td>{LONG}</td></tr></tbody></table>"
    )
    cells = BeautifulSoup(site_extras.mark_text_tables(page), "html.parser").tbody("th") + (
        BeautifulSoup(site_extras.mark_text_tables(page), "html.parser").tbody("td")
    )
    assert [c.get("data-label") for c in cells] == [None, "claim"]


def test_a_chapter_footer_links_the_notebook_and_the_page_on_running_it(tmp_path):
    class Builder:
        def get_relative_uri(self, source: str, target: str) -> str:
            return "../" * source.count("/") + target + ".html"

    class App:
        srcdir = str(tmp_path)
        builder = Builder()

        class config:  # noqa: N801 (Sphinx's attribute name)
            site_extras_footer = "footer {license}"

    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "claims.ipynb").write_text("{}")
    context = {"body": f"<p>text</p>{TABLE.format(LONG)}"}
    site_extras.on_page_context(App(), "notebooks/claims", "page.html", context, None)
    footer = BeautifulSoup(context["body"], "html.parser").find("p", class_="notebook-download")
    links = {a.get_text(): a["href"] for a in footer.find_all("a")}
    assert links == {
        "claims.ipynb": "../_notebooks/claims.ipynb",
        "Run it on your own models": "../book/run-your-models.html",
    }
    assert "text-table" in context["body"]
