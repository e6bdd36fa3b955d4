"""The context window: needle-in-a-haystack retrieval, and what context costs.

The haystack is filler text written for this project; the needle is a sentence
holding a random number, placed at a sentence boundary at a chosen depth; the
model is asked to complete "The special magic number is", and scored by exact
substring match of the number, as RULER scores its retrieval tasks.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from reportlib.core.errors import ReportlibError
from reportlib.core.progress import progress_bar

FILLER_SENTENCES: tuple[str, ...] = (
    "The morning train left the station a few minutes after seven.",
    "A light rain fell over the hills for most of the afternoon.",
    "The baker opened his shop early and sold out of bread by noon.",
    "Several children played football in the park near the river.",
    "The library added new shelves for its growing collection of maps.",
    "Farmers in the valley planted beans, maize and squash this spring.",
    "The old bridge was painted green during the summer repairs.",
    "A small boat drifted slowly along the edge of the quiet lake.",
    "The museum keeps a collection of clocks from many countries.",
    "Every evening the market fills with people buying fruit and fish.",
    "The teacher wrote the date on the board before the lesson began.",
    "Snow covered the mountain roads until the end of March.",
    "The town council met on Tuesday to discuss the new bus routes.",
    "A cat slept in the sun on the wall of the garden.",
    "The hospital opened a new wing for children last year.",
    "Tea and coffee were served in the hall after the concert.",
    "The river rose after the storm but did not flood the streets.",
    "A group of students visited the observatory to look at the moon.",
    "The post office closes at five o'clock on Saturdays.",
    "Workers repaired the roof of the school during the holidays.",
    "The bakery on the corner sells cakes decorated with flowers.",
    "A long line of cars waited at the border crossing.",
    "The gardeners planted a row of apple trees along the fence.",
    "The choir practised every Thursday in the old church.",
)
NEEDLE = "The special magic number is {value}."
QUESTION = (
    "\n\nWhat is the special magic number mentioned in the text above? The special magic number is"
)
#: the tokens a needle prompt leaves free in the window: the 12-token answer and a margin
ANSWER_ROOM = 16


def lengths_in_window(lengths: Sequence[int], window: int) -> list[int]:
    """The needle lengths that fit ``window`` with room for the answer; the others are said
    (printed), and none fitting is one clear error, before the model loads."""
    fitting = [n for n in lengths if n + ANSWER_ROOM <= window]
    dropped = [n for n in lengths if n + ANSWER_ROOM > window]
    if not fitting:
        raise ReportlibError(
            f"no needle length fits the window of {window:,} tokens (each needs {ANSWER_ROOM} "
            f"more for the answer): {', '.join(f'{n:,}' for n in dropped)}; give lengths up to "
            f"{window - ANSWER_ROOM:,} or a larger n_ctx"
        )
    if dropped:
        print(
            f"not measured: needle lengths {', '.join(f'{n:,}' for n in dropped)}, beyond the "
            f"window of {window:,} tokens (the model's trained window, or n_ctx)"
        )
    return fitting


def haystack_sentences(count: int, seed: int = 0) -> list[str]:
    """``count`` filler sentences: the list shuffled (seeded) and repeated as needed."""
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < count:
        block = list(FILLER_SENTENCES)
        rng.shuffle(block)
        out.extend(block)
    return out[:count]


def needle_value(index: int, seed: int = 0) -> str:
    """A 7-digit random number, the same for the same (index, seed)."""
    return str(random.Random(f"needle-{seed}-{index}").randrange(1_000_000, 10_000_000))


@dataclass(frozen=True)
class NeedleCase:
    """One prompt of the needle grid."""

    length: int  #: target prompt length in the model's tokens
    depth: float  #: where the needle sits: 0 = start, 1 = end of the haystack
    needle: int  #: index of the needle value
    value: str
    sentences: int  #: filler sentences in the haystack
    needle_sentence: int  #: the needle is inserted before this filler sentence
    prompt: str
    prompt_tokens: int
    needle_token_position: int  #: tokens before the needle (its depth in tokens)


def build_needle_case(
    tokenize: Callable[[str], list[int]], length: int, depth: float, needle: int, seed: int = 0
) -> NeedleCase:
    """A haystack of about ``length`` tokens with the needle at ``depth`` (a sentence boundary)."""
    if not 0.0 <= depth <= 1.0:
        raise ReportlibError(f"depth must be between 0 and 1, not {depth!r}")
    value = needle_value(needle, seed)
    overhead = len(tokenize(NEEDLE.format(value=value) + QUESTION))
    bos = len(tokenize(""))  # a tokenizer that adds a BOS counts it in every call
    per_sentence = [len(tokenize(" " + s)) - bos for s in FILLER_SENTENCES]
    estimate = max(1, (length - overhead) * len(per_sentence) // sum(per_sentence))
    filler = haystack_sentences(estimate * 11 // 10 + 64, seed)
    count = estimate
    average = sum(per_sentence) / len(per_sentence)
    for _ in range(8):  # coarse: move by as many sentences as the miss (a long prompt is slow
        case = _assemble(tokenize, length, depth, needle, value, filler, count)  # to tokenize)
        step = int((case.prompt_tokens - length) / average)
        if step == 0:
            break
        count = max(1, min(len(filler) - 1, count - step))
    while True:  # fine: adjust so the whole prompt is as close to ``length`` as sentences allow
        case = _assemble(tokenize, length, depth, needle, value, filler, count)
        if case.prompt_tokens > length and count > 1:
            count -= 1
        elif case.prompt_tokens < length and count < len(filler):
            bigger = _assemble(tokenize, length, depth, needle, value, filler, count + 1)
            if bigger.prompt_tokens > length:
                return case
            count += 1
        else:
            return case


def _assemble(
    tokenize: Callable[[str], list[int]],
    length: int,
    depth: float,
    needle: int,
    value: str,
    filler: list[str],
    count: int,
) -> NeedleCase:
    at = round(depth * count)
    parts = [*filler[:at], NEEDLE.format(value=value), *filler[at:count]]
    prompt = " ".join(parts) + QUESTION
    before = " ".join(filler[:at])
    return NeedleCase(
        length,
        depth,
        needle,
        value,
        count,
        at,
        prompt,
        len(tokenize(prompt)),
        len(tokenize(before)) if before else 0,
    )


def order_for_prefix_sharing(cases: Iterable[NeedleCase]) -> list[NeedleCase]:
    """Order the grid so consecutive prompts share long prefixes: deepest needle first, then
    the same needle value and longer haystacks together (the KV cache keeps the shared part)."""
    return sorted(cases, key=lambda c: (-c.needle_token_position, c.needle, -c.length, c.depth))


def needle_grid(
    tokenize: Callable[[str], list[int]],
    lengths: Iterable[int],
    depths: Iterable[float],
    needles: int,
    seed: int = 0,
) -> list[NeedleCase]:
    """Every (length, depth, needle) case, ordered for prefix sharing."""
    cases = [
        build_needle_case(tokenize, length, depth, k, seed)
        for length in lengths
        for depth in depths
        for k in range(needles)
    ]
    return order_for_prefix_sharing(cases)


def score_answer(answer: str, value: str) -> bool:
    """RULER-style: the expected value appears in the answer."""
    return value in answer


def run_needle_grid(
    model: Any,
    cases: Sequence[NeedleCase],
    max_tokens: int = 12,
    seed: int = 0,
    progress: bool | None = None,
) -> list[dict[str, Any]]:
    """Ask every case in order, keeping the shared prefix in the KV cache; one row per case."""
    rows = []
    for case in progress_bar(cases, desc="needle grid", unit="prompt", enabled=progress):
        answer = model.complete(case.prompt, max_tokens=max_tokens, seed=seed, reuse_prefix=True)
        row = {k: v for k, v in asdict(case).items() if k != "prompt"}
        row.update(
            answer=answer.text,
            found=score_answer(answer.text, case.value),
            evaluated_tokens=answer.evaluated_tokens,
        )
        rows.append(row)
    return rows


def effective_length(scores: dict[int, float], threshold: float) -> int | None:
    """The longest length whose score, and every shorter length's, is >= ``threshold``."""
    best = None
    for length in sorted(scores):
        if scores[length] < threshold:
            break
        best = length
    return best


