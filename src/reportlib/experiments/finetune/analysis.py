"""The fine-tune chapter's comparisons: base model against base + LoRA adapter on the same
prompts (the multilingual probe) and the same texts (bits per character)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from reportlib.backends.interface import TextModel, model_labels
from reportlib.backends.loading import load_model
from reportlib.backends.specs import LORA_MARK
from reportlib.core.languages import Language
from reportlib.core.stats import holm_adjust, mcnemar_exact, wilson_interval
from reportlib.core.verdicts import NOT_DECIDED, REFUTED, SUPPORTED
from reportlib.experiments.finetune.perplexity import (
    LineScore,
    PairedBits,
    paired_bits,
    perplexity,
    score_lines,
)
from reportlib.experiments.probe.analysis import ALPHA, paired_outcomes
from reportlib.experiments.probe.runner import run_language_probe
from reportlib.text.corpus import flores_sentences

KOREAN = "kor_Hang"
LABEL_NAMES = {"on_language": "in Korean (judge)", "good": "good answer"}


@dataclass(frozen=True)
class PairedRates:
    """One label's rate for the base and the fine-tune on the same prompts, with Wilson
    intervals and McNemar's exact test."""

    label: str
    prompts: int
    base: float
    base_low: float
    base_high: float
    tuned: float
    tuned_low: float
    tuned_high: float
    base_only: int
    tuned_only: int
    p_value: float


def _pairs(results: pd.DataFrame, base: str, tuned: str, label: str) -> pd.DataFrame:
    return paired_outcomes(results, "model", base, tuned, label).astype(bool)


def paired_rates(
    results: pd.DataFrame, base: str, tuned: str, label: str, language: str = KOREAN
) -> PairedRates:
    """``label``'s rate for ``language`` before and after, paired by prompt."""
    pairs = _pairs(results, base, tuned, label).xs(language, level="language")
    n = len(pairs)
    test = mcnemar_exact(pairs[base].tolist(), pairs[tuned].tolist())
    b_low, b_high = wilson_interval(int(pairs[base].sum()), n)
    t_low, t_high = wilson_interval(int(pairs[tuned].sum()), n)
    return PairedRates(
        label,
        n,
        pairs[base].mean(),
        b_low,
        b_high,
        pairs[tuned].mean(),
        t_low,
        t_high,
        test.a_only,
        test.b_only,
        test.p_value,
    )


def paired_rates_table(rows: list[PairedRates]) -> pd.DataFrame:
    """The paired rates as a reader's table."""
    return pd.DataFrame(
        [
            {
                "label": LABEL_NAMES.get(r.label, r.label),
                "prompts": r.prompts,
                "base model": f"{r.base:.0%} [{r.base_low:.0%}, {r.base_high:.0%}]",
                "fine-tune": f"{r.tuned:.0%} [{r.tuned_low:.0%}, {r.tuned_high:.0%}]",
                "only the base": r.base_only,
                "only the fine-tune": r.tuned_only,
                "McNemar exact p": f"{r.p_value:.2g}",
            }
            for r in rows
        ]
    ).set_index("label")


def finetune_verdict(rates: PairedRates, alpha: float = ALPHA) -> str:
    """The report's claim ("the fine-tune introduces itself in Korean far better") on this
    pair: supported when the fine-tune's good-answer rate in Korean is higher and McNemar's
    exact test rejects equality at ``alpha``, refuted when it is lower and rejected, else
    not decided."""
    if rates.p_value >= alpha or rates.tuned == rates.base:
        return NOT_DECIDED
    return SUPPORTED if rates.tuned > rates.base else REFUTED


