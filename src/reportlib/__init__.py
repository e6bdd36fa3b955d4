"""reportlib: the tested logic behind the LLaMA 3 report re-run.

Its subpackages are the layers of ``ARCHITECTURE.md`` (lowest first: ``core``, ``backends``,
``text``, ``experiments``, ``site``, ``bench``, then ``cli``); that file is the one map of
them, and ``tests/test_architecture.py`` checks the code against it.
"""

import os as _os

# The book never touches the network: make the Hugging Face libraries agree.
for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    _os.environ.setdefault(_var, "1")

__version__ = "0.1.0"
