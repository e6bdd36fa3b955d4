"""Gibberish in the right script: an answer that no model of the language would write.

A small chat model asked in Kannada can answer with strings of Kannada syllables that are
no words ("ಬ್ದುನೄ ನೇಸೆಪೋೡ"), or in Russian with invented words; the language judge
calls both on-language. This label measures how predictable an answer is to an independent
multilingual model, the scorer (the book's embedded Gemma 3 270M, trained on many
languages): its bits per character on the answer's first :data:`PREFIX_CHARACTERS`
characters, divided by its median bits per character on the same length of ordinary
sentences of the requested language (FLORES-200 ``dev``, scored, never trained on). An
answer :data:`GIBBERISH_RATIO` times or more harder to predict than ordinary text is
gibberish. The ratio was chosen on one draw of read answers and is measured on another (the
multilingual chapter's audit); an answer the scorer wrote itself would look fluent to it,
so the label is for other models' answers.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable

import pandas as pd

from reportlib.backends.interface import TextModel
from reportlib.core.errors import ReportlibError
from reportlib.core.languages import Language, get_language
from reportlib.text.corpus import flores_sentences
from reportlib.text.judge import strip_markup

#: characters of an answer (and of each reference sentence) that are scored
PREFIX_CHARACTERS = 60
#: reference sentences per language
REFERENCE_SENTENCES = 20
#: the candidate ratios, tried on the development draw of the chat model's audit set
GIBBERISH_CANDIDATES = (1.25, 1.5, 1.75, 2.0, 2.5)
#: an answer this many times harder to predict than ordinary text is gibberish: the
#: candidate with the highest Cohen's kappa on the development draw (a test checks it)
GIBBERISH_RATIO = 1.75
#: answers shorter than this many letters are not judged (the empty label covers them)
MIN_LETTERS = 6


def bits_per_character(scorer: TextModel, text: str) -> float:
    """The scorer's bits per character on the first :data:`PREFIX_CHARACTERS` characters
    of ``text`` (after its BOS); NaN for text of fewer than two tokens."""
    prefix = text[:PREFIX_CHARACTERS]
    tokens = scorer.tokenize(prefix)
    if len(tokens) < 2 or not prefix:
        return math.nan
    return scorer.sequence_nats(tokens) / math.log(2) / len(prefix)


def reference_bits(scorer: TextModel, languages: Iterable[Language]) -> dict[str, float]:
    """Per language (FLORES code), the scorer's median bits per character on ordinary
    sentences: the first :data:`REFERENCE_SENTENCES` of FLORES-200 ``dev``."""
    out = {}
    for lang in languages:
        sentences = flores_sentences(lang.flores, "dev")[:REFERENCE_SENTENCES]
        out[lang.flores] = statistics.median(bits_per_character(scorer, s) for s in sentences)
    return out


def fluency_ratios(
    scorer: TextModel, answers: pd.DataFrame, references: dict[str, float]
) -> list[float]:
    """For each answer (columns ``answer`` and ``language``), its bits per character over
    its language's reference: 1 is as predictable as ordinary text; NaN for answers too
    short to judge."""
    ratios = []
    for text, code in zip(answers["answer"], answers["language"], strict=True):
        clean = strip_markup(text).strip()
        if sum(c.isalpha() for c in clean) < MIN_LETTERS:
            ratios.append(math.nan)
            continue
        reference = references.get(code) or references.get(get_language(code).flores)
        if reference is None:
            raise ReportlibError(
                f"no reference bits per character for {code}: compute them for every "
                "language of the answers (reference_bits)"
            )
        ratios.append(bits_per_character(scorer, clean) / reference)
    return ratios


def label_gibberish(
    results: pd.DataFrame, scorer: TextModel, ratio: float = GIBBERISH_RATIO
) -> pd.DataFrame:
    """``results`` with the scorer's ``fluency`` ratio, the ``gibberish`` label (an answer
    not already degenerate, :data:`GIBBERISH_RATIO` times or more harder to predict than
    ordinary text of its language), ``degenerate_reason`` "gibberish" for it, and ``good``
    recomputed (on-language, not degenerate, not gibberish)."""
    languages = [get_language(code) for code in dict.fromkeys(results["language"])]
    references = reference_bits(scorer, languages)
    out = results.copy()
    out["fluency"] = fluency_ratios(scorer, out, references)
    out["gibberish"] = ~out["degenerate"].astype(bool) & (out["fluency"] >= ratio)
    out.loc[out["gibberish"], "degenerate_reason"] = "gibberish"
    out["degenerate"] = out["degenerate"].astype(bool) | out["gibberish"]
    out["good"] = out["on_language"].astype(bool) & ~out["degenerate"]
    return out
