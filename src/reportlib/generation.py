"""Deterministic text generation behind a small protocol.

:class:`TextModel` is what chapters use. :class:`LlamaCppModel` implements it
with llama-cpp-python (greedy decoding, a seed on every call, fixed threads and
batch size, KV state reset between independent prompts). :class:`CachedModel`
puts any :class:`TextModel` behind the on-disk :class:`~reportlib.cache.ResultCache`.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from .cache import ResultCache
from .errors import ReportlibError
from .models import ModelFile, model_card, reportlib_home, resolve_model

DEFAULT_N_CTX = 4096
DEFAULT_THREADS = 2
DEFAULT_BATCH = 512
#: llama.cpp's flash-attention kernels: on the CPU they process a 512-token prompt ~7% and a
#: 4,096-token prompt ~45% faster than the plain path (measured in session 2); llama.cpp's own
#: default ("auto") also enables them. Part of the cache key, since the numerics differ.
FLASH_ATTENTION = True


@dataclass(frozen=True)
class Completion:
    """One greedy completion."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    evaluated_tokens: int = -1  #: prompt tokens actually evaluated (-1: not reported)


@runtime_checkable
class TextModel(Protocol):
    """What a chapter needs from a model."""

    @property
    def fingerprint(self) -> str:
        """Identifies the weights (a sha256 for GGUF files)."""

    @property
    def n_ctx(self) -> int:
        """The context window the model was loaded with, in tokens."""

    def tokenize(self, text: str, *, add_bos: bool = True) -> list[int]:
        """The model's own tokens for ``text``."""

    def complete(
        self,
        prompt: str,
        *,
        max_tokens: int,
        seed: int,
        stop: Sequence[str] = (),
        reuse_prefix: bool = False,
    ) -> Completion:
        """Greedy completion of ``prompt`` from a fresh state (or, with ``reuse_prefix``,
        keeping the KV cache of the prefix it shares with the previous call)."""


_SILENT_LOG: Any = None
_LOG_SINK: list[str] | None = None


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
    _LOG_SINK = lines = []
    try:
        yield lines
    finally:
        _LOG_SINK = None


def render_chat_template(
    template: str, messages: list[dict[str, str]], bos: str, eos: str, model_name: str = "model"
) -> str:
    """A chat template from a GGUF file is untrusted code: render it only in
    llama-cpp-python's Jinja formatter, whose environment is an immutable sandbox."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    try:
        formatter = Jinja2ChatFormatter(template, eos_token=eos, bos_token=bos,
                                        add_generation_prompt=True)  # fmt: skip
        return formatter(messages=messages).prompt
    except Exception as exc:  # a template error, or the sandbox refusing unsafe code
        raise ReportlibError(f"the chat template of {model_name} failed: {exc}") from None


def check_context_size(n_ctx: object, trained: int | None) -> int:
    """Validate an ``n_ctx`` parameter against the model's trained context."""
    if not isinstance(n_ctx, int) or isinstance(n_ctx, bool) or n_ctx <= 0:
        raise ReportlibError(f"n_ctx must be a positive whole number of tokens, not {n_ctx!r}")
    if trained and n_ctx > trained:
        raise ReportlibError(
            f"n_ctx={n_ctx} is larger than the model's trained context ({trained} tokens); "
            f"use at most {trained}"
        )
    return n_ctx


