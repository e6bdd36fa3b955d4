"""The whole-book record as the pages read it: chapter costs, the probe's cost by samples, the
budget, the prompt-cost fit, and the sentences the Performance page glues."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reportlib.core.cache import atomic_write_text
from reportlib.core.errors import ReportlibError
from reportlib.core.machine import cpu_model


def load_book_bench(path: str | Path) -> dict[str, Any] | None:
    """The record ``make bench-book`` wrote, or ``None`` when there is none yet."""
    import json

    path = Path(path)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def chapter_cost_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Per chapter: cold execution seconds, the seconds of them spent computing answers
    (and scoring, when the record timed it), completions, evaluated and generated tokens."""
    rows = []
    split = chapter_time_split(record)
    for chapter, seconds in sorted(record["chapter_seconds"].items()):
        models = record["usage"].get(chapter, {}).values()
        evaluated = [m["evaluated_tokens"] for m in models]
        rows.append(
            {
                "chapter": chapter,
                "cold seconds": round(seconds, 1),
                "computing answers (s)": round(split[chapter]["answers"] or 0.0, 1),
                **(
                    {"scoring (s)": round(scoring, 1)}
                    if (scoring := split[chapter]["scoring"]) is not None
                    else {}
                ),
                "completions": sum(m["completions"] for m in models),
                "computed in this chapter": sum(
                    len(_computed(calls)) for calls in record["timings"].get(chapter, {}).values()
                ),
                "evaluated tokens": None if None in evaluated else sum(evaluated),
                "generated tokens": sum(m["generated_tokens"] for m in models),
            }
        )
    return rows


