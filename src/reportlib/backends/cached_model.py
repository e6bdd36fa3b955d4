"""Any :class:`~reportlib.backends.interface.TextModel`, with its completions cached on disk.

Cache keys are built in two places side by side: :func:`completion_key`, from the model's
:meth:`~reportlib.backends.interface.TextModel.cache_identity` (backend, its version, server
address, model id, file hash, load settings) and every argument of the call; and
:func:`measurement_key`, for timings and memory, which also depend on the machine.

A model with ``batch_width`` > 1 decodes independent prompts as parallel sequences, and
llama.cpp's kernels round differently for different batch shapes: an answer can depend on
the prompts decoded beside it. So batched prompts are decoded in fixed chunks of
:data:`CHUNK_SEQUENCES` × width consecutive prompts, and each answer's key holds the width
and a digest of its whole chunk. A rerun after an interruption recomputes whole chunks with
the same companions, so its answers are the answers of an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from reportlib.backends.interface import (
    Completion,
    ContinuationScores,
    TextModel,
    map_concurrently,
    sampling_arg,
)
from reportlib.backends.llamacpp import decoder_version
from reportlib.backends.sampling import Sampling
from reportlib.backends.specs import reportlib_home
from reportlib.core.cache import ResultCache, canonical_json, chunk_digest
from reportlib.core.errors import ReportlibError
from reportlib.core.machine import cpu_model
from reportlib.core.progress import progress_bar


def default_cache() -> ResultCache:
    """The result cache under ``REPORTLIB_HOME`` (``~/.cache/reportlib`` by default)."""
    return ResultCache(reportlib_home() / "results")


#: a batched model decodes its prompts in chunks of this many times its width
CHUNK_SEQUENCES = 4


#: the value of ``reuse_prefix`` in a completion's cache key: the prefix reuse of
#: :meth:`LlamaCppModel.reusable_prefix`, which leaves every answer that of a fresh evaluation
REUSE_PREFIX_MARK = "whole batches"


def completion_key(
    model: TextModel,
    prompt: str,
    *,
    max_tokens: int,
    seed: int,
    stop: Sequence[str],
    reuse_prefix: bool = False,
    batch: dict[str, Any] | None = None,
    sampling: Sampling | None = None,
) -> dict[str, Any]:
    """The cache key of one completion: everything that can change its answer (``batch``:
    the width and chunk digest of a batched decode; ``sampling``: the sampler's settings,
    absent for greedy decoding, so greedy keys are those of before sampling existed)."""
    key: dict[str, Any] = {
        "kind": "completion",
        **model.cache_identity(),
        "prompt": prompt,
        "max_tokens": max_tokens,
        "seed": seed,
        "stop": list(stop),
    }
    if reuse_prefix:
        # whole batches only (the in-process backend's reuse gives a fresh evaluation's
        # answer); answers of the earlier reuse of any shared prefix, marked True, are not used
        key["reuse_prefix"] = REUSE_PREFIX_MARK
    if batch is not None:
        key["batch"] = batch
    if sampling is not None:
        key["sampling"] = sampling.as_key()
    return key


def measurement_key(kind: str, weights_id: str, **settings: Any) -> dict[str, Any]:
    """The cache key of a measurement of an in-process model (timings, memory): what was
    measured (``kind``), the weights (file and adapter: :attr:`ModelFile.weights_id`), the
    machine (CPU model), the decoder's version, and every setting of the measurement."""
    return {
        "kind": kind,
        "model": weights_id,
        "cpu": cpu_model(),
        "backend": decoder_version(),
        **settings,
    }


