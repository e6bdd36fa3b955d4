"""The fine-tunes: their instruction data and contamination checks, settings, packing, the
Llama Q/K permutation, the training records, bits per character, the command's checks, and
(with the optional extra) real training: an exported adapter gives llama.cpp the logits of
the peft model it came from, and retraining the smallest dose reproduces its adapter."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
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
from reportlib.experiments.preference import load_references
from reportlib.experiments.probe.prompts import PROBE_TEXTS
from reportlib.text.corpus import flores_sentences


# -- data ----------------------------------------------------------------------------------
def test_the_shipped_pairs_load_and_split_one_item_per_topic():
    pairs = fd.load_pairs()
    assert len(pairs) == 320 and len({p.id for p in pairs}) == 320
    pool, held_out = fd.split_pairs(pairs)
    topics = {p.topic for p in pairs}
    assert len(held_out) == len(topics) and {p.topic for p in held_out} == topics
    assert not {p.id for p in pool} & {p.id for p in held_out}
    assert fd.split_pairs(fd.load_pairs())[0] == pool  # a fixed order


def test_every_dose_is_inside_the_next():
    pool, _ = fd.split_pairs(fd.load_pairs())
    doses = [fd.dose(pool, n) for n in ft.DOSES]
    for small, large in zip(doses, doses[1:], strict=False):
        assert large[: len(small)] == small
    with pytest.raises(ReportlibError, match="a dose is 1 to"):
        fd.dose(pool, 0)


def test_the_training_text_holds_no_evaluation_material_and_no_self_introduction():
    pairs = fd.load_pairs()
    flores = [
        s
        for lang in LANGUAGES
        for split in ("dev", "devtest")
        for s in flores_sentences(lang.flores, split)
    ]
    texts = [t for p in pairs for t in (p.ko_request, p.ko_reply, p.en_request, p.en_reply)]
    report = fd.contamination_report(texts, flores)
    assert report.clean, report


def test_the_contamination_check_finds_what_is_planted():
    sentence = flores_sentences("kor_Hang")[5]
    reference = load_references()["kor_Hang"][0].english
    planted = [
        f"좋은 질문입니다. {sentence}",
        PROBE_TEXTS["kor_Hang"].requests[0],
        f"Answer: {reference}",
        "그럼 제 이름은 비밀이에요.",
        "저는 학생입니다.",
        "Could you tell us a little about yourself? Please answer in Korean.",
    ]
    report = fd.contamination_report(planted, [sentence, flores_sentences("kor_Hang")[6]])
    assert report.flores_sentences == [sentence]
    assert PROBE_TEXTS["kor_Hang"].requests[0] in report.probe_prompts
    assert any("Could you tell us" in p for p in report.probe_prompts)
    assert reference in report.references
    assert "제 이름" in report.self_introductions
    assert report.first_person_lines == ["저는 학생입니다."]
    assert not report.clean


def test_the_hangul_share_counts_letters_only():
    assert fd.hangul_share(["안녕 123!"]) == 1.0
    assert fd.hangul_share(["안녕 ab"]) == 0.5
    assert fd.hangul_share(["123"]) == 0.0


def test_bad_pair_files_are_one_clear_error(tmp_path):
    with pytest.raises(ReportlibError, match="cannot read the instruction pairs"):
        fd.load_pairs(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "topic": "t"}\n', "utf-8")
    with pytest.raises(ReportlibError, match="line 1 is not an instruction pair"):
        fd.load_pairs(bad)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", "utf-8")
    with pytest.raises(ReportlibError, match="holds no instruction pair"):
        fd.load_pairs(empty)


# -- settings, packing, export -------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"block_tokens": 0}, "block_tokens must be a positive"),
        ({"block_tokens": 4}, "at least 8"),
        ({"rank": 2.5}, "rank must be a positive"),
        ({"learning_rate": float("nan")}, "learning_rate must be a positive"),
        ({"alpha": 1e30}, "alpha must be at most 1000"),
        ({"seed": -1}, "seed must be a whole number >= 0"),
        ({"target_modules": ("qkv",)}, "each must be one of"),
    ],
)
def test_wrong_settings_get_one_clear_error(change, message):
    with pytest.raises(ReportlibError, match=message):
        ft.FinetuneSettings(**change).validate()


def test_packing_makes_full_blocks_and_cycles_to_a_step_count():
    items = [
        ft.TrainingItem([1, 2, 3], [False, True, True]),
        ft.TrainingItem([4, 5], [False, True]),
    ]
    one_pass = ft.pack_blocks(items, 2)
    assert [b.tokens for b in one_pass] == [[1, 2], [3, 4]]  # the tail [5] is dropped
    assert [b.loss_mask for b in one_pass] == [[False, True], [True, False]]
    cycled = ft.pack_blocks(items, 2, steps=4)
    assert [b.tokens for b in cycled] == [[1, 2], [3, 4], [5, 1], [2, 3]]
    with pytest.raises(ReportlibError, match="less than one block"):
        ft.pack_blocks(items, 100)


def test_the_qk_permutation_is_llama_cpps():
    """llama.cpp's converter interleaves the two rotary halves of each head's rows: head h's
    rows [a0 a1 | b0 b1] become [a0 b0 a1 b1]."""
    rows = np.arange(8)[:, None] * np.ones((1, 3))
    permuted = ft.permute_rows(rows, heads=2)
    assert permuted[:, 0].tolist() == [0, 2, 1, 3, 4, 6, 5, 7]
    with pytest.raises(ReportlibError, match="do not split into 3 heads"):
        ft.permute_rows(rows, heads=3)


def test_the_shipped_plans_are_the_doses_and_a_matched_control():
    plans = ft.shipped_plans()
    assert [p.name for p in plans] == [*(f"korean-{n}" for n in ft.DOSES), "english-160"]
    control, largest = plans[-1], plans[len(ft.DOSES) - 1]
    assert control.language == "en" and control.pairs == largest.pairs
    assert control.steps == -1  # matched to the largest dose when trained


def test_a_base_of_another_architecture_is_refused_before_loading(tmp_path):
    from types import SimpleNamespace

    base = SimpleNamespace(
        path=tmp_path / "qwen.gguf",
        info=SimpleNamespace(metadata={"general.architecture": "qwen2"}),
    )
    with pytest.raises(ReportlibError, match="support the architectures .*not 'qwen2'"):
        ft.load_base_for_training(base)  # type: ignore[arg-type]


@pytest.mark.slow
def test_a_base_transformers_cannot_read_is_one_clear_error(tmp_path):
    pytest.importorskip("transformers")
    from types import SimpleNamespace

    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    base = SimpleNamespace(
        path=broken, info=SimpleNamespace(metadata={"general.architecture": "llama"})
    )
    with pytest.raises(ReportlibError, match="transformers cannot load"):
        ft.load_base_for_training(base)  # type: ignore[arg-type]


def test_adapter_specs_split_and_reject_half_written_ones():
    assert split_adapter_spec("embedded-chat+lora:korean") == ("embedded-chat", "korean")
    assert split_adapter_spec("embedded") == ("embedded", None)
    with pytest.raises(ReportlibError, match="write BASE"):
        split_adapter_spec("embedded+lora:")


def test_missing_extra_says_how_to_install_it(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_peft(name, *args, **kwargs):
        if name == "peft":
            raise ImportError(name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_peft)
    with pytest.raises(ReportlibError, match="pip install -e .\\[finetune\\]"):
        ft.require_extra()


# -- records -------------------------------------------------------------------------------
def test_every_shipped_adapter_matches_its_record_and_plan():
    """Each committed adapter is the one its record names: the adapter's, the base's and
    the training and held-out items' sha256; the control saw the tokens of the largest dose."""
    from reportlib.backends.specs import resolve_model

    base = resolve_model("embedded-chat")
    records = {}
    for plan in ft.shipped_plans():
        path = shipped_adapter_path(plan.name)
        records[plan.name] = finetune_record.verify_record(path, base, plan.pairs, plan.held_out)
        assert records[plan.name]["items"] == len(plan.pairs)
    control, largest = records["english-160"], records[f"korean-{ft.DOSES[-1]}"]
    assert control["steps"] == largest["steps"] and control["tokens_seen"] == largest["tokens_seen"]
    assert [records[f"korean-{n}"]["tokens_seen"] for n in ft.DOSES] == sorted(
        records[f"korean-{n}"]["tokens_seen"] for n in ft.DOSES
    )
    assert all(
        r["hangul_share_replies"] > 0.95 for n, r in records.items() if n.startswith("korean")
    )


