"""reportlib: the tested logic behind the LLaMA 3 report re-run.

Modules, one concern each:

- :mod:`reportlib.errors`: the one exception type users see.
- :mod:`reportlib.languages`: the languages of the report, as data.
- :mod:`reportlib.gguf`: a small reader for GGUF metadata.
- :mod:`reportlib.models`: model specs, the embedded default model, model cards.
- :mod:`reportlib.generation`: deterministic generation behind a small protocol.
- :mod:`reportlib.cache`: atomic on-disk cache of model results.
- :mod:`reportlib.tokenization`: the Llama 3, Qwen and GGUF tokenizers.
- :mod:`reportlib.corpus`: the bundled parallel sample and FLORES-200 loading.
- :mod:`reportlib.tokenstats`: characters per token, premiums, claim checks.
- :mod:`reportlib.render`: escaped HTML for untrusted text.
- :mod:`reportlib.environment`: versions and hardware the results came from.
- :mod:`reportlib.chapters`: the chapter registry and papermill runs.
"""

import os as _os

# The book never touches the network: make the Hugging Face libraries agree.
for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    _os.environ.setdefault(_var, "1")

__version__ = "0.1.0"