class LlamaCppModel:
    """A GGUF model run in-process by llama-cpp-python, deterministically."""

    def __init__(
        self,
        model: ModelFile,
        *,
        n_ctx: int = DEFAULT_N_CTX,
        n_threads: int = DEFAULT_THREADS,
        n_batch: int = DEFAULT_BATCH,
    ) -> None:
        from llama_cpp import Llama

        self.model_file = model
        self.card = model_card(model)
        self._n_ctx = check_context_size(n_ctx, self.card["trained_context"])
        self.n_threads, self.n_batch = n_threads, n_batch
        silence_llama_logs()
        try:
            self._llm = Llama(
                model_path=str(model.path), n_ctx=n_ctx, n_threads=n_threads,
                n_threads_batch=n_threads, n_batch=n_batch, n_ubatch=n_batch,
                seed=0, logits_all=False, flash_attn=FLASH_ATTENTION, verbose=False,
            )  # fmt: skip
        except (ValueError, RuntimeError) as exc:
            raise ReportlibError(
                f"llama.cpp could not load {str(model.path)!r} "
                f"(architecture {self.card['architecture']!r}): {exc}"
            ) from None

    @property
    def fingerprint(self) -> str:
        return self.model_file.sha256

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    @property
    def has_chat_template(self) -> bool:
        return bool(self.card["chat_template"])

    def tokenize(self, text: str, *, add_bos: bool = True) -> list[int]:
        """Tokens of ``text``; control tokens written in it (``<start_of_turn>``) are parsed,
        since chat templates write them, and a BOS the text already has is not doubled."""
        tokens = list(self._llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True))
        bos = self._llm.token_bos()
        if add_bos and len(tokens) > 1 and tokens[0] == tokens[1] == bos:
            tokens = tokens[1:]
        return tokens

    def format_chat(self, messages: list[dict[str, str]]) -> str:
        """Render ``messages`` with the GGUF's chat template, in Jinja's sandbox."""
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ReportlibError(f"{self.card['name']} has no chat template; use plain prompts")

        def token_text(token: int) -> str:
            return self._llm.detokenize([token], special=True).decode("utf-8", errors="replace")

        bos, eos = token_text(self._llm.token_bos()), token_text(self._llm.token_eos())
        return render_chat_template(template, messages, bos, eos, str(self.card["name"]))

    def complete(
        self,
        prompt: str,
        *,
        max_tokens: int,
        seed: int,
        stop: Sequence[str] = (),
        reuse_prefix: bool = False,
    ) -> Completion:
        if max_tokens <= 0:
            raise ReportlibError(f"max_tokens must be positive, not {max_tokens!r}")
        tokens = self.tokenize(prompt)
        if len(tokens) + max_tokens > self._n_ctx:
            raise ReportlibError(
                f"the prompt has {len(tokens)} tokens and asks for {max_tokens} more, which "
                f"does not fit the context window of {self._n_ctx} tokens (no truncation)"
            )
        return self._generate(tokens, max_tokens=max_tokens, seed=seed, stop=stop,
                              reuse_prefix=reuse_prefix)  # fmt: skip

    def _reusable_prefix(self, tokens: list[int]) -> int:
        """How many leading tokens of ``tokens`` are already in the KV cache (llama-cpp-python
        re-evaluates at least one token to refresh the logits)."""
        from .context import shared_prefix_length

        shared = shared_prefix_length(self._llm._input_ids[: self._llm.n_tokens], tokens)
        return shared - 1 if shared == len(tokens) else shared

    def _generate(
        self,
        prompt_tokens: list[int],
        *,
        max_tokens: int,
        seed: int,
        stop: Sequence[str],
        reuse_prefix: bool = False,
    ) -> Completion:
        """Greedy decoding, decoding the bytes of each token ourselves.

        llama-cpp-python's ``create_completion`` drops tokens longer than 32 bytes
        (common in Tamil, Kannada, Thai) from its text; this path does not.
        Without ``reuse_prefix`` the KV state is reset first.
        """
        import llama_cpp

        from .tokenization import llama_token_bytes

        if reuse_prefix:
            evaluated = len(prompt_tokens) - max(self._reusable_prefix(prompt_tokens), 0)
        else:
            self._llm.reset()  # independent prompts share no KV state
            evaluated = len(prompt_tokens)
        self._llm.set_seed(seed)
        vocab = self._llm._model.vocab
        raw, n_generated, finish = b"", 0, "length"
        for token in self._llm.generate(
            prompt_tokens, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0,
            reset=True,
        ):  # fmt: skip
            if llama_cpp.llama_vocab_is_eog(vocab, token):
                finish = "stop"
                break
            raw += llama_token_bytes(self._llm, token)
            n_generated += 1
            text = raw.decode("utf-8", errors="ignore")
            if any(s in text for s in stop):
                finish = "stop"
                break
            if n_generated >= max_tokens:
                break
        text = raw.decode("utf-8", errors="replace")
        for s in stop:
            text = text.split(s, 1)[0] if s in text else text
        return Completion(text, len(prompt_tokens), n_generated, finish, evaluated)


def default_cache() -> ResultCache:
    """The result cache under ``REPORTLIB_HOME`` (``~/.cache/reportlib`` by default)."""
    return ResultCache(reportlib_home() / "results")


