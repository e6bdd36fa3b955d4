"""How well a model predicts a text: bits per character and per-token perplexity, by llama.cpp.

Each line of a text is scored on its own, after a BOS, in one llama.cpp batch that asks for
the logits of every position (no ``logits_all`` context: only the batch's own outputs are
kept). Bits per character (the total negative log-likelihood in bits over the line's
characters) compares models with different tokenizers; per-line scores give bootstrap
intervals and paired comparisons between two models on the same lines.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from reportlib.backends.interface import TextModel
from reportlib.core.errors import ReportlibError
from reportlib.core.progress import progress_bar
from reportlib.core.stats import percentile_interval, resample_indices

BOOTSTRAP_DRAWS = 2000


@dataclass(frozen=True)
class LineScore:
    """The negative log-likelihood of one line (in nats) and its size."""

    characters: int
    tokens: int  #: tokens predicted (the line's tokens; the BOS is not predicted)
    nats: float


def score_lines(
    model: TextModel, lines: Sequence[str], *, progress: Callable[[int], None] | None = None
) -> list[LineScore]:
    """Score each non-empty line (after a BOS) with :meth:`TextModel.sequence_nats` (cached
    when ``model`` is a cached model); a line longer than the model scores at once is one
    clear error."""
    scores: list[LineScore] = []
    numbered = enumerate(lines, start=1)
    for number, line in progress_bar(numbered, total=len(lines), desc="scoring lines", unit="line"):
        if not line.strip():
            continue
        tokens = model.tokenize(line)
        try:
            nats = model.sequence_nats(tokens)
        except ReportlibError as exc:
            raise ReportlibError(f"line {number} ({len(tokens)} tokens): {exc}") from None
        scores.append(LineScore(len(line), len(tokens) - 1, nats))
        if progress is not None:
            progress(len(scores))
    return scores


def bits_per_character(scores: Sequence[LineScore]) -> float:
    """Total bits over total characters."""
    return sum(s.nats for s in scores) / math.log(2) / sum(s.characters for s in scores)


def perplexity(scores: Sequence[LineScore]) -> float:
    """Per-token perplexity: exp of the mean negative log-likelihood per predicted token."""
    return math.exp(sum(s.nats for s in scores) / sum(s.tokens for s in scores))


@dataclass(frozen=True)
class PairedBits:
    """Bits per character of two models on the same lines, and the change with its
    bootstrap interval (lines resampled; a ratio of sums, so long lines weigh more)."""

    before: float
    after: float
    change: float  #: after - before
    low: float
    high: float
    lines: int


def paired_bits(
    before: Sequence[LineScore], after: Sequence[LineScore], *, seed: int = 0, alpha: float = 0.05
) -> PairedBits:
    """The change in bits per character from ``before`` to ``after`` (same lines)."""
    if len(before) != len(after) or not before:
        raise ReportlibError("paired bits per character need the same, non-empty list of lines")
    if any(a.characters != b.characters for a, b in zip(before, after, strict=True)):
        raise ReportlibError("the two score lists are not of the same lines")
    chars = np.array([s.characters for s in before], dtype=float)
    nb = np.array([s.nats for s in before])
    na = np.array([s.nats for s in after])
    draws = resample_indices(len(chars), BOOTSTRAP_DRAWS, seed)
    c = chars[draws].sum(axis=1) * math.log(2)
    changes = (na[draws].sum(axis=1) - nb[draws].sum(axis=1)) / c
    low, high = percentile_interval(changes, 1 - alpha)
    b, a = bits_per_character(before), bits_per_character(after)
    return PairedBits(b, a, a - b, low, high, len(chars))
