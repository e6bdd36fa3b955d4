"""Untrusted text stays text."""

import pandas as pd
import pytest

from reportlib.core.html import escape_text
from reportlib.experiments.tokens import token_boundaries_html
from reportlib.site import tables as render
from reportlib.text.tokenization import TokenPiece

HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)"> {glue}`x` **b**'


def test_escape_text_removes_every_tag():
    out = escape_text(HOSTILE)
    assert "<" not in out and ">" not in out and '"' not in out
    assert "&lt;script&gt;" in out


def test_escape_text_truncates():
    assert escape_text("abcdef", limit=3) == "abc…"
    assert escape_text("abc", limit=3) == "abc"


def test_token_boundaries_escape_pieces_and_titles():
    pieces = [TokenPiece(1, HOSTILE.encode()), TokenPiece(2, b"\xed\x86")]
    html = token_boundaries_html(pieces, title="<b>title</b>")
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert html.count("<span") == 2
    assert "&lt;ED&gt;&lt;86&gt;" in html  # partial UTF-8 shown as bytes


def test_human_labels_name_units_and_leave_prose_alone():
    assert render.human_label("parameters_b") == "parameters (billions)"
    assert render.human_label("load_seconds") == "load time (s)"
    assert render.human_label("trained_context") == "trained context"
    assert render.human_label("tokens_per_s") == "tokens per second"
    assert render.human_label("latency_ms") == "latency (ms)"
    assert render.human_label("share of English content") == "share of English content"
    assert render.human_label("Chinese") == "Chinese"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (float("nan"), "—"),
        (True, "yes"),
        (False, "no"),
        (7232.0, "7,232"),
        (115716, "115,716"),
        (64.8347, "64.83"),
        (0.05234, "0.052"),
        (0.0, "0"),
        (1234.56, "1,235"),
        ([1, 2.5], "1, 2.50"),
        ("Korean", "Korean"),
    ],
)
def test_cells_are_formatted_for_readers(value, text):
    assert render.format_cell(value) == text


def test_tables_have_reader_names_no_nan_and_no_default_index():
    frame = pd.DataFrame(
        {"mean_prompt_tokens": [12.0, float("nan")], "year": [2024, 2025], "ok": [True, None]}
    )
    html = render.table_html(frame, missing="not measured over HTTP")
    assert "mean prompt (tokens)" in html and "mean_prompt_tokens" not in html
    assert "NaN" not in html and "None" not in html and "—" in html
    assert "2024" in html and "2,024" not in html  # years keep their digits
    assert "<tbody>\n    <tr>\n      <th>" not in html  # no 0, 1, 2 row index
    assert "not measured over HTTP" in html
    named = frame.set_index(pd.Index(["Korean", "Chinese"], name="language"))
    assert "<th>Korean</th>" in render.table_html(named)  # a meaningful index is kept


def test_table_cells_are_escaped():
    html = render.table_html(pd.DataFrame({"answer": ["<strong>hi</strong>"]}))
    assert "<strong>" not in html and "&lt;strong&gt;hi&lt;/strong&gt;" in html


def test_a_float_column_keeps_one_number_of_decimals():
    html = render.table_html(pd.DataFrame({"tokens/s": [541.0, 535.9, float("nan")]}))
    assert "<td>541.00</td>" in html and "<td>535.90</td>" in html and "<td>—</td>" in html
    whole = render.table_html(pd.DataFrame({"seconds": [187.0, 2.0]}))
    assert "<td>187</td>" in whole and "<td>2</td>" in whole


def test_table_edge_cases_lose_no_data():
    assert render.format_cell(pd.NA) == "—" and render.format_cell(pd.NaT) == "—"
    mixed = pd.DataFrame({"x": [0.0072, 241.0, 4000.0], "hidden size": [2048, 128256, 5]})
    html = render.table_html(mixed)
    assert "0.0072" in html and "4,000" in html and "128,256" in html  # small values kept
    years = pd.DataFrame({"n": [1, 2]}, index=pd.Index([2023, 2024], name="year"))
    assert "<th>2023</th>" in render.table_html(years)
    shuffled = pd.DataFrame({"x": [3, 1, 2]}).sort_values("x")
    assert "<th>0</th>" not in render.table_html(shuffled)  # row numbers in any order
    collide = pd.DataFrame({"v": [1, 2]}, index=pd.MultiIndex.from_tuples([("a_b", 1), ("a b", 1)]))
    assert render.table_html(collide).count("<td>") == 2
    assert "∞" in render.table_html(pd.DataFrame({"x": [float("inf"), 1.5]}))


def test_a_named_index_has_no_header_row_of_its_own():
    """Was: pandas wrote the index's name in a second header row, empty besides it."""
    one = pd.DataFrame({"n": [1, 2]}, index=pd.Index(["a", "b"], name="model"))
    two = pd.DataFrame(
        {"n": [1, 2]}, index=pd.MultiIndex.from_tuples([("a", "x"), ("b", "y")], names=["m", "k"])
    )
    for frame, corner in ((one, "<th>model</th>"), (two, "<th>m</th>\n      <th>k</th>")):
        html = render.table_html(frame)
        head = html.split("</thead>")[0]
        assert head.count("<tr") == 1 and corner in head
        assert html.count("<th>a</th>") == 1  # the rows keep their row headers


def test_a_numeric_table_keeps_its_columns_on_a_phone():
    import importlib.util
    from pathlib import Path

    import pandas as pd

    from reportlib.site.tables import table_html

    spec = importlib.util.spec_from_file_location(
        "site_extras", Path(__file__).parents[1] / "book" / "_ext" / "site_extras.py"
    )
    site_extras = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(site_extras)
    frame = pd.DataFrame({"adapter": ["English LoRA (control), 160 items"], "rate": ["40%"]})
    plain = table_html(frame)
    assert "text-table" in site_extras.mark_text_table(plain)  # running text: stacked
    frame.attrs["numeric"] = True
    numeric = table_html(frame)
    assert "numeric-table" in numeric
    assert site_extras.mark_text_table(numeric) == numeric  # left as it is
