"""Whole-book costs: a cold build, a no-change rebuild, a changed-parameter rerun, and
how the two expensive chapters' costs grow with their sizes.

:func:`measure_book` builds a copy of the book in a scratch folder with empty
execution and result caches (the model file is linked, not re-assembled), so the
reader's own caches are untouched. ``make bench-book`` runs it and writes
``book/data/book-bench.json``, which the Performance page renders.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reportlib.backends.interface import card_display_name
from reportlib.backends.llamacpp import LlamaCppModel
from reportlib.backends.specs import model_card, resolve_model
from reportlib.bench.usage import read_scoring_timings, read_timings, read_usage
from reportlib.core.errors import ReportlibError
from reportlib.core.machine import cpu_model
from reportlib.experiments.context.costs import filler_tokens, time_prompt_and_generation
from reportlib.experiments.context.needles import needle_grid, run_needle_grid
from reportlib.site.book_build import build_book
from reportlib.site.chapters import notebook_parameters, notebook_path

#: what a copy of the book needs; build output, caches and runs are left behind
_IGNORED = shutil.ignore_patterns(
    ".git",
    ".venv",
    "_build",
    "results",
    "runs",
    "*.egg-info",
    "__pycache__",
    ".ruff_cache",
    ".pytest_cache",
    ".ipynb_checkpoints",
)


def copy_book(root: Path, target: Path) -> Path:
    """A copy of the book's sources (no build, caches or results) at ``target``."""
    shutil.copytree(root, target, ignore=_IGNORED, symlinks=True)
    return target


def scratch_home(home: Path, model_path: Path) -> Path:
    """An empty ``REPORTLIB_HOME`` holding only a link to the embedded model file."""
    (home / "models").mkdir(parents=True, exist_ok=True)
    (home / "models" / model_path.name).symlink_to(model_path.resolve())
    return home


