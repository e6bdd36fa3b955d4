"""The benchmark's structure on a tiny run (the numbers themselves are machine facts)."""

import json

import pytest

from reportlib.errors import ReportlibError


@pytest.mark.model
def test_benchmark_reports_both_paths_and_ratios():
    from reportlib.bench import run_benchmark
    from reportlib.models import resolve_model

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
    from reportlib.bench import llama_bench_binary, run_llama_bench
    from reportlib.models import resolve_model

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
    from reportlib.bench import run_llama_bench
    from reportlib.errors import ReportlibError
    from reportlib.models import resolve_model

    script = _fake_llama_bench(tmp_path, "echo 'error: unknown argument' >&2; exit 1")
    with pytest.raises(ReportlibError, match="llama-bench failed \\(exit 1\\).*unknown argument"):
        run_llama_bench(script, resolve_model("default"), 2, 512)


def test_no_llama_bench_without_a_build(tmp_path, monkeypatch):
    from reportlib.bench import llama_bench_binary

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
    from reportlib.bench import llama_batched_bench_binary, run_llama_batched_bench
    from reportlib.models import resolve_model

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
    from reportlib.bench import run_llama_batched_bench
    from reportlib.models import resolve_model

    script = _fake_llama_bench(tmp_path, "echo 'error: unable to load model' >&2; exit 1")
    with pytest.raises(ReportlibError, match=r"llama-batched-bench failed \(exit 1\)"):
        run_llama_batched_bench(script, resolve_model("default"), 2, [1], 16, 40)


def test_no_batched_comparison_without_the_tool(monkeypatch, tmp_path):
    from reportlib.bench import run_batched_benchmark

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
    from reportlib.bench import kernel_bench_binaries, run_kernel_comparison
    from reportlib.models import resolve_model

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
    from reportlib.bench import run_kernel_comparison
    from reportlib.errors import ReportlibError
    from reportlib.models import resolve_model

    _fake_kernel_build(tmp_path / "native" / "llama-bench", 125.0, 11.0)
    with pytest.raises(ReportlibError, match="make llama-bench"):
        run_kernel_comparison(resolve_model("default"), root=tmp_path)


def test_kernel_comparison_counts_answers_identical_to_the_portable_build(tmp_path):
    from reportlib.bench import run_kernel_comparison
    from reportlib.models import resolve_model

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
def test_random_token_decoder_feeds_seeded_random_tokens_as_the_tool_does():
    from reportlib.batched import BatchedGreedyDecoder
    from reportlib.bench import RandomTokenDecoder
    from reportlib.models import resolve_model

    model = resolve_model("default")
    settings = {"width": 2, "n_ctx_per_sequence": 64, "n_threads": 2}
    prompts = [[2, 818, 5279], [2, 9259, 236764]]

    def run(decoder_class, **extra):
        with decoder_class(model.path, **settings, **extra) as decoder:
            return decoder.decode(prompts, max_tokens=12)

    first, again = run(RandomTokenDecoder, seed=1), run(RandomTokenDecoder, seed=1)
    other, greedy = run(RandomTokenDecoder, seed=2), run(BatchedGreedyDecoder)
    assert first == again  # seeded: the benchmark's input is the same run to run
    assert first != other
    # random tokens never end a sequence early: every one runs the full length, as in the tool
    assert all(r.completion_tokens == 12 and r.finish_reason == "length" for r in first)
    assert [r.text for r in first] != [r.text for r in greedy]


def _batched_record(greedy: float = 80.0, other=None):
    rows = [
        {
            "width": w,
            "llama_batched_bench_tokens_per_s": 100.0 * w**0.5,
            "harness_tokens_per_s": (greedy if w > 1 else 100.0) * w**0.5,
            "harness_random_tokens_per_s": 98.0 * w**0.5,
            "ratio": (greedy if w > 1 else 100.0) / 100.0,
            "ratio_random_tokens": 0.98,
        }
        for w in (1, 4, 16)
    ]
    record = {
        "measured": "2026-11-28",
        "cpu": "Some CPU",
        "n_threads": 2,
        "model": "Gemma 3 270M base (Q4_K_M)",
        "pp": 16,
        "tg": 40,
        "flash_attention": True,
        "rows": rows,
    }
    if other is not None:
        record["other_attention"] = other
    return record


