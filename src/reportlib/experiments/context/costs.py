"""What context costs: prompt-processing time, generation speed, KV-cache memory.

Timings depend on the machine; they are cached with the CPU model and thread
count in the key, so a rebuild on the same machine reuses them and two builds
give identical result files, while another machine measures afresh.
"""

from __future__ import annotations

import re
import statistics
import time
from typing import Any

import pandas as pd

from reportlib.backends.cached_model import default_cache, measurement_key
from reportlib.backends.llama_runtime import capture_llama_logs
from reportlib.backends.llamacpp import FLASH_ATTENTION, LlamaCppModel
from reportlib.core.cache import ResultCache
from reportlib.core.html import escape_text
from reportlib.experiments.context.needles import (
    LLAMA3_ARCHITECTURES,
    haystack_sentences,
    kv_cache_bytes,
)

_KV_LINE = re.compile(r"llama_kv_cache: size =\s+([\d.]+) MiB \(\s*(\d+) cells,\s+(\d+) layers")


def filler_tokens(model: LlamaCppModel, count: int) -> list[int]:
    """At least ``count`` tokens of filler text (no BOS), for timing runs."""
    text = " ".join(haystack_sentences(count // 8 + 16))
    tokens = model.tokenize(text, add_bos=False)
    if len(tokens) < count:
        raise ValueError(f"filler too short: {len(tokens)} < {count}")
    return tokens[:count]


def time_prompt_and_generation(
    model: LlamaCppModel, tokens: list[int], generate: int
) -> dict[str, float]:
    """Seconds to process ``tokens`` from an empty KV cache, to the first generated token,
    and the greedy generation rate over ``generate`` tokens (no sampling overhead)."""
    model.reset_state()
    start = time.perf_counter()
    model.evaluate(tokens)
    processed = time.perf_counter()
    token = model.greedy_next_token()
    first = time.perf_counter()
    for _ in range(generate - 1):
        model.evaluate([token])
        token = model.greedy_next_token()
    done = time.perf_counter()
    return {
        "prompt_seconds": processed - start,
        "ttft_seconds": first - start,
        "generation_tokens_per_s": (generate - 1) / (done - first) if generate > 1 else 0.0,
    }


def measure_latency(
    model: LlamaCppModel,
    lengths: list[int],
    repeats: int = 3,
    generate: int = 16,
    cache: ResultCache | None = None,
) -> list[dict[str, Any]]:
    """Prompt processing, time to first token and generation speed at each prompt length,
    ``repeats`` times; cached per machine (CPU model, threads, batch)."""
    cache = cache or default_cache()
    key = measurement_key(
        "latency",
        model.fingerprint,
        threads=model.n_threads,
        batch=model.n_batch,
        n_ctx=model.n_ctx,
        lengths=lengths,
        repeats=repeats,
        generate=generate,
    )

    def measure() -> list[dict[str, Any]]:
        rows = []
        for length in lengths:
            tokens = filler_tokens(model, length)
            for repeat in range(repeats):
                rows.append(
                    {
                        "prompt_tokens": length,
                        "repeat": repeat,
                        **time_prompt_and_generation(model, tokens, generate),
                    }
                )
        return rows

    return cache.get_or_compute(key, measure)


def summarize_latency(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Median, min and max per prompt length for every timing column."""
    out = []
    for length in sorted({r["prompt_tokens"] for r in rows}):
        group = [r for r in rows if r["prompt_tokens"] == length]
        summary: dict[str, Any] = {"prompt_tokens": length, "repeats": len(group)}
        for col in ("prompt_seconds", "ttft_seconds", "generation_tokens_per_s"):
            values = [r[col] for r in group]
            summary |= {
                f"{col}_median": statistics.median(values),
                f"{col}_min": min(values),
                f"{col}_max": max(values),
            }
        out.append(summary)
    return out


def parse_kv_cache_log(lines: list[str]) -> dict[str, float]:
    """llama.cpp's own KV-cache accounting: MiB, cells and layers over all its caches."""
    mib = cells = layers = 0.0
    for match in _KV_LINE.finditer("".join(lines)):
        mib += float(match.group(1))
        cells = max(cells, float(match.group(2)))
        layers += float(match.group(3))
    return {"kv_mib": mib, "cells": cells, "layers": layers}


def measure_kv_cache(model: LlamaCppModel, n_ctx: int, swa_full: bool) -> dict[str, float]:
    """Create a context of ``n_ctx`` tokens and read the KV-cache size llama.cpp allocates."""
    from llama_cpp import Llama

    with capture_llama_logs() as lines:
        llm = Llama(
            model_path=str(model.model_file.path),
            n_ctx=n_ctx,
            n_threads=model.n_threads,
            n_batch=model.n_batch,
            swa_full=swa_full,
            flash_attn=FLASH_ATTENTION,
            verbose=False,
        )
        del llm
    return {"n_ctx": n_ctx, "swa_full": swa_full, **parse_kv_cache_log(lines)}


def resident_mib() -> float:
    """This process's resident memory (VmRSS), in MiB (Linux)."""
    for line in open("/proc/self/status", encoding="ascii"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure_small_model(
    model_file: Any,
    n_threads: int,
    n_batch: int,
    prompt_tokens: int = 512,
    generate: int = 64,
    cache: ResultCache | None = None,
) -> dict[str, float]:
    """Load time, resident memory, prompt and generation speed, CPU-seconds per generated
    token; cached per machine like :func:`measure_latency`."""
    cache = cache or default_cache()
    key = measurement_key(
        "small-model",
        model_file.weights_id,
        threads=n_threads,
        batch=n_batch,
        prompt_tokens=prompt_tokens,
        generate=generate,
    )
    return cache.get_or_compute(
        key, lambda: _measure_small_model(model_file, n_threads, n_batch, prompt_tokens, generate)
    )


def _measure_small_model(
    model_file: Any, n_threads: int, n_batch: int, prompt_tokens: int, generate: int
) -> dict[str, float]:
    before = resident_mib()
    start = time.perf_counter()
    model = LlamaCppModel(
        model_file, n_ctx=prompt_tokens + generate + 8, n_threads=n_threads, n_batch=n_batch
    )
    load_seconds = time.perf_counter() - start
    tokens = filler_tokens(model, prompt_tokens)
    cpu_start = time.process_time()
    timing = time_prompt_and_generation(model, tokens, generate)
    cpu_seconds = time.process_time() - cpu_start
    result = {
        "load_seconds": load_seconds,
        "resident_mib_before": before,
        "resident_mib_after": resident_mib(),
        "prompt_tokens_per_s": prompt_tokens / timing["prompt_seconds"],
        "generation_tokens_per_s": timing["generation_tokens_per_s"],
        "cpu_seconds_per_token": cpu_seconds / (prompt_tokens + generate),
        "file_mib": model_file.size_bytes / 2**20,
    }
    del model
    return result


def kv_cache_table(model: LlamaCppModel, contexts: list[int]) -> list[dict[str, Any]]:
    """llama.cpp's KV-cache size at each ``n_ctx``, full-size and windowed sliding-window
    cache, next to the formula's figure from the GGUF metadata."""
    card = model.card
    return [
        {
            **measure_kv_cache(model, n, full),
            "formula_mib": kv_cache_bytes(card["layers"], card["kv_heads"], card["head_dim"], n)
            / 2**20,
        }
        for n in contexts
        for full in (True, False)
    ]


def full_scale_kv_table(windows: tuple[int, ...] = (8192, 131072)) -> pd.DataFrame:
    """The formula's KV-cache size (f16) for the published Llama 3.1 architectures at each
    window, in GiB (2**30 bytes) to two decimals, so that 3.9375 reads 3.94 and not 3.90."""
    rows = []
    for name, arch in LLAMA3_ARCHITECTURES.items():
        row: dict[str, Any] = {
            "model": name,
            "layers": arch["layers"],
            "KV heads": arch["kv_heads"],
            "head dim": arch["head_dim"],
        }
        for window in windows:
            size = kv_cache_bytes(arch["layers"], arch["kv_heads"], arch["head_dim"], window)
            row[f"KV cache at {window // 1024}k tokens (GiB)"] = round(size / 2**30, 2)
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


def not_measured_over_http(what: str, spec: str) -> Any:
    """A note for a chapter that ``what`` needs the model in process and was not measured
    (an IPython Markdown object, to display or glue)."""
    from IPython.display import Markdown

    return Markdown(
        f"**Not measured:** {escape_text(what)} needs the model loaded in this process "
        f"(llama.cpp's own timers and memory accounting); {escape_text(spec)} is a "
        "server, which does not report them."
    )


#: what the context chapter says in place of the in-process findings when the model is a server
NOT_MEASURED_OVER_HTTP = {
    "paragraph": "Not measured: the model is a server, which reports no timings or memory.",
    "summary": "not measured (the model is a server).",
}


def latency_findings(latency: Any) -> dict[str, str]:
    """The context chapter's sentences on prompt length and time, from its latency summary
    (one row per prompt length, shortest first), worded from the numbers: whether reading
    time grew faster than the length, and whether generation speed changed beyond the
    spread of the repeats (no cause is claimed)."""
    first, last = latency.iloc[0], latency.iloc[-1]
    length_ratio = last.prompt_tokens / first.prompt_tokens
    time_ratio = last.prompt_seconds_median / first.prompt_seconds_median
    if time_ratio > length_ratio * 1.1:
        growth = "faster than the length"
    elif time_ratio < length_ratio / 1.1:
        growth = "more slowly than the length"
    else:
        growth = "in proportion to the length"
    low, high = first, last
    apart = (
        high.generation_tokens_per_s_max < low.generation_tokens_per_s_min
        or high.generation_tokens_per_s_min > low.generation_tokens_per_s_max
    )
    speeds = (
        f"{low.generation_tokens_per_s_median:.1f} tokens per second after the shortest prompt "
        f"and {high.generation_tokens_per_s_median:.1f} after the longest"
    )
    if not apart:
        generation = f"Generation ran at {speeds}; the repeats' ranges overlap."
    else:
        change = (
            "slower"
            if high.generation_tokens_per_s_median < low.generation_tokens_per_s_median
            else "faster"
        )
        generation = f"Generation was {change} after the longer prompt: {speeds}."
    return {
        "paragraph": (
            f"A {length_ratio:.0f}× longer prompt took {time_ratio:.0f}× longer to read "
            f"({first.prompt_seconds_median:.2f} s against {last.prompt_seconds_median:.1f} s): "
            f"the reading time grew {growth}. {generation}"
        ),
        "summary": (
            f"reading a {length_ratio:.0f}× longer prompt took {time_ratio:.0f}× longer on "
            "this machine."
        ),
    }


def kv_findings(kv: Any, n_ctx: int) -> dict[str, str]:
    """The context chapter's sentences on KV-cache memory at the largest window ``n_ctx``,
    from its table (columns n_ctx, swa_full, kv_mib, formula_mib)."""
    big = kv[kv.n_ctx == n_ctx].set_index("swa_full")
    full, window, formula = big.kv_mib[True], big.kv_mib[False], big.formula_mib[True]
    return {
        "paragraph": (
            f"With a full-size cache, llama.cpp's figure matches the formula: at {n_ctx:,} "
            f"tokens, {full:,.0f} MiB measured against {formula:,.0f} MiB computed. When "
            "llama.cpp sizes the cache of the sliding-window layers to their window, the same "
            f"context needs only {window:,.0f} MiB."
        ),
        "summary": (
            f"the KV cache grows linearly with the window, as the formula says ({full:,.0f} MiB "
            f"at {n_ctx:,} tokens), unless the architecture limits it (sliding windows: "
            f"{window:,.0f} MiB)."
        ),
    }
