"""Batched decoding measured: the probe at several batch widths, and the harness's batched
decoder against llama-batched-bench, fed the same inputs."""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reportlib.backends.batched import BatchedGreedyDecoder
from reportlib.backends.cached_model import default_cache, measurement_key
from reportlib.backends.interface import Completion, card_display_name
from reportlib.backends.llamacpp import FLASH_ATTENTION, LlamaCppModel
from reportlib.backends.specs import ModelFile, model_card
from reportlib.bench.harness import refuse_adapter
from reportlib.core.errors import ReportlibError
from reportlib.core.machine import cpu_model
from reportlib.core.progress import progress_bar
from reportlib.experiments.context.needles import haystack_sentences
from reportlib.experiments.probe.prompts import build_probe_prompts, probe_language_codes
from reportlib.site.book_record import machine_note


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
    every_width = sorted(set(widths) | {1})
    for width in progress_bar(every_width, desc="batched probe, by width", unit="width"):
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
    key = measurement_key("batched-probe-v2", model.weights_id, widths=widths, **settings)
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
            if not self.ends_generation(token):
                return token

    def next_token(self, logits: Any) -> int:
        super().next_token(logits)  # the greedy choice is computed, as in a real run
        return self.random_token()


class FullLengthGreedyDecoder(BatchedGreedyDecoder):
    """Greedy decoding that never ends a sequence early: the best token that does not end
    generation, so every sequence runs to ``max_tokens``, as ``llama-batched-bench``'s do."""

    def next_token(self, logits: Any) -> int:
        token = super().next_token(logits)
        if not self.ends_generation(token):
            return token
        masked = logits.copy()
        while self.ends_generation(token):
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
    refuse_adapter(model)
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


BATCHED_PHRASE_NAMES = (
    "batched_bench_provenance",
    "batched_bench_machine",
    "batched_ratio_random",
    "batched_ratio_greedy",
    "batched_ratio_greedy_stops",
    "batched_stops",
    "batched_tool_spread",
)


def _ratio_range(ratios: Sequence[float]) -> str:
    low, high = min(ratios), max(ratios)
    return f"{low:.2f}" if f"{low:.2f}" == f"{high:.2f}" else f"{low:.2f} to {high:.2f}"


def batched_phrases(record: dict[str, Any] | None) -> dict[str, str]:
    """The harness vs ``llama-batched-bench`` comparison as phrases for the Performance page
    ("not measured" without a record)."""
    if record is None:
        missing = "not measured (no book/data/batched-bench.json: run `make bench`)"
        return dict.fromkeys(BATCHED_PHRASE_NAMES, missing)
    rows = record["rows"]
    return {
        "batched_bench_provenance": f"Measured on {record['measured']} on {record['cpu']}, "
        f"{record['n_threads']} threads, model {record['model']}, prompts of "
        f"{record['pp']} tokens and up to {record['tg']} generated tokens per sequence, "
        f"flash attention {'on' if record['flash_attention'] else 'off'} in both, medians of "
        f"{record['rounds']} interleaved rounds",
        "batched_bench_machine": machine_note(record["cpu"], cpu_model(), "comparison"),
        **{
            f"batched_ratio_{kind}": _ratio_range([r[f"ratio_{kind}"] for r in rows])
            for kind in ("random", "greedy", "greedy_stops")
        },
        "batched_stops": stops_phrase(rows),
        "batched_tool_spread": f"{max(r['tool_spread'] for r in rows):.0%}",
    }


def stops_phrase(rows: Sequence[dict[str, Any]]) -> str:
    """How many sequences the model ended early at each width, in words."""
    items: list[str] = []
    for r in rows:
        if r["stopped_early"]:
            noun = "" if items else " sequences"  # said once, after the first count
            items.append(f"{r['stopped_early']} of {r['width']}{noun} at width {r['width']}")
    if not items:
        return "no sequence ended early at any width"
    joined = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
    return f"the model ended its text early in {joined}"


def batched_table(record: dict[str, Any]) -> Any:
    """One row per width: the tool's tokens per second, the harness's ratio to it with each
    input, and how many sequences ended early when the model may end its text."""
    import pandas as pd

    rows = [
        {
            "batch width": r["width"],
            "llama-batched-bench, tokens/s": f"{r['llama_batched_bench_tokens_per_s']:.1f}",
            "harness ÷ tool, random tokens": f"{r['ratio_random']:.2f}",
            "harness ÷ tool, greedy, full length": f"{r['ratio_greedy']:.2f}",
            "harness ÷ tool, greedy, may stop": f"{r['ratio_greedy_stops']:.2f}",
            "sequences that stopped early": r["stopped_early"],
        }
        for r in record["rows"]
    ]
    return pd.DataFrame(rows).set_index("batch width")