def test_record_check_lists_every_mismatch(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from reportlib.backends.specs import file_sha256

    pairs = fd.load_pairs()[:3]
    adapter = tmp_path / "a.gguf"
    adapter.write_bytes(b"adapter")
    record = {
        "record_version": finetune_record.RECORD_VERSION,
        "language": "ko",
        "adapter_sha256": file_sha256(adapter),
        "base_sha256": "base-sha",
        "train_sha256": fd.pairs_sha256(pairs, "ko"),
        "held_out_sha256": fd.pairs_sha256(pairs[:1], "ko"),
    }
    adapter.with_suffix(".json").write_text(json.dumps(record), "utf-8")
    base = SimpleNamespace(sha256="base-sha")
    got = finetune_record.verify_record(adapter, base, pairs, pairs[:1])  # type: ignore[arg-type]
    assert got == record
    other = SimpleNamespace(sha256="other")
    with pytest.raises(ReportlibError, match="base model, training items, held-out items differ"):
        finetune_record.verify_record(adapter, other, pairs[1:], pairs[2:])  # type: ignore[arg-type]
    adapter.with_suffix(".json").write_text(json.dumps({**record, "record_version": 1}), "utf-8")
    with pytest.raises(ReportlibError, match="of version 1, not 2"):
        finetune_record.load_record(adapter)


def test_record_facts_format_what_the_chapter_shows():
    record = json.loads(shipped_adapter_path("korean-20").with_suffix(".json").read_text("utf-8"))
    facts = finetune_record.record_facts(record)
    assert facts["items"] == "20" and facts["rank"] == "8"
    assert facts["hangul_replies"].endswith("%")
    assert float(facts["held_last"]) < float(facts["held_before"])


# -- bits per character ----------------------------------------------------------------------
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
def test_line_scores_are_deterministic_and_an_adapter_changes_them():
    from reportlib.backends.loading import load_model
    from reportlib.experiments.finetune.perplexity import score_lines

    chat = load_model("embedded-chat", n_ctx=512, cache=None)
    lines = flores_sentences("kor_Hang")[:4]
    first = score_lines(chat, lines)
    assert score_lines(chat, lines) == first
    assert all(s.tokens > 0 and s.nats > 0 for s in first)
    tuned = load_model("embedded-chat+lora:korean", n_ctx=512, cache=None)
    assert score_lines(tuned, lines) != first
    with pytest.raises(ReportlibError, match="line 1 .* needs 2 to"):
        score_lines(chat, ["가나다 " * 400])


@pytest.mark.model
def test_sequence_nats_equals_a_token_by_token_computation_and_leaves_no_state():
    """The one-batch score equals the sum of each next token's negative log-probability
    read after evaluating the tokens one at a time; a completion after scoring is the same
    as before it."""
    from reportlib.backends.loading import load_model

    model = load_model("default", n_ctx=256, cache=None).model
    prompt = "대한민국은 민주공화국이다. 대한민국의 주권은 국민에게 있고,"
    before = model.complete(prompt, max_tokens=8, seed=0, reuse_prefix=True).text
    tokens = model.tokenize(prompt)
    expected = 0.0
    model.reset_state()
    for i in range(len(tokens) - 1):
        model.evaluate(tokens[i : i + 1])
        logits = np.asarray(model.last_logits(), dtype=np.float64)
        top = logits.max()
        expected += top + math.log(np.exp(logits - top).sum()) - logits[tokens[i + 1]]
    model.reset_state()
    assert model.sequence_nats(tokens) == pytest.approx(expected, rel=2e-3)
    assert model.complete(prompt, max_tokens=8, seed=0, reuse_prefix=True).text == before


@pytest.mark.model
def test_continuation_scores_equal_the_reply_part_of_one_whole_evaluation():
    """-log P(reply | prompt), scored after the prompt's cached KV, is the sum over the
    reply's positions of one evaluation of prompt and reply together. Not exactly: llama.cpp's
    kernels give a token's log-probability to within a few hundredths of a nat depending on
    the batch's length (the same 57 prompt tokens score 213.6 nats in a batch of 58 and 217.4
    in one of 59 on the Intel machine, so "whole minus prompt" from two batches is off by
    3.8), so the check allows 0.1 nats per reply token: a reply token scored at the wrong
    position or left out costs more than that."""
    import numpy as np

    from reportlib.backends.loading import load_model

    model = load_model("embedded-chat", n_ctx=512, cache=None).model
    prompt = model.format_chat([{"role": "user", "content": "자기소개를 해 주세요."}])
    replies = ["안녕하세요! 무엇을 도와드릴까요?", "Hello! How can I help?"]
    scores = model.score_continuations(prompt, replies)
    head = model.tokenize(prompt)
    for reply, nats in zip(replies, scores.nats, strict=True):
        tail = model.tokenize(reply, add_bos=False)
        logits = model.position_logits(head + tail)
        top = logits.max(axis=1, keepdims=True)
        log_p = logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))
        whole = -sum(log_p[len(head) - 1 + k, token] for k, token in enumerate(tail))
        assert abs(nats - whole) <= 0.1 * len(tail), (reply, nats, whole)
        shifted = -sum(log_p[len(head) + k, token] for k, token in enumerate(tail[:-1]))
        assert abs(nats - shifted) > 0.1 * len(tail)  # the check sees an off-by-one
    again = model.score_continuations(prompt, replies[::-1])
    assert again.nats[::-1] == pytest.approx(scores.nats, rel=1e-6)