def language_changes(results: pd.DataFrame, base: str, tuned: str) -> pd.DataFrame:
    """Every language's good-answer and Hangul rates before and after, with McNemar's exact
    p on the good answers (Holm-adjusted over the languages): does the adapter help Korean
    only, and does every language drift into Korean?"""
    good = _pairs(results, base, tuned, "good")
    hangul = results.assign(hangul=results["main_script"].eq("Hangul"))
    script = _pairs(hangul, base, tuned, "hangul")
    names = results.drop_duplicates("language").set_index("language")["name"]
    rows = []
    for language, pairs in good.groupby(level="language", sort=False):
        test = mcnemar_exact(pairs[base].tolist(), pairs[tuned].tolist())
        in_hangul = script.xs(language, level="language")
        rows.append(
            {
                "language": names[language],
                "good, base": pairs[base].mean(),
                "good, fine-tune": pairs[tuned].mean(),
                "change": pairs[tuned].mean() - pairs[base].mean(),
                "in Hangul, base": in_hangul[base].mean(),
                "in Hangul, fine-tune": in_hangul[tuned].mean(),
                "p": test.p_value,
            }
        )
    table = pd.DataFrame(rows)
    table["Holm-adjusted p"] = holm_adjust(table["p"].tolist())
    return table.drop(columns="p").set_index("language")


def format_language_changes(table: pd.DataFrame) -> pd.DataFrame:
    """Percentages and p-values as text, for the page."""
    shown = table.copy()
    for column in shown.columns:
        if column == "Holm-adjusted p":
            shown[column] = shown[column].map(lambda p: f"{p:.2g}")
        elif column == "change":
            shown[column] = shown[column].map(lambda x: f"{x:+.0%}")
        else:
            shown[column] = shown[column].map(lambda x: f"{x:.0%}")
    return shown


def bits_table(scored: dict[str, tuple[list[LineScore], list[LineScore]]]) -> pd.DataFrame:
    """Bits per character before and after for each evaluation text, with the change's
    bootstrap interval, and per-token perplexity."""
    rows = []
    for text, (before, after) in scored.items():
        change: PairedBits = paired_bits(before, after)
        rows.append(
            {
                "text": text,
                "lines": change.lines,
                "characters": sum(s.characters for s in before),
                "bits/char, base": change.before,
                "bits/char, fine-tune": change.after,
                "change": change.change,
                "95% interval": (change.low, change.high),
                "perplexity, base": perplexity(before),
                "perplexity, fine-tune": perplexity(after),
            }
        )
    return pd.DataFrame(rows).set_index("text")


def format_bits_table(table: pd.DataFrame) -> pd.DataFrame:
    """The bits table as text: 3 decimals for bits, 1 for perplexity, separators."""
    shown = pd.DataFrame(index=table.index)
    shown["lines"] = table["lines"].map("{:,}".format)
    shown["characters"] = table["characters"].map("{:,}".format)
    shown["bits/char, base"] = table["bits/char, base"].map("{:.3f}".format)
    shown["bits/char, fine-tune"] = table["bits/char, fine-tune"].map("{:.3f}".format)
    shown["change [95% interval]"] = [
        f"{c:+.3f} [{lo:+.3f}, {hi:+.3f}]"
        for c, (lo, hi) in zip(table["change"], table["95% interval"], strict=True)
    ]
    shown["perplexity, base → fine-tune"] = [
        f"{b:,.1f} → {a:,.1f}"
        for b, a in zip(table["perplexity, base"], table["perplexity, fine-tune"], strict=True)
    ]
    return shown


def side_by_side_html(
    results: pd.DataFrame, base: str, tuned: str, language: str = KOREAN, limit: int = 160
) -> str:
    """One row per prompt style (first sample): the prompt, the base's and the fine-tune's
    answers, escaped (model output is never rendered as markup)."""

    def cell(text: str) -> str:
        text = text if len(text) <= limit else text[: limit - 1] + "…"
        return html.escape(text).replace("\n", "⏎")

    rows = []
    chosen = results[(results["language"] == language) & (results["sample"] == 0)]
    for style, group in chosen.groupby("style", sort=False):
        by_model = group.set_index("model")
        rows.append(
            "<tr>"
            f"<td>{html.escape(str(style))}</td>"
            f"<td><code>{cell(str(by_model.loc[base, 'prompt']))}</code></td>"
            f"<td class='model-output'>{cell(str(by_model.loc[base, 'answer']))}</td>"
            f"<td class='model-output'>{cell(str(by_model.loc[tuned, 'answer']))}</td>"
            "</tr>"
        )
    head = (
        "<tr><th>style</th><th>prompt</th>"
        f"<th>{html.escape(base)}</th><th>{html.escape(tuned)}</th></tr>"
    )
    return f"<table class='answers'>{head}{''.join(rows)}</table>"


