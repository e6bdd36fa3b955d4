"""Progress on the terminal, never on the page: the kernel-side bar, the relay, the build's
watcher, and (slow) a real build of a one-chapter book."""

from __future__ import annotations

import io
import json
import os
import textwrap
from pathlib import Path

import pytest

from reportlib.core import progress
from reportlib.core.progress import (
    PROGRESS_ENV,
    ProgressRelay,
    latest_status,
    progress_bar,
    relay_progress,
)
from reportlib.site import run_record
from reportlib.site.book_build import BuildWatcher, build_book
from reportlib.site.chapters import KERNEL_TCP_WARNING
from reportlib.site.run_record import Estimates, last_record


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_writes_to_the_progress_file_and_inner_bars_stay_silent(tmp_path, monkeypatch):
    channel = tmp_path / "progress.log"
    monkeypatch.setenv(PROGRESS_ENV, str(channel))
    outer = progress_bar(total=3, desc="outer work", unit="step")
    for _ in progress_bar(range(5), desc="inner work", unit="call"):
        pass
    outer.update(3)
    outer.close()
    text = channel.read_text()
    assert "outer work" in text and "3/3" in text
    assert "inner work" not in text
    assert progress_bar(total=1, desc="after").disable is False  # the count went back to 0


def test_without_a_progress_file_a_kernel_bar_is_silent(monkeypatch):
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    monkeypatch.setattr(progress, "_in_kernel", lambda: True)
    assert progress_bar(total=2, desc="quiet").disable is True
    monkeypatch.setattr(progress, "_in_kernel", lambda: False)
    assert progress_bar(total=2, desc="off", enabled=False).disable is True


def test_latest_status_is_the_last_rewrite_of_the_line():
    assert latest_status("a: 10%|\rb: 20%|\r") == "b: 20%|"
    assert latest_status("one\nrun: 5/9 \r  \n") == "run: 5/9"
    assert latest_status("") == ""


def test_the_relay_rewrites_one_line_on_a_terminal(tmp_path):
    path = tmp_path / "p.log"
    path.write_text("job: 1/4\rjob: 2/4\r")
    out = FakeTerminal()
    relay = ProgressRelay(path, out)
    relay.poll()
    assert out.getvalue() == "\r  job: 2/4"
    with path.open("a") as handle:
        handle.write("job: 3/4\r")
    relay.poll()
    assert out.getvalue().endswith("\r  job: 3/4")
    relay.clear()
    assert out.getvalue().endswith("\r")


def test_the_relay_prints_sparse_lines_in_a_log(tmp_path):
    path = tmp_path / "p.log"
    out = io.StringIO()
    relay = ProgressRelay(path, out)
    for status in ("job: 10%| 1/10", "job: 20%| 2/10", "job: 100%| 10/10"):
        with path.open("a") as handle:
            handle.write(status + "\r")
        relay.poll()
    lines = out.getvalue().splitlines()
    assert lines == ["  job: 10%| 1/10", "  job: 100%| 10/10"]  # the first, then the last


def test_relay_progress_names_the_file_and_restores_the_environment(monkeypatch):
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    out = io.StringIO()
    with relay_progress(out):
        named = Path(os.environ[PROGRESS_ENV])
        assert named.exists()
        bar = progress_bar(total=2, desc="relayed", unit="x")
        bar.update(2)
        bar.close()
    assert PROGRESS_ENV not in os.environ
    assert not named.exists()
    assert "relayed: 100%" in out.getvalue()


def test_the_watcher_announces_chapters_and_drops_the_tcp_warning():
    watcher = BuildWatcher(3, Estimates({"context": 780.0}, "the book record, X, 2026-01-01"))
    root = "/b/notebooks"
    assert watcher.line(f"[IPKernelApp] WARNING | {KERNEL_TCP_WARNING}. This is not") is None
    start = watcher.line(f"{root}/context.md: Executing notebook using local CWD [mystnb]")
    assert start == "[1 of 3] context: executing, about 13.0 min by the book record, X, 2026-01-01"
    assert watcher.line(f"{root}/timeline.md: Using cached notebook: ID=4 [mystnb]") == (
        "[2 of 3] timeline: unchanged, from the cache"
    )
    end = watcher.line(f"{root}/context.md: Executed notebook in 700.50 seconds [mystnb]")
    assert end is not None and end.startswith("[1 of 3] context: executed in 11.7 min (")
    new = watcher.line(f"{root}/tokens.md: Executing notebook using local CWD [mystnb]")
    assert new == "[3 of 3] tokens: executing, no estimate (the book record, X, 2026-01-01)"
    assert watcher.line("reading sources... [ 50%] x") == "reading sources... [ 50%] x"
    summary = watcher.summary()
    assert "chapters executed: 1 (11.7 min), from the cache: 1" in summary[0]
    assert summary[1] == "costliest: context 11.7 min"


def test_the_costliest_three_are_named_in_order():
    watcher = BuildWatcher(5, Estimates({}, "no record"))
    for name, seconds in [("a", 10), ("b", 300), ("c", 40), ("d", 90), ("e", 5)]:
        watcher.line(f"/x/{name}.md: Executed notebook in {seconds}.00 seconds [mystnb]")
    assert watcher.summary()[1] == "costliest: b 5.0 min, d 1.5 min, c 40 s"


