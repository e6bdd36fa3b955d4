"""The benchmark's structure on a tiny run (the numbers themselves are machine facts)."""

import json

import pytest

from reportlib.core.errors import ReportlibError


@pytest.mark.model
def test_benchmark_reports_both_paths_and_ratios():
    from reportlib.backends.specs import resolve_model
    from reportlib.bench.harness import run_benchmark

    result = run_benchmark(resolve_model("default"), pp=32, tg=8, repeats=1)
    for path in ("raw", "harness"):
        for test in ("pp", "tg"):
            figures = result[path][test]
            assert 0 < figures["min"] <= figures["median"] <= figures["max"]
    assert set(result["ratio"]) == {"pp", "tg"} and all(r > 0 for r in result["ratio"].values())
    json.dumps(result)  # machine-readable


def test_bench_rejects_bad_settings(capsys):
    from reportlib.cli import main

    assert main(["bench", "--threads", "0"]) == 2
    assert "--threads must be positive" in capsys.readouterr().err


def _fake_llama_bench(tmp_path, body: str):
    script = tmp_path / "llama-bench"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return script


@pytest.mark.model
def test_llama_bench_output_is_read_per_repeat(tmp_path, monkeypatch):
    from reportlib.backends.specs import resolve_model
    from reportlib.bench.harness import llama_bench_binary, run_llama_bench

    tests = [
        {"n_prompt": 512, "n_gen": 0, "samples_ts": [500.0, 510.0, 490.0]},
        {"n_prompt": 0, "n_gen": 128, "samples_ts": [40.0, 44.0, 42.0]},
    ]
    script = _fake_llama_bench(tmp_path, f"echo '{json.dumps(tests)}'")
    monkeypatch.setenv("REPORTLIB_LLAMA_BENCH", str(script))
    assert llama_bench_binary() == script
    out = run_llama_bench(script, resolve_model("default"), 2, 512)
    assert out == {"pp": [500.0, 510.0, 490.0], "tg": [40.0, 44.0, 42.0]}


@pytest.mark.model
def test_a_failing_llama_bench_is_one_clear_error(tmp_path):
    from reportlib.backends.specs import resolve_model
    from reportlib.bench.harness import run_llama_bench
    from reportlib.core.errors import ReportlibError

    script = _fake_llama_bench(tmp_path, "echo 'error: unknown argument' >&2; exit 1")
    with pytest.raises(ReportlibError, match="llama-bench failed \\(exit 1\\).*unknown argument"):
        run_llama_bench(script, resolve_model("default"), 2, 512)


def test_no_llama_bench_without_a_build(tmp_path, monkeypatch):
    from reportlib.bench.harness import llama_bench_binary

    monkeypatch.setenv("REPORTLIB_LLAMA_BENCH", str(tmp_path / "absent"))
    assert llama_bench_binary() is None


def test_bench_refuses_a_model_llama_cpp_cannot_load(tmp_path):
    """It used to segfault (exit 139): a NULL model pointer was used."""
    import subprocess
    import sys

    from test_gguf import write_alien_gguf

    path = write_alien_gguf(tmp_path / "alien.gguf")
    cmd = [
        sys.executable,
        "-m",
        "reportlib.cli",
        "bench",
        "--model",
        str(path),
        "--repeats",
        "1",
        "--output",
        str(tmp_path / "b.json"),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "llama.cpp could not load" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "b.json").exists()


def _jsonl(pl: int, tg: int, t: float) -> str:
    return json.dumps({"pp": 16, "tg": tg, "pl": pl, "t": t, "speed_tg": 0.0})


@pytest.mark.model
def test_llama_batched_bench_jsonl_is_read_per_width(tmp_path, monkeypatch):
    from reportlib.backends.specs import resolve_model
    from reportlib.bench.batched import llama_batched_bench_binary, run_llama_batched_bench

    lines = "\n".join(["llama_model_load: noise", _jsonl(1, 40, 1.0), _jsonl(4, 40, 2.0)])
    script = _fake_llama_bench(tmp_path, f"cat <<'EOF'\n{lines}\nEOF")
    monkeypatch.setenv("REPORTLIB_LLAMA_BATCHED_BENCH", str(script))
    assert llama_batched_bench_binary() == script
    out = run_llama_batched_bench(script, resolve_model("default"), 2, [1, 4], 16, 40)
    assert out == {1: 40.0, 4: 80.0}  # pl * tg / t: generated tokens over the whole time
    with pytest.raises(ReportlibError, match=r"no result for widths \[8\]"):
        run_llama_batched_bench(script, resolve_model("default"), 2, [1, 4, 8], 16, 40)


