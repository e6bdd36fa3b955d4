"""The one model interface every backend implements, and the registry that picks a backend
for a model spec (in the manner of simonw/llm's model plugins).

A backend is a class that subclasses :class:`TextModel` and a :class:`Backend` entry
registered with :func:`register_backend` that says which specs it understands and how to
load them. :func:`reportlib.backends.loading.load_model` asks the registry. Adding a backend is one
new module that calls :func:`register_backend` (or, from another package, an entry point in
the ``reportlib.backends.loading`` group naming that module).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypedDict

from reportlib.backends.sampling import Sampling
from reportlib.backends.specs import cased_name
from reportlib.core.errors import ReportlibError

DEFAULT_N_CTX = 4096
DEFAULT_THREADS = 2
DEFAULT_BATCH = 512


@dataclass(frozen=True)
class Completion:
    """One completion (greedy, or sampled with a seed)."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    evaluated_tokens: int = -1  #: prompt tokens actually evaluated (-1: not reported)


@dataclass(frozen=True)
class ContinuationScores:
    """How likely a model finds each of several continuations of one prompt, and where its
    probability goes at the first position after the prompt."""

    nats: list[float]  #: -log P(continuation | prompt), per continuation, in nats
    tokens: list[int]  #: tokens per continuation
    group_mass: list[float]  #: P(first token in group g) for each group id of ``token_groups``


@dataclass(frozen=True)
class LoadSettings:
    """How a model is loaded: context window, threads and batch size (fixed for determinism)."""

    n_ctx: int = DEFAULT_N_CTX
    n_threads: int = DEFAULT_THREADS
    n_batch: int = DEFAULT_BATCH
    batch_width: int = 1  #: independent prompts decoded together (backends that can)


