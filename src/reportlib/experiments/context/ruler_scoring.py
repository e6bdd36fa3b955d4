"""Scoring RULER's retrieval tasks as RULER scores them: recall per answer, scores per task and
length with Wilson intervals, and effective lengths against RULER's threshold."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from reportlib.core.errors import ReportlibError
from reportlib.core.progress import progress_bar
from reportlib.core.stats import wilson_interval
from reportlib.experiments.context.needles import effective_length
from reportlib.experiments.context.ruler_tasks import RULER_THRESHOLD, TASKS, RulerCase


def recall(answer: str, expected: Iterable[str]) -> float:
    """RULER's ``string_match_all``: the share of expected strings in the answer (any case)."""
    wanted = list(expected)
    if not wanted:
        raise ReportlibError("a question needs at least one expected answer")
    return recalled(answer, wanted) / len(wanted)


def recalled(answer: str, expected: Iterable[str]) -> int:
    """How many of the expected strings the answer contains (any case)."""
    text = answer.lower()
    return sum(1 for e in expected if e.lower() in text)


def task_scores(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Per (haystack, task, length): questions, the mean score (RULER's), and a 95% Wilson
    interval on the expected values recalled (pooled over the cell's questions)."""
    frame = pd.DataFrame(rows)
    if "layout" in frame and frame["layout"].nunique() > 1:
        raise ReportlibError("the rows mix the two layouts: score each layout on its own")
    out = []
    for (kind, task, length), group in frame.groupby(["haystack", "task", "length"], sort=False):
        values, recalled = int(group["values"].sum()), int(group["recalled"].sum())
        low, high = wilson_interval(recalled, values)
        out.append(
            {
                "haystack": kind,
                "task": task,
                "length": length,
                "questions": len(group),
                "values": values,
                "score": float(group["score"].mean()),
                "low": low,
                "high": high,
                "context_characters": float(group["context_characters"].mean()),
            }
        )
    return pd.DataFrame(out)


#: the easy baseline, the context chapter's single-needle grid, shown beside the tasks
SINGLE_NEEDLE = "single needle"


def needle_scores(grid: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The single-needle grid's rows (``found``) as task rows on the filler haystack."""
    return [
        {
            "haystack": "filler",
            "task": SINGLE_NEEDLE,
            "length": row["length"],
            "values": 1,
            "recalled": int(row["found"]),
            "score": float(row["found"]),
            "context_characters": float("nan"),
        }
        for row in grid
    ]


def average_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """RULER's average: the mean of the four harder tasks' scores, per (haystack, length)
    (the single needle, the easy baseline, is not in it)."""
    tasks = scores[scores["task"].isin(TASKS)]
    average = tasks.groupby(["haystack", "length"], sort=False)["score"].mean().reset_index()
    return average.assign(task="average")


def effective_lengths(scores: pd.DataFrame, threshold: float = RULER_THRESHOLD) -> pd.DataFrame:
    """Per haystack and task (and the average): the longest length at which the score, and
    every shorter length's, is at least ``threshold``; ``None`` if even the shortest is
    below; and whether every tested length passed (then the real limit lies beyond)."""
    both = pd.concat([scores, average_scores(scores)], ignore_index=True)
    rows = []
    for (kind, task), group in both.groupby(["haystack", "task"], sort=False):
        by_length = dict(zip(group["length"], group["score"], strict=True))
        effective = effective_length(by_length, threshold)
        rows.append(
            {
                "haystack": kind,
                "task": task,
                "effective length": effective,
                "shortest tested": min(by_length),
                "longest tested": max(by_length),
                "all passed": effective == max(by_length),
            }
        )
    return pd.DataFrame(rows)


def run_grid(
    model: Any, cases: Sequence[RulerCase], seed: int = 0, progress: bool | None = None
) -> list[dict[str, Any]]:
    """Ask every question of every case; the questions of one haystack follow each other,
    so the KV cache keeps the haystack and each question costs only its own tokens."""
    total = sum(len(c.questions) for c in cases)
    bar = progress_bar(total=total, desc="RULER tasks", unit="question", enabled=progress)
    rows = []
    with bar:
        for case in cases:
            for number, question in enumerate(case.questions):
                answer = model.complete(
                    case.context + question.prompt,
                    max_tokens=question.max_tokens,
                    seed=seed,
                    reuse_prefix=True,
                )
                found = recalled(answer.text, question.expected)
                rows.append(
                    {
                        "haystack": case.haystack,
                        "layout": case.layout,
                        "length": case.length,
                        "sample": case.sample,
                        "task": question.task,
                        "question": number,
                        "depth": round(question.depth, 4),
                        "expected": " ".join(question.expected),
                        "answer": answer.text,
                        "values": len(question.expected),
                        "recalled": found,
                        "score": recall(answer.text, question.expected),
                        "context_tokens": case.context_tokens,
                        "context_characters": case.context_characters,
                        "evaluated_tokens": answer.evaluated_tokens,
                    }
                )
                bar.update()
    return rows
