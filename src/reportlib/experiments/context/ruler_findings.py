"""What the context chapter says about RULER's grid, worded from its scores: effective lengths,
languages, layouts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from reportlib.core.stats import rate_text
from reportlib.experiments.context.ruler_scoring import SINGLE_NEEDLE, average_scores
from reportlib.experiments.context.ruler_tasks import HAYSTACKS, RULER_THRESHOLD, TASKS, samples_at


def describe_effective(effective: int | None, lengths: Sequence[int], window: int | None) -> str:
    """An effective length as a reader should read it, honest about the tested range."""
    if effective is None:
        return f"below {min(lengths):,} tokens, the shortest length tested"
    if effective == max(lengths):
        beyond = f" (the trained window is {window:,})" if window and window > effective else ""
        return (
            f"at least {effective:,} tokens: every tested length passed, and finding the limit "
            f"needs longer prompts{beyond}"
        )
    return f"{effective:,} tokens"


def effective_table(effective: pd.DataFrame) -> pd.DataFrame:
    """:func:`effective_lengths` as text: one row per task, one column per haystack."""
    shown = pd.DataFrame(
        [
            {
                "haystack": HAYSTACKS[r["haystack"]],
                "task": r["task"],
                "effective length": _short(
                    r["effective length"], r["shortest tested"], r["longest tested"]
                ),
            }
            for r in effective.to_dict("records")
        ]
    )
    table = shown.pivot(index="task", columns="haystack", values="effective length")
    order = [t for t in (SINGLE_NEEDLE, *TASKS, "average") if t in table.index]
    columns = [name for name in HAYSTACKS.values() if name in table.columns]
    table = table.loc[order, columns]
    table.columns.name = None
    table.index.name = None
    return table.fillna("not tested")


def _short(effective: pd.DataFrame, shortest: int, longest: int) -> str:
    if effective is None or effective != effective:  # None or NaN: failed at the shortest
        return f"< {shortest:,}"
    if effective == longest:
        return f"≥ {longest:,} (all passed)"
    return f"{int(effective):,}"


def _languages(scores: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Haystack characters and the four tasks' average score, English and Korean FLORES
    side by side, at the lengths both were tested at; ``None`` if one was not tested."""
    both = scores[scores["haystack"].isin(["flores-en", "flores-ko"])]
    if set(both["haystack"]) != {"flores-en", "flores-ko"}:
        return None
    chars = both.groupby(["length", "haystack"])["context_characters"].mean().unstack(1).dropna()
    average = average_scores(both).set_index(["length", "haystack"])["score"].unstack(1)
    return chars, average.loc[chars.index]


def language_comparison(scores: pd.DataFrame) -> pd.DataFrame:
    """English against Korean FLORES haystacks at the lengths both were tested at: the
    haystack characters the same tokens hold, and the four tasks' average score."""
    pair = _languages(scores)
    if pair is None:
        return pd.DataFrame()  # one language was not tested: nothing to compare
    chars, average = pair
    rows = []
    for n in chars.index:
        rows.append(
            {
                "prompt length (tokens)": f"{n:,}",
                "English characters": f"{chars.loc[n, 'flores-en']:,.0f}",
                "Korean characters": f"{chars.loc[n, 'flores-ko']:,.0f}",
                "Korean / English": f"{chars.loc[n, 'flores-ko'] / chars.loc[n, 'flores-en']:.2f}",
                "average score, English": f"{average.loc[n, 'flores-en']:.0%}",
                "average score, Korean": f"{average.loc[n, 'flores-ko']:.0%}",
            }
        )
    return pd.DataFrame(rows).set_index("prompt length (tokens)")


def grid_description(
    grid: dict[str, Sequence[int]], samples: int | dict[Any, int], with_haystack: bool = True
) -> str:
    """The grid in words: each haystack's lengths and the haystacks per cell ("none" for an
    empty grid); ``with_haystack=False`` leaves the haystacks' names out."""
    parts = []
    for kind, lengths in grid.items():
        if not lengths:
            continue
        cells = ", ".join(f"{n:,} ({samples_at(samples, n)})" for n in sorted(lengths))
        parts.append(f"{HAYSTACKS[kind]} at {cells}" if with_haystack else cells)
    return "; ".join(parts) or "none"


def language_summary(scores: pd.DataFrame) -> dict[str, float] | None:
    """Over the lengths both FLORES haystacks were tested at: Korean characters per English
    character in the same tokens, and the mean of RULER's average score in each language;
    ``None`` when one of them was not tested."""
    pair = _languages(scores)
    if pair is None:
        return None
    chars, average = pair
    return {
        "characters_ratio": float((chars["flores-ko"] / chars["flores-en"]).mean()),
        "english": float(average["flores-en"].mean()),
        "korean": float(average["flores-ko"].mean()),
        "lengths": len(chars),
    }


