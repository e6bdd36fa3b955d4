"""What the claims ledger measures, gathered in one place: each rule of
:data:`reportlib.experiments.claims.RULES` (and each measured fact of ``FACTS``) has one
producer here, which computes its
measurement (and names the model or tokenizer it was measured on) with the settings of the
chapter that measures it first, so the chapters' cached answers and timings are reused."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from reportlib.backends.cached_model import CachedModel
from reportlib.backends.interface import display_name
from reportlib.backends.llamacpp import LlamaCppModel
from reportlib.backends.loading import load_model
from reportlib.backends.specs import (
    LORA_MARK,
    SHIPPED_ADAPTER_NAME,
    resolve_model,
    shipped_adapter_path,
)
from reportlib.core import sources
from reportlib.core.errors import ReportlibError
from reportlib.experiments import tokens
from reportlib.experiments.context import costs
from reportlib.experiments.finetune import analysis as finetune_analysis
from reportlib.experiments.finetune.perplexity import paired_bits
from reportlib.experiments.finetune.record import load_record
from reportlib.experiments.probe.analysis import report_observations
from reportlib.experiments.probe.prompts import probe_language_codes
from reportlib.experiments.probe.runner import run_language_probe
from reportlib.text.corpus import flores_sentences, load_corpus
from reportlib.text.tokenization import get_tokenizer

#: the chapters whose parameters the ledger reads (their cached results are reused)
CHAPTERS_READ = ("multilingual", "finetune", "context", "small-models")


@dataclass
class ClaimMeasurements:
    """Every measurement the ledger's rules decide on, with what each was measured on."""

    values: dict[str, Any] = field(default_factory=dict)
    measured_on: dict[str, str] = field(default_factory=dict)
    book_model: str = ""  #: the model the probe verdicts are measured on, as readers read it
    corpus_label: str = ""
    sentences: int = 0
    loaded: list[CachedModel] = field(default_factory=list)  #: for the chapter's usage file


def measure_tokenizer_claims(out: ClaimMeasurements, corpus: str, **_: Any) -> None:
    """The tokenizer's rules of thumb and Qwen's Chinese premium, on ``corpus``."""
    text = load_corpus(corpus, "en,zh")  # English for the rules of thumb, Chinese for Qwen
    llama3, qwen = get_tokenizer("llama3"), get_tokenizer("qwen")
    english = [r for r in tokens.count_language_tokens(llama3, text) if r.code == "eng_Latn"]
    spaces, punctuation = tokens.check_separation(llama3, text.text("eng_Latn"))
    on_text = f"the Llama 3 tokenizer, {text.sentences:,} {text.label} sentences"
    out.corpus_label, out.sentences = text.label, text.sentences
    out.values |= {
        "split_word": tokens.check_split(llama3),
        "chars_per_token": tokens.check_chars_per_token(english),
        "common_words": tokens.check_common_words(llama3),
        "spaces": spaces,
        "punctuation": punctuation,
        "qwen_chinese": tokens.premium_difference(qwen, llama3, text, "zho_Hans"),
    }
    out.measured_on |= {key: on_text for key in ("chars_per_token", "spaces", "punctuation")}
    out.measured_on |= {key: "the Llama 3 tokenizer" for key in ("split_word", "common_words")}
    out.measured_on["qwen_chinese"] = (
        f"the Qwen and Llama 3 tokenizers, {text.sentences:,} {text.label} sentences"
    )


def compare_published_architectures(out: ClaimMeasurements, **_: Any) -> None:
    """Qwen against LLaMA in layers, hidden size and feed-forward width, from the published
    architectures of matched pairs."""
    pairs = sources.compare_matched_pairs()
    for key in ("qwen_layers", "qwen_hidden", "qwen_ffn"):
        out.values[key] = pairs
        out.measured_on[key] = "published architectures"


def measure_probe_claims(
    out: ClaimMeasurements, model: str, multilingual: dict[str, Any], **_: Any
) -> None:
    """The report's scripts and Russian observations, on the multilingual chapter's probe,
    and the model's trained window."""
    llm = load_model(model, n_ctx=multilingual["n_ctx"], batch_width=multilingual["batch_width"])
    answers = run_language_probe(
        llm,
        llm.name,
        probe_language_codes(multilingual["languages"]),
        samples=multilingual["samples"],
        max_tokens=multilingual["max_tokens"],
        seed=multilingual["seed"],
    )
    out.book_model = display_name(llm)
    scripts, russian = report_observations(pd.DataFrame(answers), out.book_model)
    out.values |= {
        "probe_scripts": scripts,
        "probe_russian": russian,
        "trained_window": llm.card["trained_context"],
    }
    out.loaded.append(llm)


