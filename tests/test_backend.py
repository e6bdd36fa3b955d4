"""The model interface, the backend registry and the cache, on the fake model and the real
one; a minimal example backend shows that adding one is a single module."""

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from reportlib.backends import interface as backend
from reportlib.backends.cached_model import CachedModel, completion_key, measurement_key
from reportlib.backends.gguf import GGUFInfo
from reportlib.backends.interface import (
    Backend,
    Completion,
    TextModel,
    backend_for,
    check_context_size,
    register_backend,
    registered_backends,
)
from reportlib.backends.loading import load_model, model_card_for
from reportlib.backends.specs import AdapterFile, ModelFile
from reportlib.core.errors import ReportlibError

from fakes import FakeModel


def check_interface(model: TextModel) -> None:
    """Every member of :class:`TextModel` answers with the right type."""
    assert isinstance(model.name, str) and model.name
    assert isinstance(model.card, dict) and "name" in model.card
    assert isinstance(model.fingerprint, str) and model.fingerprint
    assert isinstance(model.n_ctx, int) and model.n_ctx > 0
    assert isinstance(model.has_chat_template, bool)
    assert isinstance(model.concurrency, int) and model.concurrency >= 1
    identity = model.cache_identity()
    assert identity["model"] == model.fingerprint and "backend" in identity
    tokens = model.tokenize("Hello")
    assert tokens and all(isinstance(t, int) for t in tokens)
    assert len(model.tokenize("Hello", add_bos=False)) == len(tokens) - 1
    one = model.complete("Hello", max_tokens=3, seed=0)
    assert isinstance(one, Completion) and one.completion_tokens <= 3
    assert model.complete("Hello", max_tokens=3, seed=0, reuse_prefix=True).text == one.text
    assert list(model.complete_many(["Hello", "Hi"], max_tokens=3, seed=0))[0] == one
    if not model.has_chat_template:
        with pytest.raises(ReportlibError, match="no chat template"):
            model.format_chat([{"role": "user", "content": "hi"}])


def test_the_fake_honours_the_whole_interface(fake_model, cache):
    check_interface(fake_model)
    check_interface(CachedModel(FakeModel(), cache))


def test_an_incomplete_backend_cannot_be_made():
    class Partial(TextModel):  # forgets complete, tokenize, cache_identity...
        pass

    with pytest.raises(TypeError, match="abstract"):
        Partial()  # type: ignore[abstract]


class EchoModel(FakeModel):
    """The example backend of ARCHITECTURE.md: answers with the spec's text."""

    def __init__(self, spec: str) -> None:
        text = spec.removeprefix("echo:")
        super().__init__(lambda prompt: text, fingerprint=f"echo:{text}")


def test_a_new_backend_is_one_registration(cache):
    echo = Backend(
        name="echo",
        matches=lambda spec: spec.startswith("echo:"),
        load=lambda spec, settings: EchoModel(spec),
        describe=lambda spec: {"name": spec},
    )
    register_backend(echo)
    try:
        assert "echo" in registered_backends()
        model = load_model("echo:안녕", cache=cache)
        assert model.complete("anything", max_tokens=8, seed=0).text == "안녕"
        assert model_card_for("echo:x") == {"name": "echo:x"}
        assert backend_for("echo:x") is echo
    finally:
        backend.unregister_backend("echo")
    with pytest.raises(ReportlibError, match="model file not found"):
        load_model("echo:안녕", cache=cache)


PLUGIN = """
from reportlib.backends.interface import Backend, register_backend
from fakes import FakeModel

register_backend(Backend(
    name="shout",
    matches=lambda spec: spec.startswith("shout:"),
    load=lambda spec, settings: FakeModel(lambda prompt: spec[6:].upper(), fingerprint=spec),
    describe=lambda spec: {"name": spec},
))
"""


