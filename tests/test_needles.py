"""Needle placement, scoring, prefix-sharing order, the KV formula and window capacity."""

import pandas as pd
import pytest

from reportlib.backends.interface import shared_prefix_length
from reportlib.core.errors import ReportlibError
from reportlib.experiments.context.costs import parse_kv_cache_log
from reportlib.experiments.context.needles import (
    FILLER_SENTENCES,
    LLAMA3_ARCHITECTURES,
    NEEDLE,
    QUESTION,
    build_needle_case,
    effective_length,
    kv_cache_bytes,
    needle_grid,
    needle_value,
    order_for_prefix_sharing,
    score_answer,
    window_capacity,
)


def word_tokens(text: str) -> list[int]:
    """A stand-in tokenizer: one token per whitespace-separated word."""
    return [hash(w) % 1000 for w in text.split()]


@pytest.mark.parametrize("length", [200, 1000, 3000])
@pytest.mark.parametrize("depth", [0.0, 0.25, 0.5, 1.0])
def test_needle_sits_at_its_depth_on_a_sentence_boundary(length, depth):
    case = build_needle_case(word_tokens, length, depth, needle=0)
    longest = max(len(word_tokens(s)) for s in FILLER_SENTENCES)
    assert length - longest <= case.prompt_tokens <= length
    needle = NEEDLE.format(value=case.value)
    before, after = case.prompt.split(needle)
    assert before == "" or before.endswith(". ")  # after a whole sentence
    assert after.startswith((" ", "\n"))
    assert case.needle_sentence == round(depth * case.sentences)
    haystack = case.prompt_tokens - len(word_tokens(needle + QUESTION))
    assert abs(case.needle_token_position / haystack - depth) <= longest / haystack + 0.01


def test_needle_values_are_seeded_and_distinct():
    assert needle_value(0) == needle_value(0) and len(needle_value(0)) == 7
    assert len({needle_value(i) for i in range(20)}) == 20
    assert needle_value(0, seed=1) != needle_value(0, seed=0)


def test_bad_depth():
    with pytest.raises(ReportlibError, match="depth must be between 0 and 1"):
        build_needle_case(word_tokens, 500, 1.5, 0)


def test_scorer():
    assert score_answer(" 4837291.\n\nWhat", "4837291")
    assert not score_answer(" 483729", "4837291")
    assert not score_answer("", "4837291")


def test_grid_order_shares_more_prefix_than_the_natural_order():
    cases = needle_grid(word_tokens, [300, 600], [0.0, 0.5, 1.0], needles=2)

    def evaluated(order):
        total, previous = 0, []
        for case in order:
            tokens = word_tokens(case.prompt)
            total += len(tokens) - shared_prefix_length(previous, tokens)
            previous = tokens
        return total

    natural = sorted(cases, key=lambda c: (c.length, c.depth, c.needle))
    assert order_for_prefix_sharing(natural) == cases
    assert evaluated(cases) < 0.85 * evaluated(natural)
    import random

    rng = random.Random(0)
    for _ in range(20):  # no random order does better
        shuffled = rng.sample(cases, len(cases))
        assert evaluated(cases) <= evaluated(shuffled)
    assert [c.needle_token_position for c in cases] == sorted(
        (c.needle_token_position for c in cases), reverse=True
    )


def test_effective_length():
    assert effective_length({512: 1.0, 1024: 0.9, 2048: 0.5, 4096: 0.9}, 0.85) == 1024
    assert effective_length({512: 0.5, 1024: 1.0}, 0.85) is None


def test_kv_formula_by_hand():
    # Gemma 3 270M: 18 layers, 1 KV head of dimension 256, f16: 18,432 bytes per token
    assert kv_cache_bytes(18, 1, 256, 1) == 18_432
    assert kv_cache_bytes(18, 1, 256, 2048) / 2**20 == 36.0
    # Llama 3.1 8B at 128k: 2 * 32 * 8 * 128 * 131072 * 2 bytes = 16 GiB
    arch = LLAMA3_ARCHITECTURES["Llama 3.1 8B"]
    assert kv_cache_bytes(arch["layers"], arch["kv_heads"], arch["head_dim"], 131072) == 16 * 2**30
    arch = LLAMA3_ARCHITECTURES["Llama 3.1 405B"]
    assert (
        kv_cache_bytes(arch["layers"], arch["kv_heads"], arch["head_dim"], 8192) / 2**30 == 3.9375
    )


def test_llama_cpp_kv_log_is_parsed():
    lines = [
        "llama_kv_cache:        CPU KV buffer size =     6.00 MiB\n",
        "llama_kv_cache: size =    6.00 MiB (  2048 cells,   3 layers,  1/1 seqs), K (f16): 3 MiB\n",  # noqa: E501
        "llama_kv_cache: size =   30.00 MiB (  2048 cells,  15 layers,  1/1 seqs), K (f16): 15\n",
    ]
    assert parse_kv_cache_log(lines) == {"kv_mib": 36.0, "cells": 2048.0, "layers": 18.0}


