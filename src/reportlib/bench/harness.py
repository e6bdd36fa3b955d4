"""Benchmark: the harness against raw llama.cpp, on the same model and threads.

*Raw* is llama.cpp's C API driven directly through llama-cpp-python's ctypes
bindings (``llama_decode`` on a batch, as ``llama-bench`` does: pp = prompt
tokens decoded in batches of ``n_batch``; tg = tokens decoded one at a time, no
sampling). *Harness* is the path the chapters use: :class:`LlamaCppModel`
(greedy sampling, our byte decoding, stop checks), with the result cache off.
"""

from __future__ import annotations

import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reportlib.backends.cached_model import default_cache, measurement_key
from reportlib.backends.interface import card_display_name
from reportlib.backends.llama_runtime import check_loadable, silence_llama_logs
from reportlib.backends.llamacpp import FLASH_ATTENTION, LlamaCppModel
from reportlib.backends.specs import ModelFile, model_card
from reportlib.core.errors import ReportlibError
from reportlib.core.machine import cpu_model
from reportlib.core.progress import progress_bar
from reportlib.experiments.context.needles import haystack_sentences


def median_min_max(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def raw_llama_cpp(
    model: ModelFile, n_threads: int, n_batch: int, pp: int = 512, tg: int = 128, repeats: int = 3
) -> dict[str, list[float]]:
    """Tokens/s for pp and tg through ``llama_decode`` alone, one value per repeat."""
    import llama_cpp

    silence_llama_logs()
    mparams = llama_cpp.llama_model_default_params()
    lmodel = llama_cpp.llama_model_load_from_file(str(model.path).encode(), mparams)
    if not lmodel:  # a NULL model: using it would crash the process
        raise ReportlibError(f"llama.cpp could not load {str(model.path)!r}")
    cparams = llama_cpp.llama_context_default_params()
    cparams.n_ctx, cparams.n_batch, cparams.n_ubatch = pp + tg + 16, n_batch, n_batch
    cparams.n_threads = cparams.n_threads_batch = n_threads
    cparams.flash_attn_type = (
        llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED
        if FLASH_ATTENTION
        else llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
    )  # as the harness
    ctx = llama_cpp.llama_init_from_model(lmodel, cparams)
    if not ctx:
        llama_cpp.llama_model_free(lmodel)
        raise ReportlibError(f"llama.cpp could not create a context for {str(model.path)!r}")
    batch = llama_cpp.llama_batch_init(max(n_batch, 1), 0, 1)
    vocab = llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(lmodel))
    rng = random.Random(0)
    tokens = [rng.randrange(vocab) for _ in range(pp)]

    def decode(chunk: list[int], start: int) -> None:
        batch.n_tokens = len(chunk)
        for i, token in enumerate(chunk):
            batch.token[i], batch.pos[i], batch.n_seq_id[i] = token, start + i, 1
            batch.seq_id[i][0], batch.logits[i] = 0, i == len(chunk) - 1
        if llama_cpp.llama_decode(ctx, batch) != 0:
            raise RuntimeError("llama_decode failed")

    results: dict[str, list[float]] = {"pp": [], "tg": []}
    try:
        for repeat in range(repeats + 1):  # run 0 warms up (allocations, page faults), untimed
            llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(ctx), True)
            start = time.perf_counter()
            for offset in range(0, pp, n_batch):
                decode(tokens[offset : offset + n_batch], offset)
            llama_cpp.llama_synchronize(ctx)
            pp_rate = pp / (time.perf_counter() - start)
            llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(ctx), True)
            start = time.perf_counter()
            for i in range(tg):
                decode([tokens[i % pp]], i)
            llama_cpp.llama_synchronize(ctx)
            if repeat:
                results["pp"].append(pp_rate)
                results["tg"].append(tg / (time.perf_counter() - start))
    finally:
        llama_cpp.llama_batch_free(batch)
        llama_cpp.llama_free(ctx)
        llama_cpp.llama_model_free(lmodel)
    return results