def _timed_run(cmd: Sequence[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(list(cmd), env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-15:])
        raise ReportlibError(f"{' '.join(cmd[:3])} failed (exit {proc.returncode}):\n{tail}")
    return seconds


def _timed_build(project: Path, env: dict[str, str]) -> float:
    """Seconds of one ``make book`` of ``project`` (its progress on stderr)."""
    start = time.perf_counter()
    code = build_book(project, out=sys.stderr, env=env)
    seconds = time.perf_counter() - start
    if code != 0:
        raise ReportlibError(f"the book build in {project} failed (exit {code}); see above")
    return seconds


def chapter_execution_seconds(project: Path) -> dict[str, float]:
    """Seconds each notebook took to execute, from the build's jupyter-cache (latest record)."""
    from jupyter_cache import get_cache

    records = sorted(
        get_cache(project / "_build" / ".jupyter_cache").list_cache_records(),
        key=lambda r: r.created,
    )
    return {Path(r.uri).stem: float(r.data["execution_seconds"]) for r in records}


def measure_book(
    root: Path,
    model_path: Path,
    rerun: tuple[str, str, str] | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Cold build, no-change rebuild and one changed-parameter rerun of a copy of the book."""

    bindir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="reportlib-bench-book-") as tmp:
        project = copy_book(root, Path(tmp) / "book")
        env = {**os.environ, "REPORTLIB_HOME": str(scratch_home(Path(tmp) / "home", model_path))}
        home = {"REPORTLIB_HOME": env["REPORTLIB_HOME"]}
        log("cold build of a copy of the book (empty caches) ...")
        cold = _timed_build(project, home)
        chapters = chapter_execution_seconds(project)
        usage = read_usage(project / "results")
        timings = {c: read_timings(project / "results", c) for c in usage}
        scoring = {c: read_scoring_timings(project / "results", c) for c in usage}
        log(f"cold build {cold:.0f} s; no-change rebuild ...")
        rebuild = _timed_build(project, home)
        if rerun is None:  # one prompt variant fewer than the probe's default (10 is the most)
            samples = notebook_parameters(notebook_path("multilingual", root))["samples"]
            rerun = ("multilingual", "samples", str(samples - 1 if samples > 1 else 2))
        chapter, name, value = rerun
        log(f"rerun of {chapter} with {name}={value} ...")
        runs = Path(tmp) / "runs"
        rerun_seconds = _timed_run(
            [
                str(bindir / "reportlib"),
                "run",
                chapter,
                "-p",
                name,
                value,
                "--output-dir",
                str(runs),
            ],
            env,
            project,
        )
        rerun_calls = read_timings(next(runs.glob(f"{chapter}-*")), chapter)
    return {
        "cold_build_seconds": cold,
        "chapter_seconds": chapters,
        "usage": usage,
        "timings": timings,
        "scoring_timings": scoring,
        "rebuild_seconds": rebuild,
        "rerun": {
            "chapter": chapter,
            "parameter": name,
            "value": value,
            "seconds": rerun_seconds,
            "calls": rerun_calls,
        },
    }


def measure_needle_grid_growth(
    model_path: Path,
    lengths: Sequence[int],
    depths: Sequence[float],
    needles: int,
    n_ctx: int,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Seconds for the context chapter's needle grid cut at each largest length (no cache;
    a fresh model each time, so no KV state carries over)."""

    rows = []
    for largest in lengths:
        model = LlamaCppModel(resolve_model(model_path), n_ctx=n_ctx)
        cases = needle_grid(
            model.tokenize, [n for n in lengths if n <= largest], depths, needles, seed
        )
        start = time.perf_counter()
        answers = run_needle_grid(model, cases, seed=seed)  # a bar on a terminal
        seconds = time.perf_counter() - start
        rows.append(
            {
                "largest_length": largest,
                "prompts": len(cases),
                "seconds": seconds,
                "evaluated_tokens": sum(a["evaluated_tokens"] for a in answers),
            }
        )
        log(f"needle grid up to {largest} tokens: {len(cases)} prompts, {seconds:.1f} s")
    return rows


def measure_prompt_processing(
    model_path: Path, lengths: Sequence[int], n_ctx: int, log: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    """Seconds to process one prompt of each length (a warm-up first, untimed)."""

    model = LlamaCppModel(resolve_model(model_path), n_ctx=n_ctx)
    time_prompt_and_generation(model, filler_tokens(model, min(lengths)), 2)
    rows = []
    for length in lengths:
        timing = time_prompt_and_generation(model, filler_tokens(model, length), 2)
        rows.append({"prompt_tokens": length, "seconds": timing["prompt_seconds"]})
        log(f"prompt of {length} tokens: {timing['prompt_seconds']:.2f} s")
    return rows


def run_book_benchmark(root: Path, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Everything the Performance page's whole-book section shows, measured in one run."""

    model = resolve_model("default")
    params = notebook_parameters(notebook_path("context", root))
    book = measure_book(root, model.path, log=log)
    growth = measure_needle_grid_growth(
        model.path,
        params["lengths"],
        params["depths"],
        params["needles"],
        params["n_ctx"],
        params["seed"],
        log,
    )
    pp = measure_prompt_processing(model.path, params["lengths"], params["n_ctx"], log)
    return {
        "measured": datetime.now(UTC).strftime("%Y-%m-%d"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "model": card_display_name(model_card(model)),
        "model_sha256": model.sha256,
        "context_parameters": {k: params[k] for k in ("lengths", "depths", "needles", "n_ctx")},
        "probe_samples": notebook_parameters(notebook_path("multilingual", root))["samples"],
        "probe_order": "sample-major",
        **book,
        "needle_grid_growth": growth,
        "prompt_processing": pp,
    }


# --- reading a record (the Performance page) -------------------------------------------------


# --- the kernel comparison record (make bench) --------------------------------------------


# --- the batched comparison record (make bench) -------------------------------------------
