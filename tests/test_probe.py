"""The probe: prompts, the runner on a fake model, and bad input."""

import pytest

from reportlib.backends.cached_model import CachedModel
from reportlib.core.errors import ReportlibError
from reportlib.experiments.probe.analysis import confusion_table, rate_table, report_observations
from reportlib.experiments.probe.prompts import (
    MAX_SAMPLES,
    PROBE_LANGUAGES,
    PROBE_TEXTS,
    PROMPT_STYLES,
    build_probe_prompts,
    probe_language_codes,
    sample_design,
)
from reportlib.experiments.probe.runner import languages_named, run_language_probe

from fakes import FakeModel

KOREAN = probe_language_codes("ko")[0]


def test_probe_covers_the_report_and_meta_languages():
    assert len(PROBE_LANGUAGES) == 22
    for code in ("slv_Latn", "kan_Knda", "yor_Latn", "por_Latn", "hin_Deva", "tha_Thai"):
        assert code in PROBE_LANGUAGES


def test_base_prompts_are_framed_and_distinct():
    prompts = build_probe_prompts(KOREAN, "english_request", MAX_SAMPLES)
    assert len(set(prompts)) == MAX_SAMPLES
    assert all("Korean" in p for p in prompts)
    # wordings alternate, frames advance every two samples
    assert "Introduce yourself in Korean." in prompts[0] and "Could you" in prompts[1]
    assert prompts[2].startswith("Question: Introduce yourself")
    assert build_probe_prompts(KOREAN, "native_opening", 2) == [
        "안녕하세요, 저는",
        "만나서 반갑습니다! 제 이름은",
    ]
    assert "한국어로 자기소개를" in build_probe_prompts(KOREAN, "native_request", 1)[0]


