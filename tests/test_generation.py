"""The generation layer: caching with a fake model, determinism with the real one."""

import pytest

from reportlib.errors import ReportlibError
from reportlib.generation import CachedModel, TextModel, check_context_size


def test_fake_model_satisfies_the_protocol(fake_model):
    assert isinstance(fake_model, TextModel)


def test_cached_model_computes_once_per_distinct_call(fake_model, cache):
    model = CachedModel(fake_model, cache)
    first = model.complete("hello", max_tokens=20, seed=1)
    again = model.complete("hello", max_tokens=20, seed=1)
    other_seed = model.complete("hello", max_tokens=20, seed=2)
    assert first == again
    assert other_seed != first
    assert len(fake_model.calls) == 2
    assert model.calls == 2


def test_cache_survives_a_new_process(fake_model, cache):
    CachedModel(fake_model, cache).complete("hi", max_tokens=5, seed=0)
    fresh = CachedModel(type(fake_model)(), cache)  # same fingerprint, new object
    fresh.complete("hi", max_tokens=5, seed=0)
    assert fresh.calls == 0


@pytest.mark.parametrize("bad", [0, -1, 1.5, "512", True])
def test_bad_context_sizes(bad):
    with pytest.raises(ReportlibError, match="n_ctx must be a positive"):
        check_context_size(bad, 32768)


def test_context_above_trained_length():
    with pytest.raises(ReportlibError, match="larger than the model's trained context"):
        check_context_size(65536, 32768)
    assert check_context_size(32768, 32768) == 32768


@pytest.mark.model
def test_real_model_is_deterministic_and_resets_state(real_model):
    prompt = "The three primary colours are"
    first = real_model.model.complete(prompt, max_tokens=16, seed=7)
    real_model.model.complete("Une autre phrase, sans rapport.", max_tokens=8, seed=7)
    again = real_model.model.complete(prompt, max_tokens=16, seed=7)
    assert first == again
    assert first.completion_tokens > 0
    assert first.prompt_tokens == len(real_model.tokenize(prompt))


@pytest.mark.model
def test_real_model_rejects_prompts_longer_than_the_window(real_model):
    long_prompt = "word " * 600  # n_ctx is 512 in the fixture
    with pytest.raises(ReportlibError, match="does not fit the context window of 512"):
        real_model.complete(long_prompt, max_tokens=8, seed=0)


@pytest.mark.model
def test_real_model_results_are_cached(real_model):
    before = real_model.calls
    a = real_model.complete("Seoul is", max_tokens=8, seed=3)
    b = real_model.complete("Seoul is", max_tokens=8, seed=3)
    assert a == b
    assert real_model.calls == before + 1