def test_the_estimate_prefers_this_machines_last_build(tmp_path):
    (tmp_path / "book" / "data").mkdir(parents=True)
    (tmp_path / "book" / "data" / "book-bench.json").write_text(
        json.dumps({"cpu": "AMD EPYC", "measured": "2026-11-27", "chapter_seconds": {"a": 5}})
    )
    assert last_record(tmp_path) == Estimates({"a": 5.0}, "the book record, AMD EPYC, 2026-11-27")
    run_record.save_record(tmp_path, {"a": 7.0, "b": 1.0})
    local = last_record(tmp_path)
    assert local.seconds == {"a": 7.0, "b": 1.0}
    assert local.source.startswith("this machine's last build, ")
    assert last_record(tmp_path / "nowhere") == Estimates({}, "no record")


DEMO_CHAPTER = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# Demo

```{code-cell} ipython3
import time

from reportlib.core.progress import progress_bar

label = "-".join(["demo", "counting"])  # the page shows the source, never this text
for step in progress_bar(range(12), desc=label, unit="step"):
    time.sleep(0.05)
print("the visible result")
```
"""


@pytest.mark.slow
def test_a_build_shows_progress_on_the_terminal_and_never_on_the_page(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "demo.md").write_text(DEMO_CHAPTER)
    (tmp_path / "intro.md").write_text("# Intro\n")
    toc = "format: jb-book\nroot: intro\nchapters:\n- file: notebooks/demo\n"
    (tmp_path / "_toc.yml").write_text(toc)
    (tmp_path / "_config.yml").write_text(
        textwrap.dedent(
            """\
            title: demo
            only_build_toc_files: true
            execute:
              execute_notebooks: cache
              timeout: 300
              stderr_output: remove
            sphinx:
              config:
                nb_execution_raise_on_error: true
            """
        )
    )
    out = io.StringIO()
    assert build_book(tmp_path, out=out) == 0
    terminal = out.getvalue()
    assert "[1 of 1] demo: executing, no estimate (no record)" in terminal
    assert "demo-counting: 100%" in terminal and "12/12" in terminal
    assert "[1 of 1] demo: executed in " in terminal
    assert "costliest: demo " in terminal
    assert KERNEL_TCP_WARNING not in terminal
    page = (tmp_path / "_build" / "html" / "notebooks" / "demo.html").read_text()
    assert "the visible result" in page
    assert "demo-counting" not in page and "12/12" not in page
    cache = tmp_path / "_build" / ".jupyter_cache"
    stored = b"".join(p.read_bytes() for p in cache.rglob("*.ipynb"))
    assert b"the visible result" in stored and b"demo-counting" not in stored
    print(terminal)
    # a second build has nothing to do, and the next estimate comes from the first
    out = io.StringIO()
    assert build_book(tmp_path, out=out) == 0
    assert out.getvalue().startswith("book: no file changed since the last build")
    # an edited page is built again (Sphinx runs; no chapter needs executing)
    (tmp_path / "intro.md").write_text("# Intro, edited\n")
    out = io.StringIO()
    assert build_book(tmp_path, out=out) == 0
    assert "no chapter changed since the last build" in out.getvalue()
    assert "Intro, edited" in (tmp_path / "_build" / "html" / "intro.html").read_text()
    assert "this machine's last build" in last_record(tmp_path).source


def test_the_input_fingerprint_sees_edits_and_new_files_but_not_the_build(tmp_path):
    from reportlib.site.book_build import input_fingerprint

    (tmp_path / "notebooks").mkdir()
    page = tmp_path / "notebooks" / "a.md"
    page.write_text("one")
    first = input_fingerprint(tmp_path)
    (tmp_path / "_build" / "html").mkdir(parents=True)
    (tmp_path / "_build" / "html" / "a.html").write_text("built")
    assert input_fingerprint(tmp_path) == first  # build output is not an input
    page.write_text("two")
    second = input_fingerprint(tmp_path)
    assert second != first
    (tmp_path / "notebooks" / "b.md").write_text("new")
    assert input_fingerprint(tmp_path) != second


def test_a_library_change_makes_every_stored_execution_stale(tmp_path):
    """jupyter-cache keys a notebook on its cells' source and Sphinx rereads only edited
    pages, so after an edit of the library a build must drop both, or serve old outputs."""
    from reportlib.site.book_build import (
        EXECUTION_STATE,
        _record_inputs,
        library_changed_since_last_build,
    )

    module = tmp_path / "src" / "reportlib" / "ledger.py"
    module.parent.mkdir(parents=True)
    module.write_text("WIDTHS = (4, 22)\n")
    assert not library_changed_since_last_build(tmp_path)  # never built: nothing is stale
    _record_inputs(tmp_path)
    assert not library_changed_since_last_build(tmp_path)
    (module.parent / "__pycache__").mkdir()
    (module.parent / "__pycache__" / "ledger.pyc").write_bytes(b"compiled")
    assert not library_changed_since_last_build(tmp_path)  # bytecode is not the library
    module.write_text("WIDTHS = (4, 21)\n")
    assert library_changed_since_last_build(tmp_path)
    assert [p.name for p in EXECUTION_STATE] == [".jupyter_cache", ".doctrees"]