@pytest.mark.model
def test_a_failing_llama_batched_bench_is_one_clear_error(tmp_path):
    from reportlib.backends.specs import resolve_model
    from reportlib.bench.batched import run_llama_batched_bench

    script = _fake_llama_bench(tmp_path, "echo 'error: unable to load model' >&2; exit 1")
    with pytest.raises(ReportlibError, match=r"llama-batched-bench failed \(exit 1\)"):
        run_llama_batched_bench(script, resolve_model("default"), 2, [1], 16, 40)


def test_no_batched_comparison_without_the_tool(monkeypatch, tmp_path):
    from reportlib.bench.batched import run_batched_benchmark

    monkeypatch.setenv("REPORTLIB_LLAMA_BATCHED_BENCH", str(tmp_path / "missing"))
    monkeypatch.setattr("sys.prefix", str(tmp_path))
    assert run_batched_benchmark(None) is None  # type: ignore[arg-type]


def _fake_kernel_build(path, pp, tg, backend=""):
    import json as _json

    path.parent.mkdir(parents=True, exist_ok=True)
    out = _json.dumps(
        [{"n_gen": 0, "samples_ts": [pp]}, {"n_gen": 128, "n_prompt": 0, "samples_ts": [tg]}]
    )
    note = (
        f"echo 'load_backend: loaded CPU backend from ./libggml-cpu-{backend}.so' >&2"
        if (backend)
        else ""
    )
    path.write_text(f"#!/bin/sh\n{note}\necho '{out}'\n")
    path.chmod(0o755)


def test_kernel_comparison_reports_speedups_and_the_loaded_variant(tmp_path):
    from reportlib.backends.specs import resolve_model
    from reportlib.bench.kernels import kernel_bench_binaries, run_kernel_comparison

    _fake_kernel_build(tmp_path / "llama-bench", 100.0, 10.0)
    _fake_kernel_build(tmp_path / "native" / "llama-bench", 125.0, 11.0)
    _fake_kernel_build(tmp_path / "cpu-variants" / "llama-bench", 120.0, 12.0, "zen4")
    assert set(kernel_bench_binaries(tmp_path)) == {"portable", "native", "cpu-variants"}
    result = run_kernel_comparison(resolve_model("default"), repeats=2, root=tmp_path)
    assert result["speedup"]["native"] == {"pp": 1.25, "tg": pytest.approx(1.1)}
    assert result["speedup"]["portable"] == {"pp": 1.0, "tg": 1.0}
    assert result["builds"]["cpu-variants"]["cpu_backend"] == "zen4"
    assert result["builds"]["native"]["cpu_backend"] == "built in"
    assert result["best"] == "cpu-variants"  # the higher of its two worst-case speed-ups


def test_kernel_comparison_needs_the_portable_build(tmp_path):
    from reportlib.backends.specs import resolve_model
    from reportlib.bench.kernels import run_kernel_comparison
    from reportlib.core.errors import ReportlibError

    _fake_kernel_build(tmp_path / "native" / "llama-bench", 125.0, 11.0)
    with pytest.raises(ReportlibError, match="make llama-bench"):
        run_kernel_comparison(resolve_model("default"), root=tmp_path)


def test_kernel_comparison_counts_answers_identical_to_the_portable_build(tmp_path):
    from reportlib.backends.specs import resolve_model
    from reportlib.bench.kernels import run_kernel_comparison

    for sub, differs in (("", ""), ("native", "Hola")):
        folder = tmp_path / sub
        _fake_kernel_build(folder / "llama-bench", 100.0, 10.0)
        # llama-simple -m MODEL -n N PROMPT: echoes the prompt; the native build differs on one
        script = 'echo "$5"' + (
            f'; case "$5" in *{differs}*) echo changed;; esac' if differs else ""
        )
        (folder / "llama-simple").write_text(f"#!/bin/sh\n{script}\n")
        (folder / "llama-simple").chmod(0o755)
    result = run_kernel_comparison(resolve_model("default"), repeats=1, root=tmp_path)
    assert result["answer_prompts"] == 22
    assert result["answers_identical_to_portable"] == {"portable": 22, "native": 21}


