"""The benchmark's structure on a tiny run (the numbers themselves are machine facts)."""

import json

import pytest


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
