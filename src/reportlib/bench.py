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
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .backend import Completion, card_display_name
from .batched import BatchedGreedyDecoder
from .cached import default_cache
from .context import haystack_sentences
from .environment import cpu_flags, cpu_model
from .errors import ReportlibError
from .http_backend import OpenAIServerModel
from .llama_runtime import check_loadable, silence_llama_logs
from .llamacpp_backend import FLASH_ATTENTION, LlamaCppModel, decoder_version
from .models import ModelFile, model_card
from .probe import build_probe_prompts, probe_language_codes


def _median_min_max(values: list[float]) -> dict[str, float]:
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


def _interleaved_rounds(
    measures: dict[str, Callable[[], dict[str, list[float]]] | None], repeats: int
) -> dict[str, dict[str, list[float]]]:
    """Tokens/s samples of every path, ``repeats`` rounds of each path in turn (so a drift
    in the machine's speed hits all paths alike); a ``None`` path gets no samples."""
    samples: dict[str, dict[str, list[float]]] = {p: {"pp": [], "tg": []} for p in measures}
    for _ in range(repeats):
        for path, measure in measures.items():
            for name, values in (measure() if measure else {}).items():
                samples[path][name] += values
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
    check_loadable(model.path)  # one clear error before any tool runs on the file
    binary = llama_bench_binary()
    paths: dict[str, Any] = {
        "llama_bench": (lambda: run_llama_bench(binary, model, n_threads, n_batch, pp, tg, 1))
        if binary
        else None,
        "llama_decode": lambda: raw_llama_cpp(model, n_threads, n_batch, pp, tg, 1),
        "harness": lambda: harness(model, n_threads, n_batch, pp, tg, 1),
    }
    samples = _interleaved_rounds(paths, repeats)
    summary = {
        path: {name: _median_min_max(v) for name, v in s.items()} if s["pp"] else None
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


#: the llama-bench builds of ``make kernel-benches`` (paths under ``<venv>/llama-bench``)
KERNEL_BUILDS: dict[str, str] = {
    "portable": "llama-bench",  # -DGGML_NATIVE=OFF: AVX2 kernels, the build the library uses
    "native": "native/llama-bench",  # -march=native without AMX
    "cpu-variants": "cpu-variants/llama-bench",  # GGML_BACKEND_DL + CPU variants, no AMX
}
KERNEL_DESCRIPTIONS: dict[str, str] = {
    "portable": "-DGGML_NATIVE=OFF (AVX2 kernels; what llama-cpp-python is built with here)",
    "native": "-DGGML_NATIVE=ON, AMX switched off (-mno-amx-*)",
    "cpu-variants": "GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS: the best variant for the CPU, "
    "picked at load; the AMX variant removed",
}


def kernel_bench_binaries(root: Path | None = None) -> dict[str, Path]:
    """The llama-bench builds that exist under ``root`` (default: the virtual environment's
    ``llama-bench`` folder), by :data:`KERNEL_BUILDS` name."""
    root = root or Path(sys.prefix) / "llama-bench"
    found = {}
    for name, relative in KERNEL_BUILDS.items():
        path = root / relative
        if path.is_file() and os.access(path, os.X_OK):
            found[name] = path
    return found


def greedy_answers_of_build(
    binary: Path, model: ModelFile, prompts: list[str], max_tokens: int = 40
) -> list[str]:
    """Greedy answers of llama.cpp's ``llama-simple`` (beside ``binary``) to ``prompts``:
    the prompt and its continuation as the build prints them."""
    simple = binary.parent / "llama-simple"
    if not simple.is_file():
        raise ReportlibError(f"no llama-simple beside {binary}: rebuild with `make kernel-benches`")
    env = {**os.environ, "LD_LIBRARY_PATH": str(binary.parent)}
    answers = []
    for prompt in prompts:
        cmd = [str(simple), "-m", str(model.path), "-n", str(max_tokens), prompt]
        proc = subprocess.run(cmd, capture_output=True, env=env, cwd=binary.parent)
        if proc.returncode != 0:
            tail = proc.stderr.decode(errors="replace")[-300:]
            raise ReportlibError(f"llama-simple failed (exit {proc.returncode}): {tail}")
        answers.append(proc.stdout.decode("utf-8", errors="replace"))
    return answers


def kernel_answer_agreement(
    builds: dict[str, Path], model: ModelFile, prompts: list[str], max_tokens: int = 40
) -> dict[str, int]:
    """Per build: how many of ``prompts`` get byte-identical greedy answers to the
    portable build's (llama-simple of each build, same model; each build runs once)."""
    answers = {
        name: greedy_answers_of_build(binary, model, prompts, max_tokens)
        for name, binary in builds.items()
    }
    reference = answers["portable"]
    return {
        name: sum(a == b for a, b in zip(reference, theirs, strict=True))
        for name, theirs in answers.items()
    }


def run_kernel_comparison(
    model: ModelFile,
    n_threads: int = 2,
    n_batch: int = 512,
    pp: int = 512,
    tg: int = 128,
    repeats: int = 3,
    root: Path | None = None,
) -> dict[str, Any]:
    """pp and tg tokens/s of each llama-bench build, in interleaved rounds, with each
    build's speed relative to the portable one (measured in the same run)."""
    check_loadable(model.path)
    builds = kernel_bench_binaries(root)
    if "portable" not in builds:
        raise ReportlibError("the portable llama-bench is not built: run `make llama-bench`")
    loaded: dict[str, dict[str, str]] = {name: {} for name in builds}  # CPU backend per build
    samples = _interleaved_rounds(
        {
            name: partial(
                run_llama_bench, binary, model, n_threads, n_batch, pp, tg, 1, loaded[name]
            )
            for name, binary in builds.items()
        },
        repeats,
    )
    variants = {name: seen.get("cpu", "built in") for name, seen in loaded.items()}
    summary = {b: {t: _median_min_max(v) for t, v in s.items()} for b, s in samples.items()}
    base = summary["portable"]
    speedup = {
        b: {t: summary[b][t]["median"] / base[t]["median"] for t in ("pp", "tg")} for b in summary
    }
    best = max(speedup, key=lambda b: min(speedup[b].values()))
    prompts = [
        build_probe_prompts(lang, "native_opening", 1)[0] for lang in probe_language_codes("all")
    ]
    identical = (
        kernel_answer_agreement(builds, model, prompts)
        if all((b.parent / "llama-simple").is_file() for b in builds.values())
        else None
    )
    return {
        "model": card_display_name(model_card(model)),
        "model_sha256": model.sha256,
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "n_threads": n_threads,
        "n_batch": n_batch,
        "pp": pp,
        "tg": tg,
        "repeats": repeats,
        "builds": {
            b: {**summary[b], "description": KERNEL_DESCRIPTIONS[b], "cpu_backend": variants[b]}
            for b in summary
        },
        "speedup": speedup,
        "best": best,
        "answer_prompts": len(prompts),
        "answers_identical_to_portable": identical,
    }


def cached_benchmark(model: ModelFile, **settings: int) -> dict[str, Any]:
    """:func:`run_benchmark`, cached per machine (CPU model, settings) like the latency runs,
    so the book's Performance page is stable across rebuilds on one machine."""
    cache = default_cache()
    key = {
        "kind": "benchmark-v6",
        "model": model.weights_id,
        "cpu": cpu_model(),
        "backend": decoder_version(),
        "llama_bench": llama_bench_binary() is not None,
        **settings,
    }
    return cache.get_or_compute(key, lambda: run_benchmark(model, **settings))


def _throughput(complete_many: Any, prompts: list[str], max_tokens: int) -> dict[str, float]:
    start = time.perf_counter()
    answers = list(complete_many(prompts, max_tokens=max_tokens, seed=0))
    seconds = time.perf_counter() - start
    generated = sum(a.completion_tokens for a in answers)
    return {
        "answers": len(answers),
        "seconds": seconds,
        "answers_per_s": len(answers) / seconds,
        "generated_tokens": generated,
        "generated_tokens_per_s": generated / seconds,
    }


def compare_http_backend(
    server_spec: str,
    model: ModelFile,
    concurrencies: list[int],
    max_tokens: int = 40,
    n_threads: int = 2,
) -> dict[str, Any]:
    """The multilingual probe's prompts (every language, one style, one sample) answered
    in-process and through an OpenAI-compatible server at each concurrency, no cache."""
    prompts = [
        build_probe_prompts(lang, "native_request", 1)[0] for lang in probe_language_codes("all")
    ]
    local = LlamaCppModel(model, n_ctx=1024, n_threads=n_threads)
    local.complete_tokens(local.tokenize(prompts[0]), max_tokens=4, seed=0, stop=())  # warm-up

    def in_process(items: list[str], **kwargs: Any) -> list[Any]:
        return [local.complete(p, **kwargs) for p in items]

    rows = [
        {"backend": "in-process", "concurrency": 1, **_throughput(in_process, prompts, max_tokens)}
    ]
    for concurrency in concurrencies:
        server = OpenAIServerModel(server_spec, concurrency=concurrency)
        server.complete(prompts[0], max_tokens=4, seed=0)  # warm-up
        rows.append(
            {
                "backend": f"HTTP {server.model_id}",
                "concurrency": concurrency,
                **_throughput(server.complete_many, prompts, max_tokens),
            }
        )
    return {
        "server": server_spec,
        "model": card_display_name(model_card(model)),
        "prompts": len(prompts),
        "max_tokens": max_tokens,
        "n_threads": n_threads,
        "rows": rows,
    }


def measure_batched_probe(
    model: ModelFile,
    widths: list[int],
    *,
    max_tokens: int = 40,
    n_ctx: int = 1024,
    n_threads: int = 2,
    n_batch: int = 512,
) -> dict[str, Any]:
    """The probe's prompts (every language, the request in the language, one sample)
    answered single-stream (width 1: :meth:`LlamaCppModel.complete`) and by the batched
    decoder at each width, no cache: answers per second, generated tokens per second, and
    how many answers are byte-identical to the single-stream ones."""
    prompts = [
        build_probe_prompts(lang, "native_request", 1)[0] for lang in probe_language_codes("all")
    ]
    rows, single_texts = [], None
    for width in sorted(set(widths) | {1}):
        local = LlamaCppModel(
            model, n_ctx=n_ctx, n_threads=n_threads, n_batch=n_batch, batch_width=width
        )
        local.complete_batch(prompts[:2], max_tokens=4, seed=0)  # warm-up, untimed
        start = time.perf_counter()  # all prompts in one continuous batch, as the chapters do
        results = local.complete_batch(prompts, max_tokens=max_tokens, seed=0)
        seconds = time.perf_counter() - start
        answers = [a for a in results if isinstance(a, Completion)]
        if len(answers) < len(results):
            raise ReportlibError("a probe prompt does not fit the window of the benchmark")
        texts = [a.text for a in answers]
        single_texts = single_texts or texts
        generated = sum(a.completion_tokens for a in answers)
        rows.append(
            {
                "width": width,
                "answers_per_s": len(answers) / seconds,
                "generated_tokens_per_s": generated / seconds,
                "identical_to_single_stream": sum(
                    a == b for a, b in zip(texts, single_texts, strict=True)
                ),
            }
        )
    single = rows[0]["answers_per_s"]
    for row in rows:
        row["speed_up"] = row["answers_per_s"] / single
    return {"prompts": len(prompts), "max_tokens": max_tokens, "cpu": cpu_model(), "rows": rows}


def cached_batched_probe(model: ModelFile, widths: list[int], **settings: int) -> dict[str, Any]:
    """:func:`measure_batched_probe`, cached per machine like :func:`cached_benchmark`."""
    key = {
        "kind": "batched-probe-v2",
        "model": model.sha256,
        "cpu": cpu_model(),
        "backend": decoder_version(),
        "widths": widths,
        **settings,
    }
    return default_cache().get_or_compute(
        key, lambda: measure_batched_probe(model, widths, **settings)
    )


#: the widths the batched benchmark compares (sequences decoded at once)
BATCHED_WIDTHS = (1, 4, 8, 16, 32)


def llama_batched_bench_binary() -> Path | None:
    """llama.cpp's ``llama-batched-bench``: ``$REPORTLIB_LLAMA_BATCHED_BENCH``, or the one
    ``make llama-bench`` builds beside ``llama-bench``."""
    candidate = os.environ.get("REPORTLIB_LLAMA_BATCHED_BENCH") or (
        Path(sys.prefix) / "llama-bench" / "llama-batched-bench"
    )
    path = Path(candidate)
    return path if path.is_file() and os.access(path, os.X_OK) else None


def run_llama_batched_bench(
    binary: Path, model: ModelFile, n_threads: int, widths: list[int], pp: int, tg: int
) -> dict[int, float]:
    """Aggregate generated tokens per second (``pl * tg / t``, prompt processing included)
    at each width, from ``llama-batched-bench``'s JSON lines (prompts not shared)."""
    n_batch = max(512, max(widths) * pp)
    flags = (
        f"-c {max(widths) * (pp + tg)} -b {n_batch} -ub 512 -t {n_threads} -tb {n_threads} "
        f"-fa {'on' if FLASH_ATTENTION else 'off'} -npp {pp} -ntg {tg} "
        f"-npl {','.join(map(str, widths))} --output-format jsonl"
    )
    cmd = [str(binary), "-m", str(model.path), *flags.split()]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ReportlibError(
            f"llama-batched-bench failed (exit {proc.returncode}): {proc.stderr[-300:]}"
        )
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    out = {int(r["pl"]): r["pl"] * r["tg"] / r["t"] for r in rows}
    missing = set(widths) - set(out)
    if missing:
        raise ReportlibError(f"llama-batched-bench reported no result for widths {sorted(missing)}")
    return out


class RandomTokenDecoder(BatchedGreedyDecoder):
    """The batched decoder fed ``llama-batched-bench``'s input: each sequence's next token
    is a seeded random id (the tool's ``rand() % n_vocab``; redrawn when it would end the
    sequence) instead of the greedy choice. The logits are still read and their argmax
    taken, so the harness does all of its own work; only the tokens fed back differ."""

    def __init__(self, *args: Any, seed: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rng = random.Random(seed)

    def random_token(self) -> int:
        """A seeded random token id that does not end generation."""
        while True:
            token = self._rng.randrange(self.n_vocab)
            if not self._llama.llama_vocab_is_eog(self._vocab, token):
                return token

    def next_token(self, logits: Any) -> int:
        super().next_token(logits)  # the greedy choice is computed, as in a real run
        return self.random_token()


class FullLengthGreedyDecoder(BatchedGreedyDecoder):
    """Greedy decoding that never ends a sequence early: the best token that does not end
    generation, so every sequence runs to ``max_tokens``, as ``llama-batched-bench``'s do."""

    def next_token(self, logits: Any) -> int:
        token = super().next_token(logits)
        if not self._llama.llama_vocab_is_eog(self._vocab, token):
            return token
        masked = logits.copy()
        while self._llama.llama_vocab_is_eog(self._vocab, token):
            masked[token] = -np.inf
            token = int(np.argmax(masked))
        return token


#: what the batched benchmark feeds the harness, and the decoder that does it: random token
#: ids as ``llama-batched-bench`` does (prompt and generated tokens); the model's greedy
#: tokens after real text, every sequence to its full length as in the tool; and greedy
#: tokens that stop where the model ends its text, as the chapters decode
BATCHED_INPUTS: dict[str, type[BatchedGreedyDecoder]] = {
    "random": RandomTokenDecoder,
    "greedy": FullLengthGreedyDecoder,
    "greedy_stops": BatchedGreedyDecoder,
}


def harness_batched(
    model: ModelFile,
    text_tokens: list[int],
    n_threads: int,
    widths: list[int],
    pp: int,
    tg: int,
    order: Sequence[str] = tuple(BATCHED_INPUTS),
) -> dict[int, dict[str, dict[str, float]]]:
    """The same measure through the batched decoder: ``width`` prompts of ``pp`` tokens
    decoded together, ``tg`` tokens each (sampling, byte decoding and stop checks included),
    generated tokens over the whole time, at each width with each input of
    :data:`BATCHED_INPUTS` in ``order``; with the sequences that stopped early."""
    out: dict[int, dict[str, dict[str, float]]] = {}
    for width in widths:
        out[width] = {}
        for kind in order:
            decoder = BATCHED_INPUTS[kind](
                model.path,
                width=width,
                n_ctx_per_sequence=pp + tg,
                n_threads=n_threads,
                n_batch=max(512, width),
                flash_attention=FLASH_ATTENTION,
            )
            with decoder:
                if isinstance(decoder, RandomTokenDecoder):
                    prompts = [[decoder.random_token() for _ in range(pp)] for _ in range(width)]
                else:
                    prompts = [
                        [text_tokens[0], *text_tokens[1 + i * pp : (i + 1) * pp]]
                        for i in range(width)
                    ]
                decoder.decode(prompts[:1], max_tokens=2)  # warm-up, untimed
                start = time.perf_counter()
                results = decoder.decode(prompts, max_tokens=tg)
                seconds = time.perf_counter() - start
            out[width][kind] = {
                "tokens_per_s": sum(r.completion_tokens for r in results) / seconds,
                "stopped_early": sum(r.completion_tokens < tg for r in results),
            }
    return out


def run_batched_benchmark(
    model: ModelFile,
    n_threads: int = 2,
    widths: tuple[int, ...] = BATCHED_WIDTHS,
    pp: int = 16,
    tg: int = 40,
    rounds: int = 5,
) -> dict[str, Any] | None:
    """Harness vs ``llama-batched-bench`` at each width (the probe's prompt and answer
    lengths by default), in ``rounds`` rounds; in each, at every width, the tool and then
    the harness's inputs (their order rotated each round), back to back, so a drift in the
    machine's speed hits both alike; each ratio is the median of the rounds' ratios.
    ``None`` where the tool is not built."""
    if not isinstance(rounds, int) or isinstance(rounds, bool) or rounds < 1:
        raise ReportlibError(f"rounds must be a positive whole number, not {rounds!r}")
    if not widths:
        raise ReportlibError("widths must name at least one batch width")
    binary = llama_batched_bench_binary()
    if binary is None:
        return None
    single = LlamaCppModel(model, n_ctx=pp + tg + 8, n_threads=n_threads)
    text = " ".join(haystack_sentences((pp * max(widths)) // 8 + 64))
    text_tokens = single.tokenize(text, add_bos=False)
    kinds = list(BATCHED_INPUTS)
    raws: list[dict[int, float]] = [{} for _ in range(rounds)]
    runs: list[dict[int, dict[str, dict[str, float]]]] = [{} for _ in range(rounds)]
    for k in range(rounds):
        order = kinds[k % len(kinds) :] + kinds[: k % len(kinds)]
        for w in widths:  # the tool and the harness back to back at each width
            raws[k].update(run_llama_batched_bench(binary, model, n_threads, [w], pp, tg))
            runs[k].update(harness_batched(model, text_tokens, n_threads, [w], pp, tg, order))
    rows = []
    for w in widths:
        row: dict[str, Any] = {
            "width": w,
            "llama_batched_bench_tokens_per_s": statistics.median(r[w] for r in raws),
        }
        for kind in kinds:
            row[f"harness_{kind}_tokens_per_s"] = statistics.median(
                run[w][kind]["tokens_per_s"] for run in runs
            )
            row[f"ratio_{kind}"] = statistics.median(
                run[w][kind]["tokens_per_s"] / raw[w] for run, raw in zip(runs, raws, strict=True)
            )
        row["stopped_early"] = max(run[w]["greedy_stops"]["stopped_early"] for run in runs)
        tool = [r[w] for r in raws]
        row["tool_spread"] = max(tool) / min(tool) - 1  # how much the tool itself varied
        rows.append(row)
    return {
        "pp": pp,
        "tg": tg,
        "rounds": rounds,
        "cpu": cpu_model(),
        "model": card_display_name(model_card(model)),
        "model_sha256": model.sha256,
        "n_threads": n_threads,
        "flash_attention": FLASH_ATTENTION,
        "measured": time.strftime("%Y-%m-%d", time.gmtime()),
        "rows": rows,
    }