def chapter_time_split(record: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """Per chapter, its cold seconds in parts: computing the completions it computed
    (``answers``), computing the likelihood scores it computed (``scoring``: ``None`` in
    records made before scoring was timed; then it is part of ``other``) and everything
    else (loading models and adapters, kernels, statistics, figures)."""
    split: dict[str, dict[str, float | None]] = {}
    timed_scoring = "scoring_timings" in record
    for chapter, seconds in record["chapter_seconds"].items():
        answers = sum(_computed_seconds(c) for c in record["timings"].get(chapter, {}).values())
        scoring = (
            sum(_computed_seconds(c) for c in record["scoring_timings"].get(chapter, {}).values())
            if timed_scoring
            else None
        )
        other = max(seconds - answers - (scoring or 0.0), 0.0)
        split[chapter] = {"answers": answers, "scoring": scoring, "other": other}
    return split


def time_split_phrase(record: dict[str, Any]) -> str:
    """How the chapters' cold time divides between computing answers, scoring and the rest,
    in words (what a record made before scoring was timed cannot tell apart, it says)."""
    split = chapter_time_split(record).values()
    answers = sum(part["answers"] or 0.0 for part in split)
    other = sum(part["other"] or 0.0 for part in split)
    if "scoring_timings" not in record:
        return (
            f"computing the completions took {duration_text(answers)}; the other "
            f"{duration_text(other)} went to scoring texts' likelihoods, loading models and "
            "adapters, statistics and figures, which this record does not time apart"
        )
    scoring = sum(part["scoring"] or 0.0 for part in split)
    return (
        f"computing the completions took {duration_text(answers)}, scoring texts' "
        f"likelihoods {duration_text(scoring)}, and the other {duration_text(other)} went to "
        "loading models and adapters, statistics and figures"
    )


def _computed(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The calls that were computed, not answered from the cache."""
    return [c for c in calls if not c["cached"]]


def _computed_seconds(calls: list[dict[str, Any]]) -> float:
    return sum(c["compute_seconds"] for c in _computed(calls))


def _probe_samples(record: dict[str, Any]) -> int:
    """The probe's prompt variants in the record's build (records before it was written: 3)."""
    return int(record.get("probe_samples", 3))


def probe_cost_by_samples(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Seconds of model work the probe costs with 1..``samples`` prompt variants (from the
    cold build's per-answer times, in the order they were asked: sample by sample, or for
    records before batching language, style, sample), and with one more (the
    changed-parameter rerun, when it asked for more)."""
    samples = _probe_samples(record)
    sample_major = record.get("probe_order") == "sample-major"
    candidates = [
        calls
        for chapter in ("alternatives", "multilingual")
        for calls in record["timings"].get(chapter, {}).values()
    ]
    # the probe as first computed (a few prompts repeat: English); a later chapter's calls
    # mix answers read from the cache with those it adds (the chat model's sampled answers)
    cold = [c for c in candidates if len(c) - len(_computed(c)) <= len(c) // 10]
    if not cold:
        raise ReportlibError("the probe's answers were not computed in this record's cold build")
    calls = max(cold, key=len)
    rows = []
    per_sample = len(calls) // samples
    for k in range(1, samples + 1):
        if sample_major:
            first_k = calls[: k * per_sample]
        else:
            first_k = [c for i, c in enumerate(calls) if i % samples < k]
        rows.append({"samples": k, "answers": len(first_k), "seconds": _computed_seconds(first_k)})
    rerun = record["rerun"]
    more = rerun["parameter"] == "samples" and int(rerun["value"]) > samples
    if rerun["chapter"] == "multilingual" and more:  # fewer samples: no new point
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


#: the whole-book budget (issue #32), in seconds: a cold build's execution on 2 cores
BUDGET_SECONDS = 1800


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
    probes = " and ".join(f"{duration_text(s)} for {m}" for m, s in floor["probe_seconds"].items())
    parts = [f"the probe's answers take {probes}"] if probes else []
    longest = floor["longest_call"]
    if longest:
        parts.append(
            "the most expensive single completion of the other chapters (a prompt of "
            f"{longest['prompt_tokens']:,} tokens) takes "
            f"{duration_text(longest['compute_seconds'])}"
        )
    if not parts:
        return "The record has no computed completions"
    used, budget = floor["floor_seconds"], floor["budget_seconds"]
    left = (
        f"leaving {duration_text(budget - used)} of the {budget // 60}-minute goal for "
        "everything else"
        if used < budget
        else f"already {duration_text(used - budget)} over the {budget // 60}-minute goal"
    )
    text = "; ".join(parts)
    return f"{text[0].upper()}{text[1:]}: {duration_text(used)} together, {left}"


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


def duration_text(seconds: float) -> str:
    if seconds < 0.05:
        return "under 0.1 s"
    return (
        f"{seconds / 60:.1f} minutes ({seconds:,.0f} s)" if seconds >= 120 else f"{seconds:.1f} s"
    )


def _models_text(record: dict[str, Any]) -> str:
    """The models the record's chapters ran (adapters folded into their base), in words."""
    listed = list(
        dict.fromkeys(
            name.split(" + ")[0] for models in record["usage"].values() for name in models
        )
    ) or [record["model"]]
    return listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + " and " + listed[-1]


PHRASE_NAMES = (
    "bench_provenance",
    "cold_build",
    "chapters_total",
    "rebuild",
    "rerun_command",
    "rerun_change",
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
    "time_split",
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
        f"({record['cores']} cores); the chapters ran {_models_text(record)}, and the "
        f"growth measurements below ran {record['model']}",
        "cold_build": duration_text(record["cold_build_seconds"]),
        "chapters_total": duration_text(sum(record["chapter_seconds"].values())),
        "rebuild": duration_text(record["rebuild_seconds"]),
        "rerun_command": f"reportlib run {rerun['chapter']} -p {rerun['parameter']} "
        f"{rerun['value']}",
        "rerun_change": _rerun_change(record),
        "rerun_computed": f"{len(_computed(rerun_calls))} of {len(rerun_calls)} answers",
        "rerun_seconds": duration_text(rerun["seconds"]),
        "probe_per_sample": duration_text(
            (probe[-1]["seconds"] - probe[0]["seconds"])
            / (probe[-1]["samples"] - probe[0]["samples"])
        ),
        "quadratic_share": f"{fit[2] * longest**2 / _fitted(fit, longest):.0%}",
        "longest": f"{longest:,} tokens",
        "prompts_per_length": str(len(params["depths"]) * params["needles"]),
        "longest_prompt": duration_text(measured),
        "doubled_prompt": duration_text(_fitted(fit, 2 * longest)),
        "grid_doubling": _growth_factors(record["needle_grid_growth"]),
        "record_machine": machine_note(record["cpu"], cpu_model()),
        "time_split": time_split_phrase(record),
    }


def _rerun_change(record: dict[str, Any]) -> str:
    """What the changed-parameter rerun changed, in words ("one prompt variant fewer")."""
    rerun = record["rerun"]
    if rerun["chapter"] != "multilingual" or rerun["parameter"] != "samples":
        return f"{rerun['parameter']} set to {rerun['value']}"
    change = int(rerun["value"]) - _probe_samples(record)
    if change == 0:
        return "the same number of prompt variants"
    count = "one" if abs(change) == 1 else str(abs(change))
    variants = "prompt variant" if abs(change) == 1 else "prompt variants"
    return f"{count} more {variants}" if change > 0 else f"{count} {variants} fewer"


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
    return (
        f"{duration_text(seconds)} (the book record of {record['measured']}, "
        f"{record['cpu']}, {record['cores']} cores)"
    )


def costliest_chapters(record: dict[str, Any], top: int = 3) -> str:
    """The ``top`` chapters that took longest in the record's cold build, in words."""
    ranked = sorted(record["chapter_seconds"].items(), key=lambda kv: -kv[1])[:top]
    return ", ".join(f"{name} ({duration_text(s)})" for name, s in ranked)