class CachedModel(TextModel):
    """A :class:`TextModel` whose completions are cached in a :class:`ResultCache`."""

    def __init__(self, model: TextModel, cache: ResultCache | None = None) -> None:
        self.model = model
        self.cache = cache if cache is not None else default_cache()
        self.calls = 0  #: completions actually computed (cache misses)
        #: one record per completion asked for: tokens, whether it came from the cache, and the
        #: seconds its computation took (stored with the cached result; None for old entries)
        self.records: list[dict[str, Any]] = []
        #: one record per likelihood scoring asked for (:meth:`sequence_nats`,
        #: :meth:`score_continuations`): its kind, tokens, whether it came from the cache and,
        #: when computed here, the seconds it took (a cached score keeps no time)
        self.scoring_records: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.concurrency = model.concurrency
        self.batch_width = model.batch_width

    @contextmanager
    def recording(self) -> Iterator[list[dict[str, Any]]]:
        """The usage records of the completions asked for inside the ``with`` block (cached
        or not), in a list that is filled when the block ends."""
        start = len(self.records)
        made: list[dict[str, Any]] = []
        try:
            yield made
        finally:
            made.extend(self.records[start:])

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def card(self) -> dict[str, Any]:
        return self.model.card

    @property
    def fingerprint(self) -> str:
        return self.model.fingerprint

    @property
    def n_ctx(self) -> int:
        return self.model.n_ctx

    @property
    def has_chat_template(self) -> bool:
        return self.model.has_chat_template

    @property
    def end_of_text(self) -> str:
        return self.model.end_of_text

    def cache_identity(self) -> dict[str, Any]:
        return self.model.cache_identity()

    def batch_identity(self) -> dict[str, Any]:
        return self.model.batch_identity()

    @property
    def in_process(self) -> bool:
        return self.model.in_process

    def tokenize(self, text: str, *, add_bos: bool = True) -> list[int]:
        return self.model.tokenize(text, add_bos=add_bos)

    def format_chat(self, messages: list[dict[str, str]]) -> str:
        return self.model.format_chat(messages)

    def complete_many(
        self,
        prompts: Sequence[str],
        *,
        max_tokens: int,
        seed: int,
        stop: Sequence[str] = (),
        sampling: Sampling | None = None,
    ) -> Iterator[Completion]:
        """Completions of ``prompts`` in order, with up to the backend's ``concurrency``
        requests in flight (1 for an in-process model); each is cached as it arrives."""
        answers = self._complete_many(
            prompts, max_tokens=max_tokens, seed=seed, stop=stop, sampling=sampling
        )
        yield from progress_bar(answers, total=len(prompts), desc=self.name, unit="answer")

    def _complete_many(
        self,
        prompts: Sequence[str],
        *,
        max_tokens: int,
        seed: int,
        stop: Sequence[str],
        sampling: Sampling | None,
    ) -> Iterator[Completion]:

        def one(prompt: str) -> Completion:
            return self.complete(
                prompt, max_tokens=max_tokens, seed=seed, stop=stop, **sampling_arg(sampling)
            )

        if self.batch_width > 1:
            size = CHUNK_SEQUENCES * self.batch_width
            for start in range(0, len(prompts), size):
                chunk = list(prompts[start : start + size])
                yield from self._complete_chunk(
                    chunk, max_tokens=max_tokens, seed=seed, stop=stop, sampling=sampling
                )
            return
        if self.concurrency <= 1:
            yield from map(one, prompts)
            return
        yield from map_concurrently(one, prompts, self.concurrency)

    def _complete_chunk(
        self,
        chunk: list[str],
        *,
        max_tokens: int,
        seed: int,
        stop: Sequence[str],
        sampling: Sampling | None,
    ) -> Iterator[Completion]:
        """One chunk of a batched model: all from the cache, or all decoded together (the
        answers of a chunk depend on each other); failures raise after the others are kept."""
        batch = {**self.model.batch_identity(), "chunk": chunk_digest(chunk)}
        unique = list(dict.fromkeys(chunk))  # a prompt asked twice is decoded once
        keys = {
            p: completion_key(
                self.model,
                p,
                max_tokens=max_tokens,
                seed=seed,
                stop=stop,
                batch=batch,
                sampling=sampling,
            )
            for p in unique
        }
        cached = {p: self._cached(key) for p, key in keys.items()}
        if all(hit is not None for hit in cached.values()):
            for prompt in chunk:
                hit = cached[prompt]
                assert hit is not None
                self._record(hit[0], cached=True, seconds=hit[1])
                yield hit[0]
            return
        start = time.perf_counter()
        results = self.model.complete_batch(
            unique, max_tokens=max_tokens, seed=seed, stop=stop, **sampling_arg(sampling)
        )
        share = (time.perf_counter() - start) / len(unique)  # each answer's share of the chunk
        by_prompt = dict(zip(unique, results, strict=True))
        for prompt, result in by_prompt.items():  # keep every answer, even after a failure
            if isinstance(result, Completion):
                self._store(keys[prompt], result, share)
        for prompt in chunk:  # then answer in order, up to the first failure
            result = by_prompt[prompt]
            if isinstance(result, ReportlibError):
                raise result
            self._record(result, cached=False, seconds=share)
            yield result

    def _cached(self, key: dict[str, Any]) -> tuple[Completion, float | None] | None:
        """A cached completion and the seconds its computation took, or ``None``."""
        cached = self.cache.get(key)
        if cached is None:
            return None
        try:
            seconds = cached.pop("compute_seconds", None)
            return Completion(**cached), seconds
        except (TypeError, AttributeError):  # a valid key with a malformed value
            self.cache.discard(key, "its value is not a completion")
            return None

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
        key = completion_key(
            self.model,
            prompt,
            max_tokens=max_tokens,
            seed=seed,
            stop=stop,
            reuse_prefix=reuse_prefix,
            sampling=sampling,
        )
        hit = self._cached(key)
        if hit is not None:
            self._record(hit[0], cached=True, seconds=hit[1])
            return hit[0]
        start = time.perf_counter()
        result = self.model.complete(
            prompt,
            max_tokens=max_tokens,
            seed=seed,
            stop=stop,
            reuse_prefix=reuse_prefix,
            **sampling_arg(sampling),
        )
        seconds = time.perf_counter() - start
        self._store(key, result, seconds)
        self._record(result, cached=False, seconds=seconds)
        return result

    def sequence_nats(self, tokens: Sequence[int]) -> float:
        """The model's :meth:`TextModel.sequence_nats`, cached under the model's identity and
        the tokens (a rebuild or a rerun scores only new lines)."""
        key = {
            "kind": "sequence-nats-v1",
            **self.model.cache_identity(),
            "tokens": hashlib.sha256(canonical_json(list(tokens)).encode()).hexdigest(),
        }
        cached = self.cache.get(key)
        if isinstance(cached, int | float) and not isinstance(cached, bool):
            self._record_scoring("sequence", len(tokens), None)
            return float(cached)
        start = time.perf_counter()
        nats = self.model.sequence_nats(tokens)
        self._record_scoring("sequence", len(tokens), time.perf_counter() - start)
        self.cache.put(key, nats)
        return nats

    def score_continuations(
        self,
        prompt: str,
        continuations: Sequence[str],
        token_groups: Sequence[int] | None = None,
    ) -> ContinuationScores:
        """The model's :meth:`TextModel.score_continuations`, cached under the model's
        identity, the texts and a digest of the token groups."""
        groups = None if token_groups is None else list(map(int, token_groups))
        key = {
            "kind": "continuations-v1",
            **self.model.cache_identity(),
            "prompt": prompt,
            "continuations": list(continuations),
            "groups": None
            if groups is None
            else hashlib.sha256(canonical_json(groups).encode()).hexdigest(),
        }
        cached = self.cache.get(key)
        if isinstance(cached, dict):
            try:
                scores = ContinuationScores(**cached)
            except TypeError:
                self.cache.discard(key, "its value is not a set of scores")
            else:
                self._record_scoring("continuations", sum(scores.tokens), None)
                return scores
        start = time.perf_counter()
        scores = self.model.score_continuations(prompt, continuations, groups)
        self._record_scoring("continuations", sum(scores.tokens), time.perf_counter() - start)
        self.cache.put(key, dataclasses.asdict(scores))
        return scores

    def _record_scoring(self, kind: str, tokens: int, seconds: float | None) -> None:
        """Note one scoring call: computed here when ``seconds`` is given, else cached."""
        with self._lock:
            self.scoring_records.append(
                {
                    "kind": kind,
                    "tokens": tokens,
                    "cached": seconds is None,
                    "compute_seconds": seconds,
                }
            )

    def _store(self, key: dict[str, Any], result: Completion, seconds: float) -> None:
        """Cache a computed answer with the seconds its computation took, and count it."""
        with self._lock:
            self.calls += 1
        self.cache.put(key, {**dataclasses.asdict(result), "compute_seconds": seconds})

    def _record(self, result: Completion, *, cached: bool, seconds: float | None) -> None:
        with self._lock:
            self.records.append(
                {
                    "prompt_tokens": result.prompt_tokens,
                    "evaluated_tokens": result.evaluated_tokens,
                    "completion_tokens": result.completion_tokens,
                    "cached": cached,
                    "compute_seconds": seconds,
                }
            )
