"""A server backend against the same model in process: throughput of one prompt list, both ways."""

from __future__ import annotations

import time
from typing import Any

from reportlib.backends.http import OpenAIServerModel
from reportlib.backends.interface import card_display_name
from reportlib.backends.llamacpp import LlamaCppModel
from reportlib.backends.specs import ModelFile, model_card
from reportlib.core.errors import ReportlibError
from reportlib.experiments.probe.prompts import build_probe_prompts, probe_language_codes


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
    in-process and through an OpenAI-compatible server at each concurrency, no cache. The
    server runs its own model, without our adapter: a model with one is refused, as every
    benchmark refuses it, rather than timed against a different model."""
    if model.adapter is not None:
        raise ReportlibError(
            "the server comparison times the in-process model against the server's, which "
            f"cannot apply a LoRA adapter of ours; give the base model, not {model.spec!r}"
        )
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
