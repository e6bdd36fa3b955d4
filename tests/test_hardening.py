"""Failing loudly and losing nothing: interrupted runs, hostile text, no network."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from reportlib.backends.chat_template import render_chat_template
from reportlib.core.errors import ReportlibError

ROOT = Path(__file__).resolve().parents[1]
REPORTLIB = [sys.executable, "-m", "reportlib.cli"]
HOSTILE = '<script>alert("x")</script><img src=x onerror="alert(1)"> **bold** {glue}`k` $x$'


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.popen('touch /tmp/pwned').read() }}",
        "{% for m in messages %}{{ m.content.__class__ }}{% endfor %}",
    ],
)
def test_hostile_chat_templates_run_no_code(template):
    marker = Path("/tmp/pwned")
    marker.unlink(missing_ok=True)
    try:
        out = render_chat_template(template, [{"role": "user", "content": "hi"}], "<s>", "</s>")
    except ReportlibError as exc:
        assert "chat template" in str(exc)
    else:  # the sandbox rendered unsafe attributes as nothing
        assert "class" not in out and "subclasses" not in out
    assert not marker.exists()


def test_benign_chat_template_renders():
    out = render_chat_template(
        "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}<assistant>",
        [{"role": "user", "content": "안녕"}],
        "<s>",
        "</s>",
    )
    assert out == "<user>안녕<assistant>"


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
from reportlib.experiments.probe import prompts as probe
from reportlib.experiments.probe import analysis as probe_analysis
from reportlib.site import tables as render
from reportlib.backends.interface import Completion, TextModel
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
rows = pd.DataFrame(probe_runner.run_language_probe(HostileModel(), HOSTILE, langs, samples=1))
glue("hostile", HOSTILE, display=False)
display(HTML(probe_tables.sample_answers_html(rows)))
display(HTML(tokenstats.token_boundaries_html([TokenPiece(1, HOSTILE.encode())], HOSTILE)))
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


def _blocked_network_env(tmp_path: Path) -> dict[str, str]:
    """PYTHONPATH with a sitecustomize that refuses any connection off this machine."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import ipaddress, socket\n"
        "_connect = socket.socket.connect\n"
        "def guarded(self, address):\n"
        "    host = address[0] if isinstance(address, tuple) else None\n"
        "    if host is not None:\n"
        "        try:\n"
        "            if not ipaddress.ip_address(host).is_loopback:\n"
        "                raise OSError('network blocked by test: ' + str(address))\n"
        "        except ValueError:\n"
        "            raise OSError('network blocked by test: ' + str(address))\n"
        "    return _connect(self, address)\n"
        "socket.socket.connect = guarded\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = f"{site}{os.pathsep}{env.get('PYTHONPATH', '')}"
    return env


@pytest.mark.model
@pytest.mark.slow
def test_a_chapter_runs_with_the_network_blocked(tmp_path):
    env = _blocked_network_env(tmp_path)
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "import socket; socket.create_connection(('192.0.2.1', 80), timeout=2)",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert "network blocked by test" in check.stderr  # the guard works
    done = subprocess.run(
        [
            *REPORTLIB,
            "run",
            "tokenization",
            "-p",
            "languages",
            "en,ko",
            "--output-dir",
            str(tmp_path / "runs"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (csv,) = (tmp_path / "runs").glob("tokenization-*/tokenization.csv")
    assert "kor_Hang" in csv.read_text()


def _probe_run(home: Path, out: Path) -> subprocess.Popen:
    env = dict(os.environ, REPORTLIB_HOME=str(home))
    return subprocess.Popen(
        [
            *REPORTLIB,
            "run",
            "multilingual",
            "-p",
            "languages",
            "ko,ru,ja",
            "-p",
            "samples",
            "2",
            "-p",
            "max_tokens",
            "24",
            "-p",
            "batch_width",
            "2",  # batched, in chunks of 8 prompts: a kill falls between chunks
            "--output-dir",
            str(out),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _entries(home: Path) -> int:
    return sum(1 for _ in (home / "results").glob("*/*.json")) if (home / "results").exists() else 0


@pytest.mark.model
@pytest.mark.slow
def test_killed_run_resumes_and_gives_identical_results(tmp_path):
    # reference: one uninterrupted run
    ref = _probe_run(tmp_path / "home-a", tmp_path / "runs-a")
    assert ref.wait(timeout=900) == 0, ref.stderr.read()[-3000:]
    total = _entries(tmp_path / "home-a")
    # interrupted: SIGKILL once a few answers are cached
    home = tmp_path / "home-b"
    victim = _probe_run(home, tmp_path / "runs-b")
    deadline = time.time() + 600
    while _entries(home) < 4 and time.time() < deadline and victim.poll() is None:
        time.sleep(0.2)
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    kept = _entries(home)
    assert 0 < kept < total
    assert not list((home / "results").glob("*/.*.tmp"))  # no half-written entry left behind
    resumed = _probe_run(home, tmp_path / "runs-c")
    assert resumed.wait(timeout=900) == 0, resumed.stderr.read()[-3000:]
    assert _entries(home) == total  # only the missing chunks were decoded
    (first,) = (tmp_path / "runs-a").glob("*/multilingual.csv")
    (second,) = (tmp_path / "runs-c").glob("*/multilingual.csv")
    assert first.read_bytes() == second.read_bytes()
