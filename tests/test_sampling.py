"""Sampled decoding: the one sampler of every in-process path, reproducible from a seed."""

from __future__ import annotations

import numpy as np
import pytest

from reportlib.backends.sampling import OLLAMA_DEFAULTS, Sampling, answer_rng, sample_token
from reportlib.core.errors import ReportlibError


def draws(logits, context=(), sampling=OLLAMA_DEFAULTS, seed=0, prompt=(1, 2, 3), n=200):
    rng = answer_rng(seed, prompt)
    return [sample_token(np.asarray(logits, float), list(context), sampling, rng) for _ in range(n)]


def test_ollamas_documented_defaults():
    assert (OLLAMA_DEFAULTS.temperature, OLLAMA_DEFAULTS.top_k, OLLAMA_DEFAULTS.top_p) == (
        0.8,
        40,
        0.9,
    )
    assert (OLLAMA_DEFAULTS.repeat_penalty, OLLAMA_DEFAULTS.repeat_last_n) == (1.1, 64)


def test_the_same_seed_and_prompt_give_the_same_draws_and_others_differ():
    logits = np.linspace(0, 3, 50)
    assert draws(logits) == draws(logits)
    assert draws(logits) != draws(logits, seed=1)
    assert draws(logits) != draws(logits, prompt=(1, 2, 4))


def test_top_k_one_is_greedy_and_keeps_the_first_maximum():
    greedy = Sampling(top_k=1)
    assert set(draws([0.0, 5.0, 5.0, 1.0], sampling=greedy)) == {1}


def test_top_p_keeps_only_the_nucleus():
    # the first token holds about 0.98 of the mass: top-p 0.9 keeps it alone
    assert set(draws([10.0, 6.0, 5.0, 0.0])) == {0}
    # with top_p 1 the others are drawn sometimes
    assert len(set(draws([10.0, 6.0, 5.0, 0.0], sampling=Sampling(top_p=1.0), n=2000))) > 1


def test_the_repeat_penalty_lowers_tokens_of_the_recent_context():
    flat = [3.0, 3.0, -3.0]
    cold = Sampling(temperature=0.01, top_p=1.0)
    assert set(draws(flat, context=[0], sampling=cold)) == {1}  # 3 / 1.1 < 3
    assert set(draws(flat, context=[1], sampling=cold)) == {0}
    # a token further back than repeat_last_n is not penalised: 0 and 1 tie again
    far = Sampling(temperature=0.01, top_p=1.0, repeat_last_n=2)
    assert set(draws(flat, context=[0, 2, 2], sampling=far)) == {0, 1}
    assert set(draws(flat, context=[2, 0, 2], sampling=far)) == {1}


def test_negative_logits_are_penalised_by_multiplying():
    cold = Sampling(temperature=0.01, top_p=1.0)
    assert set(draws([-1.0, -1.05], context=[0], sampling=cold)) == {1}  # -1.1 < -1.05


@pytest.mark.parametrize(
    "settings",
    [
        {"temperature": 0},
        {"top_k": 0},
        {"top_p": 0},
        {"top_p": 1.5},
        {"min_p": 1},
        {"repeat_penalty": -1},
        {"repeat_last_n": -1},
        {"temperature": float("nan")},
        {"top_k": 2.5},
        {"top_k": True},
    ],
)
def test_settings_out_of_range_are_one_clear_error(settings):
    with pytest.raises(ReportlibError, match="out of range"):
        Sampling(**settings)


def test_a_negative_seed_is_refused():
    with pytest.raises(ReportlibError, match="seed must be a whole number"):
        answer_rng(-1, [1])


@pytest.mark.model
def test_sampled_chat_answers_are_reproducible_single_and_batched(tmp_path):
    """Two runs with one seed give identical answers, on the single-stream path and the
    batched one, and the batched answers do not depend on the order of the prompts."""
    from reportlib.backends.loading import load_model
    from reportlib.core.cache import ResultCache

    def chat(model, text):
        return model.format_chat([{"role": "user", "content": text}])

    single = load_model("embedded-chat", n_ctx=256, cache=ResultCache(tmp_path / "a"))
    prompt = chat(single, "한국어로 자기소개를 해 주세요.")
    runs = [
        single.model.complete(prompt, max_tokens=12, seed=5, sampling=OLLAMA_DEFAULTS).text
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    other = single.model.complete(prompt, max_tokens=12, seed=6, sampling=OLLAMA_DEFAULTS)
    greedy = single.model.complete(prompt, max_tokens=12, seed=5)
    assert len({runs[0], other.text, greedy.text}) > 1
    batched = load_model(
        "embedded-chat", n_ctx=256, batch_width=3, cache=ResultCache(tmp_path / "b")
    )
    prompts = [chat(batched, q) for q in ("Hi!", "Stell dich vor.", "자기소개를 해 주세요.")]
    first = [
        r.text
        for r in batched.model.complete_batch(
            prompts, max_tokens=12, seed=5, sampling=OLLAMA_DEFAULTS
        )
    ]
    again = [
        r.text
        for r in batched.model.complete_batch(
            prompts[::-1], max_tokens=12, seed=5, sampling=OLLAMA_DEFAULTS
        )
    ][::-1]
    assert first == again


class OldStyleModel:
    """A backend written before sampling existed: ``complete`` has no ``sampling``."""

    name = fingerprint = "old-style"
    card: dict = {"name": "old-style"}
    n_ctx, batch_width, concurrency = 512, 1, 1

    def cache_identity(self):
        return {"model": "old-style", "backend": "test"}

    def tokenize(self, text, *, add_bos=True):
        return list(text.encode())

    def complete(self, prompt, *, max_tokens, seed, stop=(), reuse_prefix=False):
        from reportlib.backends.interface import Completion

        return Completion(prompt.upper(), 1, 1, "stop")


def test_a_backend_without_sampling_still_answers_greedy_requests(tmp_path):
    from reportlib.backends.cached_model import CachedModel
    from reportlib.backends.interface import TextModel
    from reportlib.core.cache import ResultCache
    from reportlib.experiments.probe import prompts as probe
    from reportlib.experiments.probe.runner import run_language_probe

    old = type("Old", (OldStyleModel, TextModel), {})()
    assert [c.text for c in old.complete_many(["a", "b"], max_tokens=4, seed=0)] == ["A", "B"]
    cached = CachedModel(old, ResultCache(tmp_path))
    assert [c.text for c in cached.complete_many(["a"], max_tokens=4, seed=0)] == ["A"]
    rows = run_language_probe(cached, "old-style", probe.probe_language_codes("ko"), samples=1)
    assert rows and all(r["decoding"] == "greedy" for r in rows)
