"""Continuous batched greedy decoding: many independent prompts in one llama.cpp context.

:class:`BatchedGreedyDecoder` drives llama.cpp's C API through llama-cpp-python's low-level
ctypes bindings. It has ``width`` sequence slots; each prompt runs in a slot as its own
sequence (``seq_id`` = slot number) and every ``llama_decode`` call carries one token for each
sequence that is generating plus prompt tokens of sequences that are joining, up to
``n_batch`` tokens, with logits asked only for each sequence's last token in the batch. When
a sequence finishes, its KV cells are removed and the next waiting prompt takes the slot.

The per-token semantics are those of the in-process backend's single-stream decoder
(``LlamaCppModel``, llama-cpp-python's ``Llama.generate`` with a greedy sampler):
greedy argmax (the first maximum, like llama.cpp's greedy sampler); an end-of-generation
token stops (finish ``"stop"``, not counted, not in the text); the text is the concatenated
bytes of the generated tokens, decoded as UTF-8; generation stops when a stop string appears
(finish ``"stop"``; the text is cut before it) or after ``max_tokens`` tokens (``"length"``).

KV memory: the context is created with ``n_seq_max = width`` and ``kv_unified = False``, so
each sequence has its own KV stream (attention never reads another sequence's cells) of
``llama_n_ctx_seq`` cells. The pinned llama.cpp sets ``n_ctx_seq = n_ctx / n_seq_max``,
rounded *up* to a multiple of 256, so asking for ``n_ctx = width * n_ctx_per_sequence``
gives every sequence at least ``n_ctx_per_sequence`` cells. The decoder enforces the limit
asked for (``len(prompt) + max_tokens <= n_ctx_per_sequence``), not the rounded one, so
which prompts are accepted does not depend on llama.cpp's padding.

Answers are deterministic: the same prompts at the same ``width`` and ``n_batch`` give the
same bytes (the batches are built in a fixed order). They are not batch-invariant: the
pinned llama.cpp's CPU matrix kernels take different paths by batch shape (with the
repacked Q4_K weights llama.cpp uses by default, a token's logits differ, by up to ~0.8,
between a batch of its own sequence and one shared with other sequences), so a greedy choice
can flip. Width 1 gives the single-stream backend's answers byte for byte; at width 4, 9 of
22 short answers (24 tokens) were byte-identical to it, and a prompt's answer can depend on
the other prompts decoded with it.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from reportlib.backends.llama_runtime import apply_lora_adapter, silence_llama_logs, token_bytes
from reportlib.backends.sampling import Sampling, answer_rng, sample_token
from reportlib.core.errors import ReportlibError


@dataclass(frozen=True)
class SequenceResult:
    """The greedy completion of one prompt (or why it was not decoded)."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  #: "stop" | "length" | "error"
    error: str | None = None  #: why the prompt was not decoded (finish "error" only)


@dataclass
class _Sequence:
    """A prompt being decoded in a slot."""

    index: int  #: position in the caller's list of prompts
    seq_id: int
    prompt: list[int]
    fed: int = 0  #: prompt tokens already decoded (also the next position, while prefilling)
    next_token: int | None = None  #: a generated token not yet decoded
    raw: bytearray = field(default_factory=bytearray)
    generated: int = 0
    rng: np.random.Generator | None = None  #: the answer's random numbers, when sampling
    answer: list[int] = field(default_factory=list)  #: generated tokens (for the penalty)

    @property
    def position(self) -> int:
        """The position of the next token to decode (the last generated one, once generating)."""
        return self.fed + self.generated - 1 if self.next_token is not None else self.fed


