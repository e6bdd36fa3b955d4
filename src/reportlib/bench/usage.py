"""What a chapter asked of its models: calls and tokens, written next to its results.

Each chapter that runs a model ends by calling :func:`write_chapter_usage`. It writes
two files under ``results/usage/``:

- ``<chapter>.json``: completions asked for and prompt, evaluated and generated tokens
  per model. These depend only on the chapter's parameters and the model, so two
  runs give identical files whether the answers came from the cache or not.
- ``<chapter>.timings.json``: per completion, whether it came from the cache and how
  many seconds its computation took (the cold run's time, kept with the cached
  result). Machine-dependent; the Performance page's cost curves use it. Under
  ``scoring``, the same per likelihood scoring (texts scored, not generated): its kind and
  tokens, whether it was cached and, when computed in this run, its seconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from reportlib.backends.interface import model_labels
from reportlib.core.cache import atomic_write_text, canonical_json


def usage_summary(records: list[dict[str, Any]]) -> dict[str, int | None]:
    """Completions and token totals of a list of call records (evaluated tokens are None
    when a backend does not report them, as a server does not)."""
    evaluated = [r["evaluated_tokens"] for r in records]
    return {
        "completions": len(records),
        "prompt_tokens": sum(r["prompt_tokens"] for r in records),
        "evaluated_tokens": None if any(e < 0 for e in evaluated) else sum(evaluated),
        "generated_tokens": sum(r["completion_tokens"] for r in records),
    }


def write_chapter_usage(
    chapter: str, models: Iterable[Any], results_dir: str | Path, scorers: Iterable[Any] = ()
) -> Path:
    """Write the usage and timing files of ``chapter`` for its cached ``models``, and the
    scoring times of ``models`` and ``scorers`` (models loaded only to score text, whose
    completions, if any, are not the chapter's). Call it after the chapter's last scoring."""
    folder = Path(results_dir) / "usage"
    timings: dict[str, list[dict[str, Any]]] = {}
    scoring: dict[str, list[dict[str, Any]]] = {}
    models = list(models)
    extra = [s for s in scorers if all(s is not m for m in models)]
    labels = model_labels(models)
    for model, label in zip(models, labels, strict=True):
        # two loads of one model (say, two context sizes) add up; same-named models do not
        timings.setdefault(label, []).extend(model.records)
    # the models' labels do not change with the scorers (the usage file stays as it was)
    labels += model_labels(models + extra)[len(models) :]
    for model, label in zip(models + extra, labels, strict=True):
        scored = getattr(model, "scoring_records", [])
        if scored:
            scoring.setdefault(label, []).extend(scored)
    usage = {name: usage_summary(records) for name, records in timings.items()}
    path = folder / f"{chapter}.json"
    atomic_write_text(path, canonical_json({"chapter": chapter, "models": usage}) + "\n")
    atomic_write_text(
        folder / f"{chapter}.timings.json",
        json.dumps({"chapter": chapter, "calls": timings, "scoring": scoring}, indent=1) + "\n",
    )
    return path


def read_usage(results_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Every chapter's usage file under ``results_dir/usage`` (chapter -> its models' totals)."""
    out = {}
    for path in sorted((Path(results_dir) / "usage").glob("*.json")):
        if path.name.endswith(".timings.json"):
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        out[data["chapter"]] = data["models"]
    return out


def read_timings(results_dir: str | Path, chapter: str) -> dict[str, list[dict[str, Any]]]:
    """The per-call records of one chapter (model name -> records in call order)."""
    path = Path(results_dir) / "usage" / f"{chapter}.timings.json"
    return json.loads(path.read_text(encoding="utf-8"))["calls"]


def read_scoring_timings(results_dir: str | Path, chapter: str) -> dict[str, list[dict[str, Any]]]:
    """The per-scoring records of one chapter (model name -> records in call order; empty
    for timing files written before scoring was timed)."""
    path = Path(results_dir) / "usage" / f"{chapter}.timings.json"
    return json.loads(path.read_text(encoding="utf-8")).get("scoring", {})


def compute_seconds(records: Iterable[dict[str, Any]]) -> float:
    """The model time of ``records`` when they were computed (cached answers included, at
    the time their first computation took; 0 for entries older than that bookkeeping)."""
    return sum(record.get("compute_seconds") or 0.0 for record in records)