class TextModel(ABC):
    """What chapters, measurements and the cache need from a model.

    Greedy decoding unless a call asks for :class:`~reportlib.backends.sampling.Sampling`,
    a seed on every call, and no state shared between independent prompts (unless
    ``reuse_prefix`` asks to keep the KV cache of a shared prefix).
    """

    #: requests a caller may have in flight at once (1 for an in-process model)
    concurrency: int = 1
    #: independent prompts decoded together as parallel sequences (1: one at a time)
    batch_width: int = 1

    @property
    @abstractmethod
    def name(self) -> str:
        """A short display name (GGUF ``general.name``, a server's model id)."""

    @property
    @abstractmethod
    def card(self) -> dict[str, Any]:
        """The model's facts (see :func:`reportlib.backends.specs.model_card`)."""

    @property
    @abstractmethod
    def fingerprint(self) -> str:
        """Identifies the weights (a sha256 for GGUF files)."""

    @property
    @abstractmethod
    def n_ctx(self) -> int:
        """The context window the model was loaded with, in tokens (0: unknown)."""

    @property
    def has_chat_template(self) -> bool:
        """Whether :meth:`format_chat` can render chat messages."""
        return False

    @property
    def end_of_text(self) -> str:
        """The text of the token that ends an answer (the model's end-of-generation token),
        ``""`` when the backend does not know it."""
        return ""

    @abstractmethod
    def cache_identity(self) -> dict[str, Any]:
        """Everything besides the call's own arguments that can change an answer: backend and
        its version, server address, model id and file hash, load settings."""

    def batch_identity(self) -> dict[str, Any]:
        """What besides the width can change a batched answer (the batch size, the
        scheduler's version); part of the cache key of batched answers only."""
        return {"width": self.batch_width}

    @property
    def in_process(self) -> bool:
        """Whether llama.cpp's own timers and memory accounting can be read (an in-process
        llama.cpp model), which latency and memory measurements need."""
        return False

    @abstractmethod
    def tokenize(self, text: str, *, add_bos: bool = True) -> list[int]:
        """The model's own tokens for ``text``."""

    def format_chat(self, messages: list[dict[str, str]]) -> str:
        """A prompt for ``messages`` in the model's chat format."""
        raise ReportlibError(f"{self.name} has no chat template; use plain prompts")

    @abstractmethod
    def complete(
        self,
        prompt: str,
        *,
        max_tokens: int,
        seed: int,
        stop: Sequence[str] = (),
        reuse_prefix: bool = False,
        sampling: Sampling | None = None,
    ) -> Completion:
        """Completion of ``prompt`` from a fresh state (or, with ``reuse_prefix``, keeping
        the KV cache of the prefix it shares with the previous call): greedy, or sampled
        with ``sampling`` from random numbers fixed by ``seed`` and the prompt."""

    def sequence_nats(self, tokens: Sequence[int]) -> float:
        """The negative log-likelihood (nats) of ``tokens[1:]``, each given the tokens before
        it, from a fresh state (bits per character need it; not every backend can)."""
        raise ReportlibError(
            f"{self.name} cannot score text (bits per character need an in-process llama.cpp "
            "model, a GGUF spec)"
        )

    def score_continuations(
        self,
        prompt: str,
        continuations: Sequence[str],
        token_groups: Sequence[int] | None = None,
    ) -> ContinuationScores:
        """-log P(continuation | prompt) of each continuation (its text tokenized without a
        BOS, after the prompt's tokens), and the probability mass of each group of
        ``token_groups`` (a group id per vocabulary token) at the first position after the
        prompt."""
        raise ReportlibError(
            f"{self.name} cannot score text (likelihoods need an in-process llama.cpp "
            "model, a GGUF spec)"
        )

    def complete_batch(
        self,
        prompts: Sequence[str],
        *,
        max_tokens: int,
        seed: int,
        stop: Sequence[str] = (),
        sampling: Sampling | None = None,
    ) -> list[Completion | ReportlibError]:
        """Completions of independent ``prompts`` decoded together (one at a time here; a
        backend with ``batch_width`` > 1 decodes them as parallel sequences). A prompt that
        cannot be answered (too long for the window) gets its error in its place, so the
        others' answers are kept."""
        out: list[Completion | ReportlibError] = []
        for prompt in prompts:
            try:
                out.append(
                    self.complete(
                        prompt,
                        max_tokens=max_tokens,
                        seed=seed,
                        stop=stop,
                        **sampling_arg(sampling),
                    )
                )
            except ReportlibError as exc:
                out.append(exc)
        return out

    def complete_many(
        self,
        prompts: Sequence[str],
        *,
        max_tokens: int,
        seed: int,
        stop: Sequence[str] = (),
        sampling: Sampling | None = None,
    ) -> Iterator[Completion]:
        """Completions of independent ``prompts``, in order; the first failure raises, after
        the answers before it."""
        for start in range(0, len(prompts), max(1, self.batch_width)):
            chunk = prompts[start : start + max(1, self.batch_width)]
            results = self.complete_batch(
                chunk, max_tokens=max_tokens, seed=seed, stop=stop, **sampling_arg(sampling)
            )
            for result in results:
                if isinstance(result, ReportlibError):
                    raise result
                yield result


class SamplingArg(TypedDict, total=False):
    """The optional ``sampling`` keyword of ``complete``: absent means greedy decoding."""

    sampling: Sampling


def sampling_arg(sampling: Sampling | None) -> SamplingArg:
    """``sampling`` as a keyword argument, or none for greedy decoding: a backend written
    before sampling existed (its ``complete`` without the keyword) still answers greedily."""
    return SamplingArg() if sampling is None else SamplingArg(sampling=sampling)