@pytest.mark.model
def test_random_token_decoder_feeds_seeded_random_tokens_as_the_tool_does(monkeypatch):
    from reportlib.backends.batched import BatchedGreedyDecoder
    from reportlib.backends.specs import resolve_model
    from reportlib.bench.batched import RandomTokenDecoder

    model = resolve_model("default")
    settings = {"width": 2, "n_ctx_per_sequence": 64, "n_threads": 2}
    prompts = [[2, 818, 5279], [2, 9259, 236764]]

    def run(decoder_class, **extra):
        with decoder_class(model.path, **settings, **extra) as decoder:
            return decoder.decode(prompts, max_tokens=12)

    greedy_calls = []
    original = BatchedGreedyDecoder.next_token
    monkeypatch.setattr(
        BatchedGreedyDecoder,
        "next_token",
        lambda self, logits: greedy_calls.append(1) or original(self, logits),
    )
    first = run(RandomTokenDecoder, seed=1)
    assert len(greedy_calls) == 2 * 12  # the argmax is still taken for every token fed back
    again, other = run(RandomTokenDecoder, seed=1), run(RandomTokenDecoder, seed=2)
    assert first == again  # seeded: the benchmark's input is the same run to run
    assert first != other
    # random tokens never end a sequence early: every one runs the full length, as in the tool
    assert all(r.completion_tokens == 12 and r.finish_reason == "length" for r in first)


@pytest.mark.model
def test_full_length_greedy_takes_the_best_token_that_does_not_end_the_text():
    import numpy as np
    from llama_cpp import llama_vocab_eos

    from reportlib.backends.specs import resolve_model
    from reportlib.bench.batched import FullLengthGreedyDecoder

    with FullLengthGreedyDecoder(
        resolve_model("default").path, width=1, n_ctx_per_sequence=64
    ) as decoder:
        logits = np.zeros(decoder.n_vocab, dtype=np.float32)
        logits[123], logits[4567] = 5.0, 3.0
        assert decoder.next_token(logits) == 123  # the greedy choice when it goes on
        logits[llama_vocab_eos(decoder._vocab)] = 9.0  # the best token would end the text
        assert decoder.next_token(logits) == 123
        assert logits[llama_vocab_eos(decoder._vocab)] == 9.0  # the caller's logits untouched


def _batched_record():
    rows = [
        {
            "width": w,
            "llama_batched_bench_tokens_per_s": 100.0 * w**0.5,
            "harness_random_tokens_per_s": 98.0 * w**0.5,
            "ratio_random": 0.98,
            "harness_greedy_tokens_per_s": 97.0 * w**0.5,
            "ratio_greedy": 0.97,
            "harness_greedy_stops_tokens_per_s": (70.0 if w > 1 else 97.0) * w**0.5,
            "ratio_greedy_stops": 0.7 if w > 1 else 0.97,
            "stopped_early": 0 if w == 1 else w // 4,
            "tool_spread": 0.05 * w,
        }
        for w in (1, 4, 16)
    ]
    return {
        "measured": "2026-11-28",
        "cpu": "Some CPU",
        "n_threads": 2,
        "model": "Gemma 3 270M base (Q4_K_M)",
        "pp": 16,
        "tg": 40,
        "rounds": 3,
        "flash_attention": True,
        "rows": rows,
    }


def test_batched_phrases_give_each_inputs_ratio_and_the_early_stops():
    from reportlib.bench.batched import BATCHED_PHRASE_NAMES, batched_phrases, batched_table

    phrases = batched_phrases(_batched_record())
    assert set(phrases) == set(BATCHED_PHRASE_NAMES)
    assert phrases["batched_ratio_random"] == "0.98"  # one value: no range
    assert phrases["batched_ratio_greedy"] == "0.97"
    assert phrases["batched_ratio_greedy_stops"] == "0.70 to 0.97"
    assert phrases["batched_stops"] == (
        "the model ended its text early in 1 of 4 sequences at width 4 and 4 of 16 at width 16"
    )
    assert "Gemma 3 270M base (Q4_K_M)" in phrases["batched_bench_provenance"]
    assert "3 interleaved rounds" in phrases["batched_bench_provenance"]
    assert phrases["batched_tool_spread"] == "80%"  # the largest, at width 16
    assert "different machine" in phrases["batched_bench_machine"]
    table = batched_table(_batched_record())
    assert table.index.name == "batch width" and list(table.index) == [1, 4, 16]
    assert list(table["harness ÷ tool, random tokens"]) == ["0.98"] * 3
    assert list(table["sequences that stopped early"]) == [0, 1, 4]
    none = _batched_record()
    for row in none["rows"]:
        row["stopped_early"] = 0
    assert batched_phrases(none)["batched_stops"] == "no sequence ended early at any width"
    missing = batched_phrases(None)
    assert all("make bench" in text for text in missing.values())