def _score_text(row: pd.Series) -> str:
    return rate_text(row["score"], row.get("low"), row.get("high"))  # the average has none


def _task_cells(scores: pd.DataFrame, haystack: str, with_average: bool = False) -> pd.DataFrame:
    """The four tasks' cells of one haystack (and their average), indexed by length, task."""
    frame = scores[(scores["haystack"] == haystack) & scores["task"].isin(TASKS)]
    if with_average:
        frame = pd.concat([frame, average_scores(frame)], ignore_index=True)
    return frame.set_index(["length", "task"]).sort_index()


def layout_comparison(
    shared: pd.DataFrame, separate: pd.DataFrame, haystack: str = "flores-en"
) -> pd.DataFrame:
    """The same tasks on the same ``haystack`` at the lengths both layouts were tested at:
    each task's score (95% Wilson interval) with all four tasks in one haystack and with
    one task per haystack, and the difference in points; the four tasks' average last."""
    left, right = _task_cells(shared, haystack, True), _task_cells(separate, haystack, True)
    order = {t: i for i, t in enumerate((*TASKS, "average"))}
    common = sorted(left.index.intersection(right.index), key=lambda k: (k[0], order[k[1]]))
    rows = []
    for key in common:
        a, b = left.loc[key], right.loc[key]
        rows.append(
            {
                "prompt length (tokens)": f"{key[0]:,}",
                "task": key[1],
                "four tasks per haystack": _score_text(a),
                "one task per haystack": _score_text(b),
                "difference (points)": f"{100 * (b['score'] - a['score']):+.0f}".replace("-", "−"),
            }
        )
    if not rows:
        return pd.DataFrame()  # no length tested in both layouts: nothing to compare
    return pd.DataFrame(rows).set_index(["prompt length (tokens)", "task"])


def layout_finding(
    shared: pd.DataFrame, separate: pd.DataFrame, haystack: str = "flores-en"
) -> str:
    """The two layouts compared in words, at the lengths both were tested at: the four tasks'
    average in each, and which tasks' 95% intervals do not overlap."""
    left, right = _task_cells(shared, haystack), _task_cells(separate, haystack)
    common = sorted(set(left.index.get_level_values(0)) & set(right.index.get_level_values(0)))
    if not common:
        return "The two layouts were not tested at a common length."
    parts, apart = [], []
    for length in common:
        a, b = left.loc[length], right.loc[length]
        parts.append(
            f"at {length:,} tokens the four tasks average {b['score'].mean():.0%} with one "
            f"task per haystack against {a['score'].mean():.0%} with all four in one"
        )
        for task in a.index.intersection(b.index):
            x, y = a.loc[task], b.loc[task]
            if x["high"] < y["low"] or y["high"] < x["low"]:
                better = "one task per haystack" if y["score"] > x["score"] else "all four in one"
                apart.append(f"{task} at {length:,} tokens (higher with {better})")
    found = "; ".join(parts)
    verdict = (
        "For every task the two intervals overlap: at these sample sizes the other tasks' "
        "inserts make no difference that the test can see."
        if not apart
        else "The intervals do not overlap for " + "; ".join(apart) + "."
    )
    return f"{found[0].upper()}{found[1:]}. {verdict}"


def shortest_length_finding(scores: pd.DataFrame, threshold: float = RULER_THRESHOLD) -> str:
    """What the lengths tested say, in words: how much haystack text the shortest holds,
    the four tasks' average there against ``threshold``, the tasks that pass there, and
    how the average moves up to the longest length."""
    tasks = scores[scores["task"].isin(TASKS)]
    if tasks.empty:
        return "No task was tested."
    lengths = sorted(int(n) for n in set(tasks["length"]))
    cell = tasks[tasks["length"] == lengths[0]].set_index("task")
    average = float(cell["score"].mean())
    text = (
        f"At the shortest length, {lengths[0]:,} tokens (about "
        f"{float(cell['context_characters'].mean()):,.0f} characters of text around the "
        f"inserts), the four tasks average {average:.0%}, "
        f"{'at or above' if average >= threshold else 'below'} the threshold"
    )
    passing = [f"{t} ({cell.loc[t, 'score']:.0%})" for t in TASKS
               if t in cell.index and cell.loc[t, "score"] >= threshold]  # fmt: skip
    if passing and average < threshold:
        text += f"; {_and(passing)} {'passes' if len(passing) == 1 else 'pass'} there"
    text += "."
    if len(lengths) > 1:
        last = float(tasks[tasks["length"] == lengths[-1]]["score"].mean())
        move = "falls" if last < average - 0.05 else "rises" if last > average + 0.05 else "stays"
        text += f" By {lengths[-1]:,} tokens the average {move} ({average:.0%} to {last:.0%})" + (
            ": the tasks get harder as the text around them grows." if move == "falls" else "."
        )
    return text


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
