"""LoRA fine-tuning on the CPU, exported as a GGUF adapter that llama.cpp applies at load time.

llama.cpp's own training stops on Gemma ("unsupported glu op for backward pass: GEGLU"), so
the trainer uses PyTorch + transformers + peft (the optional extra ``pip install -e
.[finetune]``): transformers loads the GGUF base (dequantized to F32), peft adds LoRA
matrices to the attention and feed-forward projections, and a plain AdamW loop trains them,
deterministically (one seed, fixed threads, deterministic kernels, eager attention). The
adapter is written as a GGUF LoRA file (F16) for the *original* quantized base, which the
book then runs through the same llama.cpp backend, cache and probe as every other model (spec
``default+lora:PATH``). Training writes the adapter and a record (inputs' sha256, settings,
loss curves, library versions, wall time, machine) atomically; :func:`verify_record` checks a
committed adapter against its record before the book uses it.
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

from reportlib.backends.llama_runtime import silence_llama_logs
from reportlib.backends.specs import ModelFile, file_sha256
from reportlib.core.errors import ReportlibError
from reportlib.core.machine import cpu_model
from reportlib.experiments.finetune.data import TrainingText
from reportlib.experiments.finetune.record import RECORD_VERSION

EXTRA_HINT = "install the fine-tuning extra with `pip install -e .[finetune]`"
#: Hugging Face projection name -> llama.cpp tensor name, for the architectures whose GGUF
#: tensors transformers loads without permuting them (Llama's q/k are permuted: not here)
GGUF_PROJECTIONS = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
SUPPORTED_ARCHITECTURES = ("gemma3",)


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
    context_length: int = 256  #: tokens per training block, BOS included
    steps: int = 150
    learning_rate: float = 1e-4
    seed: int = 0
    threads: int = 2
    eval_every: int = 10  #: held-out loss every this many steps (and at 0 and the end)
    eval_blocks: int = 8  #: held-out blocks in each of those evaluations

    def validate(self) -> FinetuneSettings:
        """One clear error for a wrong setting."""
        for name in ("rank", "context_length", "steps", "threads", "eval_every", "eval_blocks"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ReportlibError(f"{name} must be a positive whole number, not {value!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ReportlibError(f"seed must be a whole number >= 0, not {self.seed!r}")
        if self.context_length < 8:
            raise ReportlibError(
                f"context_length must be at least 8 tokens, not {self.context_length}"
            )
        for name in ("alpha", "learning_rate"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise ReportlibError(f"{name} must be a positive number, not {value!r}")
        known = {k.split(".")[1] for k in GGUF_PROJECTIONS}
        unknown = [m for m in self.target_modules if m not in known]
        if not self.target_modules or unknown:
            raise ReportlibError(
                f"target_modules {list(self.target_modules)!r}: each must be one of "
                f"{sorted(k.split('.')[1] for k in GGUF_PROJECTIONS)}"
            )
        return self


@dataclass
class TrainingRun:
    """What a training run measured (it goes into the record)."""

    train_loss: list[float] = field(default_factory=list)  #: per step
    held_out_loss: list[tuple[int, float]] = field(default_factory=list)  #: (step, loss)
    tokens_seen: int = 0
    #: the step whose adapter is kept: the lowest held-out loss of the evaluations (early
    #: stopping; 0 would mean no step helped, and the adapter is then the untrained one)
    selected_step: int = 0
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


def training_blocks(tokens: Sequence[int], context_length: int, bos: int) -> list[list[int]]:
    """Consecutive blocks of ``context_length - 1`` text tokens, each after a BOS (as llama.cpp
    starts every prompt); a shorter tail is dropped."""
    width = context_length - 1
    return [[bos, *tokens[i : i + width]] for i in range(0, len(tokens) - width + 1, width)]


def load_tokenizer(base: ModelFile) -> Any:
    """llama.cpp's tokenizer of the GGUF (vocabulary only; the same ids transformers uses)."""
    from llama_cpp import Llama

    silence_llama_logs()
    try:
        return Llama(model_path=str(base.path), vocab_only=True, verbose=False)
    except (ValueError, RuntimeError) as exc:
        raise ReportlibError(
            f"llama.cpp cannot read the vocabulary of {str(base.path)!r}: {exc}"
        ) from None


def text_tokens(vocab: Any, text: str) -> list[int]:
    """Tokens of ``text`` without BOS (control-token text is not parsed)."""
    return list(vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False))


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


