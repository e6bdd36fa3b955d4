"""Untrusted text stays text."""

from reportlib.render import escape_text, token_boundaries_html
from reportlib.tokenization import TokenPiece

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
