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

from .backend import card_display_name
from .cache import atomic_write_text
from .chapters import notebook_parameters, notebook_path
from .context import needle_grid, run_needle_grid
from .costs import filler_tokens, time_prompt_and_generation
from .environment import cpu_model
from .errors import ReportlibError
from .llamacpp_backend import LlamaCppModel
from .models import model_card, resolve_model
from .usage import read_timings, read_usage

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
        build = [str(bindir / "jupyter-book"), "build", str(project), "-n", "-W", "--keep-going"]
        log("cold build of a copy of the book (empty caches) ...")
        cold = _timed_run(build, env, project)
        chapters = chapter_execution_seconds(project)
        usage = read_usage(project / "results")
        timings = {c: read_timings(project / "results", c) for c in usage}
        log(f"cold build {cold:.0f} s; no-change rebuild ...")
        rebuild = _timed_run(build, env, project)
        if rerun is None:  # one more prompt variant than the probe's default
            samples = notebook_parameters(notebook_path("multilingual", root))["samples"]
            rerun = ("multilingual", "samples", str(samples + 1))
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


def load_book_bench(path: str | Path) -> dict[str, Any] | None:
    """The record ``make bench-book`` wrote, or ``None`` when there is none yet."""
    import json

    path = Path(path)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def chapter_cost_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Per chapter: cold execution seconds, completions, evaluated and generated tokens."""
    rows = []
    for chapter, seconds in sorted(record["chapter_seconds"].items()):
        models = record["usage"].get(chapter, {}).values()
        evaluated = [m["evaluated_tokens"] for m in models]
        rows.append(
            {
                "chapter": chapter,
                "cold seconds": round(seconds, 1),
                "completions": sum(m["completions"] for m in models),
                "computed in this chapter": sum(
                    len(_computed(calls)) for calls in record["timings"].get(chapter, {}).values()
                ),
                "evaluated tokens": None if None in evaluated else sum(evaluated),
                "generated tokens": sum(m["generated_tokens"] for m in models),
            }
        )
    return rows


def _computed(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The calls that were computed, not answered from the cache."""
    return [c for c in calls if not c["cached"]]


def _computed_seconds(calls: list[dict[str, Any]]) -> float:
    return sum(c["compute_seconds"] for c in _computed(calls))