def test_the_benchmark_refuses_an_adapter_spec(capsys):
    from reportlib.cli import main

    assert main(["bench", "--model", "embedded-chat+lora:korean", "--output", "/tmp/x.json"]) == 2
    assert "without a LoRA adapter" in capsys.readouterr().err


# -- the command's checks ----------------------------------------------------------------------
@pytest.fixture
def fake_training(monkeypatch):
    """`reportlib finetune` with a stand-in for training that writes what training writes
    (the adapter and its record), so the checks before it are tested in a second."""
    import reportlib.cli as cli

    calls = []

    def train(base, plan, settings, output, **kwargs):
        calls.append((plan.name, output))
        Path(output).write_bytes(b"new adapter")
        Path(output).with_suffix(".json").write_text('{"new": "record"}')
        return {
            "held_out_loss": [(0, 2.0), (1, 1.0)],
            "steps": 1,
            "tokens_seen": 1,
            "seconds": 1.0,
            "tokens_per_second": 1,
        }

    monkeypatch.setattr(cli, "finetune", train)
    monkeypatch.setattr(cli, "require_extra", lambda: None)
    return calls


def _pairs_file(tmp_path: Path) -> Path:
    data = tmp_path / "pairs.jsonl"
    data.write_text(
        "\n".join(
            json.dumps(
                {
                    "id": f"x{i}",
                    "topic": f"t{i % 3}",
                    "ko_request": "질문",
                    "ko_reply": "답",
                    "en_request": "q",
                    "en_reply": "a",
                }
            )
            for i in range(9)
        ),
        "utf-8",
    )
    return data


