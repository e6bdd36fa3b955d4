"""Summaries of multilingual probe results: rates, confusions, the judge's accuracy."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reportlib.core.languages import LANGUAGES, detected_name
from reportlib.core.stats import (
    binomial_two_sided,
    crossed_bootstrap,
    holm_adjust,
    mcnemar_exact,
    percentile_interval,
    permutation_p_value,
    sign_test_of_differences,
    wilson_interval,
)
from reportlib.core.verdicts import NOT_DECIDED, REFUTED, SUPPORTED

CJK = ("zho_Hans", "jpn_Jpan", "kor_Hang")
LATIN_CYRILLIC_ARABIC = ("Latin", "Cyrillic", "Arabic")


def rate_table(results: pd.DataFrame, by: list[str], label: str = "on_language") -> pd.DataFrame:
    """The rate of ``label`` (a yes/no column: ``on_language``, ``good``, ...) with a 95%
    Wilson interval for each group of ``by``. Within one cell (one language and
    style) the answers differ only by prompt frame and wording, so Wilson is a fair
    summary there; pooled rates need :func:`clustered_rate`."""
    grouped = results.groupby(by, sort=False)[label].agg(["sum", "count"]).reset_index()
    grouped = grouped.rename(columns={"sum": "successes", "count": "answers"})
    pairs = zip(grouped.successes, grouped.answers, strict=True)
    bounds = [wilson_interval(int(k), int(n)) for k, n in pairs]
    grouped["rate"] = grouped.successes / grouped.answers
    grouped["low"] = [b[0] for b in bounds]
    grouped["high"] = [b[1] for b in bounds]
    return grouped


def confusion_table(results: pd.DataFrame, top: int = 4) -> pd.DataFrame:
    """For the misses of each language: what the judge heard instead, by name, most frequent
    first ("nothing to judge": CLD3's ``und``, such as an empty answer)."""
    rows = []
    for lang in LANGUAGES:
        part = results[results.language == lang.flores]
        if part.empty:
            continue
        misses = part[~part.on_language.astype(bool)]
        heard = misses.detected_language.value_counts()
        shown = ", ".join(f"{detected_name(code)} ×{n}" for code, n in heard.head(top).items())
        if len(heard) > top:
            shown += f", {int(heard.iloc[top:].sum())} other"
        rows.append(
            {
                "language": lang.name,
                "answers": len(part),
                "misses": len(misses),
                "answered instead (judged)": shown or "—",
            }
        )
    return pd.DataFrame(rows).set_index("language") if rows else pd.DataFrame()


#: the yes/no labels of a probe answer, as the chapter names them
ANSWER_LABELS: dict[str, str] = {
    "on_language": "in the requested language",
    "degenerate": "degenerate (empty, loop or echo)",
    "self_intro": "speaks in the first person",
    "good": "in the language and not degenerate",
}
#: the significance level of every test of the chapter, after Holm's adjustment
ALPHA = 0.05
#: bootstrap replicates of every clustered interval
BOOTSTRAP_DRAWS = 2000


def clustered_rate(
    results: pd.DataFrame, label: str = "good", draws: int = BOOTSTRAP_DRAWS, seed: int = 0
) -> tuple[float, float, float]:
    """A pooled rate with a 95% interval from the crossed bootstrap over languages and
    prompt frames (:func:`reportlib.core.stats.crossed_bootstrap`)."""
    successes, totals, _ = _cluster_tables(results, label)
    rate = float(successes.sum() / totals.sum())
    low, high = percentile_interval(crossed_bootstrap(successes, totals, draws, seed))
    return rate, low, high


def _cluster_tables(results: pd.DataFrame, label: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Counts of ``label`` per (language, frame): successes, totals and the languages."""
    table = results.pivot_table(
        index="language",
        columns=["style", "frame"],  # request frame k and opening frame k are different prompts
        values=label,
        aggfunc=["sum", "count"],
        sort=False,
    ).fillna(0)
    successes = table["sum"].to_numpy(dtype=float)
    return successes, table["count"].to_numpy(dtype=float), list(table.index)


def pooled_rates(
    results: pd.DataFrame, by: str, label: str = "good", seed: int = 0
) -> pd.DataFrame:
    """Per value of ``by`` (a style, a model, ...): the pooled rate of ``label`` over
    languages with its clustered 95% interval."""
    rows = []
    for value, part in results.groupby(by, sort=False):
        rate, low, high = clustered_rate(part, label, seed=seed)
        rows.append({by: value, "answers": len(part), "rate": rate, "low": low, "high": high})
    return pd.DataFrame(rows)


def interval_widening(
    pooled: pd.DataFrame, results: pd.DataFrame, by: str, label: str = "good"
) -> float:
    """How many times as wide the clustered intervals of ``pooled`` (from
    :func:`pooled_rates` on ``label``) are as Wilson intervals that treat every answer as
    independent, on average over the values of ``by``."""
    wilson = rate_table(results, [by], label=label)
    both = pooled.merge(wilson, on=by, suffixes=("", "_wilson"))
    return float(((both.high - both.low) / (both.high_wilson - both.low_wilson)).mean())


def clustered_rate_table(
    results: pd.DataFrame, rows: str, columns: str, label: str = "good"
) -> pd.DataFrame:
    """A readable pivot of pooled rates (``"23% (9–41%)"``) with clustered 95% intervals
    (:func:`clustered_rate`), for groups that pool several languages."""
    cells = {}
    for (row, column), part in results.groupby([rows, columns], sort=False):
        rate, low, high = clustered_rate(part, label)
        cells[(row, column)] = f"{rate:.0%} ({low:.0%}–{high:.0%})"
    table = pd.Series(cells).unstack()
    table = table.loc[list(dict.fromkeys(results[rows])), list(dict.fromkeys(results[columns]))]
    table.index.name = table.columns.name = None
    return table


@dataclass(frozen=True)
class PairedTest:
    """One comparison of the chapter, with its raw and Holm-adjusted p-values."""

    key: str
    question: str
    measured: str
    estimate: float  #: the first rate minus the second
    p_value: float
    test: str
    adjusted_p: float = float("nan")
    verdict: str = ""


def paired_outcomes(results: pd.DataFrame, column: str, a: str, b: str, label: str) -> pd.DataFrame:
    """``label`` for the values ``a`` and ``b`` of ``column`` side by side, one row per
    prompt (the other design columns), rows missing either side dropped."""
    design = ("model", "decoding", "language", "style", "sample")
    keys = [c for c in design if c != column and c in results]
    wide = results.pivot_table(index=keys, columns=column, values=label, aggfunc="first")
    return wide[[a, b]].dropna()


def paired_test(pairs: pd.DataFrame, a: str, b: str, key: str, question: str) -> PairedTest:
    """McNemar's exact test over the paired answers, and an exact sign test over languages
    (each language's rate difference, so answers of one language count once); the p-value
    is the larger of the two: a difference is called only when both tests find it."""
    first, second = pairs[a].astype(bool), pairs[b].astype(bool)
    answers = mcnemar_exact(first.tolist(), second.tolist())
    by_language = (first.astype(float) - second.astype(float)).groupby(level="language").mean()
    up, down, p_languages = sign_test_of_differences(by_language.tolist())
    return PairedTest(
        key,
        question,
        f"{first.mean():.0%} vs {second.mean():.0%} over {answers.pairs} paired answers "
        f"({answers.a_only} only the first, {answers.b_only} only the second; McNemar "
        f"p = {answers.p_value:.2g}); languages: {up} favour the first, {down} the second "
        f"(sign test p = {p_languages:.2g})",
        answers.difference,
        max(answers.p_value, p_languages),
        "McNemar exact and sign test over languages",
    )


def style_comparisons(results: pd.DataFrame, label: str = "good") -> list[PairedTest]:
    """Every pair of prompt styles, paired by (language, sample: the same variant slot), with
    :func:`paired_test` on ``label``."""
    styles = list(dict.fromkeys(results["style"]))
    return [
        paired_test(
            paired_outcomes(results, "style", a, b, label), a, b, f"style_{a}_vs_{b}", f"{a} vs {b}"
        )
        for i, a in enumerate(styles)
        for b in styles[i + 1 :]
    ]


def model_comparisons(results: pd.DataFrame, label: str = "good") -> list[PairedTest]:
    """The first model against each other one, on the same prompts (:func:`paired_test`);
    decide them as their own family with :func:`decide`."""
    models = list(dict.fromkeys(results["model"]))
    return [
        paired_test(
            paired_outcomes(results, "model", models[0], other, label),
            models[0],
            other,
            f"model_{other}",
            f"{models[0]} vs {other}",
        )
        for other in models[1:]
    ]


def decide(tests: list[PairedTest], alpha: float = ALPHA) -> list[PairedTest]:
    """Holm-adjust the p-values of one family of tests and give each a two-sided
    verdict: ``"first higher"`` or ``"second higher"`` when significant, else
    :data:`NOT_DECIDED`."""
    adjusted = holm_adjust([t.p_value for t in tests])
    out = []
    for test, p in zip(tests, adjusted, strict=True):
        if p < alpha:
            verdict = "first higher" if test.estimate > 0 else "second higher"
        else:
            verdict = NOT_DECIDED
        out.append(dataclasses.replace(test, adjusted_p=p, verdict=verdict))
    return out


@dataclass(frozen=True)
class Observation:
    """One observation of the report, the measured numbers and the verdict."""

    key: str  #: a stable name (glue keys are built from it)
    observation: str
    measured: str
    verdict: str
    rule: str = ""
    p_value: float = float("nan")


#: the verdict of an observation whose languages the run did not include
NOT_MEASURED = "not measured"
#: an answer "is in the script" when at least this share of its letters is in the script of
#: the requested language (the report's claim is about producing the script at all)
SCRIPT_MAJORITY = 0.5
#: the language the requests of the probe's frames are written in: on the "easy" side it
#: would count answering in English as producing the Latin script, so it is left out
FRAME_LANGUAGE = "eng_Latn"
#: the prompt style of the report's Russian case, fixed before looking at any answer: the
#: report asked for Russian in another language (in a chat in Korean and English), which
#: is the probe's request written in English
REPORT_RUSSIAN_STYLE = "english_request"
SCRIPTS_RULE = (
    "difference of the mean per-language rates of answers in the requested script (at least "
    "half of the letters), Latin, Cyrillic and Arabic languages other than English (the "
    "frame language) against Chinese, Japanese and Korean; exact permutation test over which "
    "languages are on which side; supported or refuted when its two-sided p-value, "
    "Holm-adjusted over the chapter's tests, is below 5%"
)
RUSSIAN_RULE = (
    "exact sign test of English against Russian answers to the Russian request asked in "
    "English (the report's setting, fixed in the code before looking); supported when "
    "significantly more are English, refuted when significantly more are Russian "
    "(Holm-adjusted over the chapter's tests, 5%); every style pooled is shown beside it"
)


def observation_tests(results: pd.DataFrame, seed: int = 0) -> list[PairedTest]:
    """The raw tests behind the report's two observations (those it can measure)."""
    tests = []
    results = results.assign(in_script=results["script_share"] >= SCRIPT_MAJORITY)
    easy = results.script.isin(LATIN_CYRILLIC_ARABIC) & (results.language != FRAME_LANGUAGE)
    cjk = results.language.isin(CJK)
    if easy.any() and cjk.any():
        tests.append(_scripts_test(results[easy | cjk], seed))
    russian = results[results.language == "rus_Cyrl"]
    setting = russian[russian["style"] == REPORT_RUSSIAN_STYLE]
    if len(setting):
        english, native = _english_and_russian(setting)
        all_english, all_native = _english_and_russian(russian)
        tests.append(
            PairedTest(
                "russian",
                "English vs Russian answers to the Russian request asked in English",
                f"{english} of {len(setting)} answers in English, {native} in Russian, asked in "
                f"English (every style: {all_english} of {len(russian)} in English, "
                f"{all_native} in Russian)",
                (english - native) / len(setting),
                binomial_two_sided(english, english + native),
                "exact sign test",
            )
        )
    return tests


def _english_and_russian(answers: pd.DataFrame) -> tuple[int, int]:
    """How many answers to Russian requests are in English, and how many in Russian."""
    return int((answers.detected_language == "en").sum()), int(answers.on_language.sum())


def _scripts_test(part: pd.DataFrame, seed: int) -> PairedTest:
    """Script production, easy scripts against Chinese, Japanese and Korean, with the
    good-answer rates of the same languages beside it."""
    per_language = part.groupby("language", sort=False)[["in_script", "good"]].mean()
    is_cjk = per_language.index.isin(CJK)
    a, b = per_language["in_script"][~is_cjk].mean(), per_language["in_script"][is_cjk].mean()
    good_a, good_b = per_language["good"][~is_cjk].mean(), per_language["good"][is_cjk].mean()
    successes, totals, langs = _cluster_tables(part, "in_script")
    groups = np.array(["cjk" if c in CJK else "easy" for c in langs])
    reps = crossed_bootstrap(successes, totals, BOOTSTRAP_DRAWS, seed, groups=groups)
    names = list(dict.fromkeys(groups.tolist()))
    low, high = percentile_interval(reps[:, names.index("easy")] - reps[:, names.index("cjk")])
    return PairedTest(
        "scripts",
        "Latin, Cyrillic, Arabic (not English) vs Chinese, Japanese, Korean",
        f"{a:.0%} vs {b:.0%} of answers in the requested script, mean over "
        f"{int((~is_cjk).sum())} and {int(is_cjk.sum())} languages (difference {a - b:+.0%}; "
        f"95% interval of the pooled difference {low:+.0%} to {high:+.0%}); good answers "
        f"{good_a:.0%} vs {good_b:.0%}",
        a - b,
        permutation_p_value(
            per_language["in_script"][~is_cjk].tolist(), per_language["in_script"][is_cjk].tolist()
        ),
        "permutation test over languages",
    )


def report_observations(results: pd.DataFrame, model: str = "") -> list[Observation]:
    """Verdicts on the report's two observations for one model's answers, decided together
    with the style comparisons (one family, Holm-adjusted); both observations are always
    returned (:data:`NOT_MEASURED` when the run lacks their languages)."""
    decided = {t.key: t for t in decide(style_comparisons(results) + observation_tests(results))}
    on = f" on {model}" if model else ""
    out = []
    for key, text, rule in (
        (
            "scripts",
            "Latin, Cyrillic and Arabic script answers are easy; Chinese, Japanese and Korean poor",
            SCRIPTS_RULE,
        ),
        (
            "russian",
            "Asked for Russian (in another language), the model answers in English",
            RUSSIAN_RULE,
        ),
    ):
        test = decided.get(key)
        if test is None:
            out.append(
                Observation(
                    key, text, "the run has no answers in these languages", NOT_MEASURED, rule
                )
            )
            continue
        verdict = {"first higher": SUPPORTED, "second higher": REFUTED}.get(
            test.verdict, NOT_DECIDED
        )
        out.append(Observation(key, text, test.measured + on, verdict, rule, test.adjusted_p))
    return out


def chapter_tests(results: pd.DataFrame) -> pd.DataFrame:
    """Every test of the chapter for one model, as one Holm-adjusted family."""
    decided = decide(style_comparisons(results) + observation_tests(results))
    return pd.DataFrame([dataclasses.asdict(t) for t in decided])
