"""``make book`` with a terminal a person can watch.

:func:`build_book` runs ``jupyter-book build ROOT -n -W --keep-going`` and reads what it
prints. It says when each chapter starts (its place in the book and an estimate from the
last record) and ends (its time), shows the chapters' own progress lines
(:mod:`reportlib.core.progress`) while they run, drops the kernel's TCP warning, and ends
with the total and the three costliest chapters. The chapters' times of this machine's last
build are kept in ``_build/chapter-seconds.json`` for the next estimate; before the first
build the estimate comes from the whole-book record (``book/data/book-bench.json``), named
with its machine and date. Nothing of this reaches a page or a stored notebook output.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from reportlib.core.cache import atomic_write_text
from reportlib.core.errors import ReportlibError
from reportlib.core.progress import ProgressRelay, relay_progress
from reportlib.site.chapters import KERNEL_TCP_WARNING
from reportlib.site.run_record import Estimates, last_record, minutes, save_record

_PATH = r"(?P<path>\S+?\.(?:md|ipynb))"
EXECUTING = re.compile(_PATH + r":?\s+Executing notebook using")
CACHED = re.compile(_PATH + r":?\s+Using cached notebook")
EXECUTED = re.compile(_PATH + r":?\s+Executed notebook in (?P<seconds>[0-9.]+) seconds")
FAILED = re.compile(_PATH + r":?.*Executing notebook failed")


def count_chapters(root: Path) -> int:
    """How many executable chapters the book has (``notebooks/*.md``)."""
    return len(list((root / "notebooks").glob("*.md")))


@dataclass
class BuildWatcher:
    """Turns the build's log lines into what the terminal shows (see the module docstring)."""

    total: int
    estimates: Estimates
    started: float = field(default_factory=time.monotonic)
    seen: list[str] = field(default_factory=list)
    executed: dict[str, float] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    running: dict[str, float] = field(default_factory=dict)

    def _place(self, chapter: str) -> str:
        if chapter not in self.seen:
            self.seen.append(chapter)
        return f"[{self.seen.index(chapter) + 1} of {self.total}] {chapter}"

    def line(self, text: str) -> str | None:
        """What to print for one line of the build's output (``None``: nothing)."""
        if KERNEL_TCP_WARNING in text:
            return None
        if match := EXECUTING.search(text):
            chapter = Path(match["path"]).stem
            self.running[chapter] = time.monotonic()
            return f"{self._place(chapter)}: executing, {self.estimates.describe(chapter)}"
        if match := CACHED.search(text):
            chapter = Path(match["path"]).stem
            self.cached.append(chapter)
            return f"{self._place(chapter)}: unchanged, from the cache"
        if match := EXECUTED.search(text):
            chapter = Path(match["path"]).stem
            self.running.pop(chapter, None)
            self.executed[chapter] = float(match["seconds"])
            elapsed = time.monotonic() - self.started
            return (
                f"{self._place(chapter)}: executed in {minutes(self.executed[chapter])} "
                f"({minutes(elapsed)} into the build)"
            )
        if match := FAILED.search(text):
            chapter = Path(match["path"]).stem
            self.running.pop(chapter, None)
            self.failed.append(chapter)
        return text

    def summary(self) -> list[str]:
        """The closing lines: total time and the three costliest chapters of this build."""
        total = time.monotonic() - self.started
        if not self.seen:
            return [f"book: {minutes(total)} in all; no chapter changed since the last build"]
        lines = [
            f"book: {minutes(total)} in all; chapters executed: {len(self.executed)} "
            f"({minutes(sum(self.executed.values()))}), from the cache: {len(self.cached)}"
        ]
        costliest = sorted(self.executed.items(), key=lambda kv: -kv[1])[:3]
        if costliest:
            lines.append("costliest: " + ", ".join(f"{name} {minutes(s)}" for name, s in costliest))
        if self.failed:
            lines.append("failed: " + ", ".join(self.failed))
        return lines


#: what a build reads: every file under the project but these folders (build output,
#: caches, runs, version control, the virtual environment itself)
_NOT_INPUTS = {"_build", ".git", ".venv", "runs", "results", "__pycache__", ".pytest_cache",
               ".ruff_cache", ".mypy_cache", ".hypothesis", ".ipynb_checkpoints"}  # fmt: skip
#: where a successful build keeps the fingerprint of its inputs
INPUTS_RECORD = Path("_build") / "inputs.json"


def input_fingerprint(root: Path) -> str:
    """A digest of every input file's path, size and modification time, and of the installed
    environment (the install stamp and this Python's packages folder), so that an edit, a
    new file or a reinstall changes it."""
    import hashlib

    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _NOT_INPUTS and not d.endswith(".egg-info"))
        for name in sorted(files):
            path = Path(folder) / name
            try:
                stat = path.stat()
            except OSError:
                continue
            rel = path.relative_to(root).as_posix()
            digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    for marker in (root / ".venv" / ".installed-stamp", Path(sys.prefix)):
        with contextlib.suppress(OSError):
            digest.update(f"{marker}\0{marker.stat().st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _last_build_record(root: Path) -> dict[str, Any] | None:
    """What the last successful build recorded of its inputs (None: no readable record)."""
    try:
        recorded = json.loads((root / INPUTS_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return recorded if isinstance(recorded, dict) else None


def unchanged_since_last_build(root: Path) -> bool:
    """True when the last build succeeded and no input changed since (see
    :func:`input_fingerprint`); then a build would execute and write nothing new."""
    recorded = _last_build_record(root)
    if recorded is None or "inputs" not in recorded:
        return False
    built = (root / "_build" / "html" / "index.html").exists()
    return built and recorded["inputs"] == input_fingerprint(root)


#: the chapters' code: when it changes, every chapter's stored execution is out of date
#: (jupyter-cache keys a notebook on its cells' source, and Sphinx rereads only edited pages)
LIBRARY = Path("src") / "reportlib"
#: what a build keeps between runs and a library change makes stale
EXECUTION_STATE = (Path("_build") / ".jupyter_cache", Path("_build") / ".doctrees")


def library_fingerprint(root: Path) -> str:
    """A digest of the content of every file of the library (``src/reportlib``)."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((root / LIBRARY).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def library_changed_since_last_build(root: Path) -> bool:
    """True when a build was recorded and the library has changed since (a record from
    before the library was fingerprinted counts as changed)."""
    recorded = _last_build_record(root)
    return recorded is not None and recorded.get("library") != library_fingerprint(root)


def _record_inputs(root: Path) -> None:
    record = {"inputs": input_fingerprint(root), "library": library_fingerprint(root)}
    atomic_write_text(root / INPUTS_RECORD, json.dumps(record) + "\n")


def jupyter_book_command(root: Path) -> list[str]:
    """``jupyter-book build ROOT -n -W --keep-going``, from this Python's environment."""
    beside = Path(sys.executable).parent / "jupyter-book"
    exe = str(beside) if beside.exists() else shutil.which("jupyter-book")
    if exe is None:
        raise ReportlibError("jupyter-book is not installed: run `make install` first")
    return [exe, "build", str(root), "-n", "-W", "--keep-going"]


def _print(out: IO[str], relay: ProgressRelay, text: str) -> None:
    relay.poll()  # a chapter's last progress line comes before the line saying it ended
    relay.clear()
    with relay.lock:
        out.write(text + "\n")
        out.flush()


def build_book(
    root: Path,
    out: IO[str] | None = None,
    extra_args: list[str] | None = None,
    env: dict[str, str] | None = None,
    always: bool = False,
) -> int:
    """Build the book at ``root`` as ``make book`` does; returns jupyter-book's exit code.
    ``env`` adds to the environment of the build (and of its kernels). When no input changed
    since the last successful build, nothing is run unless ``always``."""
    out = out if out is not None else sys.stdout
    if not always and not extra_args and unchanged_since_last_build(root):
        out.write(
            "book: no file changed since the last build; the site is in _build/html "
            "(`reportlib book --always` builds anyway)\n"
        )
        out.flush()
        return 0
    if library_changed_since_last_build(root):
        for state in EXECUTION_STATE:
            shutil.rmtree(root / state, ignore_errors=True)
        out.write(
            f"book: the library ({LIBRARY.as_posix()}) changed since the last build: every "
            "chapter is executed again (model answers still come from the result cache)\n"
        )
    watcher = BuildWatcher(count_chapters(root), last_record(root))
    with relay_progress(out) as relay:
        env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(
            jupyter_book_command(root) + list(extra_args or []),
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
        )
        assert proc.stdout is not None
        try:
            for raw in proc.stdout:
                shown = watcher.line(raw.rstrip("\n"))
                if shown is not None:
                    _print(out, relay, shown)
            code = proc.wait()
        except KeyboardInterrupt:
            proc.terminate()
            proc.wait()
            raise
    save_record(root, watcher.executed)
    if code == 0:
        _record_inputs(root)
    for text in watcher.summary():
        out.write(text + "\n")
    out.flush()
    return code


if __name__ == "__main__":  # python -m reportlib.site.book_build [ROOT]
    sys.exit(build_book(Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()))
