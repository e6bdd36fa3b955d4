"""The result cache around a model: a run killed mid-way resumes and gives identical
results."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reportlib.core.answer_archive import Archive, restore_archive
from reportlib.core.cache import ResultCache

ROOT = Path(__file__).resolve().parents[1]
REPORTLIB = [sys.executable, "-m", "reportlib.cli"]


@pytest.mark.model
@pytest.mark.slow
def test_killed_run_resumes_and_gives_identical_results(tmp_path, committed_archive):
    # each home starts with the book's archived answers, so the chapter's other work (the
    # audit's scores, the preference) is read and the probe's answers (its parameters are not
    # the book's) are what each run computes: the part a kill interrupts
    archived = _archived_home(tmp_path / "home-a", committed_archive)
    # reference: one uninterrupted run
    ref = _probe_run(tmp_path / "home-a", tmp_path / "runs-a")
    assert ref.wait(timeout=900) == 0, ref.stderr.read()[-3000:]
    total = _entries(tmp_path / "home-a")
    assert total > archived + 4
    # interrupted: SIGKILL once a few answers are cached
    home = tmp_path / "home-b"
    assert _archived_home(home, committed_archive) == archived
    victim = _probe_run(home, tmp_path / "runs-b")
    deadline = time.time() + 600
    while _entries(home) < archived + 4 and time.time() < deadline and victim.poll() is None:
        time.sleep(0.2)
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    kept = _entries(home)
    assert archived < kept < total
    assert not list((home / "results").glob("*/.*.tmp"))  # no half-written entry left behind
    resumed = _probe_run(home, tmp_path / "runs-c")
    assert resumed.wait(timeout=900) == 0, resumed.stderr.read()[-3000:]
    assert _entries(home) == total  # only the missing chunks were decoded
    (first,) = (tmp_path / "runs-a").glob("*/multilingual.csv")
    (second,) = (tmp_path / "runs-c").glob("*/multilingual.csv")
    assert first.read_bytes() == second.read_bytes()


def _archived_home(home: Path, archive: Archive) -> int:
    """A ``REPORTLIB_HOME`` whose result cache holds ``archive``'s answers; their count."""
    restore_archive(archive, ResultCache(home / "results"))
    return _entries(home)


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
            # the chat model only, greedy, one preference prompt per style: the resume is
            # what is tested, and three runs of the whole chapter took 14 min of CI
            "-p",
            "models",
            '["embedded-chat"]',
            "-p",
            "decodings",
            '["greedy"]',
            "-p",
            "preference_samples",
            "1",
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
