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
