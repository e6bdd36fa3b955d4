"""Sampled decoding, as a chat app decodes, reproducible from a seed.

The report's chats ran in Ollama (its model names are Ollama tags), which samples with the
defaults of its Modelfile reference: temperature 0.8, top-k 40, top-p 0.9, and a repeat
penalty of 1.1 over the last 64 tokens (:data:`OLLAMA_DEFAULTS`). Greedy decoding (no
:class:`Sampling`) stays the book's deterministic control.

:func:`sample_token` is the one sampler of every in-process path (single-stream and batched),
in llama.cpp's order: the repeat penalty on the last ``repeat_last_n`` tokens of the context
(prompt and answer), top-k, top-p on the softmax of what is left, min-p, temperature, then a
draw. Its random numbers come from :func:`answer_rng`, seeded with the call's seed and the
prompt's tokens, so an answer depends on its own seed and prompt only, never on which other
prompts were decoded beside it or in what order.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from reportlib.core.errors import ReportlibError


@dataclass(frozen=True)
class Sampling:
    """The settings of sampled decoding (llama.cpp's and Ollama's names and meanings)."""

    temperature: float = 0.8
    top_k: int = 40
    top_p: float = 0.9
    min_p: float = 0.0
    repeat_penalty: float = 1.1
    repeat_last_n: int = 64

    def __post_init__(self) -> None:
        checks = {
            "temperature": self.temperature > 0,
            "top_k": self.top_k >= 1,
            "top_p": 0 < self.top_p <= 1,
            "min_p": 0 <= self.min_p < 1,
            "repeat_penalty": self.repeat_penalty > 0,
            "repeat_last_n": self.repeat_last_n >= 0,
        }
        for name, ok in checks.items():
            value = getattr(self, name)
            whole = name in ("top_k", "repeat_last_n")
            kind_ok = (
                isinstance(value, int) and not isinstance(value, bool)
                if whole
                else isinstance(value, int | float)
                and not isinstance(value, bool)
                and math.isfinite(value)
            )
            if not kind_ok or not ok:
                raise ReportlibError(f"sampling setting {name}={value!r} is out of range")

    def as_key(self) -> dict[str, Any]:
        """The settings as they enter a cache key."""
        return {"sampler": "reportlib-v1", **asdict(self)}


#: Ollama's documented defaults (docs/modelfile.md, "Valid Parameters and Values")
OLLAMA_DEFAULTS = Sampling()

#: how the chapters name the two decodings
DECODINGS: dict[str, Sampling | None] = {"greedy": None, "sampled": OLLAMA_DEFAULTS}


def answer_rng(seed: int, prompt_tokens: Sequence[int]) -> np.random.Generator:
    """The random numbers of one answer: seeded by the call's ``seed`` and a digest of its
    prompt, so each answer's draws are fixed whatever is decoded beside it."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ReportlibError(f"seed must be a whole number >= 0, not {seed!r}")
    digest = hashlib.sha256(np.asarray(prompt_tokens, dtype=np.int64).tobytes()).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, *words])))


def sample_token(
    logits: np.ndarray,
    context: Sequence[int],
    sampling: Sampling,
    rng: np.random.Generator,
) -> int:
    """The next token drawn from ``logits`` (one row over the vocabulary), given the
    ``context`` so far (prompt and answer tokens, oldest first)."""
    scores = np.array(logits, dtype=np.float64, copy=True)
    if sampling.repeat_last_n and sampling.repeat_penalty != 1.0:
        recent = np.unique(np.asarray(context[-sampling.repeat_last_n :], dtype=np.int64))
        recent = recent[(recent >= 0) & (recent < len(scores))]
        penalised = scores[recent]
        scores[recent] = np.where(
            penalised > 0,
            penalised / sampling.repeat_penalty,
            penalised * sampling.repeat_penalty,
        )
    k = min(sampling.top_k, len(scores))
    # the k best, highest first (a partial sort: the vocabulary is large), ties broken by
    # the lower token id; the threshold's ties are all kept, then cut in that order
    kth = np.partition(scores, len(scores) - k)[len(scores) - k]
    candidates = np.flatnonzero(scores >= kth)
    order = candidates[np.lexsort((candidates, -scores[candidates]))][:k]
    kept = scores[order]
    probs = np.exp(kept - kept[0])
    probs /= probs.sum()
    if sampling.top_p < 1.0:
        cut = int(np.searchsorted(np.cumsum(probs), sampling.top_p)) + 1
        order, kept, probs = order[:cut], kept[:cut], probs[:cut]
    if sampling.min_p > 0.0:
        keep = probs >= sampling.min_p * probs[0]
        order, kept = order[keep], kept[keep]
    tempered = np.exp((kept - kept[0]) / sampling.temperature)
    tempered /= tempered.sum()
    pick = int(np.searchsorted(np.cumsum(tempered), rng.random(), side="right"))
    return int(order[min(pick, len(order) - 1)])