def _run_with_plugin(tmp_path, module: str, code: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter where an installed distribution declares ``module``
    as an entry point of the ``reportlib.backends`` group."""
    info = tmp_path / "shout_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shout-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[reportlib.backends]\nshout = {module}\n")
    import reportlib  # the package under test, wherever it is imported from

    package_root = str(Path(reportlib.__file__).parents[1])
    path = os.pathsep.join([str(tmp_path), str(Path(__file__).parent), package_root])
    env = {**os.environ, "PYTHONPATH": path, "REPORTLIB_HOME": str(tmp_path / "home")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


def test_a_backend_from_another_package_loads_through_its_entry_point(tmp_path):
    (tmp_path / "shout_backend.py").write_text(PLUGIN)
    code = (
        "from reportlib.backends.loading import load_model\n"
        "print(load_model('shout:hi').complete('p', max_tokens=4, seed=0).text)"
    )
    run = _run_with_plugin(tmp_path, "shout_backend", code)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "HI"


def test_a_broken_plugin_is_one_clear_error(tmp_path):
    (tmp_path / "broken_backend.py").write_text("raise ImportError('no such thing')\n")
    code = "from reportlib.backends.loading import load_model\nload_model('embedded')"
    run = _run_with_plugin(tmp_path, "broken_backend", code)
    assert run.returncode == 1
    assert "the backend plugin 'shout' failed to load: no such thing" in run.stderr


def test_the_built_in_backends_are_registered():
    names = registered_backends()
    assert "llama.cpp" in names and "openai-http" in names
    assert backend_for("openai+http://127.0.0.1:1/v1").name == "openai-http"
    assert backend_for("/models/x.gguf").name == "llama.cpp"
    assert backend_for("embedded").name == "llama.cpp"


@pytest.mark.parametrize(
    "change",
    [{"prompt": "other"}, {"max_tokens": 9}, {"seed": 1}, {"stop": ["\n"]}, {"reuse_prefix": True}],
)
def test_every_argument_of_a_call_is_in_the_cache_key(fake_model, change):
    call: dict[str, Any] = {"prompt": "p", "max_tokens": 8, "seed": 0, "stop": []}
    base = completion_key(fake_model, **call)
    assert completion_key(fake_model, **(call | change)) != base


@pytest.mark.parametrize("other", [FakeModel(fingerprint="another-file"), FakeModel(n_ctx=128)])
def test_every_part_of_the_model_identity_is_in_the_cache_key(fake_model, other, cache):
    CachedModel(fake_model, cache).complete("p", max_tokens=4, seed=0)
    again = CachedModel(other, cache)
    again.complete("p", max_tokens=4, seed=0)
    assert again.calls == 1  # a miss: computed afresh


def test_a_malformed_cached_value_is_recomputed(fake_model, cache):
    model = CachedModel(fake_model, cache)
    key = completion_key(fake_model, "p", max_tokens=4, seed=0, stop=())
    cache.put(key, {"text": "x"})  # a valid key whose value is not a completion
    with pytest.warns(UserWarning, match="corrupt cache entry"):
        result = model.complete("p", max_tokens=4, seed=0)
    assert model.calls == 1 and result.text
    cache.path_for(key).write_bytes(b"\xff\xfe not utf-8")
    with pytest.warns(UserWarning, match="corrupt cache entry"):
        CachedModel(fake_model, cache).complete("p", max_tokens=4, seed=0)


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
def test_the_real_model_honours_the_whole_interface(real_model):
    check_interface(real_model.model)
    check_interface(real_model)


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


def test_two_models_with_one_name_are_told_apart():
    from reportlib.backends.interface import model_labels

    a, b, a_again = (
        FakeModel(fingerprint="aaaa1111"),
        FakeModel(fingerprint="bbbb2222"),
        FakeModel(fingerprint="aaaa1111"),
    )
    assert model_labels([a]) == ["Fake model base"]
    assert model_labels([a, b, a_again]) == [
        "Fake model base (aaaa1111)",
        "Fake model base (bbbb2222)",
        "Fake model base (aaaa1111)",
    ]


def test_display_name_says_size_kind_and_quantization():
    from reportlib.backends.interface import display_name

    class CardModel(FakeModel):
        def __init__(self, name, card, chat):
            super().__init__()
            self._n, self._c, self._chat = name, card, chat

        @property
        def name(self):
            return self._n

        @property
        def card(self):
            return self._c

        @property
        def has_chat_template(self):
            return self._chat

    gemma = CardModel("Gemma 3 270m", {"size_label": "270M", "quantization": "Q4_K_M"}, False)
    assert display_name(gemma) == "Gemma 3 270M base (Q4_K_M)"
    llama = CardModel("Llama 3.2 3B Instruct", {"size_label": "3B"}, True)
    assert display_name(llama) == "Llama 3.2 3B Instruct"


def test_a_card_alone_gives_the_same_display_name():
    from reportlib.backends.interface import card_display_name

    card = {"name": "Gemma 3 270m", "size_label": "270M", "quantization": "Q4_K_M"}
    assert card_display_name({**card, "chat_template": ""}) == "Gemma 3 270M base (Q4_K_M)"
    assert card_display_name({**card, "chat_template": "{{ x }}"}) == "Gemma 3 270M (Q4_K_M)"
    lora = {**card, "adapter": "Korean LoRA"}
    assert card_display_name(lora) == "Gemma 3 270M base (Q4_K_M) + Korean LoRA"


class CompanionModel(FakeModel):
    """A batched fake whose answers depend on the prompts decoded beside them, as
    llama.cpp's do (its kernels round differently for different batch shapes)."""

    batch_width = 2

    def __init__(self) -> None:
        super().__init__(n_ctx=512)
        self.batches: list[list[str]] = []

    def complete_batch(self, prompts, *, max_tokens, seed, stop=(), sampling=None):
        self.batches.append(list(prompts))
        companions = "+".join(sorted(prompts))
        return [
            ReportlibError(f"{p} is too long")
            if p.startswith("long")
            else Completion(f"{p} beside {companions}", 1, 1, "length")
            for p in prompts
        ]


def test_batched_answers_are_decoded_and_cached_in_fixed_chunks(cache):
    from reportlib.backends.cached_model import CHUNK_SEQUENCES

    prompts = [f"p{i}" for i in range(11)]
    cold = CachedModel(CompanionModel(), cache)
    first = [c.text for c in cold.complete_many(prompts, max_tokens=4, seed=0)]
    size = CHUNK_SEQUENCES * 2
    assert cold.model.batches == [prompts[:size], prompts[size:]]
    warm = CachedModel(CompanionModel(), cache)
    assert [c.text for c in warm.complete_many(prompts, max_tokens=4, seed=0)] == first
    assert warm.model.batches == [] and warm.calls == 0


def test_an_interrupted_batched_run_resumes_with_the_same_answers(cache):
    prompts = [f"p{i}" for i in range(11)]
    first = [
        c.text
        for c in CachedModel(CompanionModel(), cache).complete_many(prompts, max_tokens=4, seed=0)
    ]
    some = sorted(cache.root.glob("*/*.json"))[:3]  # as if the run had died before them
    for path in some:
        path.unlink()
    resumed = CachedModel(CompanionModel(), cache)
    assert [c.text for c in resumed.complete_many(prompts, max_tokens=4, seed=0)] == first
    assert all(len(batch) in (8, 3) for batch in resumed.model.batches)  # whole chunks again


def test_a_failing_prompt_in_a_batch_keeps_the_others(cache):
    model = CachedModel(CompanionModel(), cache)
    got = []
    with pytest.raises(ReportlibError, match="long1 is too long"):
        for answer in model.complete_many(["a", "long1", "b"], max_tokens=4, seed=0):
            got.append(answer.text)
    assert got == ["a beside a+b+long1"]  # answers in order, up to the failure
    assert model.calls == 2 and len(cache) == 2  # and b's answer was kept for the rerun


def test_a_prompt_asked_twice_in_a_chunk_gets_one_answer_cold_and_warm(cache):
    prompts = ["x", "y", "x", "z", "x"]
    cold = [
        c.text
        for c in CachedModel(CompanionModel(), cache).complete_many(prompts, max_tokens=4, seed=0)
    ]
    warm_model = CachedModel(CompanionModel(), cache)
    warm = [c.text for c in warm_model.complete_many(prompts, max_tokens=4, seed=0)]
    assert cold == warm and cold[0] == cold[2] == cold[4]
    assert warm_model.calls == 0 and len(cache) == 3


def test_batch_identity_is_in_the_key_only_for_batched_decoding(cache):
    single = CachedModel(FakeModel(n_ctx=512), cache)
    single.complete("p", max_tokens=4, seed=0)
    list(single.complete_many(["q"], max_tokens=4, seed=0))
    batched = CachedModel(CompanionModel(), cache)
    list(batched.complete_many(["p", "q"], max_tokens=4, seed=0))
    keys = [json.loads(path.read_text())["key"] for path in cache.root.glob("*/*.json")]
    assert sorted("batch" in key for key in keys) == [False, False, True, True]
    assert all(key["batch"]["width"] == 2 for key in keys if "batch" in key)


@pytest.mark.model
def test_the_real_model_decodes_batches_deterministically(tmp_path):
    from reportlib.core.cache import ResultCache

    prompts = [f"Introduce yourself in {lang}.\n" for lang in ("Korean", "French", "Thai")] * 3
    runs = []
    for run in ("a", "b"):
        model = load_model(n_ctx=256, batch_width=4, cache=ResultCache(tmp_path / run))
        runs.append([c.text for c in model.complete_many(prompts, max_tokens=12, seed=0)])
        assert model.calls == len(set(prompts))  # a prompt asked twice is decoded once
    assert runs[0] == runs[1] and all(runs[0])
    too_long = ["word " * 400, *prompts[:3]]
    model = load_model(n_ctx=256, batch_width=4, cache=ResultCache(tmp_path / "c"))
    with pytest.raises(ReportlibError, match="does not fit the per-sequence window of 256"):
        list(model.complete_many(too_long, max_tokens=12, seed=0))
    assert model.calls == 3  # the others' answers were kept


def _model_file(adapter: str | None = None) -> ModelFile:
    info = GGUFInfo(3, {"general.architecture": "gemma3"}, 0, 0)
    base = ModelFile("m.gguf", Path("m.gguf"), "a" * 64, 1, info)
    if adapter is None:
        return base
    return replace(base, spec="m.gguf+lora:x", adapter=AdapterFile(Path("x"), adapter, "x"))


@pytest.mark.parametrize(
    "change",
    ["kind", "adapter", "other adapter", "setting", "cpu", "decoder"],
)
def test_every_part_of_a_measurement_is_in_its_key(monkeypatch, change):
    import reportlib.backends.cached_model as cached_model

    def key(model: ModelFile, kind: str = "latency", **settings: Any) -> dict[str, Any]:
        return measurement_key(kind, model.weights_id, threads=2, **settings)

    base = key(_model_file("b" * 64))
    if change == "kind":
        other = key(_model_file("b" * 64), kind="small-model")
    elif change == "adapter":
        other = key(_model_file())  # the base model alone
    elif change == "other adapter":
        other = key(_model_file("c" * 64))
    elif change == "setting":
        other = key(_model_file("b" * 64), repeats=5)
    else:
        name = "cpu_model" if change == "cpu" else "decoder_version"
        monkeypatch.setattr(cached_model, name, lambda: "another")
        other = key(_model_file("b" * 64))
    assert other != base


def test_the_batched_probe_of_an_adapter_is_measured_not_read_from_the_base(monkeypatch, tmp_path):
    """The defect: the batched probe was keyed on the base file's sha256 alone, so an
    adapter's run returned the base model's cached numbers without measuring."""
    import reportlib.bench.batched as batched_bench

    monkeypatch.setenv("REPORTLIB_HOME", str(tmp_path))
    measured = []

    def fake_measure(model: ModelFile, widths: list[int], **settings: int) -> dict[str, Any]:
        measured.append(model.weights_id)
        return {"widths": widths}

    monkeypatch.setattr(batched_bench, "measure_batched_probe", fake_measure)
    for model in (_model_file(), _model_file("b" * 64), _model_file()):
        batched_bench.cached_batched_probe(model, [1, 4])
    assert measured == ["a" * 64, "a" * 64 + "+lora:" + "b" * 64]  # the third is cached


def test_benchmarks_against_llama_cpps_tools_refuse_an_adapter(monkeypatch, tmp_path):
    script = tmp_path / "llama-batched-bench"  # the batched comparison runs only with its tool
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    monkeypatch.setenv("REPORTLIB_LLAMA_BATCHED_BENCH", str(script))
    from reportlib.bench.batched import run_batched_benchmark
    from reportlib.bench.harness import cached_benchmark, run_benchmark
    from reportlib.bench.kernels import run_kernel_comparison

    for run in (run_benchmark, cached_benchmark, run_batched_benchmark, run_kernel_comparison):
        with pytest.raises(ReportlibError, match="without a LoRA adapter"):
            run(_model_file("b" * 64))


def test_recording_gives_the_usage_records_of_the_block(fake_model, cache):
    model = CachedModel(fake_model, cache)
    model.complete("before", max_tokens=4, seed=0)
    with model.recording() as inside:
        model.complete("one", max_tokens=4, seed=0)
        model.complete("before", max_tokens=4, seed=0)  # cached, still recorded
    model.complete("after", max_tokens=4, seed=0)
    assert [r["cached"] for r in inside] == [False, True]
    assert len(model.records) == 4


# -- an adapter llama.cpp refuses (issue 28, item 8) ------------------------------------------
#: the embedded model's attention projections as Gemma 3 1B has them: llama.cpp refuses the
#: adapter for the 270M model (it checks the shapes), and llama-cpp-python used to install the
#: NULL adapter it got back, which crashed at the first completion (SIGSEGV)
ONE_B_ADAPTER = {"blk.0.attn_q.weight": (1152, 1024), "blk.0.attn_k.weight": (1152, 256)}
UNCHECKED_ADAPTER = """
import dataclasses, sys
from pathlib import Path
from reportlib.backends.llamacpp import LlamaCppModel
from reportlib.backends.specs import AdapterFile, resolve_model
from reportlib.core.errors import ReportlibError

base = resolve_model("embedded")
adapter = AdapterFile(Path(sys.argv[1]), "0" * 64, "LoRA for Gemma 3 1B")
unchecked = dataclasses.replace(base, spec="embedded+lora:1b", adapter=adapter)
try:
    model = LlamaCppModel(unchecked, n_ctx=256)
    print("answered:", model.complete("Hello", max_tokens=4, seed=0).text)
except ReportlibError as exc:
    print("refused:", exc)
"""


@pytest.mark.model
def test_an_adapter_llama_cpp_refuses_is_an_error_not_a_crash(tmp_path):
    """The single-stream backend loads the adapter itself and tests the pointer; the crash
    is run in a subprocess (it was: exit -11 at the first completion)."""
    from test_gguf import write_lora_adapter

    path = write_lora_adapter(tmp_path / "1b.gguf", ONE_B_ADAPTER)
    proc = subprocess.run(
        [sys.executable, "-c", UNCHECKED_ADAPTER, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    assert proc.stdout.startswith(
        f"refused: llama.cpp could not load the LoRA adapter {str(path)!r} ("
    )
    assert "has incorrect shape" in proc.stdout
    assert proc.stdout.rstrip().endswith("; give an adapter made for this base model")


@pytest.mark.model
def test_an_adapter_for_another_size_is_refused_before_llama_cpp_sees_it(capsys, tmp_path):
    from test_gguf import write_lora_adapter

    from fakes import one_line_error

    path = write_lora_adapter(tmp_path / "1b.gguf", ONE_B_ADAPTER)
    assert one_line_error(capsys, ["models", f"embedded+lora:{path}"]) == (
        f"the LoRA adapter {str(path)!r} does not fit the base model: its "
        "'blk.0.attn_k.weight' is for a 1152 x 256 weight, the base's is 640 x 256; it was "
        "made for another size of 'gemma3': give the base model it was trained for"
    )
