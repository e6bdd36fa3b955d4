"""LoRA instruction tuning on the CPU, exported as a GGUF adapter that llama.cpp applies.

The trainer uses PyTorch + transformers + peft (the optional extra ``pip install -e
.[finetune]``; llama.cpp's own training stops on Gemma's GEGLU backward): transformers loads
the GGUF base (dequantized to F32), peft adds LoRA matrices to the attention and
feed-forward projections, and a plain AdamW loop trains them, deterministically (one seed,
fixed threads, deterministic kernels, eager attention).

Each training item is a request and its reply rendered with the chat template stored in the
base's GGUF (the prompt the book asks it with, its default system prompt included) and
tokenized by llama.cpp; the loss is on the reply's tokens only (and the end of turn that
follows it), as instruction tuning does. Items are packed one after another into blocks of
``block_tokens`` tokens, one block per step, in the dose's order: a dose of ``n`` items is
one pass over them. A control run trains the same number of steps on the same number of
tokens (cycling its items when they are shorter).

The adapter is written as a GGUF LoRA file (F16) for the *original* quantized base. For the
Llama architecture, llama.cpp's converter stores the Q and K projections with their rows
permuted (the rotary halves interleaved, per head), and transformers undoes that when it
loads the GGUF; so the B matrices of ``q_proj`` and ``k_proj`` are permuted back on export
(:func:`permute_rows`, with the query and key head counts), else llama.cpp would apply the
adapter to the wrong rows. Gemma's tensors are not permuted.
"""

from __future__ import annotations

import json
import math
import os
import platform
import resource
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from reportlib.backends.chat_template import render_chat_template
from reportlib.backends.llama_runtime import silence_llama_logs
from reportlib.backends.specs import ModelFile, file_sha256
from reportlib.core.errors import ReportlibError
from reportlib.core.machine import cpu_model
from reportlib.experiments.finetune.data import (
    Pair,
    dose,
    hangul_share,
    load_pairs,
    pairs_sha256,
    split_pairs,
)
from reportlib.experiments.finetune.record import RECORD_VERSION

EXTRA_HINT = "install the fine-tuning extra with `pip install -e .[finetune]`"
#: Hugging Face projection name -> llama.cpp tensor name
GGUF_PROJECTIONS = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
SUPPORTED_ARCHITECTURES = ("gemma3", "llama")
#: the architectures whose GGUF stores Q and K with permuted rows (llama.cpp's converter)
PERMUTED_QK = ("llama",)