def map_concurrently(
    function: Callable[[str], Completion], prompts: Sequence[str], concurrency: int
) -> Iterator[Completion]:
    """``function`` of each prompt, in order, with up to ``concurrency`` calls at once. After
    a call fails no new one starts (a server that misses its deadline is not asked again for
    every prompt left); the calls in flight finish, then the first failure raises."""
    failed = threading.Event()

    def call(prompt: str) -> Completion:
        if failed.is_set():
            raise ReportlibError("not sent: an earlier request failed")
        try:
            return function(prompt)
        except BaseException:
            failed.set()
            raise

    pool = ThreadPoolExecutor(max_workers=concurrency)
    try:
        yield from pool.map(call, prompts)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def display_name(model: TextModel) -> str:
    """The name a reader sees: the model's name with its size label as the card spells
    it ("270M", not "270m"), "base" for a model without a chat template, the quantization
    when the card knows it, and the architecture when it is Llama's (the report's):
    "Gemma 3 270M base (Q4_K_M)", "SmolLM2 135M Instruct (Q4_1, Llama architecture)"."""
    return card_display_name({**model.card, "name": model.name}, model.has_chat_template)


def card_display_name(card: dict[str, Any], has_chat_template: bool | None = None) -> str:
    """:func:`display_name` from a model card alone (pages that show a card, not a model)."""
    name = cased_name(str(card.get("name") or ""), card.get("size_label"))
    if has_chat_template is None:
        has_chat_template = bool(card.get("chat_template"))
    if not has_chat_template and "base" not in name.lower():
        name += " base"
    details = [str(card["quantization"])] if card.get("quantization") else []
    if card.get("architecture") == "llama":
        details.append("Llama architecture")
    name = f"{name} ({', '.join(details)})" if details else name
    return f"{name} + {card['adapter']}" if card.get("adapter") else name


def model_labels(models: Sequence[TextModel]) -> list[str]:
    """A display label per model (:func:`display_name`), with the start of its fingerprint
    when another model with different weights has the same label (two GGUFs that both
    call themselves "Llama 3" are not pooled as one model). Two loads of one file share
    a label."""
    by_name: dict[str, set[str]] = {}
    for model in models:
        by_name.setdefault(display_name(model), set()).add(model.fingerprint)

    def short(fingerprint: str) -> str:  # an adapter's own sha256, else the weights'
        return fingerprint.rpartition("+lora:")[2].removeprefix("openai-server:")[:12]

    return [
        f"{display_name(m)} ({short(m.fingerprint)})"
        if len(by_name[display_name(m)]) > 1
        else display_name(m)
        for m in models
    ]


@dataclass(frozen=True)
class Backend:
    """A registered backend: which specs it understands and how it loads them."""

    name: str
    matches: Callable[[str], bool]
    load: Callable[[str, LoadSettings], TextModel]
    describe: Callable[[str], dict[str, Any]]  #: the model card, without loading the weights


_REGISTRY: list[Backend] = []


def register_backend(backend: Backend) -> Backend:
    """Add ``backend`` to the registry; a later registration wins over an earlier one for
    the specs both match. Registering a name again replaces the old entry."""
    _REGISTRY[:] = [b for b in _REGISTRY if b.name != backend.name]
    _REGISTRY.append(backend)
    return backend


def unregister_backend(name: str) -> None:
    """Remove the backend called ``name`` (tests use it to clean up)."""
    _REGISTRY[:] = [b for b in _REGISTRY if b.name != name]


def registered_backends() -> list[str]:
    """The names of the registered backends, oldest first."""
    return [b.name for b in _REGISTRY]


def backend_for(spec: str) -> Backend:
    """The backend that understands ``spec`` (the most recently registered that matches)."""
    for backend in reversed(_REGISTRY):
        if backend.matches(spec):
            return backend
    raise ReportlibError(
        f"no backend understands the model spec {spec!r}; registered backends: "
        f"{', '.join(registered_backends()) or 'none'}"
    )


def shared_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading tokens two token lists share."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


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


def check_max_tokens(max_tokens: object) -> int:
    """Validate a ``max_tokens`` argument."""
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens <= 0:
        raise ReportlibError(f"max_tokens must be a positive whole number, not {max_tokens!r}")
    return max_tokens
