"""What RULER's answers say beyond the scores per length: each task's effective length against
its own zero-haystack control, recall by an insert's distance to the question (inside or
beyond a sliding attention window), and the two layouts compared on the haystacks they share.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from reportlib.core.errors import ReportlibError
from reportlib.core.stats import binomial_two_sided, sign_test_of_differences, wilson_interval
from reportlib.experiments.context.needles import effective_length
from reportlib.experiments.context.ruler_scoring import average_scores
from reportlib.experiments.context.ruler_tasks import (
    CHAIN_LINK,
    NEEDLE,
    RULER_THRESHOLD,
    TASKS,
    RulerCase,
)
from reportlib.text.corpus import flores_sentences


def control_scores(control: pd.DataFrame) -> dict[str, float]:
    """Each task's zero-haystack score (from :func:`~.ruler_scoring.task_scores` of the
    control cases) and their mean as "average"."""
    tasks = control[control["task"].isin(TASKS)]
    if tasks.empty:
        raise ReportlibError("the control has no task scores")
    out = {str(t): float(s) for t, s in zip(tasks["task"], tasks["score"], strict=True)}
    if len(out) != len(tasks):
        raise ReportlibError("the control has more than one cell per task")
    return out | {"average": sum(out.values()) / len(out)}


def relative_effective_lengths(
    scores: pd.DataFrame, control: pd.DataFrame, threshold: float = RULER_THRESHOLD
) -> pd.DataFrame:
    """Per haystack and task (and the four tasks' average): the zero-haystack control's
    score, the effective length at RULER's ``threshold``, and the effective length held to
    ``threshold`` times the control's score instead, the share of its own floor the task
    keeps; ``None`` when even the shortest length falls below. A task that scores nothing
    with no haystack has no floor to keep (``None`` and ``no floor``)."""
    floors = control_scores(control)
    tasks = scores[scores["task"].isin(TASKS)]
    both = pd.concat([tasks, average_scores(tasks)], ignore_index=True)
    rows = []
    for (kind, task), group in both.groupby(["haystack", "task"], sort=False):
        if task not in floors:
            raise ReportlibError(f"the control has no score for {task!r}")
        by_length = dict(zip(group["length"], group["score"], strict=True))
        floor = floors[task]
        rows.append(
            {
                "haystack": kind,
                "task": task,
                "control": floor,
                "effective length": effective_length(by_length, threshold),
                "relative threshold": threshold * floor,
                "relative effective length": (
                    effective_length(by_length, threshold * floor) if floor > 0 else None
                ),
                "no floor": floor == 0,
                "shortest tested": min(by_length),
                "longest tested": max(by_length),
            }
        )
    return pd.DataFrame(rows)


#: how every needle insert starts (:data:`~.ruler_tasks.NEEDLE` up to its key)
NEEDLE_START = NEEDLE.split("{")[0]


def insert_start(context: str, task: str, value: str) -> int:
    """Where the insert that holds ``value`` starts in ``context``: the needle whose number it
    is, or the chain link that defines the variable (each link starts "VAR {name} =")."""
    if task == "variable tracking":
        start = context.rfind(CHAIN_LINK.split("=")[0].format(name=value) + "=")
    else:
        found = context.rfind(f"is: {value}.")
        start = -1 if found < 0 else context.rfind(NEEDLE_START, 0, found)
    if start < 0:
        raise ReportlibError(f"no insert holds {value!r} in its case")
    return start


def insert_distances(
    cases: Sequence[RulerCase], tokenize: Callable[[str], list[int]]
) -> pd.DataFrame:
    """One row per expected value of every question of ``cases``: the case's keys, the
    question's number in its case (as :func:`~.ruler_scoring.run_grid` numbers it), the value
    and its distance in tokens from the start of the insert that holds it to the end of the
    question, the span the answer's attention must reach back over."""
    bos = len(tokenize(""))
    rows = []
    for case in cases:
        for number, question in enumerate(case.questions):
            for value in question.expected:
                start = insert_start(case.context, question.task, value)
                distance = len(tokenize(case.context[start:] + question.prompt)) - bos
                rows.append(
                    {
                        "haystack": case.haystack,
                        "layout": case.layout,
                        "length": case.length,
                        "sample": case.sample,
                        "question": number,
                        "task": question.task,
                        "value": value,
                        "distance": distance,
                    }
                )
    return pd.DataFrame(rows)


def recall_by_distance(
    distances: pd.DataFrame, answers: pd.DataFrame, window: int
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Each expected value found or not in its answer, by whether its insert lies within
    ``window`` tokens of the question's end or beyond, over the prompts that hold values on
    both sides: per task, values and recall with a 95% Wilson interval (pooled, so if
    anything too narrow); and a sign test over those prompts of the recall inside minus
    beyond, with its counts."""
    keys = ["haystack", "layout", "length", "sample", "question"]
    merged = distances.merge(answers[[*keys, "answer"]], on=keys, how="left", validate="m:1")
    if merged["answer"].isna().any():
        raise ReportlibError("an expected value has no answer: the cases and answers differ")
    merged["found"] = [
        v.lower() in str(a).lower() for v, a in zip(merged["value"], merged["answer"], strict=True)
    ]
    merged["inside"] = merged["distance"] <= window
    case = ["haystack", "layout", "length", "sample"]
    sides = merged.groupby(case)["inside"].nunique()
    both = merged.set_index(case).loc[sides[sides == 2].index].reset_index()
    rows = []
    for task in [t for t in TASKS if t in set(both["task"])] + ["all four tasks"]:
        part = both if task == "all four tasks" else both[both["task"] == task]
        for inside, label in ((True, f"within {window:,}"), (False, f"beyond {window:,}")):
            side = part[part["inside"] == inside]
            found, values = int(side["found"].sum()), len(side)
            low, high = wilson_interval(found, values) if values else (float("nan"),) * 2
            rows.append(
                {
                    "task": task,
                    "distance (tokens)": label,
                    "values": values,
                    "recall": found / values if values else float("nan"),
                    "low": low,
                    "high": high,
                }
            )
    per_case = both.groupby([*case, "inside"])["found"].mean().unstack("inside")
    differences = list(per_case[True] - per_case[False]) if len(per_case) else []
    positive, negative, p = sign_test_of_differences(differences) if differences else (0, 0, 1.0)
    test = {"prompts": len(differences), "inside_better": positive, "beyond_better": negative,
            "p": p}  # fmt: skip
    return pd.DataFrame(rows), test


def layout_pairs(shared: pd.DataFrame, separate: pd.DataFrame) -> pd.DataFrame:
    """Per (haystack, length, sample, task) that both layouts carry, with the same keys and
    numbers: the task's mean score with all four tasks in one haystack and with one task per
    haystack (answer rows of :func:`~.ruler_scoring.run_grid`)."""
    keys = ["haystack", "length", "sample", "task"]
    a = shared.groupby(keys)["score"].mean().rename("shared")
    b = separate.groupby(keys)["score"].mean().rename("separate")
    return pd.concat([a, b], axis=1, join="inner").reset_index()


def layout_paired_test(shared: pd.DataFrame, separate: pd.DataFrame) -> pd.DataFrame:
    """The two layouts compared haystack by haystack: per length and task (and the four
    tasks' average), the haystacks both carry, the mean difference in points (one task per
    haystack minus four per haystack), an exact two-sided sign test over the haystacks, and
    the smallest p-value that many haystacks can give."""
    pairs = layout_pairs(shared, separate)
    if pairs.empty:
        return pd.DataFrame()
    average = pairs.groupby(["haystack", "length", "sample"])[["shared", "separate"]].mean()
    pairs = pd.concat([pairs, average.reset_index().assign(task="average")], ignore_index=True)
    rows = []
    order = {t: i for i, t in enumerate((*TASKS, "average"))}
    for (length, task), group in sorted(
        pairs.groupby(["length", "task"]), key=lambda item: (item[0][0], order[item[0][1]])
    ):
        differences = list(group["separate"] - group["shared"])
        positive, negative, p = sign_test_of_differences(differences)
        n = len(differences)
        rows.append(
            {
                "length": int(length),
                "task": task,
                "haystacks": n,
                "difference": 100 * sum(differences) / n,
                "separate_higher": positive,
                "shared_higher": negative,
                "p": p,
                "smallest_p": binomial_two_sided(0, n),
            }
        )
    return pd.DataFrame(rows)


def korean_sentences_per_english(tokenize: Callable[[str], list[int]]) -> float:
    """How many Korean sentences the model's tokens hold per English sentence: the tokens of
    FLORES-200's English dev and devtest sentences over the Korean ones'. The sentences are
    translations of each other, so this compares content, where characters per character
    would mix the scripts' density with it."""
    bos = len(tokenize(""))

    def tokens(code: str) -> int:
        lines = flores_sentences(code, "dev") + flores_sentences(code, "devtest")
        return sum(len(tokenize(line)) - bos for line in lines)

    return tokens("eng_Latn") / tokens("kor_Hang")
