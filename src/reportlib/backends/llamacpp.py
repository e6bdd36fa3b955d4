"""The in-process backend: a GGUF model run by llama-cpp-python, deterministically.

Registered for the specs ``default``, ``embedded`` and paths to GGUF files.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reportlib.backends.batched import BatchedGreedyDecoder
from reportlib.backends.chat_template import render_chat_template
from reportlib.backends.interface import (
    Backend,
    Completion,
    ContinuationScores,
    LoadSettings,
    TextModel,
    check_context_size,
    check_max_tokens,
    register_backend,
    shared_prefix_length,
)
from reportlib.backends.llama_runtime import (
    apply_lora_adapter,
    check_loadable,
    silence_llama_logs,
    token_bytes,
    vocab_of,
)
from reportlib.backends.sampling import Sampling, answer_rng, sample_token
from reportlib.backends.specs import ModelFile, is_file_spec, model_card, resolve_model
from reportlib.core.errors import ReportlibError

#: llama.cpp's flash-attention kernels: on the CPU they process a 512-token prompt ~7% and a
#: 4,096-token prompt ~45% faster than the plain path (measured in session 2); llama.cpp's own
#: default ("auto") also enables them. Part of the cache key, since the numerics differ.
FLASH_ATTENTION = True


def decoder_version() -> str:
    """What can change the in-process answers besides the model and the call: the library,
    the decoder's own version and the attention kernels."""
    import llama_cpp

    attention = "flash attention" if FLASH_ATTENTION else "plain attention"
    return f"llama-cpp-python {llama_cpp.__version__}; reportlib greedy decoder v3; {attention}"