class CachedModel:
    """Any :class:`TextModel`, with completions cached on disk.

    The key holds the model fingerprint, the library versions that can change
    the output, and every argument of the call.
    """

    def __init__(self, model: TextModel, cache: ResultCache | None = None) -> None:
        self.model = model
        self.cache = cache if cache is not None else default_cache()
        self.calls = 0  #: completions actually computed (cache misses)
        #: one record per completion asked for: tokens, whether it came from the cache, and the
        #: seconds its computation took (stored with the cached result; None for old entries)
        self.records: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def complete_all(
        self, prompts: Sequence[str], *, max_tokens: int, seed: int, stop: Sequence[str] = ()
    ) -> Iterator[Completion]:
        """Completions of ``prompts`` in order, with up to the backend's ``concurrency``
        requests in flight (1 for an in-process model); each is cached as it arrives."""
        workers = max(1, int(getattr(self.model, "concurrency", 1)))

        def one(prompt: str) -> Completion:
            return self.complete(prompt, max_tokens=max_tokens, seed=seed, stop=stop)

        if workers == 1:
            yield from map(one, prompts)
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            yield from pool.map(one, prompts)

    @property
    def fingerprint(self) -> str:
        return self.model.fingerprint

    @property
    def n_ctx(self) -> int:
        return self.model.n_ctx

    def tokenize(self, text: str, *, add_bos: bool = True) -> list[int]:
        return self.model.tokenize(text, add_bos=add_bos)

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.model, "has_chat_template", False))

    def format_chat(self, messages: list[dict[str, str]]) -> str:
        return self.model.format_chat(messages)  # type: ignore[attr-defined]

    @property
    def name(self) -> str:
        card = getattr(self.model, "card", None)
        return str(card["name"]) if card else self.model.fingerprint[:12]

    def complete(
        self,
        prompt: str,
        *,
        max_tokens: int,
        seed: int,
        stop: Sequence[str] = (),
        reuse_prefix: bool = False,
    ) -> Completion:
        key = {
            "kind": "completion", "model": self.model.fingerprint, "backend": _backend_version(),
            "prompt": prompt, "max_tokens": max_tokens, "seed": seed, "stop": list(stop),
            "n_ctx": self.model.n_ctx,
        }  # fmt: skip
        if not isinstance(self.model, LlamaCppModel):
            key["backend"] = type(self.model).__name__
        if reuse_prefix:
            key["reuse_prefix"] = True
        cached = self.cache.get(key)
        if cached is not None:
            seconds = cached.pop("compute_seconds", None)
            result = Completion(**cached)
            self._record(result, cached=True, seconds=seconds)
            return result
        start = time.perf_counter()
        if reuse_prefix:
            result = self.model.complete(prompt, max_tokens=max_tokens, seed=seed, stop=stop,
                                         reuse_prefix=True)  # fmt: skip
        else:
            result = self.model.complete(prompt, max_tokens=max_tokens, seed=seed, stop=stop)
        seconds = time.perf_counter() - start
        with self._lock:
            self.calls += 1
        self.cache.put(key, {**dataclasses.asdict(result), "compute_seconds": seconds})
        self._record(result, cached=False, seconds=seconds)
        return result

    def _record(self, result: Completion, *, cached: bool, seconds: float | None) -> None:
        with self._lock:
            self.records.append({
                "prompt_tokens": result.prompt_tokens, "evaluated_tokens": result.evaluated_tokens,
                "completion_tokens": result.completion_tokens, "cached": cached,
                "compute_seconds": seconds,
            })  # fmt: skip


def _backend_version() -> str:
    try:
        import llama_cpp

        attention = "flash attention" if FLASH_ATTENTION else "plain attention"
        return f"llama-cpp-python {llama_cpp.__version__}; reportlib greedy decoder v3; {attention}"
    except ImportError:  # pragma: no cover
        return "none"


def load_model(
    spec: str | None = None,
    *,
    n_ctx: int = DEFAULT_N_CTX,
    n_threads: int = DEFAULT_THREADS,
    n_batch: int = DEFAULT_BATCH,
    cache: ResultCache | None = None,
) -> CachedModel:
    """Resolve a model spec, load it with fixed settings, and cache its completions.

    A spec ``openai+http://HOST:PORT/v1#MODEL`` selects the HTTP backend
    (:mod:`reportlib.http_backend`) instead of in-process llama.cpp.
    """
    from .http_backend import OpenAIServerModel, is_server_spec

    if is_server_spec(spec):
        return CachedModel(OpenAIServerModel(str(spec)), cache)
    model = LlamaCppModel(resolve_model(spec), n_ctx=n_ctx, n_threads=n_threads, n_batch=n_batch)
    return CachedModel(model, cache)


def model_card_for(spec: str) -> dict[str, Any]:
    """The card of a GGUF model spec, or what an OpenAI-compatible server tells of its model."""
    from .http_backend import OpenAIServerModel, is_server_spec

    if is_server_spec(spec):
        return dict(OpenAIServerModel(spec).card)
    return model_card(resolve_model(spec))
