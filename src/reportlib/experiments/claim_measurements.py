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
from reportlib.backends.interface import display_name, model_labels
from reportlib.backends.llamacpp import LlamaCppModel
from reportlib.backends.loading import load_model
from reportlib.backends.specs import (
    LORA_MARK,
    resolve_model,
    shipped_adapter_path,
)
from reportlib.core import sources
from reportlib.core.errors import ReportlibError
from reportlib.experiments import tokens
from reportlib.experiments.context import costs
from reportlib.experiments.finetune import analysis as finetune_analysis
from reportlib.experiments.finetune.perplexity import paired_bits, score_lines
from reportlib.experiments.finetune.record import load_record
from reportlib.experiments.preference import (
    load_references,
    measure_preference,
    paired_shift,
    script_groups,
)
from reportlib.experiments.probe.analysis import report_observations
from reportlib.experiments.probe.fluency import label_gibberish
from reportlib.experiments.probe.prompts import CHAT_STYLES, probe_language_codes
from reportlib.experiments.probe.runner import run_report_protocol
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
    scorers: list[CachedModel] = field(default_factory=list)  #: models loaded only to score


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


def measure_probe_claims(out: ClaimMeasurements, multilingual: dict[str, Any], **_: Any) -> None:
    """The report's scripts and Russian observations on the multilingual chapter's first chat
    model (greedy answers, labelled as that chapter labels them), and its trained window."""
    specs = multilingual["models"]
    loaded = [
        load_model(spec, n_ctx=multilingual["n_ctx"], batch_width=multilingual["batch_width"])
        for spec in specs
    ]
    main = next((m for m in loaded if m.has_chat_template), loaded[0])
    label = model_labels(loaded)[loaded.index(main)]
    answers = pd.DataFrame(
        run_report_protocol(
            main,
            label,
            probe_language_codes(multilingual["languages"]),
            multilingual["samples" if main.has_chat_template else "base_samples"],
            multilingual["max_tokens"],
            multilingual["seed"],
            ["greedy"],
        )
    )
    if main.has_chat_template:
        scorer = load_model(multilingual["scorer"], n_ctx=512)
        answers = label_gibberish(answers, scorer)
        out.scorers.append(scorer)
    out.book_model = display_name(main)
    scripts, russian = report_observations(answers, out.book_model)
    out.values |= {
        "probe_scripts": scripts,
        "probe_russian": russian,
        "trained_window": main.card["trained_context"],
    }
    out.loaded.append(main)


def measure_finetune_claims(out: ClaimMeasurements, finetune: dict[str, Any], **_: Any) -> None:
    """The chat model against its largest Korean adapter (and the English control) with the
    fine-tuning chapter's settings: Korean asked in Korean, the Korean preference, and
    Korean bits per character (its cached answers and scores are reused)."""
    base, largest, control = finetune["base"], finetune["doses"][-1], finetune["control"]
    specs = [base, *(f"{base}{LORA_MARK}{name}" for name in (largest, control))]
    models = [
        load_model(spec, n_ctx=finetune["n_ctx"], batch_width=finetune["batch_width"])
        for spec in specs
    ]
    labels = model_labels(models)
    scorer = load_model(finetune["scorer"], n_ctx=512)
    out.scorers.append(scorer)
    results = finetune_analysis.probe_models(
        models,
        labels,
        finetune["samples"],
        finetune["max_tokens"],
        finetune["seed"],
        finetune["decodings"],
        scorer,
    )
    pair = finetune_analysis.probe_pair(results, labels[0], labels[1])
    vocabulary = get_tokenizer("model", base)
    groups = script_groups([vocabulary.token_bytes(i) for i in range(vocabulary.vocab_size)])
    korean = probe_language_codes("ko")
    rows = pd.DataFrame(
        [
            row
            for model, label in zip(models, labels, strict=True)
            for row in measure_preference(
                model,
                korean,
                CHAT_STYLES,
                finetune["preference_samples"],
                load_references(),
                groups,
                model_name=label,
            )
        ]
    )
    shift = paired_shift(rows, labels[1], labels[0], finetune_analysis.KOREAN)
    over = paired_shift(rows, labels[1], labels[2], finetune_analysis.KOREAN)
    sentences = flores_sentences("kor_Hang", "devtest")[: finetune["eval_sentences"]]
    bits = paired_bits(score_lines(models[0], sentences), score_lines(models[1], sentences))
    record = load_record(shipped_adapter_path(largest))
    out.values["finetune_korean"] = pair
    out.values["finetune_easy"] = {
        "pair": pair,
        "shift": shift,
        "over_control": over,
    }
    out.values["slm_training"] = {
        "bits": bits,
        "pair": pair,
        "machine": record["machine"],
        "minutes": record["seconds"] / 60,
        "threads": record["settings"]["threads"],
    }
    out.measured_on |= {key: pair.models for key in ("finetune_korean", "slm_training")}
    out.measured_on["finetune_easy"] = f"{pair.models}, and {labels[2]}"
    out.loaded.extend(models)


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
    cost_keys = ("kv_memory", "latency", "input_output", "slm_compute")
    out.measured_on |= dict.fromkeys(cost_keys, display_name(big))


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
    **dict.fromkeys(("finetune_korean", "finetune_easy", "slm_training"), measure_finetune_claims),
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
