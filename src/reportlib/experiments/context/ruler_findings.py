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
        "english": float(average["flores-en"].mean()),
        "korean": float(average["flores-ko"].mean()),
        "lengths": len(chars),
    }


def layout_finding(paired: pd.DataFrame) -> str:
    """The two layouts compared in words from :func:`~.ruler_analysis.layout_paired_test`:
    haystack by haystack, on the haystacks both carry (the same keys and numbers), the four
    tasks' average difference and each task's sign test, and whether that many haystacks
    could show a difference at all."""
    if paired.empty:
        return "The two layouts were not tested at a common length."
    parts = []
    for length, group in paired.groupby("length", sort=True):
        rows = group.set_index("task")
        n = int(rows["haystacks"].max())
        average = rows.loc["average"]
        text = (
            f"at {int(length):,} tokens, on the {n} haystack{'s' if n != 1 else ''} both "
            f"layouts carry, one task per haystack scores {_points(average['difference'])} "
            f"points against four tasks per haystack on the four tasks' average"
        )
        decided = [t for t in TASKS if t in rows.index and rows.loc[t, "p"] < 0.05]
        if rows["smallest_p"].min() >= 0.05:
            text += (
                f"; with {n} haystacks a two-sided sign test cannot fall below "
                f"p = {rows['smallest_p'].min():.2f}, so no difference between the layouts, "
                "whatever its size, is decided here"
            )
        elif decided:
            text += "; the sign test over haystacks finds a difference for " + _and(decided)
        else:
            text += "; the sign test over haystacks finds no difference for any task"
        parts.append(text)
    found = "; ".join(parts)
    return f"{found[0].upper()}{found[1:]}."


def layout_paired_table(paired: pd.DataFrame) -> pd.DataFrame:
    """:func:`~.ruler_analysis.layout_paired_test` as a reader reads it."""
    if paired.empty:
        return pd.DataFrame()
    shown = pd.DataFrame(
        {
            "prompt length (tokens)": [f"{n:,}" for n in paired["length"]],
            "task": paired["task"],
            "haystacks": paired["haystacks"],
            "difference (points)": [_points(d) for d in paired["difference"]],
            "one task higher / four higher": [
                f"{a} / {b}"
                for a, b in zip(paired["separate_higher"], paired["shared_higher"], strict=True)
            ],
            "sign test p": [f"{p:.2f}" for p in paired["p"]],
        }
    )
    return shown.set_index(["prompt length (tokens)", "task"])


def _points(value: float) -> str:
    return f"{value:+.0f}".replace("-", "−")


def relative_effective_table(relative: pd.DataFrame) -> pd.DataFrame:
    """:func:`~.ruler_analysis.relative_effective_lengths` as text, one row per haystack and
    task (three columns, so it reads on a phone): the score with no haystack, the effective
    length at RULER's threshold, and the effective length held to that share of the task's
    own no-haystack score."""
    order = {t: i for i, t in enumerate((*TASKS, "average"))}
    kinds = {k: i for i, k in enumerate(HAYSTACKS)}
    rows = []
    for r in sorted(
        relative.to_dict("records"),
        key=lambda r: (kinds.get(r["haystack"], len(kinds)), order[r["task"]]),
    ):
        span = (r["shortest tested"], r["longest tested"])
        rows.append(
            {
                "haystack": HAYSTACKS.get(r["haystack"], r["haystack"]),
                "task": r["task"],
                "no haystack": f"{r['control']:.0%}",
                "effective length at RULER's threshold": _short(r["effective length"], *span),
                "at that share of no haystack": (
                    "no floor" if r["no floor"] else _short(r["relative effective length"], *span)
                ),
            }
        )
    return pd.DataFrame(rows).set_index(["haystack", "task"])


def control_finding(relative: pd.DataFrame, threshold: float = RULER_THRESHOLD) -> str:
    """The zero-haystack control in words: the four tasks' average with no text around the
    inserts, against RULER's threshold, and the effective length held to that share."""
    average = relative[relative["task"] == "average"]
    if average.empty:
        return "No control was run."
    floor = float(average["control"].iloc[0])
    text = (
        f"With no haystack at all, only the instructions, the inserts and the questions, the "
        f"four tasks average {floor:.0%}, "
        f"{'at or above' if floor >= threshold else 'below'} RULER's threshold of "
        f"{threshold:.1%}"
    )
    if floor < threshold:
        text += (
            ": the model fails these tasks before any length is added, so an effective length "
            "below the shortest tested says what it cannot do, not how far it can read"
        )
    kept = [
        f"{HAYSTACKS.get(r['haystack'], r['haystack'])}: "
        + describe_effective(
            _int_or_none(r["relative effective length"]),
            [r["shortest tested"], r["longest tested"]],
            None,
        )  # fmt: skip
        for r in average.to_dict("records")
        if not r["no floor"]
    ]
    if kept:
        text += (
            f". Held instead to {threshold:.1%} of its own no-haystack average "
            f"({threshold * floor:.0%}), the average's effective length is " + "; ".join(kept)
        )
    return text + "."


def _int_or_none(value: Any) -> int | None:
    return None if value is None or value != value else int(value)


def distance_table(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`~.ruler_analysis.recall_by_distance`'s table as a reader reads it."""
    if table.empty:
        return pd.DataFrame()
    shown = table.assign(
        recall=[
            rate_text(r, lo, hi)
            for r, lo, hi in zip(table["recall"], table["low"], table["high"], strict=True)
        ]
    )
    return shown.set_index(["task", "distance (tokens)"])[["values", "recall"]]


def distance_headline(test: dict[str, Any], window: int | None, table: pd.DataFrame) -> str:
    """Recall inside against beyond the sliding window in one line, for a chapter's findings."""
    if not window:
        return "this model's file gives no sliding window, so the split was not made"
    if not test["prompts"]:
        return f"no prompt held values on both sides of its {window:,}-token sliding window"
    rows = table[table["task"] == "all four tasks"].set_index("distance (tokens)")
    inside, beyond = rows.iloc[0], rows.iloc[1]
    return (
        f"values within the model's {window:,}-token sliding window of the question are "
        f"recalled {inside['recall']:.0%} of the time, values beyond it "
        f"{beyond['recall']:.0%} (sign test over {test['prompts']} prompts, p = {test['p']:.2g})"
    )


def distance_finding(test: dict[str, Any], window: int, table: pd.DataFrame) -> str:
    """Recall inside against beyond the sliding window, in words."""
    if not test["prompts"]:
        return f"No prompt holds values both within and beyond {window:,} tokens of its question."
    rows = table[table["task"] == "all four tasks"].set_index("distance (tokens)")
    inside, beyond = rows.iloc[0], rows.iloc[1]
    verdict = (
        "a difference the sign test decides"
        if test["p"] < 0.05
        else "no difference the sign test decides"
    )
    return (
        f"Over the {test['prompts']} prompts that hold values on both sides, the answers "
        f"recall {inside['recall']:.0%} of the values placed within {window:,} tokens of the "
        f"question and {beyond['recall']:.0%} of those beyond; recall inside was higher in "
        f"{test['inside_better']} prompts and lower in {test['beyond_better']} "
        f"(sign test p = {test['p']:.2g}): {verdict}."
    )


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
        text += f" By {lengths[-1]:,} tokens the average {move} ({average:.0%} to {last:.0%})."
    return text


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