def probe_cost_by_samples(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Seconds of model work the probe costs with 1..``samples`` prompt variants (from the
    cold build's per-answer times, in the order they were asked: sample by sample, or for
    records before batching language, style, sample), and with one more (the
    changed-parameter rerun)."""
    samples = int(record.get("probe_samples", 3))
    sample_major = record.get("probe_order") == "sample-major"
    candidates = [
        calls
        for chapter in ("alternatives", "multilingual")
        for calls in record["timings"].get(chapter, {}).values()
    ]
    calls = max(candidates, key=lambda c: len(_computed(c)))
    if len(calls) - len(_computed(calls)) > len(calls) // 10:  # a few prompts repeat (English)
        raise ReportlibError("the probe's answers were not computed in this record's cold build")
    rows = []
    per_sample = len(calls) // samples
    for k in range(1, samples + 1):
        if sample_major:
            first_k = calls[: k * per_sample]
        else:
            first_k = [c for i, c in enumerate(calls) if i % samples < k]
        rows.append({"samples": k, "answers": len(first_k), "seconds": _computed_seconds(first_k)})
    rerun = record["rerun"]
    if rerun["chapter"] == "multilingual" and rerun["parameter"] == "samples":
        extra = _computed([c for calls in rerun["calls"].values() for c in calls])
        rows.append(
            {
                "samples": int(rerun["value"]),
                "answers": rows[-1]["answers"] + len(extra),
                "seconds": rows[-1]["seconds"] + _computed_seconds(extra),
            }
        )
    return rows


#: the chapters whose completions are the probe's answers (short prompts, 40 tokens each)
PROBE_CHAPTERS = ("alternatives", "claims", "finetune", "multilingual")

#: the whole-book goal of the performance issue, in seconds (cold, 2 cores)
BUDGET_SECONDS = 600


def budget_floor(record: dict[str, Any]) -> dict[str, Any]:
    """The largest single costs of a cold build: the probe's answers per model (every
    completion the probe's chapters computed; each answer is computed once, by whichever
    chapter asks first) and the most expensive single completion of the other chapters, with
    their sum against :data:`BUDGET_SECONDS`."""
    probe: dict[str, float] = {}
    for chapter in PROBE_CHAPTERS:
        for model, calls in record["timings"].get(chapter, {}).items():
            probe[model] = probe.get(model, 0.0) + _computed_seconds(calls)
    others = [c for chapter, models in record["timings"].items() if chapter not in PROBE_CHAPTERS
              for calls in models.values() for c in _computed(calls)]  # fmt: skip
    longest = max(others, key=lambda c: c["compute_seconds"], default=None)
    return {
        "probe_seconds": {m: s for m, s in probe.items() if s > 0},
        "longest_call": longest,
        "floor_seconds": sum(probe.values()) + (longest["compute_seconds"] if longest else 0.0),
        "budget_seconds": BUDGET_SECONDS,
    }


def budget_phrase(record: dict[str, Any] | None) -> str:
    """The budget floor in words, for the Performance page."""
    if record is None:
        return "not measured (no book/data/book-bench.json: run `make bench-book`)"
    floor = budget_floor(record)
    probes = " and ".join(f"{_duration(s)} for {m}" for m, s in floor["probe_seconds"].items())
    parts = [f"the probe's answers take {probes}"] if probes else []
    longest = floor["longest_call"]
    if longest:
        parts.append(
            f"the most expensive single completion of the other chapters (a prompt of "
            f"{longest['prompt_tokens']:,} tokens) takes {_duration(longest['compute_seconds'])}"
        )
    if not parts:
        return "The record has no computed completions"
    used, budget = floor["floor_seconds"], floor["budget_seconds"]
    left = (
        f"leaving {_duration(budget - used)} of the {budget // 60}-minute goal for everything else"
        if used < budget
        else f"already {_duration(used - budget)} over the {budget // 60}-minute goal"
    )
    text = "; ".join(parts)
    return f"{text[0].upper()}{text[1:]}: {_duration(used)} together, {left}"


def budget_verdict(record: dict[str, Any] | None) -> str:
    """Whether the recorded cold build meets :data:`BUDGET_SECONDS`, in words."""
    if record is None:
        return "not measured (no book/data/book-bench.json: run `make bench-book`)"
    if record["cold_build_seconds"] <= BUDGET_SECONDS:
        return "these defaults meet it"
    return "these defaults do not meet it"


def quadratic_fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float, float]:
    """Least-squares ``y = a + b x + c x^2``; returns ``(a, b, c)``."""
    import numpy as np

    c, b, a = np.polyfit(np.asarray(xs, float), np.asarray(ys, float), 2)
    return float(a), float(b), float(c)


def _fitted(fit: tuple[float, float, float], n: float) -> float:
    a, b, c = fit
    return a + b * n + c * n * n


def prompt_fit(record: dict[str, Any]) -> tuple[float, float, float]:
    """The quadratic fit of one prompt's processing seconds against its length."""
    rows = record["prompt_processing"]
    return quadratic_fit([r["prompt_tokens"] for r in rows], [r["seconds"] for r in rows])


def _duration(seconds: float) -> str:
    return (
        f"{seconds / 60:.1f} minutes ({seconds:,.0f} s)" if seconds >= 120 else f"{seconds:.1f} s"
    )


PHRASE_NAMES = (
    "bench_provenance",
    "cold_build",
    "chapters_total",
    "rebuild",
    "rerun_command",
    "rerun_computed",
    "rerun_seconds",
    "probe_per_sample",
    "quadratic_share",
    "longest",
    "prompts_per_length",
    "longest_prompt",
    "doubled_prompt",
    "grid_doubling",
    "record_machine",
)


def machine_note(record_cpu: str, page_cpu: str, subject: str = "record") -> str:
    """Whether a record (or another ``subject``) was measured on the machine that builds
    the page, in words (plain text: it is glued with ``{glue:text}``, which shows markup as
    it is)."""
    if record_cpu == page_cpu:
        return f"This {subject} was measured on the machine that built this page ({page_cpu})"
    return (
        f"This {subject} was measured on a different machine ({record_cpu}) from the one "
        f"that built this page ({page_cpu}): its times hold for that machine, not for the "
        "other figures on this page"
    )


