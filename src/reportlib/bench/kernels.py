"""The CPU's kernels compared: llama-bench built three ways (portable, native without AMX,
ggml's runtime dispatch), pp512/tg128 each, and whether greedy answers change."""

from __future__ import annotations

import os
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

from reportlib.backends.interface import card_display_name
from reportlib.backends.llama_runtime import check_loadable
from reportlib.backends.specs import ModelFile, model_card
from reportlib.bench.harness import (
    interleaved_rounds,
    median_min_max,
    refuse_adapter,
    run_llama_bench,
)
from reportlib.core.errors import ReportlibError
from reportlib.core.machine import cpu_flags, cpu_model
from reportlib.experiments.probe.prompts import build_probe_prompts, probe_language_codes
from reportlib.site.book_record import machine_note

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
    refuse_adapter(model)
    check_loadable(model.path)
    builds = kernel_bench_binaries(root)
    if "portable" not in builds:
        raise ReportlibError("the portable llama-bench is not built: run `make llama-bench`")
    loaded: dict[str, dict[str, str]] = {name: {} for name in builds}  # CPU backend per build
    samples = interleaved_rounds(
        {
            name: partial(
                run_llama_bench, binary, model, n_threads, n_batch, pp, tg, 1, loaded[name]
            )
            for name, binary in builds.items()
        },
        repeats,
    )
    variants = {name: seen.get("cpu", "built in") for name, seen in loaded.items()}
    summary = {b: {t: median_min_max(v) for t, v in s.items()} for b, s in samples.items()}
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


KERNEL_PHRASE_NAMES = (
    "kernels_provenance",
    "kernels_machine",
    "kernels_best",
    "kernels_best_pp",
    "kernels_best_tg",
    "kernels_answers",
)


def kernel_phrases(record: dict[str, Any] | None) -> dict[str, str]:
    """The kernel comparison as phrases for the Performance page ("not measured" without a
    record)."""
    if record is None:
        missing = "not measured (no book/data/kernel-bench.json: run `make bench`)"
        return dict.fromkeys(KERNEL_PHRASE_NAMES, missing)
    best = record["best"]
    identical = record.get("answers_identical_to_portable")
    if identical:
        others = [
            f"{name}: {n} of {record['answer_prompts']}"
            for name, n in identical.items()
            if name != "portable"
        ]
        answers = (
            "greedy answers of llama.cpp's own `llama-simple` to the probe's "
            f"{record['answer_prompts']} native openings, identical to the portable build's: "
            + "; ".join(others)
        )
    else:
        answers = "the record has no answer comparison"
    return {
        "kernels_provenance": f"Measured on {record['cpu']} (flags: "
        f"{' '.join(record['cpu_flags']) or 'unknown'}), {record['n_threads']} threads, "
        f"model {record['model']}, pp{record['pp']} and tg{record['tg']}, "
        f"{record['repeats']} interleaved rounds",
        "kernels_machine": machine_note(record["cpu"], cpu_model(), "comparison"),
        "kernels_best": f"{best} ({record['builds'][best]['description']})",
        "kernels_best_pp": f"{record['speedup'][best]['pp']:.2f}×",
        "kernels_best_tg": f"{record['speedup'][best]['tg']:.2f}×",
        "kernels_answers": answers,
    }


def kernel_table(record: dict[str, Any]) -> Any:
    """One row per build: how it is built, the CPU backend it ran, tokens/s and speed-ups."""
    import pandas as pd

    rows = []
    identical = record.get("answers_identical_to_portable") or {}
    for name, build in record["builds"].items():
        rows.append(
            {
                "build": name,
                "how it is built": build["description"],
                "CPU kernels loaded": build["cpu_backend"],
                f"prompt processing (pp{record['pp']}), tokens/s": round(build["pp"]["median"]),
                f"generation (tg{record['tg']}), tokens/s": round(build["tg"]["median"], 1),
                "pp vs portable": f"{record['speedup'][name]['pp']:.2f}×",
                "tg vs portable": f"{record['speedup'][name]['tg']:.2f}×",
                "answers as portable": f"{identical[name]} of {record['answer_prompts']}"
                if name in identical
                else "—",
            }
        )
    return pd.DataFrame(rows).set_index("build")
