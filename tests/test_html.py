"""Model output is untrusted text: escaped wherever it reaches a page, up to a real book build."""

from __future__ import annotations

import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


HOSTILE = '<script>alert("x")</script><img src=x onerror="alert(1)"> **bold** {glue}`k` $x$'


HOSTILE_PAGE = """---
jupytext:
  text_representation: {extension: .md, format_name: myst}
kernelspec: {display_name: Python 3, language: python, name: python3}
---
# Hostile output

```{code-cell} ipython3
:tags: [remove-input]
import pandas as pd
from IPython.display import HTML
from myst_nb import glue
from reportlib.backends.interface import Completion, TextModel
from reportlib.experiments.probe import prompts as probe
from reportlib.experiments.probe.runner import run_language_probe
from reportlib.experiments.probe.tables import sample_answers_html
from reportlib.experiments.tokens import token_boundaries_html
from reportlib.text.tokenization import TokenPiece
HOSTILE = %r
class HostileModel(TextModel):
    name = fingerprint = "hostile"
    card, n_ctx = {"name": "hostile"}, 512
    def cache_identity(self): return {"model": "hostile", "backend": "page"}
    def tokenize(self, text, *, add_bos=True): return list(text.encode())
    def complete(self, prompt, *, max_tokens, seed, stop=(), reuse_prefix=False):
        return Completion(HOSTILE, 1, 1, "stop")
langs = probe.probe_language_codes("ko,ru")
rows = pd.DataFrame(run_language_probe(HostileModel(), HOSTILE, langs, samples=1))
glue("hostile", HOSTILE, display=False)
display(HTML(sample_answers_html(rows)))
display(HTML(token_boundaries_html([TokenPiece(1, HOSTILE.encode())], HOSTILE)))
rows[["answer"]]
```

The answer was {glue:text}`hostile`.
"""


@pytest.mark.slow
def test_hostile_model_output_stays_text_in_the_built_page(tmp_path):
    book = tmp_path / "book"
    book.mkdir()
    (book / "_config.yml").write_text(
        "title: t\nexecute:\n  execute_notebooks: force\n  stderr_output: remove\n"
        "sphinx:\n  config:\n    nb_execution_raise_on_error: true\n"
    )
    (book / "_toc.yml").write_text("format: jb-book\nroot: page\n")
    (book / "page.md").write_text(HOSTILE_PAGE % HOSTILE)
    jb = Path(sys.executable).parent / "jupyter-book"
    done = subprocess.run(
        [str(jb), "build", str(book), "-W", "-n"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    html = (book / "_build" / "html" / "page.html").read_text()
    assert "&lt;script&gt;" in html  # the text is there, escaped
    live = LiveTags()
    live.feed(html)
    assert not live.hostile, live.hostile  # and no tag of it is live


class LiveTags(HTMLParser):
    """Collects tags a browser would create from the hostile text."""

    def __init__(self) -> None:
        super().__init__()
        self.hostile: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self._in_script = tag == "script"
        payload = any(name.startswith("on") and "alert(" in (value or "") for name, value in attrs)
        if payload or (tag == "img" and ("src", "x") in attrs):
            self.hostile.append(f"<{tag} {attrs}>")

    def handle_data(self, data):
        if self._in_script and 'alert("x")' in data:
            self.hostile.append(f"<script>{data[:40]}")


def test_an_answers_line_breaks_are_kept_as_text_not_markup():
    """Was: line breaks became <br> inside a model-output cell, markup the site check refuses
    there; the cell keeps them with white-space:pre-wrap, and the answer stays escaped."""
    from reportlib.experiments.probe.tables import _answer_cell

    cell = _answer_cell("one\ntwo <b>x</b>", 200)
    assert "<br" not in cell and "one\ntwo &lt;b&gt;x&lt;/b&gt;" in cell
    assert cell.startswith("<td class='model-output' style='white-space:pre-wrap'")


def test_sample_answers_name_styles_and_judged_languages_and_stack_on_a_phone():
    """Was: internal style ids (english_request) and CLD3 codes (mg) as the reader's text,
    and on a phone the answer column squeezed to two characters a line."""
    import pandas as pd

    from reportlib.experiments.probe.tables import sample_answers_html

    rows = pd.DataFrame(
        {
            "group": ["Germanic/Romance"],
            "name": ["English"],
            "style": ["english_request"],
            "decoding": ["greedy"],
            "answer": ["Hello <b>there</b>"],
            "on_language": [False],
            "detected_language": ["mg"],
            "degenerate_reason": [""],
            "self_intro": [False],
        }
    )
    html = sample_answers_html(rows, by=["style", "decoding"])
    assert "request in English" in html and "english_request" not in html
    assert "off (Malagasy)" in html
    assert "@media (max-width:700px)" in html and 'data-label="answer"' in html
    assert "&lt;b&gt;there&lt;/b&gt;" in html


def test_the_answer_browser_holds_every_answer_escaped_with_filters():
    import re

    import pandas as pd

    from reportlib.experiments.probe.tables import answer_browser_html

    rows = pd.DataFrame(
        {
            "name": ["Korean", "Thai"],
            "style": ["native_request", "english_request"],
            "model": ["chat", "chat"],
            "decoding": ["greedy", "sampled"],
            "sample": [0, 3],
            "good": [True, False],
            "degenerate_reason": ["", "loop"],
            "on_language": [True, True],
            "answer": ["안녕\nhi", "<img src=x onerror=alert(1)>"],
        }
    )
    html = answer_browser_html(rows)
    assert len(re.findall(r"<tr data-language=", html)) == 2
    assert 'data-label="good answer"' in html and 'data-label="loop"' in html
    assert "<img src=x" not in html and "&lt;img src=x" in html
    assert "안녕\nhi" in html  # whole, line break kept (pre-wrap)
    assert "request in the language" in html and "native_request" not in html
    box = re.search(r'<div class="answer-filters" hidden>.*?</div>', html).group(0)
    assert '<select name="label">' in box and ">loop</option>" in box