@dataclass(frozen=True)
class FinetuneSettings:
    """Every setting of a training run (all recorded)."""

    rank: int = 8
    alpha: float = 16.0
    target_modules: tuple[str, ...] = (
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    )
    block_tokens: int = 256  #: tokens per training step (items packed one after another)
    learning_rate: float = 1e-3
    seed: int = 0
    threads: int = 2
    eval_every: int = 10  #: held-out loss every this many steps (and at 0 and the end)

    def validate(self) -> FinetuneSettings:
        """One clear error for a wrong setting."""
        for name in ("rank", "block_tokens", "threads", "eval_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ReportlibError(f"{name} must be a positive whole number, not {value!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ReportlibError(f"seed must be a whole number >= 0, not {self.seed!r}")
        if self.block_tokens < 8:
            raise ReportlibError(f"block_tokens must be at least 8, not {self.block_tokens}")
        for name in ("alpha", "learning_rate"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise ReportlibError(f"{name} must be a positive number, not {value!r}")
        if self.alpha > 1000:
            raise ReportlibError(f"alpha must be at most 1000, not {self.alpha!r}")
        known = {k.split(".")[1] for k in GGUF_PROJECTIONS}
        unknown = [m for m in self.target_modules if m not in known]
        if not self.target_modules or unknown:
            raise ReportlibError(
                f"target_modules {list(self.target_modules)!r}: each must be one of {sorted(known)}"
            )
        return self


@dataclass(frozen=True)
class TrainingItem:
    """One request and reply as trained on: its tokens, and which of them carry the loss."""

    tokens: list[int]
    loss_mask: list[bool]

    @property
    def reply_tokens(self) -> int:
        return sum(self.loss_mask)


@dataclass
class TrainingRun:
    """What a training run measured (it goes into the record)."""

    train_loss: list[float] = field(default_factory=list)  #: per step
    held_out_loss: list[tuple[int, float]] = field(default_factory=list)  #: (step, loss)
    tokens_seen: int = 0
    loss_tokens_seen: int = 0  #: the reply tokens among them
    steps: int = 0
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    trainable_parameters: int = 0


def require_extra() -> None:
    """Import the optional extra, or say how to install it."""
    try:
        import gguf  # noqa: F401
        import peft  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise ReportlibError(f"fine-tuning needs {exc.name!r}: {EXTRA_HINT}") from None


def library_versions() -> dict[str, str]:
    """The versions that shape a training run."""
    from importlib.metadata import version

    import peft
    import torch
    import transformers

    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "gguf": version("gguf"),
        "python": platform.python_version(),
    }


def load_vocabulary(base: ModelFile) -> Any:
    """llama.cpp's tokenizer and metadata of the GGUF (vocabulary only)."""
    from llama_cpp import Llama

    silence_llama_logs()
    try:
        return Llama(model_path=str(base.path), vocab_only=True, verbose=False)
    except (ValueError, RuntimeError) as exc:
        raise ReportlibError(
            f"llama.cpp cannot read the vocabulary of {str(base.path)!r}: {exc}"
        ) from None


def chat_items(base: ModelFile, pairs: Sequence[Pair], language: str) -> list[TrainingItem]:
    """Each pair's request and reply in ``language`` as the chat template of ``base`` renders
    them: the prompt (no loss) and the reply with the end of turn the template writes after
    it (loss), in llama.cpp's tokens."""
    vocab = load_vocabulary(base)
    template = base.info.metadata.get("tokenizer.chat_template")
    if not isinstance(template, str) or not template:
        raise ReportlibError(
            f"{base.name} has no chat template: instruction tuning needs a chat model"
        )

    def token_text(token: int) -> str:
        return vocab.detokenize([token], special=True).decode("utf-8", errors="replace")

    bos, eos = token_text(vocab.token_bos()), token_text(vocab.token_eos())
    items = []
    for pair in pairs:
        user = [{"role": "user", "content": pair.request(language)}]
        prompt = render_chat_template(template, user, bos, eos, base.name)
        marker = "\x00REPLY\x00"
        turn = render_chat_template(
            template, [*user, {"role": "assistant", "content": marker}], bos, eos, base.name
        )
        after = turn.split(marker, 1)[1].split("\n", 1)[0] if marker in turn else eos
        prompt_tokens = list(vocab.tokenize(prompt.encode(), add_bos=True, special=True))
        reply = pair.reply(language) + after
        reply_tokens = list(vocab.tokenize(reply.encode(), add_bos=False, special=True))
        items.append(
            TrainingItem(
                prompt_tokens + reply_tokens,
                [False] * len(prompt_tokens) + [True] * len(reply_tokens),
            )
        )
    return items


def pack_blocks(
    items: Sequence[TrainingItem], block_tokens: int, steps: int | None = None
) -> list[TrainingItem]:
    """The items one after another, cut into full blocks of ``block_tokens``: one pass (a
    shorter tail is dropped), or exactly ``steps`` blocks, cycling the items."""
    if not items:
        raise ReportlibError("there is nothing to train on")
    tokens: list[int] = []
    mask: list[bool] = []
    wanted = None if steps is None else steps * block_tokens
    while True:
        for item in items:
            tokens += item.tokens
            mask += item.loss_mask
        if wanted is None or len(tokens) >= wanted:
            break
    end = (len(tokens) // block_tokens) * block_tokens if wanted is None else wanted
    if end == 0:
        raise ReportlibError(
            f"the items hold {len(tokens)} tokens, less than one block of {block_tokens}"
        )
    return [
        TrainingItem(tokens[i : i + block_tokens], mask[i : i + block_tokens])
        for i in range(0, end, block_tokens)
    ]


def load_base_for_training(base: ModelFile) -> Any:
    """The GGUF base as a transformers model (F32, eager attention), or one clear error."""
    arch = base.info.metadata.get("general.architecture")
    if arch not in SUPPORTED_ARCHITECTURES:
        raise ReportlibError(
            f"LoRA training and export support the architectures {SUPPORTED_ARCHITECTURES}, "
            f"not {arch!r} ({str(base.path)!r})"
        )
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        model = AutoModelForCausalLM.from_pretrained(
            str(base.path.parent),
            gguf_file=base.path.name,
            dtype=torch.float32,
            attn_implementation="eager",
        )
    except Exception as exc:  # transformers raises many kinds for a file it cannot read
        raise ReportlibError(f"transformers cannot load {str(base.path)!r}: {exc}") from None
    # a GGUF-loaded model refuses to be saved until its GGUF quantization marks are dropped
    model.hf_quantizer = None  # type: ignore[assignment]
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    return model


def _labels(item: TrainingItem) -> Any:
    import torch

    return torch.tensor(
        [[t if m else -100 for t, m in zip(item.tokens, item.loss_mask, strict=True)]]
    )


def reply_loss(model: Any, items: Sequence[TrainingItem]) -> float:
    """The mean loss per reply token of ``items``, each evaluated on its own."""
    import torch

    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for item in items:
            n = item.reply_tokens - (1 if item.loss_mask and item.loss_mask[0] else 0)
            if n <= 0:
                continue
            loss = model(input_ids=torch.tensor([item.tokens]), labels=_labels(item)).loss
            total, count = total + float(loss) * n, count + n
    model.train()
    return total / count if count else math.nan


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def train_lora(
    base: ModelFile,
    blocks: Sequence[TrainingItem],
    held_out: Sequence[TrainingItem],
    settings: FinetuneSettings,
    *,
    progress: Callable[[int, int, float], None] | None = None,
) -> tuple[Any, TrainingRun]:
    """Train a LoRA adapter on ``blocks`` (one step each, in order); returns the peft model
    with the adapter after the last step, and what was measured. Stops with one clear error
    (naming the step) if the loss stops being a finite number."""
    settings.validate()
    require_extra()
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(settings.seed)
    torch.set_num_threads(settings.threads)
    torch.use_deterministic_algorithms(True)
    model = load_base_for_training(base)
    config = LoraConfig(
        r=settings.rank,
        lora_alpha=settings.alpha,  # type: ignore[arg-type]  # peft accepts a float
        lora_dropout=0.0,
        target_modules=list(settings.target_modules),
        bias="none",
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, config)
    run = TrainingRun(
        trainable_parameters=sum(p.numel() for p in model.parameters() if p.requires_grad),
        steps=len(blocks),
    )
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=settings.learning_rate
    )
    run.held_out_loss.append((0, reply_loss(model, held_out)))
    model.train()
    started = time.perf_counter()
    for step, block in enumerate(blocks, start=1):
        loss = model(input_ids=torch.tensor([block.tokens]), labels=_labels(block)).loss
        if not torch.isfinite(loss):
            raise ReportlibError(
                f"the training loss became {float(loss)} at step {step} of {len(blocks)}; "
                f"lower the learning rate (now {settings.learning_rate})"
            )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        run.train_loss.append(loss.item())
        run.tokens_seen += len(block.tokens)
        run.loss_tokens_seen += block.reply_tokens
        if step % settings.eval_every == 0 or step == len(blocks):
            run.held_out_loss.append((step, reply_loss(model, held_out)))
        if progress is not None:
            progress(step, len(blocks), run.train_loss[-1])
    run.seconds = time.perf_counter() - started
    run.peak_rss_mb = _peak_rss_mb()
    return model, run


def permute_rows(weights: Any, heads: int) -> Any:
    """llama.cpp's Q/K row permutation for the Llama architecture (its converter's
    ``permute``): per head, the two rotary halves of the rows are interleaved."""
    rows = weights.shape[0]
    if rows % (2 * heads):
        raise ReportlibError(f"{rows} rows do not split into {heads} heads of two halves")
    return (
        weights.reshape(heads, 2, rows // heads // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def lora_tensors(peft_model: Any, architecture: str, heads: int, kv_heads: int) -> dict[str, Any]:
    """The adapter's matrices under llama.cpp's names (``blk.3.attn_q.weight.lora_a``), as
    F32 numpy arrays in the shapes llama.cpp expects (A: rank x n_in, B: n_out x rank), with
    the rows of Q's and K's B permuted as llama.cpp stores those projections (see the
    module's docstring)."""
    from peft import get_peft_model_state_dict

    out: dict[str, Any] = {}
    for name, tensor in get_peft_model_state_dict(peft_model).items():
        # base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight
        parts = name.split(".")
        layer = parts[parts.index("layers") + 1]
        projection = ".".join(parts[parts.index("layers") + 2 : -2])
        which = {"lora_A": "lora_a", "lora_B": "lora_b"}[parts[-2]]
        array = tensor.detach().to("cpu").float().numpy()
        if architecture in PERMUTED_QK and which == "lora_b":
            if projection == "self_attn.q_proj":
                array = permute_rows(array, heads)
            elif projection == "self_attn.k_proj":
                array = permute_rows(array, kv_heads)
        out[f"blk.{layer}.{GGUF_PROJECTIONS[projection]}.weight.{which}"] = array
    return dict(sorted(out.items()))


def write_adapter_gguf(
    tensors: dict[str, Any], path: Path, *, architecture: str, alpha: float, name: str
) -> None:
    """Write a GGUF LoRA adapter (F16 tensors) as llama.cpp's ``convert_lora_to_gguf.py``
    does: ``general.type = adapter``, ``adapter.type = lora``, ``adapter.lora.alpha``."""
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(str(path), architecture)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_name(name)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
    for tensor_name, array in tensors.items():
        writer.add_tensor(tensor_name, np.ascontiguousarray(array, dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def _staging_file(final: Path) -> Path:
    """An empty temporary file beside ``final``, renamed over it once complete."""
    fd, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".part")
    os.close(fd)
    return Path(name)


@dataclass(frozen=True)
class TrainingPlan:
    """What one adapter is trained on: its items (in one language), held-out items, and the
    number of steps (``None``: one pass over the items)."""

    name: str  #: the adapter's name (its file's stem)
    title: str  #: the name readers see ("Korean LoRA, 80 items")
    language: str  #: "ko" or "en"
    pairs: tuple[Pair, ...]
    held_out: tuple[Pair, ...]
    steps: int | None = None


#: the Korean doses the book ships, in training items (doublings; each inside the next)
DOSES = (20, 40, 80, 160)
KOREAN_PREFIX, CONTROL_PREFIX = "korean", "english"


def shipped_plans() -> list[TrainingPlan]:
    """The adapters ``make finetune`` trains: the Korean doses, then the English control on
    the twin of the largest dose (its steps are matched when it is trained)."""
    pool, held_out = split_pairs(load_pairs())
    plans = [
        TrainingPlan(
            f"{KOREAN_PREFIX}-{n}",
            f"Korean LoRA, {n} items",
            "ko",
            tuple(dose(pool, n)),
            tuple(held_out),
        )
        for n in DOSES
    ]
    largest = plans[-1]
    plans.append(
        TrainingPlan(
            f"{CONTROL_PREFIX}-{DOSES[-1]}",
            f"English LoRA (control), {DOSES[-1]} items",
            "en",
            largest.pairs,
            largest.held_out,
            steps=-1,  # matched to the largest Korean dose when trained
        )
    )
    return plans


def plan_blocks(base: ModelFile, plan: TrainingPlan, settings: FinetuneSettings) -> int:
    """How many steps ``plan`` trains: one pass over its items in full blocks."""
    return len(pack_blocks(chat_items(base, plan.pairs, plan.language), settings.block_tokens))


def training_record(
    base: ModelFile,
    plan: TrainingPlan,
    settings: FinetuneSettings,
    run: TrainingRun,
    adapter_file: Path,
    tensor_count: int,
) -> dict[str, Any]:
    """The record of a training run: inputs' sha256, settings, curves, cost, versions."""
    replies = [p.reply(plan.language) for p in plan.pairs]
    requests = [p.request(plan.language) for p in plan.pairs]
    return {
        "record_version": RECORD_VERSION,
        "name": plan.title,
        "adapter_file": f"{plan.name}.gguf",
        "adapter_sha256": file_sha256(adapter_file),
        "adapter_bytes": adapter_file.stat().st_size,
        "base_model": base.name,
        "base_sha256": base.sha256,
        "language": plan.language,
        "items": len(plan.pairs),
        "item_ids": [p.id for p in plan.pairs],
        "train_sha256": pairs_sha256(plan.pairs, plan.language),
        "held_out_sha256": pairs_sha256(plan.held_out, plan.language),
        "held_out_items": len(plan.held_out),
        "train_characters": sum(map(len, requests + replies)),
        "hangul_share_text": round(hangul_share(requests + replies), 4),
        "hangul_share_replies": round(hangul_share(replies), 4),
        "settings": {**asdict(settings), "target_modules": list(settings.target_modules)},
        "steps": run.steps,
        "trainable_parameters": run.trainable_parameters,
        "tensors": tensor_count,
        "tokens_seen": run.tokens_seen,
        "loss_tokens_seen": run.loss_tokens_seen,
        "seconds": round(run.seconds, 1),
        "tokens_per_second": round(run.tokens_seen / run.seconds, 1) if run.seconds else None,
        "peak_rss_mb": round(run.peak_rss_mb),
        "train_loss": [round(x, 5) for x in run.train_loss],
        "held_out_loss": [[s, round(x, 5)] for s, x in run.held_out_loss],
        "libraries": library_versions(),
        "machine": cpu_model(),
    }


def finetune(
    base: ModelFile,
    plan: TrainingPlan,
    settings: FinetuneSettings,
    adapter_path: str | Path,
    *,
    progress: Callable[[int, int, float], None] | None = None,
) -> dict[str, Any]:
    """Train, then write the adapter and its record (``<adapter>.json``) atomically; nothing
    is written if training fails. Returns the record."""
    adapter_path = Path(adapter_path).expanduser()
    if adapter_path.suffix != ".gguf":
        raise ReportlibError(f"the adapter path must end in .gguf, not {str(adapter_path)!r}")
    settings.validate()
    require_extra()
    items = chat_items(base, plan.pairs, plan.language)
    held_out = chat_items(base, plan.held_out, plan.language)
    if plan.steps is not None and plan.steps < 1:
        raise ReportlibError(f"the plan {plan.name!r} has no steps: match them first")
    blocks = pack_blocks(items, settings.block_tokens, plan.steps)
    peft_model, run = train_lora(base, blocks, held_out, settings, progress=progress)
    meta = base.info.metadata
    architecture = str(meta.get("general.architecture"))
    heads = int(meta.get(f"{architecture}.attention.head_count") or 0)
    kv_heads = int(meta.get(f"{architecture}.attention.head_count_kv") or heads)
    tensors = lora_tensors(peft_model, architecture, heads, kv_heads)
    adapter_path.parent.mkdir(parents=True, exist_ok=True)
    record_path = adapter_path.with_suffix(".json")
    staged = [_staging_file(p) for p in (adapter_path, record_path)]
    try:  # both files are written aside and renamed only when both are complete
        write_adapter_gguf(
            tensors, staged[0], architecture=architecture, alpha=settings.alpha, name=plan.title
        )
        record = training_record(base, plan, settings, run, staged[0], len(tensors))
        record["adapter_file"] = adapter_path.name
        staged[1].write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", "utf-8")
        for tmp, final in zip(staged, (adapter_path, record_path), strict=True):
            os.chmod(tmp, 0o644)  # committed artefacts, readable like any other file
            os.replace(tmp, final)
    finally:
        for tmp in staged:
            tmp.unlink(missing_ok=True)
    return record