class LlamaCppModel(TextModel):
    """A GGUF model run in-process by llama-cpp-python, deterministically."""

    def __init__(
        self,
        model: ModelFile,
        *,
        n_ctx: int = LoadSettings.n_ctx,
        n_threads: int = LoadSettings.n_threads,
        n_batch: int = LoadSettings.n_batch,
        batch_width: int = LoadSettings.batch_width,
    ) -> None:
        from llama_cpp import Llama

        if not isinstance(batch_width, int) or isinstance(batch_width, bool) or batch_width < 1:
            raise ReportlibError(f"batch_width must be a whole number >= 1, not {batch_width!r}")
        self.batch_width = batch_width
        self._decoder: BatchedGreedyDecoder | None = None
        self.model_file = model
        self._card = model_card(model)
        self._n_ctx = check_context_size(n_ctx, self._card["trained_context"])
        self.n_threads, self.n_batch = n_threads, n_batch
        silence_llama_logs()
        try:
            self._llm = Llama(
                model_path=str(model.path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                n_batch=n_batch,
                n_ubatch=n_batch,
                seed=0,
                logits_all=False,
                flash_attn=FLASH_ATTENTION,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ReportlibError(
                f"llama.cpp could not load {str(model.path)!r} "
                f"(architecture {self._card['architecture']!r}): {exc}"
            ) from None
        if model.adapter is not None:  # not Llama(lora_path=...), which installs a NULL adapter
            apply_lora_adapter(self._llm.model, self._llm.ctx, model.adapter.path)
        self._vocab = vocab_of(self._llm)
        #: tokens of the last prompt evaluated by :meth:`complete_tokens` (0: none, or the
        #: state was reset since): only they may be reused by the next prompt
        self._prompt_tokens = 0

    @property
    def name(self) -> str:
        return str(self._card["name"])

    @property
    def card(self) -> dict[str, Any]:
        return self._card

    @property
    def fingerprint(self) -> str:
        return self.model_file.weights_id

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    @property
    def has_chat_template(self) -> bool:
        return bool(self._card["chat_template"])

    @property
    def end_of_text(self) -> str:
        return self._token_text(self._llm.token_eos())

    def _token_text(self, token: int) -> str:
        return self._llm.detokenize([token], special=True).decode("utf-8", errors="replace")

    def cache_identity(self) -> dict[str, Any]:
        return {"model": self.fingerprint, "backend": decoder_version(), "n_ctx": self._n_ctx}

    def batch_identity(self) -> dict[str, Any]:
        return {
            "width": self.batch_width,
            "n_batch": max(self.n_batch, self.batch_width),
            "scheduler": "continuous batching v1",
        }

    @property
    def in_process(self) -> bool:
        return True

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
            raise ReportlibError(f"{self.name} has no chat template; use plain prompts")

        bos, eos = self._token_text(self._llm.token_bos()), self.end_of_text
        return render_chat_template(template, messages, bos, eos, self.name)

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
        check_max_tokens(max_tokens)
        tokens = self.tokenize(prompt)
        if len(tokens) + max_tokens > self._n_ctx:
            raise ReportlibError(
                f"the prompt has {len(tokens)} tokens and asks for {max_tokens} more, which "
                f"does not fit the context window of {self._n_ctx} tokens (no truncation)"
            )
        return self.complete_tokens(
            tokens,
            max_tokens=max_tokens,
            seed=seed,
            stop=stop,
            reuse_prefix=reuse_prefix,
            sampling=sampling,
        )

    def _reset_state(self) -> None:
        """Forget the evaluated tokens (llama-cpp-python's bookkeeping; its next evaluation
        clears the KV cells) and the last prompt, so nothing of them is reused."""
        self._llm.reset()
        self._prompt_tokens = 0

    def reusable_prefix(self, tokens: Sequence[int]) -> int:
        """How many leading tokens of ``tokens`` the KV cache can give without changing the
        answer: whole batches of ``n_batch`` shared with the last prompt evaluated (not its
        generated tokens, which were evaluated one at a time). llama.cpp evaluates a prompt
        in batches of ``n_batch`` from position 0; reusing whole batches only, the rest is
        evaluated in the same batches a fresh evaluation uses, so the KV state, the logits
        and the answer are those of a fresh evaluation, whatever came before (at least one
        token is evaluated again, to refresh the logits)."""
        in_cache = self._llm.input_ids[: min(self._llm.n_tokens, self._prompt_tokens)].tolist()
        shared = min(shared_prefix_length(in_cache, tokens), len(tokens) - 1)
        batch = int(self._llm.n_batch)  # the batch eval() uses (n_batch, at most n_ctx)
        return shared - shared % batch

    def complete_tokens(
        self,
        prompt_tokens: list[int],
        *,
        max_tokens: int,
        seed: int,
        stop: Sequence[str] = (),
        reuse_prefix: bool = False,
        sampling: Sampling | None = None,
    ) -> Completion:
        """Greedy (or, with ``sampling``, sampled) decoding of already-tokenized input,
        decoding the bytes of each token ourselves (no window check: :meth:`complete` does
        it).

        llama-cpp-python's ``create_completion`` drops tokens longer than 32 bytes
        (common in Tamil, Kannada, Thai) from its text; this path does not.
        Without ``reuse_prefix`` the KV state is reset first.
        """
        import llama_cpp

        if sampling is not None:
            if reuse_prefix:
                raise ReportlibError("sampled decoding starts from a fresh state: no reuse_prefix")
            return self._sampled(prompt_tokens, max_tokens, seed, stop, sampling)
        reused = self.reusable_prefix(prompt_tokens) if reuse_prefix else 0
        if reused > 0:
            # generate() reuses the longest prefix of its own bookkeeping: keep only the
            # whole batches, so it removes the rest from the KV cache and evaluates it again
            self._llm.n_tokens = reused
        else:
            self._reset_state()  # independent prompts share no KV state
        evaluated = len(prompt_tokens) - reused
        self._prompt_tokens = len(prompt_tokens)
        self._llm.set_seed(seed)
        raw, n_generated, finish = b"", 0, "length"
        for token in self._llm.generate(
            prompt_tokens,
            top_k=1,
            top_p=1.0,
            min_p=0.0,
            temp=0.0,
            repeat_penalty=1.0,
            reset=True,
        ):
            if llama_cpp.llama_vocab_is_eog(self._vocab, token):
                finish = "stop"
                break
            raw += token_bytes(self._vocab, token)
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

    def _sampled(
        self,
        prompt_tokens: list[int],
        max_tokens: int,
        seed: int,
        stop: Sequence[str],
        sampling: Sampling,
    ) -> Completion:
        """Sampled decoding from a fresh state, with the sampler every in-process path
        shares (:func:`~reportlib.backends.sampling.sample_token`)."""
        import llama_cpp

        rng = answer_rng(seed, prompt_tokens)
        self._reset_state()
        context = list(prompt_tokens)
        self._llm.eval(context)
        raw, n_generated, finish = b"", 0, "length"
        while n_generated < max_tokens:
            token = sample_token(self.last_logits(), context, sampling, rng)
            if llama_cpp.llama_vocab_is_eog(self._vocab, token):
                finish = "stop"
                break
            raw += token_bytes(self._vocab, token)
            n_generated += 1
            context.append(token)
            if any(s in raw.decode("utf-8", errors="ignore") for s in stop):
                finish = "stop"
                break
            if n_generated < max_tokens:
                self._llm.eval([token])
        text = raw.decode("utf-8", errors="replace")
        for s in stop:
            text = text.split(s, 1)[0] if s in text else text
        return Completion(text, len(prompt_tokens), n_generated, finish, len(prompt_tokens))

    def last_logits(self) -> Any:
        """The logits of the last evaluated position, as a numpy view over llama.cpp's."""
        import llama_cpp
        import numpy as np

        pointer = llama_cpp.llama_get_logits_ith(self._llm.ctx, -1)
        return np.ctypeslib.as_array(pointer, shape=(self._llm.n_vocab(),))

    def batched_decoder(self) -> BatchedGreedyDecoder:
        """The model's batched decoder (a second llama.cpp context with ``batch_width``
        sequence slots of ``n_ctx`` cells each), created on first use."""
        if self._decoder is None:
            self._decoder = BatchedGreedyDecoder(
                self.model_file.path,
                width=self.batch_width,
                n_ctx_per_sequence=self._n_ctx,
                n_threads=self.n_threads,
                n_batch=max(self.n_batch, self.batch_width),
                flash_attention=FLASH_ATTENTION,
                lora_path=self.model_file.adapter.path if self.model_file.adapter else None,
            )
        return self._decoder

    def complete_batch(
        self,
        prompts: Sequence[str],
        *,
        max_tokens: int,
        seed: int,
        stop: Sequence[str] = (),
        sampling: Sampling | None = None,
    ) -> list[Completion | ReportlibError]:
        """With ``batch_width`` > 1, the prompts are decoded as parallel sequences of one
        llama.cpp batch (continuous batching; greedy, so ``seed`` changes nothing). The
        answers are deterministic for a given list of prompts and width, but llama.cpp's
        kernels round differently for different batch shapes, so they can differ from the
        single-stream answers (the Performance page measures how often)."""
        if self.batch_width == 1:
            return super().complete_batch(
                prompts, max_tokens=max_tokens, seed=seed, stop=stop, sampling=sampling
            )
        check_max_tokens(max_tokens)
        results = self.batched_decoder().decode(
            [self.tokenize(p) for p in prompts],
            max_tokens=max_tokens,
            stop=stop,
            sampling=sampling,
            seed=seed,
        )
        return [
            ReportlibError(r.error)
            if r.error is not None
            else Completion(
                r.text, r.prompt_tokens, r.completion_tokens, r.finish_reason, r.prompt_tokens
            )
            for r in results
        ]

    # -- measurement primitives (the timing code of reportlib.experiments.context.costs) ---
    def reset_state(self) -> None:
        """Forget the KV cache."""
        self._reset_state()

    def evaluate(self, tokens: Sequence[int]) -> None:
        """Run ``tokens`` through the model, extending the KV cache."""
        self._llm.eval(tokens)

    def sequence_nats(self, tokens: Sequence[int]) -> float:
        """The negative log-likelihood (nats) of ``tokens[1:]``, each given the tokens before
        it, in one llama.cpp batch that asks for every position's logits; the KV cache is
        cleared before and after. At most ``min(n_batch, n_ctx)`` tokens."""
        import llama_cpp
        import numpy as np

        ctx = self._llm.ctx
        capacity = min(int(llama_cpp.llama_n_batch(ctx)), self._n_ctx)
        if not 2 <= len(tokens) <= capacity:
            raise ReportlibError(
                f"a scored sequence needs 2 to {capacity} tokens, not {len(tokens)}; split it "
                "or load the model with a larger n_ctx"
            )
        memory = llama_cpp.llama_get_memory(ctx)
        llama_cpp.llama_memory_clear(memory, True)
        batch = llama_cpp.llama_batch_init(len(tokens), 0, 1)
        try:
            batch.n_tokens = len(tokens)
            for i, token in enumerate(tokens):
                batch.token[i], batch.pos[i], batch.n_seq_id[i] = token, i, 1
                batch.seq_id[i][0] = 0
                batch.logits[i] = i < len(tokens) - 1
            if llama_cpp.llama_decode(ctx, batch) != 0:
                raise ReportlibError("llama.cpp could not evaluate the sequence")
            n_out, n_vocab = len(tokens) - 1, self._llm.n_vocab()
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits(ctx), shape=(n_out, n_vocab))
            targets = np.asarray(tokens[1:])
            nats = 0.0
            for start in range(0, n_out, 32):  # 32 rows at a time: bounded temporary memory
                rows = logits[start : start + 32]
                top = rows.max(axis=1, keepdims=True)
                log_total = top[:, 0] + np.log(np.exp(rows - top).sum(axis=1, dtype=np.float64))
                picked = rows[np.arange(len(rows)), targets[start : start + 32]]
                nats += float((log_total - picked).sum())
            return nats
        finally:
            llama_cpp.llama_batch_free(batch)
            llama_cpp.llama_memory_clear(memory, True)
            self._reset_state()  # the high-level wrapper's own token bookkeeping

    def score_continuations(
        self,
        prompt: str,
        continuations: Sequence[str],
        token_groups: Sequence[int] | None = None,
    ) -> ContinuationScores:
        """-log P(continuation | prompt) per continuation, in nats, and the mass of each
        token group at the first position after the prompt. The prompt is evaluated once;
        each continuation is evaluated after it and its cells removed again, so the prompt's
        KV cache serves every continuation. The KV cache is cleared before and after."""
        import llama_cpp
        import numpy as np

        prompt_tokens = self.tokenize(prompt)
        conts = [self.tokenize(text, add_bos=False) for text in continuations]
        if not prompt_tokens or any(not c for c in conts):
            raise ReportlibError("a prompt and every continuation need at least one token")
        longest = max((len(c) for c in conts), default=0)
        if len(prompt_tokens) + longest > self._n_ctx:
            raise ReportlibError(
                f"the prompt ({len(prompt_tokens)} tokens) and its longest continuation "
                f"({longest}) do not fit the context window of {self._n_ctx} tokens"
            )
        n_vocab = self._llm.n_vocab()
        groups = None
        if token_groups is not None:
            groups = np.asarray(token_groups, dtype=np.int64)
            if groups.shape != (n_vocab,) or (groups < 0).any():
                raise ReportlibError(
                    f"token_groups needs one group id >= 0 per token ({n_vocab}), not "
                    f"{groups.shape[0] if groups.ndim == 1 else groups.shape}"
                )
        ctx = self._llm.ctx
        memory = llama_cpp.llama_get_memory(ctx)
        llama_cpp.llama_memory_clear(memory, True)
        try:
            first = self._decode_rows(prompt_tokens, 0, only_last=True)[0]
            first_log = _log_softmax(first)
            mass: list[float] = []
            if groups is not None:
                mass = np.bincount(groups, weights=np.exp(first_log)).tolist()
            nats = []
            for tokens in conts:
                total = -float(first_log[tokens[0]])
                if len(tokens) > 1:
                    rows = self._decode_rows(tokens[:-1], len(prompt_tokens), only_last=False)
                    total += float(_token_nats(rows, tokens[1:]).sum())
                llama_cpp.llama_memory_seq_rm(memory, 0, len(prompt_tokens), -1)
                nats.append(total)
            return ContinuationScores(nats, [len(c) for c in conts], mass)
        finally:
            llama_cpp.llama_memory_clear(memory, True)
            self._reset_state()  # the high-level wrapper's own token bookkeeping

    def position_logits(self, tokens: Sequence[int]) -> Any:
        """The logits at every position of ``tokens`` (rows x vocabulary, float64), from a
        fresh state, leaving none (tests compare them with another implementation's)."""
        import llama_cpp

        memory = llama_cpp.llama_get_memory(self._llm.ctx)
        llama_cpp.llama_memory_clear(memory, True)
        try:
            return self._decode_rows(tokens, 0, only_last=False)
        finally:
            llama_cpp.llama_memory_clear(memory, True)
            self._reset_state()

    def _decode_rows(self, tokens: Sequence[int], start: int, *, only_last: bool) -> Any:
        """Decode ``tokens`` at positions ``start``.. (sequence 0) in batches of at most
        ``n_batch``; the logits of every token (a copy, rows x vocabulary), or of the last
        one only (one row)."""
        import llama_cpp
        import numpy as np

        ctx, n_vocab = self._llm.ctx, self._llm.n_vocab()
        size = int(llama_cpp.llama_n_batch(ctx))
        rows: list[Any] = []
        batch = llama_cpp.llama_batch_init(size, 0, 1)
        try:
            for offset in range(0, len(tokens), size):
                part = tokens[offset : offset + size]
                batch.n_tokens = len(part)
                for i, token in enumerate(part):
                    batch.token[i], batch.pos[i], batch.n_seq_id[i] = token, start + offset + i, 1
                    batch.seq_id[i][0] = 0
                    is_last = offset + i == len(tokens) - 1
                    batch.logits[i] = is_last or not only_last
                if llama_cpp.llama_decode(ctx, batch) != 0:
                    raise ReportlibError("llama.cpp could not evaluate the sequence")
                if only_last and offset + len(part) < len(tokens):
                    continue  # no logits asked in this part
                n_out = 1 if only_last else len(part)
                out = np.ctypeslib.as_array(llama_cpp.llama_get_logits(ctx), shape=(n_out, n_vocab))
                rows.append(np.array(out, dtype=np.float64))
        finally:
            llama_cpp.llama_batch_free(batch)
        return np.concatenate(rows)

    def greedy_next_token(self) -> int:
        """The argmax of the last evaluated position's logits, read from llama.cpp."""
        import numpy as np

        return int(np.argmax(self.last_logits()))


def _log_softmax(row: Any) -> Any:
    """log P over the vocabulary from one row of logits (float64)."""
    import numpy as np

    top = float(np.max(row))
    return row - top - float(np.log(np.exp(row - top).sum()))


def _token_nats(rows: Any, targets: Sequence[int]) -> Any:
    """-log P of each target token under its row of logits (rows x vocabulary, float64)."""
    import numpy as np

    top = rows.max(axis=1, keepdims=True)
    log_total = top[:, 0] + np.log(np.exp(rows - top).sum(axis=1))
    return log_total - rows[np.arange(len(rows)), np.asarray(targets)]


def _load(spec: str, settings: LoadSettings) -> TextModel:
    return LlamaCppModel(
        resolve_model(spec),
        n_ctx=settings.n_ctx,
        n_threads=settings.n_threads,
        n_batch=settings.n_batch,
        batch_width=settings.batch_width,
    )


def _describe(spec: str) -> dict[str, Any]:
    """The card of a GGUF model, once llama.cpp has shown it can load the file (its
    vocabulary only: fast): a file whose tensor data is missing, or of an architecture
    llama.cpp does not know, is refused as the benchmark refuses it. A header without any
    tensor (a test file) is only described."""
    model = resolve_model(spec)
    if model.info.tensor_count:
        check_loadable(model.path)
    return model_card(model)


LLAMA_CPP_BACKEND = register_backend(
    Backend(name="llama.cpp", matches=is_file_spec, load=_load, describe=_describe)
)