def test_window_capacity():
    counts = pd.DataFrame(
        [
            {
                "tokenizer": "t",
                "language": "English",
                "tokens_per_word": 1.25,
                "chars_per_token": 4.0,
                "premium": 1.0,
            },
            {
                "tokenizer": "t",
                "language": "Chinese",
                "tokens_per_word": None,
                "chars_per_token": 1.0,
                "premium": 2.0,
            },
        ]
    )
    table = window_capacity(counts, [8192]).set_index("language")
    assert table.loc["English", "words in 8k"] == 6554
    assert table.loc["English", "characters in 8k"] == 32768
    assert pd.isna(table.loc["Chinese", "words in 8k"])
    assert table.loc["Chinese", "share of English content"] == 0.5


@pytest.mark.model
def test_a_reused_prefix_gives_a_fresh_evaluations_answer_whatever_came_before(tmp_path):
    """Prefix reuse keeps whole batches of the last prompt only: the rest of a prompt is
    evaluated in the batches a fresh evaluation uses, so the logits are bit for bit those
    of a fresh evaluation (reusing any shared prefix split the batches differently, and an
    archived answer reproduced only after the same predecessor)."""
    import numpy as np

    from reportlib.backends.loading import load_model
    from reportlib.backends.sampling import Sampling
    from reportlib.core.cache import ResultCache

    llm = load_model(n_ctx=1024, n_batch=128, cache=ResultCache(tmp_path)).model
    base = " ".join(FILLER_SENTENCES[:24])
    first = llm.complete(base + " The end is", max_tokens=4, seed=0, reuse_prefix=True)
    assert first.evaluated_tokens == first.prompt_tokens  # nothing before it to reuse
    second = llm.complete(base + " The start is", max_tokens=4, seed=0, reuse_prefix=True)
    reused_logits = llm.last_logits().copy()
    shared = shared_prefix_length(
        llm.tokenize(base + " The end is"), llm.tokenize(base + " The start is")
    )
    assert shared > 2 * 128 and shared % 128 != 0  # the test needs an unaligned shared prefix
    assert second.evaluated_tokens == second.prompt_tokens - shared // 128 * 128
    fresh = llm.complete(base + " The start is", max_tokens=4, seed=0)
    assert fresh.evaluated_tokens == fresh.prompt_tokens
    assert np.array_equal(llm.last_logits(), reused_logits)
    assert (second.text, second.finish_reason) == (fresh.text, fresh.finish_reason)
    assert llm.reusable_prefix(llm.tokenize(base + " The start is")) == shared // 128 * 128
    # a sampled answer in between (its tokens evaluated one at a time) leaves nothing to reuse
    llm.complete(base + " The end is", max_tokens=2, seed=0, sampling=Sampling())
    assert llm.reusable_prefix(llm.tokenize(base + " The start is")) == 0


def test_a_long_needle_prompt_reaches_its_length_with_a_tokenizer_that_adds_a_bos():
    """Counting the BOS in every sentence once left long prompts thousands of tokens short
    (so a prompt meant to overflow the window fitted it and was answered)."""
    from reportlib.experiments.context.needles import build_needle_case

    def with_bos(text):
        return [1] + [len(word) for word in text.split()]  # a BOS, then one token per word

    case = build_needle_case(with_bos, 30000, 0.5, 0)
    assert 30000 - 20 <= case.prompt_tokens <= 30000


def _latency(seconds: tuple[float, float], speeds: tuple[tuple[float, float, float], ...]):
    import pandas as pd

    return pd.DataFrame(
        {
            "prompt_tokens": [256, 4096],
            "prompt_seconds_median": list(seconds),
            "generation_tokens_per_s_median": [s[1] for s in speeds],
            "generation_tokens_per_s_min": [s[0] for s in speeds],
            "generation_tokens_per_s_max": [s[2] for s in speeds],
        }
    )


def test_the_latency_sentences_follow_the_numbers():
    """The old sentence said "attention makes the cost grow faster than the length" and
    "generation slows ... because every token attends to the whole context" whatever the
    numbers were."""
    from reportlib.experiments.context.costs import latency_findings

    faster = latency_findings(_latency((0.1, 4.0), ((55, 57, 58), (50, 52, 53))))["paragraph"]
    assert "grew faster than the length" in faster
    assert "Generation was slower after the longer prompt" in faster
    assert "because" not in faster and "attention" not in faster
    even = latency_findings(_latency((0.1, 1.6), ((50, 57, 60), (47, 52, 58))))["paragraph"]
    assert "grew in proportion to the length" in even
    assert "the repeats' ranges overlap" in even and "slower" not in even
    slower = latency_findings(_latency((0.1, 1.0), ((40, 41, 42), (60, 61, 62))))["paragraph"]
    assert "more slowly than the length" in slower and "was faster" in slower


def test_the_full_scale_kv_table_keeps_two_decimals():
    """Was: 405B at 8k tokens read 3.90 GiB where the formula gives 3.9375."""
    from reportlib.experiments.context.costs import full_scale_kv_table

    table = full_scale_kv_table()
    assert table.loc["Llama 3.1 405B", "KV cache at 8k tokens (GiB)"] == 3.94
    assert table.loc["Llama 3.1 8B", "KV cache at 128k tokens (GiB)"] == 16.0
