"""The built site in a real browser (Debian's headless Chromium, driven by Playwright):
every reading page at 1280 and 412 px, with the network cut off. ``make test`` builds the
book first; screenshots of every page at both widths go to ``_build/screenshots``."""

from __future__ import annotations

import base64
import functools
import struct
import zlib
from pathlib import Path

import pytest
from sitecheck import MIN_TEXT_KEY, Problem, check_site, find_chromium, site_pages

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"


@pytest.fixture(autouse=True)
def chromium():
    if find_chromium() is None:
        pytest.fail(
            "no Chromium: `make test` installs Debian's chromium (apt-get install chromium)"
        )


#: a 1x1 PNG
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def png_with_text(width: int, height: int, text: dict[str, str]) -> bytes:
    """A blank greyscale PNG of ``width`` x ``height`` with ``text`` in tEXt chunks."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\0" + b"\xff" * width for _ in range(height))
    texts = b"".join(chunk(b"tEXt", k.encode() + b"\0" + v.encode()) for k, v in text.items())
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + texts
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


#: a book figure 1,000 px wide whose smallest text is 20 px high in the PNG
FIGURE = png_with_text(1000, 40, {MIN_TEXT_KEY: "20.00"})
#: one 200 px wide with the same text: shown at full size, 20 px
READABLE = png_with_text(200, 40, {MIN_TEXT_KEY: "20.00"})


def page(body: str) -> str:
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>t</title></head><body>'
        f'<main><article style="width:600px">{body}</article></main></body></html>'
    )


#: one page per defect the test must catch, and the kinds of problem it must be reported as
DEFECTS = {
    "clean.html": (
        '<h1 id="top">A clean page</h1><p>Text, <a href="clean.html#top">a link</a>. None of '
        "the languages failed.</p>"
        '<img src="pixel.png" alt="A chart of retrieval by prompt length" width="1">'
        '<img src="readable.png" alt="A figure shown at full size" style="width:200px">'
        "<table><tr><td>one</td><td>an answer of several words in a column of its own</td>"
        "</tr></table>"
        '<p><span class="math"><mjx-container>x</mjx-container></span></p>'
        '<div style="overflow-x:auto"><table><tr><th>prompt length</th></tr>'
        "<tr><td>1,024</td></tr><tr><td>—</td></tr></table></div>"
        '<table><tr><td class="model-output">&lt;strong&gt;shown as text&lt;/strong&gt;</td>'
        "</tr></table>",
        set(),
    ),
    "overflow.html": (
        '<pre style="overflow:visible;white-space:pre">' + "x" * 300 + "</pre>",
        {"overflow"},
    ),
    "widetable.html": ('<table style="width:900px"><tr><td>wide</td></tr></table>', {"overflow"}),
    "ledger.html": (
        '<div style="overflow-x:auto;width:300px"><table class="claims-ledger" '
        'style="width:900px"><tr><td class="verdict">supported</td><td style="width:600px">'
        'claim</td><td class="note">the caveat</td></tr></table></div>',
        {"ledger"},
    ),
    "stickyheader.html": (  # offset for the page's top bar, but inside a scroll box
        '<div style="overflow:auto"><table><thead><tr><th style="position:sticky;top:60px">'
        "claim</th></tr></thead><tbody><tr><td>the first claim</td></tr></tbody></table></div>",
        {"header"},
    ),
    "math.html": (r"<p>The cache holds \(2 \times \text{layers}\) numbers.</p>", {"math"}),
    "mathspan.html": ('<p><span class="math">two layers</span></p>', {"math"}),
    "nan.html": ("<table><tr><th>share</th></tr><tr><td>NaN</td></tr></table>", {"text"}),
    "none.html": ("<table><tr><th>adapter</th></tr><tr><td>None</td></tr></table>", {"text"}),
    "codename.html": (
        "<table><tr><th>mean_prompt_tokens</th></tr><tr><td>12</td></tr></table>",
        {"text"},
    ),
    "alt.html": ('<img src="pixel.png" alt="../_images/3ea9ee55.png">', {"image"}),
    "shrunk.html": (  # as myst-nb writes a figure's display width: in the style
        '<img src="pixel.png" alt="A chart far wider than the page" '
        'style="width: 2000px; max-width: 100%">',
        {"image"},
    ),
    "figuretext.html": (  # shown at 30% (desktop) or less (phone): 6 px text
        '<img src="figure.png" alt="A three-panel figure far too wide" style="width:300px">',
        {"figure-text"},
    ),
    "narrowcolumn.html": (  # the answer column squeezed beside a wide one
        '<table style="width:360px"><tr><td style="width:340px">a wide first column</td>'
        "<td>an answer of several words squeezed to a sliver</td></tr></table>",
        {"column"},
    ),
    "markup.html": (
        '<table><tr><td class="model-output">Hello <strong>bold</strong></td></tr></table>',
        {"markup"},
    ),
    "console.html": ('<script>console.error("boom")</script>', {"console"}),
    "offline.html": (
        '<script src="https://cdn.example.org/mathjax.js"></script>',
        {"offline", "console"},  # the blocked script also fails to load
    ),
    "link.html": ('<a href="missing.html">gone</a> <a href="clean.html#nowhere">x</a>', {"link"}),
}


def kinds(problems: list[Problem], name: str) -> set[str]:
    return {p.kind for p in problems if p.page == name}


def test_the_checker_reports_each_defect_and_nothing_on_a_clean_page(tmp_path):
    (tmp_path / "pixel.png").write_bytes(PIXEL)
    (tmp_path / "figure.png").write_bytes(FIGURE)
    (tmp_path / "readable.png").write_bytes(READABLE)
    for name, (body, _) in DEFECTS.items():
        (tmp_path / name).write_text(page(body))
    problems = check_site(tmp_path, pages=sorted(DEFECTS), screenshots=tmp_path / "shots")
    for name, (_, expected) in DEFECTS.items():  # each defect found, and only where it is
        found = kinds(problems, name)
        assert found == expected, f"{name}: expected {expected}, found {found}: {problems}"
    link_details = [p.detail for p in problems if p.kind == "link"]
    assert any("missing.html answers 404" in d for d in link_details), link_details
    assert any("no anchor #nowhere" in d for d in link_details), link_details
    assert "phone" not in {p.width for p in problems if p.page == "shrunk.html"}  # desktop only
    assert len(list((tmp_path / "shots").glob("*.png"))) == 2 * len(DEFECTS)


@functools.cache
def site_problems() -> tuple[Problem, ...]:
    if not (SITE / "index.html").exists():
        pytest.fail(f"no built site at {SITE}: build it first (`make book`; `make test` does)")
    return tuple(check_site(SITE, screenshots=SCREENSHOTS))


def test_the_built_site_has_no_reader_facing_defects():
    pages = site_pages(SITE)
    assert "notebooks/claims.html" in pages and len(pages) >= 10
    problems = site_problems()
    assert not problems, "\n".join(map(str, problems))
    for rel in pages:  # every page at both widths, for review
        name = rel.removesuffix(".html").replace("/", "-")
        for width in ("desktop", "phone"):
            assert (SCREENSHOTS / f"{name}-{width}.png").stat().st_size > 0