def harness(
    model: ModelFile, n_threads: int, n_batch: int, pp: int = 512, tg: int = 128, repeats: int = 3
) -> dict[str, list[float]]:
    """Tokens/s for pp and tg through :meth:`LlamaCppModel.complete` (no cache), per repeat."""
    llm = LlamaCppModel(model, n_ctx=pp + tg + 16, n_threads=n_threads, n_batch=n_batch)
    text = " ".join(haystack_sentences(pp // 8 + 16))
    prompt_tokens = llm.tokenize(text)[:pp]
    results: dict[str, list[float]] = {"pp": [], "tg": []}
    llm.complete_tokens(prompt_tokens, max_tokens=8, seed=0, stop=())  # warm-up, untimed
    for _ in range(repeats):
        start = time.perf_counter()
        llm.complete_tokens(prompt_tokens, max_tokens=1, seed=0, stop=())
        results["pp"].append(len(prompt_tokens) / (time.perf_counter() - start))
        start = time.perf_counter()
        out = llm.complete_tokens(llm.tokenize("The"), max_tokens=tg, seed=0, stop=())
        results["tg"].append(out.completion_tokens / (time.perf_counter() - start))
    return results


def refuse_adapter(model: ModelFile) -> None:
    """llama.cpp's own tools run the base model only: comparing them with the harness on a
    model with a LoRA adapter would time two different models, so it is refused."""
    if model.adapter is not None:
        raise ReportlibError(
            "the benchmark compares the harness with llama.cpp's own tools, which run without "
            f"a LoRA adapter; give the base model, not {model.spec!r}"
        )


def llama_bench_binary() -> Path | None:
    """llama.cpp's ``llama-bench``: ``$REPORTLIB_LLAMA_BENCH``, or the one ``make llama-bench``
    builds into the virtual environment from the pinned llama-cpp-python sdist."""
    candidate = (
        os.environ.get("REPORTLIB_LLAMA_BENCH") or Path(sys.prefix) / "llama-bench" / "llama-bench"
    )
    path = Path(candidate)
    return path if path.is_file() and os.access(path, os.X_OK) else None


def run_llama_bench(
    binary: Path,
    model: ModelFile,
    n_threads: int,
    n_batch: int,
    pp: int = 512,
    tg: int = 128,
    repeats: int = 3,
    variant: dict[str, str] | None = None,
) -> dict[str, list[float]]:
    """Tokens/s for pp and tg from ``llama-bench`` itself (its JSON output, every repeat).
    Shared libraries are looked up beside the binary; with ``variant`` (a dict), the CPU
    backend that a runtime-dispatch build loaded is written into ``variant["cpu"]``."""
    cmd = [
        str(binary),
        "-m",
        str(model.path),
        "-t",
        str(n_threads),
        "-b",
        str(n_batch),
        "-ub",
        str(n_batch),
        "-p",
        str(pp),
        "-n",
        str(tg),
        "-r",
        str(repeats),
        "-fa",
        "on" if FLASH_ATTENTION else "off",
        "-o",
        "json",
    ]
    env = {**os.environ, "LD_LIBRARY_PATH": str(binary.parent)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=binary.parent)
    if proc.returncode != 0:
        raise ReportlibError(f"llama-bench failed (exit {proc.returncode}): {proc.stderr[-300:]}")
    if variant is not None:
        loaded = re.findall(r"libggml-cpu-([\w.]+)\.so", proc.stderr)
        variant["cpu"] = loaded[-1] if loaded else "built in"
    out = {}
    for test in json.loads(proc.stdout):
        name = "pp" if test["n_gen"] == 0 else "tg"
        out[name] = [float(x) for x in test["samples_ts"]]
    return out


def interleaved_rounds(
    measures: dict[str, Callable[[], dict[str, list[float]]] | None], repeats: int
) -> dict[str, dict[str, list[float]]]:
    """Tokens/s samples of every path, ``repeats`` rounds of each path in turn (so a drift
    in the machine's speed hits all paths alike); a ``None`` path gets no samples."""
    samples: dict[str, dict[str, list[float]]] = {p: {"pp": [], "tg": []} for p in measures}
    bar = progress_bar(total=repeats * len(measures), desc="benchmark rounds", unit="run")
    for _ in range(repeats):
        for path, measure in measures.items():
            for name, values in (measure() if measure else {}).items():
                samples[path][name] += values
            bar.update(1)
    bar.close()
    return samples


def run_benchmark(
    model: ModelFile,
    n_threads: int = 2,
    n_batch: int = 512,
    pp: int = 512,
    tg: int = 128,
    repeats: int = 3,
) -> dict[str, Any]:
    """Raw and harness figures measured in one run, with their ratios. Raw is llama-bench
    when it is built, else the same method through ``llama_decode`` (both are reported)."""
    refuse_adapter(model)
    check_loadable(model.path)  # one clear error before any tool runs on the file
    binary = llama_bench_binary()
    paths: dict[str, Any] = {
        "llama_bench": (lambda: run_llama_bench(binary, model, n_threads, n_batch, pp, tg, 1))
        if binary
        else None,
        "llama_decode": lambda: raw_llama_cpp(model, n_threads, n_batch, pp, tg, 1),
        "harness": lambda: harness(model, n_threads, n_batch, pp, tg, 1),
    }
    samples = interleaved_rounds(paths, repeats)
    summary = {
        path: {name: median_min_max(v) for name, v in s.items()} if s["pp"] else None
        for path, s in samples.items()
    }
    bench, decode, ours = summary["llama_bench"], summary["llama_decode"], summary["harness"]
    raw = bench or decode
    if raw is None or ours is None:
        raise ReportlibError("the benchmark measured nothing (repeats must be at least 1)")
    return {
        "model": card_display_name(model_card(model)),
        "model_sha256": model.sha256,
        "cpu": cpu_model(),
        "n_threads": n_threads,
        "n_batch": n_batch,
        "pp": pp,
        "tg": tg,
        "repeats": repeats,
        "raw_method": (
            "llama-bench, built from the llama.cpp sources of the pinned llama-cpp-python sdist"
            if bench
            else "llama_decode via llama-cpp-python ctypes (llama-bench's method)"
        ),
        "flash_attention": FLASH_ATTENTION,
        "raw": raw,
        "llama_decode": decode,
        "llama_bench": bench,
        "harness": ours,
        "ratio": {k: ours[k]["median"] / raw[k]["median"] for k in ("pp", "tg")},
    }


def cached_benchmark(model: ModelFile, **settings: int) -> dict[str, Any]:
    """:func:`run_benchmark`, cached per machine (CPU model, settings) like the latency runs,
    so the book's Performance page is stable across rebuilds on one machine."""
    cache = default_cache()
    refuse_adapter(model)
    key = measurement_key(
        "benchmark-v6", model.weights_id, llama_bench=llama_bench_binary() is not None, **settings
    )
    return cache.get_or_compute(key, lambda: run_benchmark(model, **settings))
