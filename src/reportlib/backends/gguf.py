"""A small, dependency-free reader for the metadata of a GGUF file.

It reads the header, the key/value metadata and the tensor shapes, never the
weights, so it is fast and safe to call on any file: a file that is not GGUF,
is truncated or has a corrupt header raises :class:`~reportlib.core.errors.ReportlibError`.

Every size the header claims (counts, string lengths, array lengths) is checked
against the bytes the file really has before anything is read or allocated, and
arrays nest at most :data:`MAX_ARRAY_DEPTH` deep, so a crafted header costs
time and memory in proportion to the file, not to the numbers it claims.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reportlib.core.errors import ReportlibError

GGUF_MAGIC = b"GGUF"
_SCALARS = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}
_STRING, _ARRAY = 8, 9
#: arrays longer than this keep only their length (vocabularies have 100k+ entries)
MAX_ARRAY_KEPT = 64
#: arrays of arrays deeper than this are refused (llama.cpp itself refuses any nesting)
MAX_ARRAY_DEPTH = 8
#: ggml's GGML_MAX_DIMS: a tensor has at most this many dimensions
MAX_DIMS = 4
_MAX_ELEMENTS = (1 << 63) - 1  # llama.cpp refuses tensors with more elements (int64 overflow)
_MAX_COUNT = 1 << 24  # tensors or key/values: far more than any model has
#: the GGUF specification's limits on keys and tensor names
MAX_KEY_BYTES, MAX_TENSOR_NAME_BYTES = 65_535, 64
#: a string value longer than this is taken as corrupt; the longest real ones, a whole
#: tokenizer.json in ``tokenizer.huggingface.json``, are some tens of MB
MAX_STRING_BYTES = 64 << 20
#: the fewest bytes one item can take: a key/value (empty key, one-byte value), a tensor
#: info (empty name, no dimensions), a string (its length), an array (item type and length)
_MIN_KV, _MIN_TENSOR, _MIN_STRING, _MIN_ARRAY = 13, 24, 8, 12

#: llama.cpp's ``general.file_type`` values (enum llama_ftype)
FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
}


#: ggml tensor types: (elements per block, bytes per block), for the size check; a tensor of
#: another type is refused, as llama.cpp refuses it (4, 5 and 31-33, 36-38 were removed)
_TYPE_SIZES = {
    0: (1, 4),  # F32
    1: (1, 2),  # F16
    2: (32, 18),  # Q4_0
    3: (32, 20),  # Q4_1
    6: (32, 22),  # Q5_0
    7: (32, 24),  # Q5_1
    8: (32, 34),  # Q8_0
    9: (32, 36),  # Q8_1
    10: (256, 84),  # Q2_K
    11: (256, 110),  # Q3_K
    12: (256, 144),  # Q4_K
    13: (256, 176),  # Q5_K
    14: (256, 210),  # Q6_K
    15: (256, 292),  # Q8_K
    16: (256, 66),  # IQ2_XXS
    17: (256, 74),  # IQ2_XS
    18: (256, 98),  # IQ3_XXS
    19: (256, 50),  # IQ1_S
    20: (32, 18),  # IQ4_NL
    21: (256, 110),  # IQ3_S
    22: (256, 82),  # IQ2_S
    23: (256, 136),  # IQ4_XS
    24: (1, 1),  # I8
    25: (1, 2),  # I16
    26: (1, 4),  # I32
    27: (1, 8),  # I64
    28: (1, 8),  # F64
    29: (256, 56),  # IQ1_M
    30: (1, 2),  # BF16
    34: (256, 54),  # TQ1_0
    35: (256, 66),  # TQ2_0
    39: (32, 17),  # MXFP4
}


@dataclass(frozen=True)
class ArraySummary:
    """An array too long to keep: its element type and length."""

    item_type: int
    length: int


@dataclass(frozen=True)
class GGUFInfo:
    """What the header of a GGUF file says."""

    version: int
    metadata: dict[str, Any]
    tensor_count: int
    parameter_count: int
    #: each tensor's dimensions, in ggml's order (``ne[0]`` first: a weight of ``n_out`` rows
    #: of ``n_in`` values is ``(n_in, n_out)``)
    tensors: dict[str, tuple[int, ...]] = field(default_factory=dict)


class _Reader:
    """Reads little-endian values from the bytes of a file, checking every claimed size."""

    def __init__(self, data: bytes | mmap.mmap, path: Path) -> None:
        self.data, self.name, self.pos, self.size = data, repr(str(path)), 0, len(data)

    def corrupt(self, what: str) -> ReportlibError:
        return ReportlibError(f"{self.name}: corrupt GGUF header ({what})")

    def need(self, n: int, what: str) -> None:
        """Fail unless ``n`` more bytes exist (checked before reading or allocating them)."""
        if n > self.size - self.pos:
            raise ReportlibError(
                f"{self.name}: truncated or corrupt GGUF file ({what} at byte {self.pos:,} "
                f"needs {n:,} bytes, the file has {self.size - self.pos:,} left)"
            )

    def unpack(self, code: str, what: str = "the header") -> Any:
        return self.unpack_many(code, 1, what)[0]

    def unpack_many(self, code: str, count: int, what: str) -> list[Any]:
        fmt = f"<{count}{code}"
        self.need(struct.calcsize(fmt), what)
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return list(values)

    def skip_string(self, what: str = "a string", limit: int | None = None) -> int:
        """Check a string's claimed length against the file (and ``limit``) and step over
        it; returns where it starts."""
        length = self.unpack("Q", what)
        self.need(length, f"{what} of {length:,} bytes")
        if limit is not None and length > limit:
            raise self.corrupt(
                f"{what} of {length:,} bytes at byte {self.pos:,}; at most {limit:,}"
            )
        self.pos += length
        return self.pos - length

    def string(self, what: str = "a string", limit: int = MAX_STRING_BYTES) -> str:
        start = self.skip_string(what, limit)
        return bytes(self.data[start : self.pos]).decode("utf-8", errors="replace")

    def value(self, kind: int, depth: int = 0, keep: bool = True) -> Any:
        """One value of type ``kind``; with ``keep=False`` it is only skipped."""
        if kind in _SCALARS:
            return self.unpack(_SCALARS[kind], "a value")
        if kind == _STRING:
            if keep:
                return self.string()
            self.skip_string()
            return None
        if kind != _ARRAY:
            raise self.corrupt(f"unknown value type {kind} at byte {self.pos - 4:,}")
        if depth >= MAX_ARRAY_DEPTH:
            raise self.corrupt(f"arrays nested more than {MAX_ARRAY_DEPTH} deep")
        item_type, length = self.unpack("I", "an array"), self.unpack("Q", "an array")
        if item_type in _SCALARS:
            code = _SCALARS[item_type]
            self.need(length * struct.calcsize(code), f"an array of {length:,} values")
            if keep and length <= MAX_ARRAY_KEPT:
                return self.unpack_many(code, length, "an array")
            self.pos += length * struct.calcsize(code)
            return ArraySummary(item_type, length) if keep else None
        if item_type not in (_STRING, _ARRAY):
            raise self.corrupt(f"unknown array item type {item_type} at byte {self.pos - 12:,}")
        least = _MIN_STRING if item_type == _STRING else _MIN_ARRAY
        self.need(length * least, f"an array of {length:,} items")
        kept = keep and length <= MAX_ARRAY_KEPT
        if item_type == _STRING and not kept:
            self._skip_strings(length)
        else:
            items = [self.value(item_type, depth + 1, kept) for _ in range(length)]
            if kept:
                return items
        return ArraySummary(item_type, length) if keep else None

    def _skip_strings(self, count: int) -> None:
        """Skip ``count`` strings (a vocabulary) without decoding them: the fast path."""
        data, pos, size, unpack_from = self.data, self.pos, self.size, struct.unpack_from
        for _ in range(count):
            if pos + 8 > size:
                break
            pos += 8 + unpack_from("<Q", data, pos)[0]
            if pos > size:
                break
        else:
            self.pos = pos
            return
        raise ReportlibError(
            f"{self.name}: truncated or corrupt GGUF file (an array of {count:,} strings at "
            f"byte {self.pos:,} runs past the end of the file, {size:,} bytes)"
        )


def _parse(reader: _Reader) -> GGUFInfo:
    version = reader.unpack("I")
    if version not in (2, 3):
        raise ReportlibError(f"{reader.name}: unsupported GGUF version {version}")
    tensor_count, kv_count = reader.unpack("Q"), reader.unpack("Q")
    least = kv_count * _MIN_KV + tensor_count * _MIN_TENSOR
    if tensor_count > _MAX_COUNT or kv_count > _MAX_COUNT or least > reader.size - reader.pos:
        raise ReportlibError(
            f"{reader.name}: truncated or corrupt GGUF file (implausible counts: {kv_count:,} "
            f"key/values and {tensor_count:,} tensors in a file of {reader.size:,} bytes)"
        )
    metadata: dict[str, Any] = {}
    for _ in range(kv_count):
        key = reader.string("a key", MAX_KEY_BYTES)
        metadata[key] = reader.value(reader.unpack("I", "a value type"))
    alignment = metadata.get("general.alignment", 32)
    if (
        isinstance(alignment, bool)
        or not isinstance(alignment, int)
        or alignment <= 0
        or (alignment & (alignment - 1))
    ):
        raise reader.corrupt(f"general.alignment must be a power of two, not {alignment!r}")
    parameters, data_end = 0, 0
    shapes: dict[str, tuple[int, ...]] = {}
    for _ in range(tensor_count):
        name = reader.string("a tensor name", MAX_TENSOR_NAME_BYTES)
        tensor = f"tensor {name!r}"
        n_dims = reader.unpack("I", tensor)
        if n_dims > MAX_DIMS:
            raise reader.corrupt(f"{tensor} has {n_dims:,} dimensions, at most {MAX_DIMS}")
        dims = reader.unpack_many("Q", n_dims, tensor)
        kind, offset = reader.unpack("I", tensor), reader.unpack("Q", tensor)
        count = 1
        for dim in dims:
            count *= dim
        if count > _MAX_ELEMENTS:
            raise reader.corrupt(f"{tensor} claims {count:,} elements")
        parameters += count
        if kind not in _TYPE_SIZES:
            raise reader.corrupt(f"{tensor} has the unknown tensor type {kind}")
        block, size = _TYPE_SIZES[kind]
        data_end = max(data_end, offset + count // block * size)
        shapes[name] = tuple(dims)
    data_start = -(-reader.pos // alignment) * alignment
    if tensor_count and data_start + data_end > reader.size:
        raise ReportlibError(
            f"{reader.name}: truncated GGUF file (its tensors need {data_start + data_end:,} "
            f"bytes, the file has {reader.size:,}): its tensor data is missing, so it cannot be "
            "loaded; download or copy it again"
        )
    return GGUFInfo(version, metadata, tensor_count, parameters, shapes)


def read_gguf(path: str | Path) -> GGUFInfo:
    """Read the metadata and tensor shapes of a GGUF file (not the weights)."""
    path = Path(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise ReportlibError(f"cannot open model file {str(path)!r}: {exc.strerror}") from None
    with handle:
        magic = handle.read(4)
        if magic != GGUF_MAGIC:
            raise ReportlibError(
                f"{str(path)!r} is not a GGUF model file (it starts with {magic!r}, "
                "not b'GGUF'); give 'default' or the path to a .gguf file"
            )
        try:  # mapped, not read: only the header's pages are ever touched
            data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            raise ReportlibError(f"cannot read model file {str(path)!r}: {exc}") from None
    with data:
        reader = _Reader(data, path)
        reader.pos = len(GGUF_MAGIC)
        return _parse(reader)