def measure_finetune_claims(out: ClaimMeasurements, finetune: dict[str, Any], **_: Any) -> None:
    """The fine-tune's Korean probe and Korean bits per character, base against adapter,
    with the fine-tuning chapter's settings."""
    base = finetune["base"]
    pair_models = [
        load_model(spec, n_ctx=finetune["n_ctx"], batch_width=finetune["batch_width"])
        for spec in (base, f"{base}{LORA_MARK}{SHIPPED_ADAPTER_NAME}")
    ]
    pair = finetune_analysis.probe_pair(
        base, SHIPPED_ADAPTER_NAME, finetune, probe_language_codes("all"), pair_models
    )
    korean = {"ko": flores_sentences("kor_Hang", "devtest")[: finetune["eval_sentences"]]}
    before, after = finetune_analysis.score_pair(pair_models, korean)["ko"]
    record = load_record(shipped_adapter_path())
    out.values["finetune_korean"] = pair
    out.values["slm_training"] = {
        "bits": paired_bits(before, after),
        "machine": record["machine"],
        "minutes": record["seconds"] / 60,
        "threads": record["settings"]["threads"],
    }
    out.measured_on |= {"finetune_korean": pair.models, "slm_training": pair.models}
    out.loaded.extend(pair_models)


def measure_cost_claims(
    out: ClaimMeasurements,
    model: str,
    context: dict[str, Any],
    small_models: dict[str, Any],
    **_: Any,
) -> None:
    """KV-cache memory, prompt latency, input against output cost and a small model's speed,
    with the context and small-models chapters' settings (their cached timings)."""
    big = LlamaCppModel(resolve_model(model), n_ctx=context["n_ctx"])  # timings need llama.cpp
    kv = [costs.measure_kv_cache(big, n, True)["kv_mib"] for n in context["kv_contexts"]]
    timings = costs.summarize_latency(
        costs.measure_latency(big, context["latency_lengths"], context["repeats"])
    )
    slm = costs.measure_small_model(
        resolve_model(model),
        small_models["n_threads"],
        small_models["n_batch"],
        small_models["prompt_tokens"],
        small_models["generate"],
    )
    reference = sources.architecture("Llama 3.1 8B")
    out.values |= {
        "kv_memory": {"contexts": context["kv_contexts"], "mib": kv},
        "latency": {
            "lengths": [t["prompt_tokens"] for t in timings],
            "seconds": [t["prompt_seconds_median"] for t in timings],
        },
        "input_output": timings,
        "slm_compute": {
            "parameters": big.card["parameters"],
            "reference": reference.model,
            "reference_parameters": reference.parameters_b * 1e9,
            "tokens_per_s": slm["generation_tokens_per_s"],
        },
    }


Producer = Callable[..., None]

#: measurement key -> the producer that measures it (a test checks that this covers every
#: rule and measured fact of the ledger)
PRODUCERS: dict[str, Producer] = {
    **dict.fromkeys(
        (
            "split_word",
            "chars_per_token",
            "common_words",
            "spaces",
            "punctuation",
            "qwen_chinese",
        ),
        measure_tokenizer_claims,
    ),
    **dict.fromkeys(("qwen_layers", "qwen_hidden", "qwen_ffn"), compare_published_architectures),
    **dict.fromkeys(("probe_scripts", "probe_russian", "trained_window"), measure_probe_claims),
    **dict.fromkeys(("finetune_korean", "slm_training"), measure_finetune_claims),
    **dict.fromkeys(("kv_memory", "latency", "input_output", "slm_compute"), measure_cost_claims),
}


def gather_claim_measurements(
    model: str, corpus: str, chapter_settings: dict[str, dict[str, Any]]
) -> ClaimMeasurements:
    """Run every producer once (in the order of :data:`PRODUCERS`); ``chapter_settings``
    holds the parameters of each chapter of :data:`CHAPTERS_READ`. Each producer must give
    exactly the measurements it is listed for."""
    missing = [name for name in CHAPTERS_READ if name not in chapter_settings]
    if missing:
        raise ReportlibError(f"the ledger needs the settings of {', '.join(missing)}")
    settings = {name.replace("-", "_"): chapter_settings[name] for name in CHAPTERS_READ}
    out = ClaimMeasurements()
    for producer in dict.fromkeys(PRODUCERS.values()):
        before = set(out.values)
        producer(out, model=model, corpus=corpus, **settings)
        made = set(out.values) - before
        listed = {key for key, p in PRODUCERS.items() if p is producer}
        if made != listed:
            raise ReportlibError(
                f"{producer.__name__} measured {sorted(made)}, but is listed for {sorted(listed)}"
            )
    return out