def _positive_int(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ReportlibError(f"{name} must be a positive whole number, not {value!r}")
    return value


class BatchedGreedyDecoder:
    """Greedy decoding of independent token prompts as parallel sequences of one batch.

    Not thread-safe. Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        *,
        width: int,
        n_ctx_per_sequence: int,
        n_threads: int = 2,
        n_batch: int = 512,
        flash_attention: bool = True,
        lora_path: str | os.PathLike[str] | None = None,
    ) -> None:
        import llama_cpp

        self._llama: Any = llama_cpp
        self._model: Any = None
        self._ctx: Any = None
        self._batch: Any = None
        self.width = _positive_int("width", width)
        self.n_ctx_per_sequence = _positive_int("n_ctx_per_sequence", n_ctx_per_sequence)
        self.n_threads = _positive_int("n_threads", n_threads)
        n_batch = _positive_int("n_batch", n_batch)
        if width > llama_cpp.llama_max_parallel_sequences():
            raise ReportlibError(
                f"width={width} is more than the {llama_cpp.llama_max_parallel_sequences()} "
                "parallel sequences llama.cpp supports"
            )
        if n_batch < width:
            raise ReportlibError(
                f"n_batch={n_batch} is smaller than width={width}: every decode must hold one "
                "token for each generating sequence"
            )
        path = Path(model_path)
        if not path.exists():
            raise ReportlibError(f"model file not found: {str(path)!r}")
        if not path.is_file():
            raise ReportlibError(f"{str(path)!r} is not a file; give the path to a .gguf file")
        silence_llama_logs()
        mparams = llama_cpp.llama_model_default_params()
        model = llama_cpp.llama_model_load_from_file(str(path).encode(), mparams)
        if not model:  # NULL: not a GGUF file, truncated, or an unknown architecture
            raise ReportlibError(f"llama.cpp could not load {str(path)!r} as a GGUF model")
        self._model = model
        try:
            self._open_context(n_batch, flash_attention)
            if lora_path is not None:
                self._apply_adapter(Path(lora_path))
        except BaseException:
            self.close()
            raise

    def _open_context(self, n_batch: int, flash_attention: bool) -> None:
        llama_cpp = self._llama
        trained = llama_cpp.llama_model_n_ctx_train(self._model)
        if trained > 0 and self.n_ctx_per_sequence > trained:
            raise ReportlibError(
                f"n_ctx_per_sequence={self.n_ctx_per_sequence} is larger than the model's "
                f"trained context ({trained} tokens)"
            )
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = self.width * self.n_ctx_per_sequence
        cparams.n_seq_max = self.width
        cparams.kv_unified = False  # one KV stream per sequence
        cparams.n_batch = cparams.n_ubatch = n_batch
        cparams.n_threads = cparams.n_threads_batch = self.n_threads
        cparams.flash_attn_type = (
            llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED
            if flash_attention
            else llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        )
        ctx = llama_cpp.llama_init_from_model(self._model, cparams)
        if not ctx:
            raise ReportlibError(
                f"llama.cpp could not create a context of {self.width} sequences x "
                f"{self.n_ctx_per_sequence} tokens"
            )
        self._ctx = ctx
        #: KV cells each sequence really has (llama.cpp rounds up to a multiple of 256)
        self.n_ctx_seq_actual = int(llama_cpp.llama_n_ctx_seq(ctx))
        seq_max = int(llama_cpp.llama_n_seq_max(ctx))
        if self.n_ctx_seq_actual < self.n_ctx_per_sequence or seq_max != self.width:
            raise ReportlibError(
                f"llama.cpp gave {seq_max} sequences x {self.n_ctx_seq_actual} cells, "
                f"not {self.width} x {self.n_ctx_per_sequence}"
            )
        self.n_batch = min(n_batch, int(llama_cpp.llama_n_batch(ctx)))  # capped at n_ctx
        self._batch = llama_cpp.llama_batch_init(self.n_batch, 0, 1)
        self._vocab = llama_cpp.llama_model_get_vocab(self._model)
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(self._vocab))
        self._bytes: dict[int, bytes] = {}

    def _apply_adapter(self, path: Path) -> None:
        """Load a GGUF LoRA adapter and apply it (scale 1) to the context."""
        apply_lora_adapter(self._model, self._ctx, path)

    def __enter__(self) -> BatchedGreedyDecoder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter exit the bindings may be gone
            self.close()

    def close(self) -> None:
        """Free the batch, the context and the model (safe to call twice)."""
        llama_cpp = getattr(self, "_llama", None)
        if llama_cpp is None:
            return
        if getattr(self, "_batch", None) is not None:
            llama_cpp.llama_batch_free(self._batch)
            self._batch = None
        if getattr(self, "_ctx", None) is not None:
            llama_cpp.llama_free(self._ctx)
            self._ctx = None
        if getattr(self, "_model", None) is not None:
            llama_cpp.llama_model_free(self._model)
            self._model = None

    def _token_bytes(self, token: int) -> bytes:
        piece = self._bytes.get(token)
        if piece is None:
            piece = self._bytes[token] = token_bytes(self._vocab, token)
        return piece

    def _check_prompt(self, tokens: list[int], max_tokens: int) -> str | None:
        """Why ``tokens`` cannot be decoded, or None."""
        if not tokens:
            return "the prompt has no tokens"
        bad = [t for t in tokens if not 0 <= t < self.n_vocab]
        if bad:
            return f"token id {bad[0]} is outside the vocabulary (0..{self.n_vocab - 1})"
        if len(tokens) + max_tokens > self.n_ctx_per_sequence:
            return (
                f"the prompt has {len(tokens)} tokens and asks for {max_tokens} more, which "
                f"does not fit the per-sequence window of {self.n_ctx_per_sequence} tokens "
                "(no truncation)"
            )
        return None

    def decode(
        self,
        prompts: Sequence[Sequence[int]],
        *,
        max_tokens: int,
        stop: Sequence[str] = (),
        progress: Callable[[int], None] | None = None,
        sampling: Sampling | None = None,
        seed: int = 0,
    ) -> list[SequenceResult]:
        """Greedy completions of token ``prompts``, in their order (or, with ``sampling``,
        sampled ones: each sequence draws from its own random numbers, fixed by ``seed``
        and its prompt, with the sampler of the single-stream path).

        A prompt that cannot be decoded (too long for the per-sequence window, empty, or
        with a token outside the vocabulary) gets finish ``"error"`` and a message; the
        others are decoded. ``progress(n)`` is called with the number of prompts finished
        so far each time one finishes.
        """
        if self._ctx is None:
            raise ReportlibError("the decoder is closed")
        _positive_int("max_tokens", max_tokens)
        if isinstance(stop, str):
            raise ReportlibError("stop must be a sequence of strings, not one string")
        stop = list(stop)
        if any(not isinstance(s, str) or not s for s in stop):
            raise ReportlibError(f"stop strings must be non-empty strings, not {stop!r}")
        if any(isinstance(p, str | bytes) for p in prompts):
            raise ReportlibError("prompts must be lists of token ids, not text")
        token_lists = [[int(t) for t in p] for p in prompts]
        results: list[SequenceResult | None] = [None] * len(token_lists)
        done = 0
        waiting: deque[int] = deque()
        for i, tokens in enumerate(token_lists):
            error = self._check_prompt(tokens, max_tokens)
            if error is None:
                waiting.append(i)
            else:
                results[i] = SequenceResult("", len(tokens), 0, "error", error)
                done += 1
        if done and progress is not None:
            progress(done)
        llama_cpp = self._llama
        memory = llama_cpp.llama_get_memory(self._ctx)
        llama_cpp.llama_memory_clear(memory, True)
        free = list(range(self.width))  # seq ids, lowest first
        active: dict[int, _Sequence] = {}
        try:
            while waiting or active:
                while waiting and free:
                    seq_id = free.pop(0)
                    i = waiting.popleft()
                    rng = None if sampling is None else answer_rng(seed, token_lists[i])
                    active[seq_id] = _Sequence(i, seq_id, token_lists[i], rng=rng)
                for seq, token in self._decode_step(active, sampling):
                    result = self._advance(seq, token, max_tokens, stop)
                    if result is None:
                        continue
                    results[seq.index] = result
                    llama_cpp.llama_memory_seq_rm(memory, seq.seq_id, -1, -1)
                    del active[seq.seq_id]
                    free.append(seq.seq_id)
                    free.sort()
                    done += 1
                    if progress is not None:
                        progress(done)
        finally:
            llama_cpp.llama_memory_clear(memory, True)
        assert all(r is not None for r in results)
        return [r for r in results if r is not None]

    def _decode_step(
        self, active: dict[int, _Sequence], sampling: Sampling | None = None
    ) -> list[tuple[_Sequence, int]]:
        """One ``llama_decode``: a token for every generating sequence, then prompt tokens
        of joining sequences (oldest prompt first) up to ``n_batch``; returns the next token
        (greedy, or sampled) of each sequence whose logits were computed."""
        llama_cpp = self._llama
        budget = self.n_batch - sum(s.next_token is not None for s in active.values())
        chunks: dict[int, list[int]] = {}
        for seq in sorted(active.values(), key=lambda s: s.index):
            if seq.next_token is None and budget > 0:
                chunk = seq.prompt[seq.fed : seq.fed + budget]
                chunks[seq.seq_id], budget = chunk, budget - len(chunk)
        batch, n = self._batch, 0
        outputs: list[tuple[int, _Sequence]] = []
        # by seq id: the pinned llama.cpp puts only runs of consecutive seq ids in one ubatch
        for seq_id in sorted(active):
            seq = active[seq_id]
            if seq.next_token is not None:
                tokens, start, last = [seq.next_token], seq.position, True
            elif seq_id in chunks:
                tokens, start = chunks[seq_id], seq.fed
                last = seq.fed + len(tokens) == len(seq.prompt)
            else:
                continue
            for k, token in enumerate(tokens):
                batch.token[n], batch.pos[n], batch.n_seq_id[n] = token, start + k, 1
                batch.seq_id[n][0] = seq_id
                batch.logits[n] = last and k == len(tokens) - 1
                n += 1
            if last:
                outputs.append((n - 1, seq))
            if seq.next_token is None:
                seq.fed += len(tokens)
        batch.n_tokens = n
        status = llama_cpp.llama_decode(self._ctx, batch)
        if status != 0:
            raise ReportlibError(f"llama_decode failed with status {status} on {n} tokens")
        picked = []
        for i, seq in outputs:
            pointer = llama_cpp.llama_get_logits_ith(self._ctx, i)
            if not pointer:
                raise ReportlibError(f"llama.cpp returned no logits for batch row {i}")
            logits = np.ctypeslib.as_array(pointer, shape=(self.n_vocab,))
            if sampling is None or seq.rng is None:
                picked.append((seq, self.next_token(logits)))
            else:
                context = seq.prompt + seq.answer
                picked.append((seq, sample_token(logits, context, sampling, seq.rng)))
        return picked

    def next_token(self, logits: np.ndarray) -> int:
        """The token a sequence takes next, from its logits: the greedy choice (the first
        maximum). The one hook a subclass may override (the benchmark feeds other inputs)."""
        return int(np.argmax(logits))

    def ends_generation(self, token: int) -> bool:
        """Whether ``token`` ends a sequence (an end-of-generation token of the vocabulary)."""
        return bool(self._llama.llama_vocab_is_eog(self._vocab, token))

    def _advance(
        self, seq: _Sequence, token: int, max_tokens: int, stop: list[str]
    ) -> SequenceResult | None:
        """Take the greedy ``token`` for ``seq``; the result when the sequence is finished."""
        seq.next_token = None
        finish = None
        if self.ends_generation(token):
            finish = "stop"
        else:
            seq.raw += self._token_bytes(token)
            seq.generated += 1
            seq.answer.append(token)
            if stop and any(s in seq.raw.decode("utf-8", errors="ignore") for s in stop):
                finish = "stop"
            elif seq.generated >= max_tokens:
                finish = "length"
            else:
                seq.next_token = token
        if finish is None:
            return None
        text = seq.raw.decode("utf-8", errors="replace")
        for s in stop:
            text = text.split(s, 1)[0] if s in text else text
        return SequenceResult(text, len(seq.prompt), seq.generated, finish)
