"""Summaries of multilingual probe results: rates, confusions, the judge's accuracy."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd

from .corpus import bundled_document
from .judge import CONFUSERS, judge_answer
from .languages import ENGLISH, LANGUAGES, get_language
from .render import escape_text
from .stats import wilson_interval
from .tokenstats import PARTLY, REFUTED, SUPPORTED

CJK = ("zho_Hans", "jpn_Jpan", "kor_Hang")
LATIN_CYRILLIC_ARABIC = ("Latin", "Cyrillic", "Arabic")


def judge_accuracy() -> pd.DataFrame:
    """The judge on the project's reference sentences (8 per language, which it must
    accept) and on wrong ones (a neighbour's sentences and English ones labelled
    with the language, which it must reject)."""
    sentences = bundled_document()["sentences"]
    rows = []
    for lang in LANGUAGES:
        wrong_codes = [CONFUSERS[lang.flores], ENGLISH if lang.flores != ENGLISH else "spa_Latn"]
        right = [judge_answer(s, lang).on_language for s in sentences[lang.flores]]
        wrong = [judge_answer(s, lang).on_language for c in wrong_codes for s in sentences[c]]
        rows.append(
            {
                "language": lang.name,
                "correct accepted": sum(right),
                "correct": len(right),
                "wrong rejected": len(wrong) - sum(wrong),
                "wrong": len(wrong),
                "wrong texts from": " + ".join(get_language(c).name for c in wrong_codes),
            }
        )
    return pd.DataFrame(rows)


def rate_table(results: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """On-language rate with a 95% Wilson interval for each group of ``by``."""
    grouped = results.groupby(by, sort=False)["on_language"].agg(["sum", "count"]).reset_index()
    grouped = grouped.rename(columns={"sum": "on_language", "count": "answers"})
    pairs = zip(grouped.on_language, grouped.answers, strict=True)
    bounds = [wilson_interval(int(k), int(n)) for k, n in pairs]
    grouped["rate"] = grouped.on_language / grouped.answers
    grouped["low"] = [b[0] for b in bounds]
    grouped["high"] = [b[1] for b in bounds]
    return grouped


def confusion_table(results: pd.DataFrame, top: int = 4) -> pd.DataFrame:
    """For the misses of each language: what CLD3 heard instead, most frequent first
    (``und``: nothing to judge, such as an empty answer)."""
    rows = []
    for lang in LANGUAGES:
        part = results[results.language == lang.flores]
        if part.empty:
            continue
        misses = part[~part.on_language.astype(bool)]
        heard = misses.detected_language.value_counts()
        shown = ", ".join(f"{code} ×{n}" for code, n in heard.head(top).items())
        if len(heard) > top:
            shown += f", {int(heard.iloc[top:].sum())} other"
        rows.append(
            {
                "language": lang.name,
                "answers": len(part),
                "misses": len(misses),
                "answered instead (CLD3)": shown or "—",
            }
        )
    return pd.DataFrame(rows).set_index("language") if rows else pd.DataFrame()


@dataclass(frozen=True)
class Observation:
    """One observation of the report, the measured numbers and the verdict."""

    key: str  #: a stable name (glue keys are built from it)
    observation: str
    measured: str
    verdict: str


def _pooled(results: pd.DataFrame, mask: pd.Series) -> tuple[int, int]:
    part = results[mask]
    return int(part.on_language.sum()), len(part)


#: the verdict of an observation whose languages the run did not include
NOT_MEASURED = "not measured"


def report_observations(results: pd.DataFrame) -> list[Observation]:
    """Verdicts on the report's observations, computed from the rates of one model; both
    observations are always returned (``NOT_MEASURED`` when the run lacks their languages)."""
    scripts = Observation(
        "scripts",
        "Latin, Cyrillic and Arabic script answers are easy; Chinese, Japanese and Korean poor",
        "the run has no answers in these languages",
        NOT_MEASURED,
    )
    easy = _pooled(results, results.script.isin(LATIN_CYRILLIC_ARABIC))
    cjk = _pooled(results, results.language.isin(CJK))
    if easy[1] and cjk[1]:
        lo_easy, _ = wilson_interval(*easy)
        _, hi_cjk = wilson_interval(*cjk)
        better = easy[0] / easy[1] > cjk[0] / cjk[1]
        verdict = SUPPORTED if better and lo_easy > hi_cjk else PARTLY if better else REFUTED
        measured = (
            f"{easy[0]}/{easy[1]} = {easy[0] / easy[1]:.0%} vs {cjk[0]}/{cjk[1]} = "
            f"{cjk[0] / cjk[1]:.0%}"
        )
        scripts = dataclasses.replace(scripts, measured=measured, verdict=verdict)
    russian_obs = Observation(
        "russian",
        "Asked for Russian, the model answers in English",
        "the run has no Russian answers",
        NOT_MEASURED,
    )
    russian = results[results.language == "rus_Cyrl"]
    if len(russian):
        english = int((russian.detected_language == "en").sum())
        share = english / len(russian)
        verdict = SUPPORTED if share > 0.5 else PARTLY if english else REFUTED
        measured = f"{english}/{len(russian)} = {share:.0%} answered in English"
        russian_obs = dataclasses.replace(russian_obs, measured=measured, verdict=verdict)
    return [scripts, russian_obs]


def sample_answers_html(results: pd.DataFrame, per_group: int = 2, limit: int = 160) -> str:
    """A few answers per report group, escaped and truncated, as an HTML table."""
    head = "<tr><th>group</th><th>language</th><th>style</th><th>answer</th><th>judged</th></tr>"
    body = []
    for group in dict.fromkeys(lang.report_group for lang in LANGUAGES):
        part = results[results.group == group].head(per_group * 3)[::3].head(per_group)
        for _, row in part.iterrows():
            judged = f"{'on' if row.on_language else 'off'} ({row.detected_language})"
            body.append(
                "<tr>"
                + "".join(
                    f"<td>{escape_text(str(v), limit)}</td>"
                    for v in (group, row["name"], row["style"], row["answer"], judged)
                )
                + "</tr>"
            )
    return f'<table class="probe-samples">{head}{"".join(body)}</table>'


def format_rates(
    rates: pd.DataFrame, index: str, columns: str, labels: dict[str, str] | None = None
) -> pd.DataFrame:
    """A readable pivot: ``"67% (21–94%)"`` per cell, rate with its 95% interval."""
    triples = zip(rates.rate, rates.low, rates.high, strict=True)
    text = [f"{r:.0%} ({lo:.0%}–{hi:.0%})" for r, lo, hi in triples]
    wide = rates.assign(cell=text).pivot(index=index, columns=columns, values="cell")
    wide = wide.loc[list(dict.fromkeys(rates[index]))]  # keep the order of the results
    wide = wide[[c for c in (labels or {}) if c in wide.columns] or list(wide.columns)]
    wide.columns.name = None
    return wide.rename(columns=labels or {})