def test_bench_checks_the_record_paths_before_running(capsys, tmp_path):
    from reportlib.cli import main

    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["bench", "--batched-record", str(blocker / "x.json")]) == 2
    err = capsys.readouterr().err
    assert "--batched-record" in err and "is a file, not a folder" in err


@pytest.mark.model
def test_batched_comparison_takes_the_median_of_interleaved_rounds(monkeypatch, tmp_path):
    import reportlib.bench.batched as bench
    from reportlib.backends.specs import resolve_model

    calls = []
    tool = iter([10.0, 40.0, 30.0, 20.0, 20.0, 30.0])  # widths 1 and 4, round by round

    def fake_tool(binary, model, n_threads, widths, pp, tg):
        calls.append(("tool", *widths))
        return {widths[0]: next(tool)}

    def fake_harness(model, text_tokens, n_threads, widths, pp, tg, order):
        calls.append((tuple(order), *widths))
        k = 3 + 2 * ((sum(c[0] != "tool" for c in calls) - 1) // 2)  # 3, 5, 7 by round
        return {
            w: {kind: {"tokens_per_s": 5.0 * k * w, "stopped_early": w // 4} for kind in order}
            for w in widths
        }

    script = _fake_llama_bench(tmp_path, "exit 0")
    monkeypatch.setenv("REPORTLIB_LLAMA_BATCHED_BENCH", str(script))
    monkeypatch.setattr(bench, "run_llama_batched_bench", fake_tool)
    monkeypatch.setattr(bench, "harness_batched", fake_harness)
    model = resolve_model("default")
    result = bench.run_batched_benchmark(model, widths=(1, 4), rounds=3)
    kinds = ("random", "greedy", "greedy_stops")
    rotated = [kinds, kinds[1:] + kinds[:1], kinds[2:] + kinds[:2]]  # each input first once
    assert calls == [  # at each width the tool and the harness back to back
        x for order in rotated for w in (1, 4) for x in (("tool", w), (order, w))
    ]
    rows = {r["width"]: r for r in result["rows"]}
    assert rows[1]["llama_batched_bench_tokens_per_s"] == 20.0  # median of 10, 30, 20
    # harness speeds per round: k = 3, 5, 7 -> 15 w, 25 w, 35 w; the ratio is the median of
    # the rounds' ratios, not a ratio of medians: at width 4, 60/40, 100/20, 140/30
    assert rows[4]["harness_greedy_tokens_per_s"] == 100.0
    assert rows[4]["ratio_random"] == pytest.approx(140.0 / 30.0)
    assert rows[4]["stopped_early"] == 1
    assert rows[4]["tool_spread"] == pytest.approx(40.0 / 20.0 - 1)
    assert result["model"] == "Gemma 3 270M base (Q4_K_M)" and result["rounds"] == 3
    with pytest.raises(ReportlibError, match="rounds must be a positive"):
        bench.run_batched_benchmark(model, rounds=0)
    with pytest.raises(ReportlibError, match="at least one batch width"):
        bench.run_batched_benchmark(model, widths=())


def test_the_server_comparison_refuses_an_adapter(capsys, tmp_path):
    """Issue 28, item 1: every comparison handles adapters alike. The server runs its own
    model, so a base with an adapter in process would be timed against another model (it
    was: loaded, and compared)."""
    from fakes import one_line_error

    argv = ["bench", "--server", "openai+http://127.0.0.1:1/v1", "--model"]
    output = ["--output", str(tmp_path / "b.json")]
    assert one_line_error(capsys, [*argv, "embedded-chat+lora:korean", *output]) == (
        "the server comparison times the in-process model against the server's, which cannot "
        "apply a LoRA adapter of ours; give the base model, not 'embedded-chat+lora:korean'"
    )
    assert not (tmp_path / "b.json").exists()
