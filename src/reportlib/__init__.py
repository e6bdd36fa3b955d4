"""reportlib: the tested logic behind the LLaMA 3 report re-run.

Modules, one concern each, in the layers of ``ARCHITECTURE.md`` (lowest first; a module
imports only from its own layer or lower ones, and a test checks it):

Foundations
    :mod:`reportlib.errors` the one exception users see; :mod:`reportlib.cache` atomic
    writes and the on-disk result cache; :mod:`reportlib.stats` intervals;
    :mod:`reportlib.sources` published facts as data; :mod:`reportlib.languages` the
    languages of the report; :mod:`reportlib.llama_runtime` llama.cpp logs and token bytes.
Models and text
    :mod:`reportlib.gguf` GGUF metadata; :mod:`reportlib.models` model specs, the embedded
    model, model cards; :mod:`reportlib.chat_template` sandboxed chat templates;
    :mod:`reportlib.backend` the model interface and the backend registry;
    :mod:`reportlib.corpus` parallel text; :mod:`reportlib.judge` language of an answer;
    :mod:`reportlib.answer_quality` degenerate answers and self-introductions;
    :mod:`reportlib.tokenization` the Llama 3, Qwen and GGUF tokenizers.
Backends
    :mod:`reportlib.llamacpp_backend` in-process llama.cpp; :mod:`reportlib.http_backend`
    OpenAI-compatible servers; :mod:`reportlib.batched` many sequences in one llama.cpp
    batch; :mod:`reportlib.cached` any model behind the result cache;
    :mod:`reportlib.backends` ``load_model``: the built-in backends and plugins.
Experiments
    :mod:`reportlib.context` needles and the KV formula; :mod:`reportlib.ruler`
    RULER's harder retrieval tasks; :mod:`reportlib.probe` the
    multilingual probe; :mod:`reportlib.tokenstats` token statistics and checks;
    :mod:`reportlib.render` escaped HTML and glued sentences;
    :mod:`reportlib.environment` versions and hardware; :mod:`reportlib.usage` calls and
    tokens per chapter; :mod:`reportlib.plots`
    figures; :mod:`reportlib.finetune_data` the fine-tune's Korean text and contamination
    checks; :mod:`reportlib.finetune` LoRA training, GGUF export and the training record;
    :mod:`reportlib.perplexity` bits per character by llama.cpp;
    :mod:`reportlib.probe_analysis` probe summaries; :mod:`reportlib.claims` the claims
    ledger; :mod:`reportlib.finetune_analysis`
    base against fine-tune; :mod:`reportlib.costs` timings and memory;
    :mod:`reportlib.bench` the harness against llama.cpp's tools.
Running the book
    :mod:`reportlib.chapters` chapter parameters and papermill runs;
    :mod:`reportlib.book_bench` whole-book costs; :mod:`reportlib.cli` the command line.
"""

import os as _os

# The book never touches the network: make the Hugging Face libraries agree.
for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    _os.environ.setdefault(_var, "1")

__version__ = "0.1.0"