@pytest.mark.parametrize("existing", [("gguf",), ("json",), ("gguf", "json")])
def test_finetune_never_replaces_an_adapter_or_its_record_unasked(
    capsys, tmp_path, fake_training, existing
):
    """An existing NAME.json (or NAME.gguf) is never replaced without --overwrite."""
    from fakes import one_line_error

    output = tmp_path / "out" / "mine.gguf"
    output.parent.mkdir()
    for suffix in existing:
        output.with_suffix(f".{suffix}").write_text("kept")
    argv = ["finetune", "--data", str(_pairs_file(tmp_path)), "--output", str(output)]
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
            ["--data", "/no/such/pairs.jsonl", "--output", "new.gguf"],
            "cannot read the instruction pairs",
        ),
        (["--data", "PAIRS", "--output", "adapter.bin"], "--output must be a .gguf file name"),
        (["--data", "PAIRS"], "--data needs --output"),
        (["--output", "new.gguf"], "--output goes with --data"),
        (["--only", "korean-7"], "no shipped adapter 'korean-7'"),
        (["--seed", "-1"], "seed must be a whole number >= 0, not -1"),
    ],
)
def test_finetune_checks_the_users_inputs_before_the_extra(
    capsys, tmp_path, monkeypatch, fake_training, argv, message
):
    """The user's inputs are said before a missing extra, and before any training."""
    import reportlib.cli as cli

    from fakes import one_line_error

    def missing():
        raise ReportlibError("fine-tuning needs 'gguf': install the fine-tuning extra")

    monkeypatch.setattr(cli, "require_extra", missing)
    monkeypatch.chdir(tmp_path)
    argv = [str(_pairs_file(tmp_path)) if a == "PAIRS" else a for a in argv]
    assert one_line_error(capsys, ["finetune", *argv]).startswith(message)
    assert fake_training == []