def kv_cache_bytes(
    layers: int, kv_heads: int, head_dim: int, n_ctx: int, bytes_per_element: float = 2.0
) -> float:
    """Keys and values for every layer: 2 x layers x KV heads x head dim x n_ctx x bytes."""
    return 2 * layers * kv_heads * head_dim * n_ctx * bytes_per_element


#: published architectures (Llama Team 2024, "The Llama 3 Herd of Models", Table 3)
LLAMA3_ARCHITECTURES: dict[str, dict[str, int]] = {
    "Llama 3.1 8B": {"layers": 32, "kv_heads": 8, "head_dim": 128, "heads": 32},
    "Llama 3.1 70B": {"layers": 80, "kv_heads": 8, "head_dim": 128, "heads": 64},
    "Llama 3.1 405B": {"layers": 126, "kv_heads": 8, "head_dim": 128, "heads": 128},
}


def window_capacity(counts: Any, windows: Sequence[int]) -> Any:
    """How much of each language fits in each window: words (space-separated languages),
    characters, and the share of the English content (1 / premium)."""
    import pandas as pd

    rows = []
    for r in counts.itertuples():
        row = {
            "tokenizer": r.tokenizer,
            "language": r.language,
            "share of English content": 1 / r.premium,
        }
        for window in windows:
            label = f"{window // 1024}k"
            words = window / r.tokens_per_word if pd.notna(r.tokens_per_word) else None
            row[f"words in {label}"] = round(words) if words else None
            row[f"characters in {label}"] = round(window * r.chars_per_token)
        rows.append(row)
    return pd.DataFrame(rows)