def book_bench_phrases(record: dict[str, Any] | None) -> dict[str, str]:
    """The Performance page's whole-book figures as phrases to glue into its prose (every
    phrase says "not measured" when there is no record)."""
    if record is None:
        missing = "not measured (no book/data/book-bench.json: run `make bench-book`)"
        return dict.fromkeys(PHRASE_NAMES, missing)
    probe = probe_cost_by_samples(record)
    fit = prompt_fit(record)
    longest = max(r["prompt_tokens"] for r in record["prompt_processing"])
    measured = next(
        r["seconds"] for r in record["prompt_processing"] if r["prompt_tokens"] == longest
    )
    params = record["context_parameters"]
    rerun = record["rerun"]
    rerun_calls = [x for calls in rerun["calls"].values() for x in calls]
    return {
        "bench_provenance": f"Measured on {record['measured']} on {record['cpu']} "
        f"({record['cores']} cores), model {record['model']}",
        "cold_build": _duration(record["cold_build_seconds"]),
        "chapters_total": _duration(sum(record["chapter_seconds"].values())),
        "rebuild": _duration(record["rebuild_seconds"]),
        "rerun_command": f"reportlib run {rerun['chapter']} -p {rerun['parameter']} "
        f"{rerun['value']}",
        "rerun_computed": f"{len(_computed(rerun_calls))} of {len(rerun_calls)} answers",
        "rerun_seconds": _duration(rerun["seconds"]),
        "probe_per_sample": _duration(
            (probe[-1]["seconds"] - probe[0]["seconds"])
            / (probe[-1]["samples"] - probe[0]["samples"])
        ),
        "quadratic_share": f"{fit[2] * longest**2 / _fitted(fit, longest):.0%}",
        "longest": f"{longest:,} tokens",
        "prompts_per_length": str(len(params["depths"]) * params["needles"]),
        "longest_prompt": _duration(measured),
        "doubled_prompt": _duration(_fitted(fit, 2 * longest)),
        "grid_doubling": _growth_factors(record["needle_grid_growth"]),
        "record_machine": machine_note(record["cpu"], cpu_model()),
    }


def _growth_factors(rows: list[dict[str, Any]]) -> str:
    """'2.0 to 2.4': the range of cost ratios between consecutive largest lengths."""
    ratios = [b["seconds"] / a["seconds"] for a, b in zip(rows, rows[1:], strict=False)]
    return f"{min(ratios):.1f} to {max(ratios):.1f}"


def copy_record(record: dict[str, Any] | None, path: str | Path) -> Path:
    """Write the record (or a note that there is none) where the page offers it."""
    import json

    note = {"note": "no whole-book record yet: run `make bench-book`"}
    atomic_write_text(Path(path), json.dumps(record or note, indent=1, ensure_ascii=False) + "\n")
    return Path(path)


def time_to_run(path: str | Path, chapter: str) -> str:
    """How long ``chapter`` takes cold on the recorded machine, as a phrase: its execution
    time in the record's cold build plus the model work of the answers it found already
    cached there (computed by a chapter built before it)."""
    record = load_book_bench(path)
    if record is None or chapter not in record["chapter_seconds"]:
        return "not measured yet (run `make bench-book`)"
    calls = [c for model in record["timings"].get(chapter, {}).values() for c in model]
    seconds = record["chapter_seconds"][chapter] + sum(
        c["compute_seconds"] or 0.0 for c in calls if c["cached"]
    )
    return _duration(seconds)


# --- the kernel comparison record (make bench) --------------------------------------------

KERNEL_PHRASE_NAMES = (
    "kernels_provenance",
    "kernels_machine",
    "kernels_best",
    "kernels_best_pp",
    "kernels_best_tg",
    "kernels_answers",
)


def kernel_phrases(record: dict[str, Any] | None) -> dict[str, str]:
    """The kernel comparison as phrases for the Performance page ("not measured" without a
    record)."""
    if record is None:
        missing = "not measured (no book/data/kernel-bench.json: run `make bench`)"
        return dict.fromkeys(KERNEL_PHRASE_NAMES, missing)
    best = record["best"]
    identical = record.get("answers_identical_to_portable")
    if identical:
        others = [
            f"{name}: {n} of {record['answer_prompts']}"
            for name, n in identical.items()
            if name != "portable"
        ]
        answers = (
            "greedy answers of llama.cpp's own `llama-simple` to the probe's "
            f"{record['answer_prompts']} native openings, identical to the portable build's: "
            + "; ".join(others)
        )
    else:
        answers = "the record has no answer comparison"
    return {
        "kernels_provenance": f"Measured on {record['cpu']} (flags: "
        f"{' '.join(record['cpu_flags']) or 'unknown'}), {record['n_threads']} threads, "
        f"model {record['model']}, pp{record['pp']} and tg{record['tg']}, "
        f"{record['repeats']} interleaved rounds",
        "kernels_machine": machine_note(record["cpu"], cpu_model(), "comparison"),
        "kernels_best": f"{best} ({record['builds'][best]['description']})",
        "kernels_best_pp": f"{record['speedup'][best]['pp']:.2f}×",
        "kernels_best_tg": f"{record['speedup'][best]['tg']:.2f}×",
        "kernels_answers": answers,
    }


