"""The fine-tune chapter's comparisons: the chat model against its LoRA adapters (the Korean
doses and the English control) on the same prompts (the probe, Korean asked in Korean and
English asked in English), the same replies (the judge-free preference) and the same texts
(bits per character)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from reportlib.backends.interface import TextModel
from reportlib.core.html import escape_text
from reportlib.core.languages import get_language
from reportlib.core.stats import mcnemar_exact, wilson_interval
from reportlib.core.verdicts import NOT_DECIDED, PARTLY, REFUTED, SUPPORTED
from reportlib.experiments.finetune.perplexity import (
    LineScore,
    PairedBits,
    paired_bits,
    perplexity,
    score_lines,
)
from reportlib.experiments.preference import paired_shift
from reportlib.experiments.probe.analysis import ALPHA, paired_outcomes
from reportlib.experiments.probe.fluency import label_gibberish
from reportlib.experiments.probe.runner import run_language_probe
from reportlib.text.corpus import flores_sentences

KOREAN = "kor_Hang"
ENGLISH = "eng_Latn"
#: the probe of the fine-tunes: Korean asked in Korean (the report's experiment) and English
#: asked in English (what a Korean fine-tune may cost)
PROBED = (KOREAN, ENGLISH)
#: short, so that the rate tables stay tables of numbers (a phone scrolls them sideways)
LABEL_NAMES = {"on_language": "in the language", "good": "good answer"}


@dataclass(frozen=True)
class PairedRates:
    """One label's rate for the base and a fine-tune on the same prompts, with Wilson
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


def probe_models(
    models: Sequence[TextModel],
    labels: Sequence[str],
    samples: int,
    max_tokens: int,
    seed: int,
    decodings: Sequence[str],
    scorer: TextModel,
) -> pd.DataFrame:
    """Every model asked for a self-introduction in Korean (in Korean) and in English (in
    English), as a chat user asks, with every decoding; labelled as the multilingual
    chapter labels the chat model's answers (gibberish by ``scorer`` included)."""
    languages = [get_language(code) for code in PROBED]
    rows: list[dict[str, Any]] = []
    for model, label in zip(models, labels, strict=True):
        for decoding in decodings:
            rows += run_language_probe(
                model,
                label,
                languages,
                ["native_request"],
                samples,
                max_tokens,
                seed,
                decoding=decoding,
            )
    return label_gibberish(pd.DataFrame(rows), scorer)


def paired_rates(
    results: pd.DataFrame, base: str, tuned: str, label: str, language: str = KOREAN
) -> PairedRates:
    """``label``'s rate for ``language`` before and after, paired by prompt (and decoding:
    a sampled answer pairs with the one of the same prompt and seed)."""
    pairs = paired_outcomes(results, "model", base, tuned, label).astype(bool)
    pairs = pairs.xs(language, level="language")
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


def adapter_name(model: str, base: str) -> str:
    """A fine-tune's display label without the name of ``base`` it starts with ("Korean
    LoRA, 20 items" for "<base> + Korean LoRA, 20 items"); any other label unchanged."""
    prefix = f"{base} + "
    return model[len(prefix) :] if model.startswith(prefix) and len(model) > len(prefix) else model


def rates_table(results: pd.DataFrame, base: str, language: str) -> pd.DataFrame:
    """Every other model against ``base`` on ``language``, per decoding and label: the two
    rates with 95% Wilson intervals, the discordant pairs and McNemar's exact p. One flat
    row each (a phone shows every row as a block), the adapter named without ``base``."""
    rows = []
    for model in [m for m in dict.fromkeys(results["model"]) if m != base]:
        for decoding in dict.fromkeys(results["decoding"]):
            part = results[results["decoding"] == decoding]
            for label in ("on_language", "good"):
                r = paired_rates(part, base, model, label, language)
                rows.append(
                    {
                        "adapter": adapter_name(model, base),
                        "decoding": decoding,
                        "label": LABEL_NAMES[label],
                        "prompts": r.prompts,
                        "without the adapter": f"{r.base:.0%} ({r.base_low:.0%}–{r.base_high:.0%})",
                        "with the adapter": f"{r.tuned:.0%} ({r.tuned_low:.0%}–{r.tuned_high:.0%})",
                        "only without": r.base_only,
                        "only with": r.tuned_only,
                        "McNemar exact p": f"{r.p_value:.2g}",
                    }
                )
    table = pd.DataFrame(rows)
    table.attrs["numeric"] = True  # a phone scrolls it sideways rather than stacking 16 rows
    return table


def finetune_verdict(rates: PairedRates, alpha: float = ALPHA) -> str:
    """The report's claim ("the fine-tune introduces itself in Korean far better") on this
    pair: supported when the fine-tune's good-answer rate in Korean is higher and McNemar's
    exact test rejects equality at ``alpha``, refuted when it is lower and rejected, else
    not decided."""
    if rates.p_value >= alpha or rates.tuned == rates.base:
        return NOT_DECIDED
    return SUPPORTED if rates.tuned > rates.base else REFUTED