@dataclass(frozen=True)
class ProbePair:
    """The multilingual probe on a base model and base + adapter, on the same prompts."""

    results: pd.DataFrame
    base: str  #: display label of the base model
    tuned: str  #: display label of the fine-tune
    korean: list[PairedRates]  #: on-language and good, in Korean
    verdict: str  #: :func:`finetune_verdict` on the Korean good answers

    @property
    def models(self) -> str:
        return f"{self.tuned} against {self.base}"


def probe_pair(
    base_spec: str,
    adapter: str,
    params: dict[str, Any],
    languages: Sequence[Language],
    models: Sequence[TextModel] | None = None,
) -> ProbePair:
    """Probe ``base_spec`` and ``base_spec+lora:adapter`` with the probe settings in
    ``params`` (``samples``, ``max_tokens``, ``seed``, ``n_ctx``, ``batch_width``; the
    multilingual chapter's, so cached answers are shared) and compare them in Korean.
    ``models`` are the two models already loaded, if any."""
    if models is None:
        models = [
            load_model(spec, n_ctx=params["n_ctx"], batch_width=params["batch_width"])
            for spec in (base_spec, f"{base_spec}{LORA_MARK}{adapter}")
        ]
    base, tuned = model_labels(models)
    rows: list[dict[str, Any]] = []
    for model, label in zip(models, (base, tuned), strict=True):
        rows += run_language_probe(
            model,
            label,
            languages,
            samples=params["samples"],
            max_tokens=params["max_tokens"],
            seed=params["seed"],
        )
    results = pd.DataFrame(rows)
    korean = [paired_rates(results, base, tuned, label) for label in ("on_language", "good")]
    return ProbePair(results, base, tuned, korean, finetune_verdict(korean[1]))


#: FLORES-200 languages scored before and after: Korean, and what it may cost elsewhere
EVALUATION_LANGUAGES = (
    ("kor_Hang", "Korean"),
    ("eng_Latn", "English"),
    ("jpn_Jpan", "Japanese"),
    ("spa_Latn", "Spanish"),
)
HELD_OUT_TEXT = "Korean, held-out bills"


def evaluation_texts(held_out: str, sentences: int, held_out_lines: int) -> dict[str, list[str]]:
    """The texts scored before and after: the last ``held_out_lines`` non-empty lines of the
    held-out bills (training chose its step on the first blocks of that text), and the first
    ``sentences`` FLORES-200 devtest sentences of each :data:`EVALUATION_LANGUAGES` (every
    line costs a full-vocabulary softmax per token)."""
    lines = [line for line in held_out.split("\n") if line.strip()]
    texts = {HELD_OUT_TEXT: lines[-held_out_lines:]}
    for code, name in EVALUATION_LANGUAGES:
        texts[f"{name}, FLORES-200"] = flores_sentences(code, "devtest")[:sentences]
    return texts


def score_pair(
    models: Sequence[TextModel], texts: dict[str, list[str]]
) -> dict[str, tuple[list[LineScore], list[LineScore]]]:
    """Each text's line scores under the base model and the fine-tune."""
    return {
        name: (score_lines(models[0], lines), score_lines(models[1], lines))
        for name, lines in texts.items()
    }


def elsewhere_phrase(table: pd.DataFrame) -> str:
    """What the fine-tune did to the texts other than Korean, from the bits table's
    intervals: how many got better (interval below zero) or worse (above zero)."""
    others = table[~table.index.str.startswith("Korean")]
    better = [t.split(",")[0] for t in others.index if others.loc[t, "95% interval"][1] < 0]
    worse = [t.split(",")[0] for t in others.index if others.loc[t, "95% interval"][0] > 0]
    parts = []
    if worse:
        parts.append(f"it predicts {', '.join(worse)} worse")
    if better:
        parts.append(f"it predicts {', '.join(better)} better")
    unchanged = len(others) - len(better) - len(worse)
    if unchanged:
        parts.append(f"{unchanged} of {len(others)} show no change beyond the interval")
    return "; ".join(parts) if parts else "no other language was scored"