def _mean_loss(model: Any, blocks: Sequence[Sequence[int]]) -> float:
    import torch

    model.eval()
    with torch.no_grad():
        losses = [
            float(model(input_ids=torch.tensor([b]), labels=torch.tensor([b])).loss) for b in blocks
        ]
    model.train()
    return sum(losses) / len(losses)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def train_lora(
    base: ModelFile,
    text: TrainingText,
    settings: FinetuneSettings,
    *,
    progress: Callable[[int, int, float], None] | None = None,
) -> tuple[Any, TrainingRun]:
    """Train a LoRA adapter on ``text.train``; returns the peft model, holding the adapter of
    the evaluation with the lowest held-out loss (early stopping: training runs all
    ``steps`` so the curves show what came after), and what was measured. Stops with one
    clear error (naming the step) if the loss stops being a finite number."""
    settings.validate()
    require_extra()
    import numpy as np
    import torch
    from peft import LoraConfig, get_peft_model

    vocab = load_tokenizer(base)
    bos = vocab.token_bos()
    train_tokens = text_tokens(vocab, text.train)
    blocks = training_blocks(train_tokens, settings.context_length, bos)
    if not blocks:
        raise ReportlibError(
            f"the training text has {len(train_tokens)} tokens, less than one training context "
            f"of {settings.context_length}; give more text or a shorter context_length"
        )
    held_out = training_blocks(text_tokens(vocab, text.held_out), settings.context_length, bos)
    if not held_out:
        raise ReportlibError(
            "the held-out text is shorter than one training context of "
            f"{settings.context_length} tokens"
        )
    held_out = held_out[: settings.eval_blocks]

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
        trainable_parameters=sum(p.numel() for p in model.parameters() if p.requires_grad)
    )
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=settings.learning_rate
    )
    order = np.random.RandomState(settings.seed)
    queue: list[int] = []
    run.held_out_loss.append((0, _mean_loss(model, held_out)))
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    best = {n: p.detach().clone() for n, p in trainable.items()}
    model.train()
    started = time.perf_counter()
    for step in range(1, settings.steps + 1):
        if not queue:  # a new pass over the blocks, in a seeded order
            queue = [int(i) for i in order.permutation(len(blocks))]
        block = torch.tensor([blocks[queue.pop(0)]])
        loss = model(input_ids=block, labels=block).loss
        if not torch.isfinite(loss):
            raise ReportlibError(
                f"the training loss became {float(loss)} at step {step} of {settings.steps}; "
                f"lower the learning rate (now {settings.learning_rate})"
            )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        run.train_loss.append(loss.item())
        run.tokens_seen += block.shape[1]
        if step % settings.eval_every == 0 or step == settings.steps:
            run.held_out_loss.append((step, _mean_loss(model, held_out)))
            if run.held_out_loss[-1][1] < min(loss for _, loss in run.held_out_loss[:-1]):
                run.selected_step = step
                best = {n: p.detach().clone() for n, p in trainable.items()}
        if progress is not None:
            progress(step, settings.steps, run.train_loss[-1])
    run.seconds = time.perf_counter() - started
    run.peak_rss_mb = _peak_rss_mb()
    with torch.no_grad():  # keep the adapter of the best held-out evaluation
        for name, parameter in trainable.items():
            parameter.copy_(best[name])
    return model, run


def lora_tensors(peft_model: Any) -> dict[str, Any]:
    """The adapter's matrices under llama.cpp's names (``blk.3.attn_q.weight.lora_a``), as
    F32 numpy arrays in the shapes llama.cpp expects (A: rank x n_in, B: n_out x rank)."""
    from peft import get_peft_model_state_dict

    out: dict[str, Any] = {}
    for name, tensor in get_peft_model_state_dict(peft_model).items():
        # base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight
        parts = name.split(".")
        layer = parts[parts.index("layers") + 1]
        projection = ".".join(parts[parts.index("layers") + 2 : -2])
        which = {"lora_A": "lora_a", "lora_B": "lora_b"}[parts[-2]]
        out[f"blk.{layer}.{GGUF_PROJECTIONS[projection]}.weight.{which}"] = (
            tensor.detach().to("cpu").float().numpy()
        )
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


def training_record(
    base: ModelFile,
    text: TrainingText,
    settings: FinetuneSettings,
    run: TrainingRun,
    adapter_file: Path,
    adapter_name: str,
    name: str,
    tensor_count: int,
) -> dict[str, Any]:
    """The record of a training run: inputs' sha256, settings, curves, cost, versions."""
    return {
        "record_version": RECORD_VERSION,
        "name": name,
        "adapter_file": adapter_name,
        "adapter_sha256": file_sha256(adapter_file),
        "adapter_bytes": adapter_file.stat().st_size,
        "base_model": base.name,
        "base_sha256": base.sha256,
        "data_source": text.source,
        "train_sha256": text.train_sha256,
        "held_out_sha256": text.held_out_sha256,
        "train_characters": len(text.train),
        "held_out_characters": len(text.held_out),
        "dropped_first_person_lines": text.dropped_lines,
        "settings": {**asdict(settings), "target_modules": list(settings.target_modules)},
        "trainable_parameters": run.trainable_parameters,
        "tensors": tensor_count,
        "tokens_seen": run.tokens_seen,
        "selected_step": run.selected_step,
        "selection": "the adapter of the evaluation with the lowest held-out loss",
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
    text: TrainingText,
    settings: FinetuneSettings,
    adapter_path: str | Path,
    *,
    name: str = "Korean LoRA",
    progress: Callable[[int, int, float], None] | None = None,
) -> dict[str, Any]:
    """Train, then write the adapter and its record (``<adapter>.json``) atomically; nothing
    is written if training fails. Returns the record."""
    adapter_path = Path(adapter_path).expanduser()
    if adapter_path.suffix != ".gguf":
        raise ReportlibError(f"the adapter path must end in .gguf, not {str(adapter_path)!r}")
    peft_model, run = train_lora(base, text, settings, progress=progress)
    tensors = lora_tensors(peft_model)
    architecture = str(base.info.metadata.get("general.architecture"))
    adapter_path.parent.mkdir(parents=True, exist_ok=True)
    record_path = adapter_path.with_suffix(".json")
    staged = [_staging_file(p) for p in (adapter_path, record_path)]
    try:  # both files are written aside and renamed only when both are complete
        write_adapter_gguf(
            tensors, staged[0], architecture=architecture, alpha=settings.alpha, name=name
        )
        record = training_record(
            base, text, settings, run, staged[0], adapter_path.name, name, len(tensors)
        )
        staged[1].write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", "utf-8")
        for tmp, final in zip(staged, (adapter_path, record_path), strict=True):
            os.chmod(tmp, 0o644)  # committed artefacts, readable like any other file
            os.replace(tmp, final)
    finally:
        for tmp in staged:
            tmp.unlink(missing_ok=True)
    return record