@dataclass(frozen=True)
class ProbePair:
    """The chat model and its largest Korean dose on the same Korean prompts (every
    decoding pooled, each answer paired with the other model's to the same prompt and
    seed)."""

    base: str  #: display label of the base model
    tuned: str  #: display label of the fine-tune
    korean: list[PairedRates]  #: on-language and good, in Korean
    verdict: str  #: :func:`finetune_verdict` on the Korean good answers

    @property
    def models(self) -> str:
        return f"{self.tuned} against {self.base}"


def probe_pair(results: pd.DataFrame, base: str, tuned: str) -> ProbePair:
    """The report's comparison on this chapter's probe: Korean asked in Korean."""
    korean = [paired_rates(results, base, tuned, label) for label in ("on_language", "good")]
    return ProbePair(base, tuned, korean, finetune_verdict(korean[1]))


#: "easy" read as: a small Korean instruction set moves the model towards Korean, more than
#: a matched English one does
EASY_RULE = (
    "on the largest Korean dose against the chat model: (a) Korean good answers higher, "
    "McNemar's exact test at 5%; (b) the paired Korean preference shift above zero and above "
    "the English control's (95% intervals of the shift and of the difference of shifts); "
    "supported if both, partly true if one, refuted if neither"
)


def easy_verdict(pair: ProbePair, shift: dict[str, float], over_control: dict[str, float]) -> str:
    """The report's "fine-tuning makes another language easy to improve", by
    :data:`EASY_RULE`."""
    behaviour = pair.verdict == SUPPORTED
    preference = shift["low"] > 0 and over_control["low"] > 0
    if behaviour and preference:
        return SUPPORTED
    return PARTLY if behaviour or preference else REFUTED


def shift_over(rows: pd.DataFrame, model: str, other: str, language: str) -> dict[str, float]:
    """How much more ``model`` prefers ``language`` than ``other`` does, paired over the same
    prompts and replies (both measured against the same base, so the base cancels)."""
    return paired_shift(rows, model, other, language)


#: FLORES-200 languages scored before and after: Korean, and what it may cost elsewhere
EVALUATION_LANGUAGES = (
    ("kor_Hang", "Korean"),
    ("eng_Latn", "English"),
    ("jpn_Jpan", "Japanese"),
)


def evaluation_texts(sentences: int) -> dict[str, list[str]]:
    """The first ``sentences`` FLORES-200 devtest sentences of each
    :data:`EVALUATION_LANGUAGES` (never trained on)."""
    return {
        name: flores_sentences(code, "devtest")[:sentences] for code, name in EVALUATION_LANGUAGES
    }


def bits_table(
    models: Sequence[TextModel], labels: Sequence[str], texts: dict[str, list[str]]
) -> pd.DataFrame:
    """Bits per character of each text under the base (the first model) and each other
    model, with the paired change's 95% bootstrap interval and per-token perplexity."""
    base_scores = {name: score_lines(models[0], lines) for name, lines in texts.items()}
    rows = []
    for model, label in zip(models[1:], labels[1:], strict=True):
        for name, lines in texts.items():
            before: list[LineScore] = base_scores[name]
            after = score_lines(model, lines)
            change: PairedBits = paired_bits(before, after)
            rows.append(
                {
                    "model": label,
                    "text": name,
                    "lines": change.lines,
                    "bits/char, base": change.before,
                    "bits/char, fine-tune": change.after,
                    "change": change.change,
                    "low": change.low,
                    "high": change.high,
                    "perplexity, base": perplexity(before),
                    "perplexity, fine-tune": perplexity(after),
                }
            )
    return pd.DataFrame(rows)


def format_bits_table(table: pd.DataFrame) -> pd.DataFrame:
    """The bits table as text: 3 decimals for bits, 1 for perplexity."""
    shown = table[["model", "text", "lines"]].copy()
    shown["bits/char, base → fine-tune"] = [
        f"{b:.3f} → {a:.3f}"
        for b, a in zip(table["bits/char, base"], table["bits/char, fine-tune"], strict=True)
    ]
    shown["change [95% interval]"] = [
        f"{c:+.3f} [{lo:+.3f}, {hi:+.3f}]"
        for c, lo, hi in zip(table["change"], table["low"], table["high"], strict=True)
    ]
    shown["perplexity, base → fine-tune"] = [
        f"{b:,.1f} → {a:,.1f}"
        for b, a in zip(table["perplexity, base"], table["perplexity, fine-tune"], strict=True)
    ]
    return shown.set_index(["model", "text"])


def side_by_side_html(
    results: pd.DataFrame, models: Sequence[str], language: str = KOREAN, limit: int = 200
) -> str:
    """The first prompt of ``language`` for each decoding, and every model's answer to it:
    escaped (model output is never rendered as markup), line breaks kept."""
    rows = []
    chosen = results[(results["language"] == language) & (results["sample"] == 0)]
    for decoding, group in chosen.groupby("decoding", sort=False):
        by_model = group.set_index("model")
        rows += [
            f"<tr><td>{escape_text(str(decoding))}</td><td>{escape_text(model)}</td>"
            f"<td class='model-output'>"
            f"{escape_text(str(by_model.loc[model, 'answer']), limit).replace(chr(10), '<br>')}"
            "</td></tr>"
            for model in models
        ]
    head = "<tr><th>decoding</th><th>model</th><th>answer</th></tr>"
    return f"<table class='answers'>{head}{''.join(rows)}</table>"
