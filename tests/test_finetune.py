"""The fine-tune: its data and contamination checks, settings, adapter specs, the training
record, bits per character, and (with the optional extra) a few real training steps."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from reportlib.backends.specs import shipped_adapter_path, split_adapter_spec
from reportlib.core.errors import ReportlibError
from reportlib.core.languages import LANGUAGES
from reportlib.experiments.finetune import data as fd
from reportlib.experiments.finetune import record as finetune_record
from reportlib.experiments.finetune import train as ft
from reportlib.experiments.finetune.perplexity import (
    LineScore,
    bits_per_character,
    paired_bits,
    perplexity,
)
from reportlib.experiments.probe.prompts import PROBE_TEXTS
from reportlib.text.corpus import flores_sentences


# -- data ----------------------------------------------------------------------------------
def test_normalise_document_cleans_line_ends_page_numbers_and_blank_runs():
    raw = "제1조\r\n\r\n\r\n\x0c내용  \r\n- 3 -\n  -12-  \n끝\n\n"
    assert fd.normalise_document(raw) == "제1조\n\n내용\n끝"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('"나는 헌법을 준수하고 … 선서합니다."', True),
        ("저는 학생입니다.", True),
        ("제가 말씀드리겠습니다", True),
        ("유구한 역사와 전통에 빛나는 우리 대한국민은", False),  # 빛나는: not 나는
        ("재판의 전제가 된 경우에는", False),  # 전제가: not 제가
        ("제63조제2항제4호", False),
    ],
)
def test_first_person_lines_are_recognised_both_ways(line, expected):
    assert fd.speaks_as_a_person(line) is expected


def test_shipped_text_is_split_by_whole_documents():
    text = fd.korean_training_text()
    folder = fd.korean_law_folder()
    for name in fd.HELD_OUT:
        longest = max(fd.read_document(folder / name).split("\n"), key=len)
        assert len(longest) > 30 and longest in text.held_out and longest not in text.train
    assert text.dropped_lines >= 1  # the presidential oath
    assert 0.05 < len(text.held_out) / (len(text.train) + len(text.held_out)) < 0.25
    assert text.train_sha256 != text.held_out_sha256


def test_training_text_has_no_flores_sentence_probe_prompt_or_first_person_line():
    """The contamination check on the real data: FLORES (every language, both splits), every
    probe wording, and Korean first-person lines."""
    flores = [
        s
        for lang in LANGUAGES
        for split in ("dev", "devtest")
        for s in flores_sentences(lang.flores, split)
    ]
    report = fd.contamination_report(fd.korean_training_text().train, flores)
    assert report.clean, report


def test_contamination_check_finds_what_is_planted():
    sentence = flores_sentences("kor_Hang")[5]
    prompt = PROBE_TEXTS["kor_Hang"].requests[0]
    train = f"제1조 내용\n{sentence}\n법률 {prompt}\n나는 대통령이다\n"
    report = fd.contamination_report(train, [sentence, flores_sentences("kor_Hang")[6]])
    assert report.flores_sentences == [sentence]
    assert report.probe_prompts == [prompt]
    assert report.first_person_lines == ["나는 대통령이다"]
    assert not report.clean


def test_text_from_file_bad_inputs(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", "utf-8")
    with pytest.raises(ReportlibError, match="empty"):
        fd.text_from_file(empty)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(ReportlibError, match="not valid UTF-8"):
        fd.text_from_file(latin1)
    with pytest.raises(ReportlibError, match="cannot read"):
        fd.text_from_file(tmp_path / "missing.txt")
    good = tmp_path / "good.txt"
    good.write_text("\n".join(f"문장 {i}입니다." for i in range(100)), "utf-8")
    with pytest.raises(ReportlibError, match="held_out_share"):
        fd.text_from_file(good, held_out_share=1.5)
    text = fd.text_from_file(good)
    assert text.train and text.held_out and text.held_out not in text.train


# -- settings, blocks, specs -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"steps": 0}, "steps must be a positive"),
        ({"steps": -3}, "steps must be a positive"),
        ({"rank": 2.5}, "rank must be a positive"),
        ({"context_length": 4}, "at least 8"),
        ({"learning_rate": 0}, "learning_rate must be a positive"),
        ({"learning_rate": float("nan")}, "learning_rate must be a positive"),
        ({"alpha": -1.0}, "alpha must be a positive"),
        ({"seed": -1}, "seed must be a whole number >= 0"),
        ({"target_modules": ("q_proj", "lm_head")}, "target_modules"),
        ({"target_modules": ()}, "target_modules"),
    ],
)
def test_wrong_settings_get_one_clear_error(change, message):
    with pytest.raises(ReportlibError, match=message):
        ft.FinetuneSettings(**change).validate()


def test_training_blocks_start_with_bos_and_drop_the_short_tail():
    blocks = ft.training_blocks(list(range(10, 30)), context_length=8, bos=2)
    assert blocks == [[2, *range(10, 17)], [2, *range(17, 24)]]  # 20 tokens: tail of 6 dropped
    assert ft.training_blocks([5, 6], context_length=8, bos=2) == []


def test_adapter_specs_split_and_reject_half_written_ones():
    assert split_adapter_spec("default+lora:korean") == ("default", "korean")
    assert split_adapter_spec("m.gguf+lora:a.gguf") == ("m.gguf", "a.gguf")
    assert split_adapter_spec("m.gguf") == ("m.gguf", None)
    for bad in ("default+lora:", "+lora:a.gguf", "default+lora:  "):
        with pytest.raises(ReportlibError, match="BASE\\+lora:ADAPTER"):
            split_adapter_spec(bad)


def test_missing_extra_says_how_to_install_it(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch":
            raise ImportError("No module named 'torch'", name="torch")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(ReportlibError, match=r"pip install -e \.\[finetune\]"):
        ft.require_extra()


# -- the record ------------------------------------------------------------------------------
def test_record_check_lists_every_mismatch(tmp_path, monkeypatch):
    adapter = tmp_path / "a.gguf"
    adapter.write_bytes(b"adapter bytes")
    text = fd.TrainingText("train", "held out", "test")

    class Base:
        sha256 = "base-sha"

    from reportlib.backends.specs import file_sha256

    record = {
        "adapter_sha256": file_sha256(adapter),
        "base_sha256": "base-sha",
        "train_sha256": text.train_sha256,
        "held_out_sha256": text.held_out_sha256,
    }
    adapter.with_suffix(".json").write_text(json.dumps(record), "utf-8")
    assert finetune_record.verify_record(adapter, Base(), text) == record  # type: ignore[arg-type]
    other = fd.TrainingText("other train", "held out", "test")
    with pytest.raises(ReportlibError, match="training text differ"):
        finetune_record.verify_record(adapter, Base(), other)  # type: ignore[arg-type]
    adapter.write_bytes(b"changed")
    with pytest.raises(ReportlibError, match="adapter, training text differ"):
        finetune_record.verify_record(adapter, Base(), other)  # type: ignore[arg-type]
    adapter.with_suffix(".json").unlink()
    with pytest.raises(ReportlibError, match="no training record"):
        finetune_record.verify_record(adapter, Base(), text)  # type: ignore[arg-type]


@pytest.mark.model
def test_shipped_adapter_matches_its_record_and_loads():
    from reportlib.backends.interface import display_name
    from reportlib.backends.loading import load_model
    from reportlib.backends.specs import resolve_model

    base = resolve_model("default")
    record = finetune_record.verify_record(shipped_adapter_path(), base, fd.korean_training_text())
    held = dict(record["held_out_loss"])
    assert len(record["train_loss"]) == record["settings"]["steps"]
    # the adapter kept is the evaluation with the lowest held-out loss, and it beats step 0
    assert held[record["selected_step"]] == min(held.values()) < held[0]
    model = load_model("default+lora:korean", n_ctx=256, cache=None)
    assert display_name(model).endswith("+ " + record["name"])
    assert model.fingerprint == f"{base.sha256}+lora:{record['adapter_sha256']}"


# -- bits per character ---------------------------------------------------------------------
def test_bits_per_character_and_perplexity_on_constructed_scores():
    scores = [LineScore(10, 4, 4 * math.log(2)), LineScore(30, 6, 6 * math.log(2))]
    assert bits_per_character(scores) == pytest.approx(10 / 40)
    assert perplexity(scores) == pytest.approx(2.0)


def test_paired_bits_sees_a_better_model_and_refuses_different_lines():
    before = [LineScore(20, 5, 10.0 + i % 3) for i in range(40)]
    after = [LineScore(20, 5, 8.0 + i % 3 + (i % 4) * 0.3) for i in range(40)]
    result = paired_bits(before, after)
    assert result.change < 0 and result.low < result.change < result.high < 0
    same = paired_bits(before, before)
    assert same.change == 0 and same.low == same.high == 0
    with pytest.raises(ReportlibError):
        paired_bits(before, after[:-1])
    with pytest.raises(ReportlibError, match="not of the same lines"):
        paired_bits(before, [LineScore(21, 5, 8.0)] + after[1:])


@pytest.mark.model
def test_line_scores_are_deterministic_and_an_adapter_changes_them(real_model):
    from reportlib.backends.loading import load_model
    from reportlib.experiments.finetune.perplexity import score_lines

    lines = flores_sentences("kor_Hang")[:4]
    first = score_lines(real_model, lines)
    assert score_lines(real_model, lines) == first
    assert all(s.tokens > 0 and s.nats > 0 for s in first)
    tuned = load_model("default+lora:korean", n_ctx=512, cache=None)
    assert score_lines(tuned, lines) != first
    with pytest.raises(ReportlibError, match="line 1 .* needs 2 to"):
        score_lines(real_model, ["가나다 " * 400])


# -- training (needs the optional extra) -----------------------------------------------------
@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    pytest.importorskip("torch")
    from reportlib.backends.specs import resolve_model

    base = resolve_model("default")
    text = fd.korean_training_text()
    # the slice is its own "held-out" text, so early stopping keeps a trained step
    slice_ = fd.TrainingText(text.train[:1500], text.train[:1500], "slice")
    settings = ft.FinetuneSettings(
        steps=8, context_length=64, eval_every=4, eval_blocks=2, learning_rate=2e-3
    )
    out = tmp_path_factory.mktemp("tune") / "tiny.gguf"
    return base, slice_, settings, out, ft.finetune(base, slice_, settings, out)


@pytest.mark.model
@pytest.mark.slow
def test_a_few_training_steps_lower_the_loss_and_the_adapter_loads(tiny_run):
    from reportlib.backends.loading import load_model

    base, text, settings, out, record = tiny_run
    losses = record["train_loss"]
    assert len(losses) == settings.steps and all(math.isfinite(x) for x in losses)
    # the loss on fixed blocks of the text trained on falls (per-step losses are of
    # different blocks, too noisy to compare over 8 steps)
    held = dict(record["held_out_loss"])
    assert held[settings.steps] < held[0]
    assert finetune_record.verify_record(out, base, text) == record
    assert record["tokens_seen"] == settings.steps * settings.context_length
    held = dict(record["held_out_loss"])
    assert record["selected_step"] > 0 and held[record["selected_step"]] == min(held.values())
    assert record["tensors"] == 2 * 7 * base.info.metadata["gemma3.block_count"]
    from reportlib.experiments.finetune.perplexity import bits_per_character, score_lines

    model = load_model(f"default+lora:{out}", n_ctx=1024, cache=None)
    plain = load_model("default", n_ctx=1024, cache=None)
    lines = [line for line in text.train.split("\n") if line.strip()][:5]
    assert model.fingerprint != plain.fingerprint
    # applied by llama.cpp to the quantized base, the adapter makes its own training text
    # more likely
    assert bits_per_character(score_lines(model, lines)) < bits_per_character(
        score_lines(plain, lines)
    )


@pytest.mark.model
@pytest.mark.slow
def test_training_is_deterministic(tiny_run, tmp_path):
    base, text, settings, out, record = tiny_run
    again = ft.finetune(base, text, settings, tmp_path / "again.gguf")
    assert again["adapter_sha256"] == record["adapter_sha256"]
    assert again["train_loss"] == record["train_loss"]


@pytest.mark.model
@pytest.mark.slow
def test_a_diverging_loss_stops_with_the_step_and_writes_nothing(tmp_path):
    pytest.importorskip("torch")
    from reportlib.backends.specs import resolve_model

    text = fd.korean_training_text()
    slice_ = fd.TrainingText(text.train[:1500], text.held_out[:1500], "slice")
    settings = ft.FinetuneSettings(
        steps=6, context_length=64, eval_every=6, eval_blocks=1, learning_rate=1e9
    )
    out = tmp_path / "nan.gguf"
    with pytest.raises(ReportlibError, match=r"at step \d+ of 6; lower the learning rate"):
        ft.finetune(resolve_model("default"), slice_, settings, out)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.model
def test_too_little_text_and_a_bad_path_are_clear_errors(tmp_path):
    pytest.importorskip("torch")
    from reportlib.backends.specs import resolve_model

    base = resolve_model("default")
    short = fd.TrainingText("짧은 글", "짧은 글", "short")
    with pytest.raises(ReportlibError, match="less than one training context"):
        ft.finetune(base, short, ft.FinetuneSettings(steps=2), tmp_path / "a.gguf")
    with pytest.raises(ReportlibError, match="must end in .gguf"):
        ft.finetune(base, short, ft.FinetuneSettings(steps=2), tmp_path / "a.bin")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ReportlibError, match="not a GGUF LoRA adapter"):
        load_adapter_spec_of(base.path)


def load_adapter_spec_of(path: Path):
    from reportlib.backends.specs import resolve_model

    return resolve_model(f"default+lora:{path}")


# -- the comparison on the probe ----------------------------------------------------------
def _rates(base: float, tuned: float, p: float):
    from reportlib.experiments.finetune.analysis import PairedRates

    return PairedRates("good", 30, base, 0, 1, tuned, 0, 1, 0, 0, p)


@pytest.mark.parametrize(
    ("rates", "verdict"),
    [
        ((0.1, 0.6, 0.001), "supported"),
        ((0.6, 0.1, 0.001), "refuted"),
        ((0.1, 0.3, 0.2), "not decided"),
        ((0.3, 0.3, 0.001), "not decided"),
    ],
)
def test_finetune_verdict_can_give_each_outcome(rates, verdict):
    from reportlib.experiments.finetune.analysis import finetune_verdict

    assert finetune_verdict(_rates(*rates)) == verdict


def test_probe_pair_on_fake_models_pairs_prompts_and_counts_drift():
    """Two fake models: the 'fine-tune' answers every prompt in Korean. Korean gets better
    (on every Korean prompt), and every other language drifts into Hangul."""
    from reportlib.core.languages import parse_language_list
    from reportlib.experiments.finetune.analysis import language_changes, probe_pair

    from fakes import FakeModel

    base = FakeModel(lambda prompt: "zzz zzz zzz zzz", n_ctx=4096, fingerprint="base")
    tuned = FakeModel(
        lambda prompt: "안녕하세요, 저는 한국어로 말하는 모델입니다. 만나서 반갑습니다.",
        n_ctx=4096,
        fingerprint="tuned",
    )
    langs = parse_language_list(["kor_Hang", "eng_Latn", "jpn_Jpan"])
    params = {"samples": 2, "max_tokens": 40, "seed": 0, "n_ctx": 4096, "batch_width": 1}
    pair = probe_pair("unused", "unused", params, langs, [base, tuned])
    assert pair.base != pair.tuned  # same display name, different weights: told apart
    on_language, good = pair.korean
    assert good.prompts == 6 and good.base == 0 and good.tuned == 1
    assert good.tuned_only == 6 and good.base_only == 0
    assert good.p_value == pytest.approx(2 * 0.5**6)
    assert pair.verdict == "supported"  # 6 of 6 discordant prompts favour it: p = 0.03
    changes = language_changes(pair.results, pair.base, pair.tuned)
    assert changes.loc["English", "in Hangul, fine-tune"] == 1.0
    assert changes.loc["English", "in Hangul, base"] == 0.0


def test_a_base_of_another_architecture_is_refused_before_loading(tmp_path):
    from types import SimpleNamespace

    base = SimpleNamespace(
        path=tmp_path / "llama.gguf",
        info=SimpleNamespace(metadata={"general.architecture": "llama"}),
    )
    with pytest.raises(ReportlibError, match="support the architectures .*not 'llama'"):
        ft.load_base_for_training(base)  # type: ignore[arg-type]


@pytest.mark.slow
def test_a_base_transformers_cannot_read_is_one_clear_error(tmp_path):
    pytest.importorskip("transformers")
    from types import SimpleNamespace

    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    base = SimpleNamespace(
        path=broken, info=SimpleNamespace(metadata={"general.architecture": "gemma3"})
    )
    with pytest.raises(ReportlibError, match="transformers cannot load"):
        ft.load_base_for_training(base)  # type: ignore[arg-type]


def test_bits_table_and_its_formatting():
    from reportlib.experiments.finetune.analysis import bits_table, format_bits_table

    before = [LineScore(20, 5, 10.0 + i % 3) for i in range(30)]
    after = [LineScore(20, 5, 9.0 + i % 3) for i in range(30)]
    table = bits_table({"Korean": (before, after), "English": (before, before)})
    assert table.loc["Korean", "change"] < 0 == table.loc["English", "change"]
    shown = format_bits_table(table)
    assert shown.loc["Korean", "lines"] == "30" and shown.loc["Korean", "characters"] == "600"
    assert shown.loc["English", "change [95% interval]"] == "+0.000 [+0.000, +0.000]"
    assert "NaN" not in shown.to_string()


def test_side_by_side_answers_are_escaped():
    import pandas as pd

    from reportlib.experiments.finetune.analysis import side_by_side_html

    rows = [
        {
            "model": m,
            "language": "kor_Hang",
            "style": "native_request",
            "sample": 0,
            "prompt": "자기소개를 해 주세요.",
            "answer": a,
        }
        for m, a in (("base", "<strong>hi</strong>"), ("tuned", "저는 <script>x</script>"))
    ]
    page = side_by_side_html(pd.DataFrame(rows), "base", "tuned")
    assert "<strong>" not in page and "<script>" not in page
    assert "&lt;strong&gt;hi&lt;/strong&gt;" in page and "&lt;script&gt;" in page


def test_record_facts_say_whether_the_held_out_loss_rises_after_the_kept_step():
    record = {
        "steps": 30,
        "tokens_seen": 7680,
        "trainable_parameters": 1898496,
        "train_characters": 55000,
        "held_out_characters": 8000,
        "dropped_first_person_lines": 2,
        "peak_rss_mb": 4000,
        "seconds": 90.0,
        "tokens_per_second": 85.3,
        "adapter_bytes": 3814304,
        "machine": "CPU",
        "libraries": {"torch": "2"},
        "selected_step": 20,
        "settings": {**ft.FinetuneSettings().__dict__, "target_modules": ["q_proj"]},
        "held_out_loss": [[0, 3.0], [10, 2.9], [20, 2.8], [30, 2.95]],
    }
    facts = finetune_record.record_facts(record)
    assert facts["held_selected"] == "2.800" and facts["selected_step"] == "20"
    assert facts["after_selected"].startswith("rises again")
    record["held_out_loss"][-1] = [30, 2.8]
    assert finetune_record.record_facts(record)["after_selected"] == "does not rise again after it"


def test_elsewhere_phrase_names_better_and_worse_languages():
    import pandas as pd

    from reportlib.experiments.finetune.analysis import elsewhere_phrase

    table = pd.DataFrame(
        {"95% interval": [(-0.5, -0.4), (-0.1, -0.01), (0.01, 0.02), (-0.01, 0.01)]},
        index=[
            "Korean, bills",
            "English, FLORES-200",
            "Japanese, FLORES-200",
            "Spanish, FLORES-200",
        ],
    )
    assert elsewhere_phrase(table) == (
        "it predicts Japanese worse; it predicts English better; "
        "1 of 3 show no change beyond the interval"
    )


@pytest.mark.model
def test_sequence_nats_equals_a_token_by_token_computation_and_leaves_no_state():
    """The one-batch score equals the sum of each next token's negative log-probability
    read after evaluating the tokens one at a time; a completion after scoring is the same
    as before it."""
    import llama_cpp
    import numpy as np

    from reportlib.backends.loading import load_model

    model = load_model("default", n_ctx=256, cache=None).model
    prompt = "대한민국은 민주공화국이다. 대한민국의 주권은 국민에게 있고,"
    before = model.complete(prompt, max_tokens=8, seed=0, reuse_prefix=True).text
    tokens = model.tokenize(prompt)
    expected = 0.0
    model.reset_state()
    n_vocab = model._llm.n_vocab()
    for i in range(len(tokens) - 1):
        model.evaluate(tokens[i : i + 1])
        pointer = llama_cpp.llama_get_logits_ith(model._llm.ctx, -1)
        logits = np.ctypeslib.as_array(pointer, shape=(n_vocab,)).astype(np.float64)
        top = logits.max()
        expected += top + math.log(np.exp(logits - top).sum()) - logits[tokens[i + 1]]
    model.reset_state()
    assert model.sequence_nats(tokens) == pytest.approx(expected, rel=2e-3)
    assert model.complete(prompt, max_tokens=8, seed=0, reuse_prefix=True).text == before


def test_the_benchmark_refuses_an_adapter_spec(capsys):
    from reportlib.cli import main

    assert main(["bench", "--model", "default+lora:korean", "--output", "/tmp/x.json"]) == 2
    assert "without a LoRA adapter" in capsys.readouterr().err


# -- the command's checks (issue 28, items 7 and 14) ------------------------------------------
@pytest.fixture
def fake_training(monkeypatch):
    """`reportlib finetune` with a stand-in for training that writes what training writes
    (the adapter and its record), so the checks before it are tested in a second."""
    import reportlib.cli as cli

    calls = []

    def train(base, text, settings, output, **kwargs):
        calls.append(output)
        Path(output).write_bytes(b"new adapter")
        Path(output).with_suffix(".json").write_text('{"new": "record"}')
        return {
            "held_out_loss": [(0, 2.0), (1, 1.0)],
            "selected_step": 1,
            "tokens_seen": 1,
            "seconds": 1.0,
            "tokens_per_second": 1,
        }

    monkeypatch.setattr(cli, "finetune", train)
    return calls


@pytest.mark.parametrize("existing", [["json"], ["gguf"], ["gguf", "json"]])
def test_finetune_never_replaces_an_adapter_or_its_record_unasked(
    capsys, tmp_path, fake_training, existing
):
    """Was: an existing NAME.json was silently replaced by the new training record."""
    from fakes import one_line_error

    data = tmp_path / "text.txt"
    data.write_text("\n".join(f"문장 {i}입니다." for i in range(100)), "utf-8")
    output = tmp_path / "out" / "mine.gguf"
    output.parent.mkdir()
    for suffix in existing:
        output.with_suffix(f".{suffix}").write_text("kept")
    argv = ["finetune", "--data", str(data), "--output", str(output), "--steps", "1"]
    names = " and ".join(repr(str(output.with_suffix(f".{s}"))) for s in existing)
    assert one_line_error(capsys, argv) == (
        f"--output would replace {names}, which already exist{'' if len(existing) > 1 else 's'}; "
        f"give --overwrite to replace {'them' if len(existing) > 1 else 'it'}, or another --output"
    )
    assert fake_training == []
    assert all(output.with_suffix(f".{s}").read_text() == "kept" for s in existing)
    from reportlib.cli import main

    assert main([*argv, "--overwrite"]) == 0
    assert output.with_suffix(".json").read_text() == '{"new": "record"}'


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--data", "/no/such/text.txt", "--output", "new.gguf"],
            "cannot read training text '/no/such/text.txt'",
        ),
        (["--output", "adapter.bin"], "--output must be a .gguf file name, not 'adapter.bin'"),
        (["--seed", "-1", "--output", "new.gguf"], "seed must be a whole number >= 0, not -1"),
    ],
)
def test_finetune_checks_the_users_inputs_before_the_extra(
    capsys, tmp_path, monkeypatch, fake_training, argv, message
):
    """Was: "fine-tuning needs 'gguf'" first, and --seed -1 passed validation (it would
    have failed after loading the base)."""
    import reportlib.cli as cli

    from fakes import one_line_error

    def missing():
        raise ReportlibError("fine-tuning needs 'gguf': install the fine-tuning extra")

    monkeypatch.setattr(cli, "require_extra", missing)
    monkeypatch.chdir(tmp_path)
    assert one_line_error(capsys, ["finetune", *argv]).startswith(message)
    assert fake_training == [] and list(tmp_path.iterdir()) == []
