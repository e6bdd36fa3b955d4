"""The few things every user of llama-cpp-python's bindings needs: quiet logs, captured
logs, and the bytes of a token.

This is the lowest layer that imports ``llama_cpp``; the backend, the tokenizers and the
measurements all use it instead of reaching into llama-cpp-python's private attributes.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reportlib.core.errors import ReportlibError

_SILENT_LOG: Any = None
_LOG_SINK: list[str] | None = None
#: llama.cpp's LLAMA_MAX_SEQ, the most sequences one context decodes at once
#: (``llama_max_parallel_sequences()`` of the pinned llama.cpp; a test checks it): the
#: largest ``batch_width``
MAX_PARALLEL_SEQUENCES = 256


def silence_llama_logs() -> None:
    """Route llama.cpp's log output to nowhere, or to :func:`capture_llama_logs` (once per
    process)."""
    global _SILENT_LOG
    if _SILENT_LOG is not None:
        return
    import llama_cpp

    @llama_cpp.llama_log_callback
    def _ignore(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        if _LOG_SINK is not None:
            _LOG_SINK.append(text.decode("utf-8", errors="replace"))

    _SILENT_LOG = _ignore  # keep a reference: ctypes callbacks must outlive their use
    llama_cpp.llama_log_set(_SILENT_LOG, ctypes.c_void_p(0))


@contextlib.contextmanager
def capture_llama_logs() -> Iterator[list[str]]:
    """Collect what llama.cpp logs inside the block (its own memory accounting, say)."""
    global _LOG_SINK
    silence_llama_logs()
    lines: list[str] = []
    _LOG_SINK = lines
    try:
        yield lines
    finally:
        _LOG_SINK = None


def vocab_of(llm: Any) -> Any:
    """The ``llama_vocab`` pointer of a loaded ``llama_cpp.Llama`` (through its public
    ``model`` pointer)."""
    import llama_cpp

    return llama_cpp.llama_model_get_vocab(llm.model)


def token_bytes(vocab: Any, token_id: int) -> bytes:
    """The bytes of one token, given a ``llama_vocab`` pointer.

    llama-cpp-python's own ``detokenize`` uses a 32-byte buffer and silently returns
    nothing for longer pieces (a Tamil word of 11 letters is 34 bytes); this asks
    llama.cpp again with the size it reports.
    """
    import llama_cpp

    size = 64
    while True:
        buf = ctypes.create_string_buffer(size)
        n = llama_cpp.llama_token_to_piece(
            vocab, llama_cpp.llama_token(token_id), buf, size, 0, False
        )
        if n >= 0:
            return buf.raw[:n]
        size = -n


def check_loadable(path: str | Path) -> None:
    """Refuse a GGUF file llama.cpp cannot load (an unknown architecture, say) before any
    tool or call that could crash on it: load its vocabulary only, then free it."""
    import llama_cpp

    silence_llama_logs()
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    model = llama_cpp.llama_model_load_from_file(str(path).encode(), params)
    if not model:
        raise ReportlibError(f"llama.cpp could not load {str(path)!r}")
    llama_cpp.llama_model_free(model)


def apply_lora_adapter(model: Any, ctx: Any, path: str | Path) -> None:
    """Load a GGUF LoRA adapter for ``model`` (a ``llama_model`` pointer) and apply it, at
    scale 1, to ``ctx`` (a ``llama_context`` pointer of that model).

    llama.cpp answers an adapter it refuses (tensors of another model size, say) with a NULL
    pointer; llama-cpp-python's ``Llama(lora_path=...)`` tests it with ``is None``, which a
    NULL pointer object is not, installs it, and the first decode crashes (SIGSEGV). Here a
    NULL pointer is one clear error. The adapter is freed with the model."""
    import llama_cpp

    with capture_llama_logs() as lines:
        adapter = llama_cpp.llama_adapter_lora_init(model, str(path).encode())
    if not adapter:
        said = [line.strip() for line in lines if "error" in line.lower() or "fail" in line]
        reason = f" ({said[-1]})" if said else ""
        raise ReportlibError(
            f"llama.cpp could not load the LoRA adapter {str(path)!r}{reason}; give an adapter "
            "made for this base model"
        )
    adapters = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(adapter)
    scales = (ctypes.c_float * 1)(1.0)
    if llama_cpp.llama_set_adapters_lora(ctx, adapters, 1, scales):
        raise ReportlibError(f"llama.cpp could not apply the LoRA adapter {str(path)!r}")
