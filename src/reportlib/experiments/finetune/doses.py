"""Dose and response: how far each Korean dose moves the model's preference for Korean, the
slope of that against the log of the training tokens, and what the slope would say at
Bllossom's scale (an extrapolation far outside the data, labelled as one)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reportlib.core.errors import ReportlibError
from reportlib.core.stats import percentile_interval
from reportlib.experiments.preference import PREFERENCE_DRAWS, paired_shift

#: Bllossom's Korean data, as its model card gives it (100 GB and more, later 250 GB)
BLLOSSOM_BYTES = 100e9
#: bytes per character of Korean text in UTF-8 (a Hangul syllable is 3 bytes)
HANGUL_BYTES = 3


@dataclass(frozen=True)
class DoseSlope:
    """Shift of the preference per doubling of the training tokens, with its interval."""

    slope: float  #: bits per character per doubling
    low: float
    high: float
    intercept: float  #: the fitted shift at one training token (log2 = 0)
    doses: int


def _differences(rows: pd.DataFrame, model: str, baseline: str, language: str) -> pd.Series:
    keys = ["style", "sample", "reference"]
    a = rows[(rows.model == model) & (rows.language == language)].set_index(keys)["preference"]
    b = rows[(rows.model == baseline) & (rows.language == language)].set_index(keys)["preference"]
    if a.empty or not a.index.equals(b.index):
        raise ReportlibError(f"{model!r} and {baseline!r} are not paired on {language}")
    return a - b


def dose_slope(
    rows: pd.DataFrame,
    tokens: dict[str, int],
    baseline: str,
    language: str,
    draws: int = PREFERENCE_DRAWS,
    seed: int = 0,
) -> DoseSlope:
    """Least-squares slope of the paired preference shift (``model`` minus ``baseline``)
    against log2 of each model's training tokens (``tokens``: model -> tokens seen). The
    interval comes from a bootstrap that resamples the prompts and the references once per
    replicate for every dose alike (the items are the same for every dose), and refits."""
    if len(tokens) < 2:
        raise ReportlibError("a slope needs at least two doses")
    diffs = [_differences(rows, model, baseline, language) for model in tokens]
    x = np.log2(np.asarray(list(tokens.values()), dtype=float))
    prompts = sorted({(s, n) for s, n, _ in diffs[0].index})
    references = sorted({r for *_, r in diffs[0].index})
    cube = np.array(
        [[[d[(s, n, r)] for r in references] for s, n in prompts] for d in diffs]
    )  # doses x prompts x references
    means = cube.mean(axis=(1, 2))
    slope, intercept = np.polyfit(x, means, 1)
    rng = np.random.default_rng(seed)
    reps = np.empty(draws)
    for i in range(draws):
        rw = rng.multinomial(len(prompts), np.full(len(prompts), 1 / len(prompts)))
        cw = rng.multinomial(len(references), np.full(len(references), 1 / len(references)))
        weighted = np.einsum("dpr,p,r->d", cube, rw, cw) / (rw.sum() * cw.sum())
        reps[i] = np.polyfit(x, weighted, 1)[0]
    low, high = percentile_interval(reps)
    return DoseSlope(float(slope), low, high, float(intercept), len(tokens))


def tokens_at_scale(tokens_per_character: float, data_bytes: float = BLLOSSOM_BYTES) -> float:
    """How many of the model's tokens ``data_bytes`` of Korean text would be, at the
    tokens per character measured on the training replies."""
    return data_bytes / HANGUL_BYTES * tokens_per_character


def extrapolate(fit: DoseSlope, tokens: float) -> tuple[float, float, float]:
    """The fitted shift at ``tokens`` training tokens, with the slope's interval carried
    along (an extrapolation: nothing in the data says the log-linear trend holds there)."""
    doublings = math.log2(tokens)
    return (
        fit.intercept + fit.slope * doublings,
        fit.intercept + fit.low * doublings,
        fit.intercept + fit.high * doublings,
    )


def dose_table(
    rows: pd.DataFrame,
    tokens: dict[str, int],
    baseline: str,
    languages: Sequence[str],
    seed: int = 0,
) -> pd.DataFrame:
    """The paired shift of each model on each language, with its interval and the model's
    training tokens (one row per model and language)."""
    out = []
    for model, seen in tokens.items():
        for language in languages:
            shift = paired_shift(rows, model, baseline, language, seed)
            out.append({"model": model, "language": language, "tokens": seen, **shift})
    return pd.DataFrame(out)