def test_batched_phrases_give_both_ratios_and_the_cost_of_the_input():
    from reportlib.book_bench import BATCHED_PHRASE_NAMES, batched_phrases, batched_table

    phrases = batched_phrases(_batched_record())
    assert set(phrases) == set(BATCHED_PHRASE_NAMES)
    assert phrases["batched_ratio_random"] == "0.98"  # one value: no range
    assert phrases["batched_ratio_greedy"] == "0.80 to 1.00"
    # 80 / 98 at widths 4 and 16; width 1 costs as much as random tokens
    assert phrases["batched_input_cost"] == (
        "real text's greedy tokens make the steps slower at widths 4 (18% slower) and 16 "
        "(18% slower); at width 1 they cost at most 5% more than random ones"
    )
    assert "Gemma 3 270M base (Q4_K_M)" in phrases["batched_bench_provenance"]
    assert "different machine" in phrases["batched_bench_machine"]
    assert phrases["batched_attention_check"] == ""  # no check in the record
    table = batched_table(_batched_record())
    assert table.index.name == "batch width" and list(table.index) == [1, 4, 16]
    assert list(table["ratio, like for like"]) == ["0.98"] * 3
    missing = batched_phrases(None)
    assert all("make bench" in text for text in missing.values())


def test_the_attention_check_says_where_the_cost_of_the_input_lies():
    from reportlib.book_bench import attention_check_phrase

    same = {"flash_attention": False, "width": 32, "harness_greedy_tokens_per_s": 97.0,
            "harness_random_tokens_per_s": 98.0}  # fmt: skip
    assert attention_check_phrase(same).endswith("lies in the flash-attention kernels.")
    slower = {**same, "harness_greedy_tokens_per_s": 80.0}
    assert attention_check_phrase(slower).endswith("greedy tokens are 18% slower there too.")
    faster = {**same, "harness_greedy_tokens_per_s": 110.0}
    assert attention_check_phrase(faster).endswith("greedy tokens are 12% faster there.")
    assert "flash attention off" in attention_check_phrase(same)


def test_bench_checks_the_record_paths_before_running(capsys, tmp_path):
    from reportlib.cli import main

    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["bench", "--batched-record", str(blocker / "x.json")]) == 2
    err = capsys.readouterr().err
    assert "--batched-record" in err and "is a file, not a folder" in err


@pytest.mark.model
def test_batched_comparison_takes_the_median_of_interleaved_rounds(monkeypatch, tmp_path):
    import reportlib.bench as bench
    from reportlib.models import resolve_model

    calls = []
    tool = iter([{1: 10.0, 4: 40.0}, {1: 30.0, 4: 20.0}, {1: 20.0, 4: 30.0}])

    def fake_tool(binary, model, n_threads, widths, pp, tg):
        calls.append("tool")
        return next(tool)

    def fake_harness(model, n_threads, widths, pp, tg, flash_attention=True):
        calls.append("harness" if flash_attention else "other")
        k = calls.count("harness" if flash_attention else "other")
        return {w: {"greedy": 5.0 * k * w, "random": 10.0 * k * w} for w in widths}

    script = _fake_llama_bench(tmp_path, "exit 0")
    monkeypatch.setenv("REPORTLIB_LLAMA_BATCHED_BENCH", str(script))
    monkeypatch.setattr(bench, "run_llama_batched_bench", fake_tool)
    monkeypatch.setattr(bench, "harness_batched", fake_harness)
    model = resolve_model("default")
    result = bench.run_batched_benchmark(model, widths=(1, 4), rounds=3)
    assert calls == ["tool", "harness", "other"] * 3  # interleaved, round by round
    rows = {r["width"]: r for r in result["rows"]}
    assert rows[1]["llama_batched_bench_tokens_per_s"] == 20.0  # median of 10, 30, 20
    assert rows[4]["harness_tokens_per_s"] == 40.0  # median of 20, 40, 60
    assert rows[4]["ratio_random_tokens"] == 80.0 / 30.0
    assert result["other_attention"]["harness_greedy_tokens_per_s"] == 40.0
    assert result["other_attention"]["flash_attention"] is False
    assert result["model"] == "Gemma 3 270M base (Q4_K_M)" and result["rounds"] == 3
    with pytest.raises(ReportlibError, match="rounds must be a positive"):
        bench.run_batched_benchmark(model, rounds=0)