def test_only_trains_the_named_shipped_adapter_into_its_folder(
    capsys, fake_training, monkeypatch, tmp_path
):
    import reportlib.cli as cli

    monkeypatch.setattr(cli, "shipped_adapter_path", lambda name: tmp_path / f"{name}.gguf")
    assert cli.main(["finetune", "--only", "korean-20"]) == 0
    assert fake_training == [("korean-20", tmp_path / "korean-20.gguf")]


# -- training (needs the optional extra) -----------------------------------------------------
@pytest.fixture(scope="module")
def tiny_adapter(tmp_path_factory):
    """A few steps of a strong learning rate on four items of the chat model: an adapter
    whose effect on the logits is large enough to see where it lands."""
    pytest.importorskip("peft")
    from reportlib.backends.specs import resolve_model

    base = resolve_model("embedded-chat")
    pool, held_out = fd.split_pairs(fd.load_pairs())
    settings = ft.FinetuneSettings(block_tokens=128, learning_rate=5e-3, eval_every=4)
    items = ft.chat_items(base, pool[:4], "ko")
    blocks = ft.pack_blocks(items, settings.block_tokens)[:4]
    model, run = ft.train_lora(base, blocks, ft.chat_items(base, held_out[:2], "ko"), settings)
    folder = tmp_path_factory.mktemp("tiny")
    paths = {}
    meta = base.info.metadata
    heads, kv = meta["llama.attention.head_count"], meta["llama.attention.head_count_kv"]
    for name, architecture in (("permuted", "llama"), ("unpermuted", "not-permuted")):
        tensors = ft.lora_tensors(model, architecture, heads, kv)
        paths[name] = folder / f"{name}.gguf"
        ft.write_adapter_gguf(tensors, paths[name], architecture="llama", alpha=16.0, name=name)
    return base, model, run, paths, items


def _logits_in_llama_cpp(base, adapter, tokens):
    from dataclasses import replace

    from reportlib.backends.llamacpp import LlamaCppModel
    from reportlib.backends.specs import resolve_adapter

    model_file = (
        base if adapter is None else replace(base, adapter=resolve_adapter(str(adapter), base.info))
    )
    model = LlamaCppModel(model_file, n_ctx=256)
    return model.position_logits(tokens)


@pytest.mark.model
@pytest.mark.slow
def test_an_exported_adapter_gives_llama_cpp_the_logits_of_its_peft_model(tiny_adapter):
    """What the adapter changes in the logits (adapter minus base) is the same in llama.cpp
    as in peft, within the base's own quantization gap; exported without the Q/K
    permutation it is not: the test fails when the permutation is left out."""
    import torch

    base, model, _, paths, items = tiny_adapter
    tokens = items[0].tokens[:96]
    model.eval()
    with torch.no_grad():
        tuned_hf = model(input_ids=torch.tensor([tokens])).logits[0].double().numpy()
        with model.disable_adapter():
            base_hf = model(input_ids=torch.tensor([tokens])).logits[0].double().numpy()
    base_cpp = _logits_in_llama_cpp(base, None, tokens)
    quantization_gap = np.abs(base_hf - base_cpp).max()
    effect_hf = (tuned_hf - base_hf).ravel()
    agreement, relative_error = {}, {}
    for name, path in paths.items():
        effect_cpp = (_logits_in_llama_cpp(base, path, tokens) - base_cpp).ravel()
        agreement[name] = np.corrcoef(effect_hf, effect_cpp)[0, 1]
        error = effect_hf - effect_cpp
        relative_error[name] = np.sqrt((error**2).mean() / (effect_hf**2).mean())
        if name == "permuted":
            gap = np.abs(error).max()
    assert np.abs(effect_hf).max() > quantization_gap / 4  # the adapter matters
    # effect_hf - effect_cpp = (tuned_hf - tuned_cpp) - (base_hf - base_cpp): two
    # quantization gaps of one size, so at most twice the base's (it came to 1.6x once)
    assert agreement["permuted"] > 0.9 and gap <= 2 * quantization_gap
    # without the permutation the error is of the effect's own order: on the Intel machine
    # 0.34 of the effect's RMS against 0.14 (correlation 0.94 against 0.99)
    assert relative_error["unpermuted"] > 1.5 * relative_error["permuted"]  # 1.0 if equal
    assert agreement["unpermuted"] < agreement["permuted"]