def kernel_table(record: dict[str, Any]) -> Any:
    """One row per build: how it is built, the CPU backend it ran, tokens/s and speed-ups."""
    import pandas as pd

    rows = []
    identical = record.get("answers_identical_to_portable") or {}
    for name, build in record["builds"].items():
        rows.append(
            {
                "build": name,
                "how it is built": build["description"],
                "CPU kernels loaded": build["cpu_backend"],
                f"prompt processing (pp{record['pp']}), tokens/s": round(build["pp"]["median"]),
                f"generation (tg{record['tg']}), tokens/s": round(build["tg"]["median"], 1),
                "pp vs portable": f"{record['speedup'][name]['pp']:.2f}×",
                "tg vs portable": f"{record['speedup'][name]['tg']:.2f}×",
                "answers as portable": f"{identical[name]} of {record['answer_prompts']}"
                if name in identical
                else "—",
            }
        )
    return pd.DataFrame(rows).set_index("build")


# --- the batched comparison record (make bench) -------------------------------------------

BATCHED_PHRASE_NAMES = (
    "batched_bench_provenance",
    "batched_bench_machine",
    "batched_ratio_random",
    "batched_ratio_greedy",
    "batched_ratio_greedy_stops",
    "batched_stops",
    "batched_tool_spread",
)


def _ratio_range(ratios: Sequence[float]) -> str:
    low, high = min(ratios), max(ratios)
    return f"{low:.2f}" if f"{low:.2f}" == f"{high:.2f}" else f"{low:.2f} to {high:.2f}"


def batched_phrases(record: dict[str, Any] | None) -> dict[str, str]:
    """The harness vs ``llama-batched-bench`` comparison as phrases for the Performance page
    ("not measured" without a record)."""
    if record is None:
        missing = "not measured (no book/data/batched-bench.json: run `make bench`)"
        return dict.fromkeys(BATCHED_PHRASE_NAMES, missing)
    rows = record["rows"]
    return {
        "batched_bench_provenance": f"Measured on {record['measured']} on {record['cpu']}, "
        f"{record['n_threads']} threads, model {record['model']}, prompts of "
        f"{record['pp']} tokens and up to {record['tg']} generated tokens per sequence, "
        f"flash attention {'on' if record['flash_attention'] else 'off'} in both, medians of "
        f"{record['rounds']} interleaved rounds",
        "batched_bench_machine": machine_note(record["cpu"], cpu_model(), "comparison"),
        **{
            f"batched_ratio_{kind}": _ratio_range([r[f"ratio_{kind}"] for r in rows])
            for kind in ("random", "greedy", "greedy_stops")
        },
        "batched_stops": stops_phrase(rows),
        "batched_tool_spread": f"{max(r['tool_spread'] for r in rows):.0%}",
    }


def stops_phrase(rows: Sequence[dict[str, Any]]) -> str:
    """How many sequences the model ended early at each width, in words."""
    items: list[str] = []
    for r in rows:
        if r["stopped_early"]:
            noun = "" if items else " sequences"  # said once, after the first count
            items.append(f"{r['stopped_early']} of {r['width']}{noun} at width {r['width']}")
    if not items:
        return "no sequence ended early at any width"
    joined = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
    return f"the model ended its text early in {joined}"


def batched_table(record: dict[str, Any]) -> Any:
    """One row per width: the tool's tokens per second, the harness's ratio to it with each
    input, and how many sequences ended early when the model may end its text."""
    import pandas as pd

    rows = [
        {
            "batch width": r["width"],
            "llama-batched-bench, tokens/s": f"{r['llama_batched_bench_tokens_per_s']:.1f}",
            "harness ÷ tool, random tokens": f"{r['ratio_random']:.2f}",
            "harness ÷ tool, greedy, full length": f"{r['ratio_greedy']:.2f}",
            "harness ÷ tool, greedy, may stop": f"{r['ratio_greedy_stops']:.2f}",
            "sequences that stopped early": r["stopped_early"],
        }
        for r in record["rows"]
    ]
    return pd.DataFrame(rows).set_index("batch width")