def test_every_language_has_two_distinct_wordings_and_openings():
    for code in PROBE_LANGUAGES:
        texts = PROBE_TEXTS[code]
        assert len(set(texts.requests)) == 2 and len(set(texts.openings)) == 2, code
        for sample in range(MAX_SAMPLES):
            assert sample_design(sample) == (sample // 2, sample % 2)


def test_default_probe_has_at_least_ten_samples_per_cell():
    import inspect

    default = inspect.signature(run_language_probe).parameters["samples"].default
    assert default >= 10
    assert len(set(build_probe_prompts(KOREAN, "native_request", default))) == default


def test_chat_prompts_go_through_the_template():
    def template(text):
        return f"<user>{text}</user><assistant>"

    prompts = build_probe_prompts(KOREAN, "native_request", 2, template)
    assert all(p.startswith("<user>") and p.endswith("<assistant>") for p in prompts)
    assert len(set(prompts)) == 2


@pytest.mark.parametrize("samples", [0, MAX_SAMPLES + 1, "3", 2.5])
def test_bad_sample_counts(samples):
    with pytest.raises(ReportlibError, match="samples must be"):
        build_probe_prompts(KOREAN, "native_request", samples)


def test_bad_language_and_style():
    with pytest.raises(ReportlibError, match="unknown language code 'kr'"):
        probe_language_codes("ko,kr")
    with pytest.raises(ReportlibError, match=r"no probe texts for Dutch"):
        probe_language_codes("nl")
    with pytest.raises(ReportlibError, match="empty"):
        probe_language_codes("")
    with pytest.raises(ReportlibError, match="unknown prompt style 'chat'"):
        run_language_probe(None, "m", [KOREAN], styles=["chat"])


def scripted_model(fail_on: str | None = None) -> FakeModel:
    """Answers in Korean to native prompts and in English otherwise; fails on demand."""

    def answer(prompt: str) -> str:
        if "yourself" not in prompt:
            return "저는 서울에 사는 학생입니다. 만나서 반갑습니다."
        return "I am a student from Seoul. Nice to meet you all."

    return FakeModel(answer, n_ctx=512, fingerprint="scripted-1", fail_on=fail_on)


def test_runner_rows_rates_and_observations(cache):
    langs = probe_language_codes("ko,ru")
    rows = run_language_probe(CachedModel(scripted_model(), cache), "scripted", langs, samples=2)
    assert len(rows) == 2 * len(PROMPT_STYLES) * 2
    import pandas as pd

    df = pd.DataFrame(rows)
    korean = df[df.language == "kor_Hang"]
    assert korean.groupby("style").on_language.all().to_dict() == {
        "english_request": False,
        "native_request": True,
        "native_opening": True,
    }
    rates = rate_table(df, ["language", "style"])
    assert set(rates.columns) >= {"rate", "low", "high", "answers"}
    assert ((rates.low <= rates.rate) & (rates.rate <= rates.high)).all()
    assert confusion_table(df).loc["Korean", "misses"] == 2
    russian = report_observations(df, "scripted")[-1]
    assert russian.measured == (
        "2 of 2 answers in English, 0 in Russian, asked in English (every style: 2 of 6 in "
        "English, 0 in Russian) on scripted"
    )
    assert russian.verdict == "not decided"  # 2 vs 0 is not significant
    assert {"degenerate", "degenerate_reason", "self_intro", "good", "frame", "wording"} <= set(
        df.columns
    )
    assert df.good.equals(df.on_language & ~df.degenerate)


def test_a_failure_keeps_earlier_answers_cached(cache):
    langs = probe_language_codes("ko,ru")
    with pytest.raises(RuntimeError):
        run_language_probe(
            CachedModel(scripted_model(fail_on="Russian"), cache), "s", langs, samples=1
        )
    done = len(cache)
    assert done >= 3  # the Korean answers were kept
    rerun = CachedModel(scripted_model(), cache)
    run_language_probe(rerun, "s", langs, samples=1)
    assert rerun.calls == 2 * 3 - done  # only the missing answers are computed


def test_observations_of_languages_not_run_say_not_measured():
    """`reportlib run multilingual -p languages ko` crashed after the probe."""
    import pandas as pd

    from reportlib.experiments.probe.analysis import NOT_MEASURED

    rows = run_language_probe(scripted_model(), "s", probe_language_codes("ko"), samples=1)
    observations = report_observations(pd.DataFrame(rows))
    assert [o.key for o in observations] == ["scripts", "russian"]
    assert all(o.verdict == NOT_MEASURED for o in observations)


def test_languages_named_in_an_answer():
    assert languages_named("I can speak English, French and korean.") == (
        "eng_Latn",
        "fra_Latn",
        "kor_Hang",
    )
    assert languages_named("Englishman") == ()


def test_asking_which_languages_uses_a_completion_frame_for_a_base_model():
    from reportlib.experiments.probe.runner import ask_which_languages

    model = FakeModel(lambda prompt: " English and Spanish.", n_ctx=512)
    asked = ask_which_languages(model)
    assert asked.prompt.endswith("Answer: I can speak")
    assert asked.named == ("eng_Latn", "spa_Latn")


def test_more_samples_reuse_the_cached_batched_chunks(cache):
    """Prompts go to the model sample by sample, so one more sample only appends chunks:
    the earlier chunks, whose answers depend on each other, are reused from the cache."""
    from reportlib.backends.cached_model import CHUNK_SEQUENCES
    from reportlib.backends.interface import Completion

    class Batched(FakeModel):
        batch_width = 2

        def __init__(self):
            super().__init__(n_ctx=512)
            self.decoded = 0

        def complete_batch(self, prompts, *, max_tokens, seed, stop=(), sampling=None):
            self.decoded += len(prompts)
            return [Completion("저는 학생입니다.", 1, 1, "length") for _ in prompts]

    langs = probe_language_codes("ko")
    chunk = CHUNK_SEQUENCES * Batched.batch_width
    first = Batched()
    rows = run_language_probe(CachedModel(first, cache), "b", langs, samples=4)
    assert [(r["language"], r["style"], r["sample"]) for r in rows][:5] == [
        ("kor_Hang", "english_request", s) for s in range(4)
    ] + [("kor_Hang", "native_request", 0)]
    more = Batched()
    run_language_probe(CachedModel(more, cache), "b", langs, samples=5)
    per_sample = len(langs) * len(PROMPT_STYLES)
    old = 4 * per_sample
    assert old % chunk  # the old run ends in a partial chunk, which is decoded again
    assert more.decoded == old % chunk + per_sample  # that chunk and the new sample


def test_a_chat_model_is_asked_through_its_template_and_every_row_says_so(cache):
    """The chat path: one user turn rendered by the model's own template (no system prompt
    of ours), ten distinct messages per cell in the chat styles, and the path and the
    decoding on every row; sampled decoding reaches the model with Ollama's settings."""
    from reportlib.backends.cached_model import CachedModel
    from reportlib.backends.sampling import OLLAMA_DEFAULTS
    from reportlib.experiments.probe.prompts import CHAT_STYLES, MAX_CHAT_SAMPLES

    fake = FakeModel(n_ctx=512, chat_template=True)
    model = CachedModel(fake, cache)
    rows = run_language_probe(
        model, "chat", [KOREAN], styles=CHAT_STYLES, samples=MAX_CHAT_SAMPLES, decoding="sampled"
    )
    assert {r["prompt_path"] for r in rows} == {"chat template"}
    assert {r["decoding"] for r in rows} == {"sampled"}
    assert all(
        r["prompt"].startswith("<user>") and r["prompt"].endswith("<assistant>") for r in rows
    )
    assert all("system" not in r["prompt"] for r in rows)
    native = [r["prompt"] for r in rows if r["style"] == "native_request"]
    assert len(set(native)) == MAX_CHAT_SAMPLES == 10
    assert any("안녕하세요! 한국어로 자기소개를 해 주세요." in p for p in native)
    assert set(fake.samplings) == {OLLAMA_DEFAULTS}
    base_rows = run_language_probe(
        CachedModel(FakeModel(n_ctx=512), cache), "base", [KOREAN], samples=2
    )
    assert {r["prompt_path"] for r in base_rows} == {"text continuation"}
    assert {r["decoding"] for r in base_rows} == {"greedy"}


def test_an_unknown_decoding_is_one_clear_error():
    with pytest.raises(ReportlibError, match="unknown decoding 'hot'"):
        run_language_probe(FakeModel(), "m", [KOREAN], decoding="hot")


def test_the_languages_question_is_asked_in_english_and_in_korean_through_the_template():
    from reportlib.experiments.probe.runner import ask_which_languages

    model = FakeModel(
        lambda prompt: "저는 영어와 한국어, 스페인어를 할 수 있어요.", chat_template=True, n_ctx=512
    )
    asked = ask_which_languages(model, asked_in="kor_Hang")
    assert asked.prompt == "<user>어떤 언어를 할 수 있나요?</user><assistant>"
    assert asked.named == ("eng_Latn", "spa_Latn", "kor_Hang")
    with pytest.raises(ReportlibError, match="asked in eng_Latn, kor_Hang"):
        ask_which_languages(model, asked_in="fra_Latn")


def test_a_character_cut_by_the_token_limit_is_dropped_from_the_answer():
    from reportlib.backends.interface import Completion
    from reportlib.experiments.probe.runner import answer_text

    cut = Completion("안녕하세요. 저는 학\ufffd", 3, 48, "length")
    assert answer_text(cut) == "안녕하세요. 저는 학"
    written = Completion("a \ufffd b\ufffd", 3, 10, "stop")  # the model wrote them: kept
    assert answer_text(written) == written.text
