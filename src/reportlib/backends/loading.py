"""Loading models by spec: the built-in backends, plugins, and the result cache.

The built-in backends register themselves when their modules are imported here:
:mod:`reportlib.backends.llamacpp` (``default``, ``embedded``, GGUF paths) and
:mod:`reportlib.backends.http` (``openai+http://...``). Other packages add backends through
an entry point in the ``reportlib.backends`` group that names a module calling
:func:`reportlib.backends.interface.register_backend`.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from reportlib.backends import http, llamacpp
from reportlib.backends.cached_model import CachedModel
from reportlib.backends.interface import (
    DEFAULT_BATCH,
    DEFAULT_N_CTX,
    DEFAULT_THREADS,
    LoadSettings,
    TextModel,
    backend_for,
)
from reportlib.backends.specs import (
    DEFAULT_SPEC,
    EMBEDDED_CHAT_SPEC,
    EMBEDDED_SPEC,
    LORA_MARK,
    SHIPPED_ADAPTER_NAME,
    parse_spec,
    resolve_spec,
    shipped_adapter_names,
)
from reportlib.core.cache import ResultCache, canonical_json
from reportlib.core.errors import ReportlibError

BUILT_IN = (llamacpp.LLAMA_CPP_BACKEND.name, http.HTTP_BACKEND.name)
_plugins_loaded = False


def load_plugins() -> None:
    """Import the modules named by entry points of the ``reportlib.backends`` group (once)."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for entry in entry_points(group="reportlib.backends"):
        try:
            entry.load()
        except Exception as exc:  # a broken plugin must not hide the built-in backends
            raise ReportlibError(
                f"the backend plugin {entry.name!r} failed to load: {exc}"
            ) from None


def load_model(
    spec: str | None = None,
    *,
    n_ctx: int = DEFAULT_N_CTX,
    n_threads: int = DEFAULT_THREADS,
    n_batch: int = DEFAULT_BATCH,
    batch_width: int = 1,
    cache: ResultCache | None = None,
) -> CachedModel:
    """Resolve a model spec, load it with the backend that understands it, with fixed
    settings, and cache its completions."""
    load_plugins()
    spec = resolve_spec(spec)
    parse_spec(spec)  # one clear error for a form no backend accepts
    settings = LoadSettings(
        n_ctx=n_ctx, n_threads=n_threads, n_batch=n_batch, batch_width=batch_width
    )
    return CachedModel(backend_for(spec).load(spec, settings), cache)


def model_card_for(spec: str | None) -> dict[str, Any]:
    """The card of a model spec, from the backend that understands it (GGUF metadata, or
    what a server tells of its model), without loading weights."""
    load_plugins()
    spec = resolve_spec(spec)
    parse_spec(spec)
    return backend_for(spec).describe(spec)


def spec_in_folder(spec: str, folder: Path) -> str:
    """``spec`` with the files it names (a GGUF model, a LoRA adapter) made absolute against
    ``folder`` when relative, so that it means the same in a process that runs elsewhere (a
    chapter's kernel runs in ``notebooks/``). ``default``, ``embedded``, ``embedded-chat``,
    the shipped adapters (``korean``, ``korean-20``...), servers and the specs of other
    backends are left as they are."""
    load_plugins()
    parsed = parse_spec(spec)
    base, adapter = parsed.base, parsed.adapter
    try:
        is_file = backend_for(base).name == llamacpp.LLAMA_CPP_BACKEND.name
    except ReportlibError:  # no backend understands it: loading will say so
        return spec
    if is_file and base not in (DEFAULT_SPEC, EMBEDDED_SPEC, EMBEDDED_CHAT_SPEC):
        base = str(folder / Path(base).expanduser())
    if adapter is not None and adapter not in {SHIPPED_ADAPTER_NAME, *shipped_adapter_names()}:
        adapter = str(folder / Path(adapter).expanduser())
    return base if adapter is None else f"{base}{LORA_MARK}{adapter}"


#: the models whose answers the book archives (the answer archive's verification loads them)
ARCHIVED_MODEL_SPECS = (EMBEDDED_SPEC, EMBEDDED_CHAT_SPEC)


def archived_model_loader(
    specs: tuple[str, ...] = ARCHIVED_MODEL_SPECS,
) -> Callable[[dict[str, Any]], TextModel | None]:
    """A loader for :func:`reportlib.core.answer_archive.verify_archive`: the model of
    ``specs`` (uncached) whose identity and batch settings are those of an archived key, or
    None. One model is kept loaded at a time."""
    loaded: dict[tuple[Any, ...], TextModel | None] = {}

    def load(key: dict[str, Any]) -> TextModel | None:
        batch = {k: v for k, v in (key.get("batch") or {}).items() if k != "chunk"}
        wanted = (key.get("model"), key.get("n_ctx"), canonical_json(batch))
        if wanted not in loaded:
            loaded.clear()  # free the previous model's memory first
            loaded[wanted] = _matching_model(specs, key, batch)
        return loaded[wanted]

    return load


def _matching_model(
    specs: tuple[str, ...], key: dict[str, Any], batch: dict[str, Any]
) -> TextModel | None:
    identity = {name: key.get(name) for name in ("model", "backend", "n_ctx")}
    for spec in specs:
        spec = resolve_spec(spec)
        if model_card_for(spec).get("sha256") not in (None, key.get("model")):
            continue
        settings = LoadSettings(
            n_ctx=int(key["n_ctx"]),
            n_threads=DEFAULT_THREADS,
            n_batch=int(batch.get("n_batch", DEFAULT_BATCH)),
            batch_width=int(batch.get("width", 1)),
        )
        model = backend_for(spec).load(spec, settings)
        if model.cache_identity() == identity and (not batch or model.batch_identity() == batch):
            return model
    return None