@pytest.mark.model
@pytest.mark.slow
def test_training_is_deterministic_and_a_diverging_loss_writes_nothing(tiny_adapter, tmp_path):
    from reportlib.backends.specs import resolve_model

    base, model, run, _, items = tiny_adapter
    settings = ft.FinetuneSettings(block_tokens=128, learning_rate=5e-3, eval_every=4)
    pool, held_out = fd.split_pairs(fd.load_pairs())
    blocks = ft.pack_blocks(items, settings.block_tokens)[:4]
    _, again = ft.train_lora(base, blocks, ft.chat_items(base, held_out[:2], "ko"), settings)
    assert again.train_loss == run.train_loss and again.held_out_loss == run.held_out_loss
    plan = ft.TrainingPlan("nan", "nan", "ko", tuple(pool[:4]), tuple(held_out[:2]))
    hot = ft.FinetuneSettings(block_tokens=128, learning_rate=1e9, eval_every=4)
    with pytest.raises(ReportlibError, match=r"at step \d+ of \d+; lower the learning rate"):
        ft.finetune(resolve_model("embedded-chat"), plan, hot, tmp_path / "nan.gguf")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.model
@pytest.mark.slow
def test_retraining_the_smallest_dose_reproduces_its_adapter(tmp_path):
    """`make finetune` reproduces the committed adapters: the smallest dose, retrained, is
    byte for byte its committed adapter on the machine that trained it, and the same up to
    float rounding (F16) on another CPU."""
    pytest.importorskip("peft")
    import gguf

    from reportlib.backends.specs import resolve_model
    from reportlib.core.machine import cpu_model

    plan = ft.shipped_plans()[0]
    committed = shipped_adapter_path(plan.name)
    record = finetune_record.load_record(committed)
    settings = ft.FinetuneSettings(
        **{**record["settings"], "target_modules": tuple(record["settings"]["target_modules"])}
    )
    out = tmp_path / committed.name
    again = ft.finetune(resolve_model("embedded-chat"), plan, settings, out)
    assert again["train_loss"] == pytest.approx(record["train_loss"], abs=1e-3)
    if cpu_model() == record["machine"]:
        assert out.read_bytes() == committed.read_bytes()
    else:
        old, new = gguf.GGUFReader(committed), gguf.GGUFReader(out)
        for a, b in zip(old.tensors, new.tensors, strict=True):
            assert a.name == b.name
            assert np.allclose(np.asarray(a.data, float), np.asarray(b.data, float), atol=2e-3)


def test_the_rates_table_is_flat_names_adapters_short_and_counts_discordant_pairs():
    import pandas as pd

    from reportlib.experiments.finetune.analysis import adapter_name, rates_table

    base, tuned = "Chat 135M (Q4_1)", "Chat 135M (Q4_1) + Korean LoRA, 20 items"
    assert adapter_name(tuned, base) == "Korean LoRA, 20 items"
    assert adapter_name("Other model", base) == "Other model"
    assert adapter_name(f"{base} + ", base) == f"{base} + "  # nothing after the mark: kept
    rows = [
        {
            "model": model,
            "decoding": "greedy",
            "language": "kor_Hang",
            "style": "s",
            "sample": sample,
            "on_language": on,
            "good": good,
        }
        for model, outcomes in ((base, [(0, 0), (1, 0), (0, 0)]), (tuned, [(1, 1), (1, 0), (1, 1)]))
        for sample, (on, good) in enumerate(outcomes)
    ]
    table = rates_table(pd.DataFrame(rows), base, "kor_Hang")
    assert list(table.index) == [0, 1]  # flat: a reader table hides a 0..n-1 index
    assert table.attrs["numeric"]  # a phone scrolls it sideways instead of stacking rows
    assert set(table["adapter"]) == {"Korean LoRA, 20 items"}
    on_language = table.iloc[0]
    assert on_language["prompts"] == 3
    assert (on_language["only without"], on_language["only with"]) == (0, 2)
    assert on_language["without the adapter"].startswith("33% (")
    assert table.iloc[1]["with the adapter"].startswith("67% (")
