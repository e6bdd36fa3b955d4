"""A small, dependency-free reader for the metadata of a GGUF file.

It reads the header, the key/value metadata and the tensor shapes, never the
weights, so it is fast and safe to call on any file: a file that is not GGUF,
or is truncated, raises :class:`~reportlib.errors.ReportlibError`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from .errors import ReportlibError

GGUF_MAGIC = b"GGUF"
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}  # fmt: skip
_STRING, _ARRAY = 8, 9
#: arrays longer than this keep only their length (vocabularies have 100k+ entries)
MAX_ARRAY_KEPT = 64

#: llama.cpp's ``general.file_type`` values (enum llama_ftype)
FILE_TYPES = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
              10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S",
              15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS",
              20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S",
              25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M",
              30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0"}  # fmt: skip


#: ggml tensor types: (elements per block, bytes per block), for the size check
_TYPE_SIZES = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24),
               8: (32, 34), 9: (32, 36), 10: (256, 84), 11: (256, 110), 12: (256, 144),
               13: (256, 176), 14: (256, 210), 15: (256, 292), 30: (1, 2)}  # fmt: skip


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


class _Reader:
    def __init__(self, handle: BinaryIO, path: Path) -> None:
        self.handle, self.path = handle, path

    def take(self, n: int) -> bytes:
        data = self.handle.read(n)
        if len(data) != n:
            raise ReportlibError(f"{self.path}: truncated GGUF file (the header ends early)")
        return data

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        length = self.unpack("<Q")
        if length > 1 << 30:
            raise ReportlibError(f"{self.path}: corrupt GGUF header (string of {length} bytes)")
        return self.take(length).decode("utf-8", errors="replace")

    def value(self, kind: int) -> Any:
        if kind in _SCALARS:
            return self.unpack(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item_type, length = self.unpack("<I"), self.unpack("<Q")
            items = [self.value(item_type) for _ in range(length)]
            return items if length <= MAX_ARRAY_KEPT else ArraySummary(item_type, length)
        raise ReportlibError(f"{self.path}: corrupt GGUF header (unknown value type {kind})")


def read_gguf(path: str | Path) -> GGUFInfo:
    """Read the metadata and tensor shapes of a GGUF file (not the weights)."""
    path = Path(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise ReportlibError(f"cannot open model file {str(path)!r}: {exc.strerror}") from None
    with handle:
        reader = _Reader(handle, path)
        magic = handle.read(4)
        if magic != GGUF_MAGIC:
            raise ReportlibError(
                f"{str(path)!r} is not a GGUF model file (it starts with {magic!r}, "
                "not b'GGUF'); give 'default' or the path to a .gguf file"
            )
        version = reader.unpack("<I")
        if version not in (2, 3):
            raise ReportlibError(f"{str(path)!r}: unsupported GGUF version {version}")
        tensor_count, kv_count = reader.unpack("<Q"), reader.unpack("<Q")
        if tensor_count > 1 << 24 or kv_count > 1 << 24:
            raise ReportlibError(f"{str(path)!r}: corrupt GGUF header (implausible counts)")
        metadata = {}
        for _ in range(kv_count):
            key = reader.string()
            metadata[key] = reader.value(reader.unpack("<I"))
        parameters, data_end = 0, 0
        for _ in range(tensor_count):
            reader.string()  # tensor name
            dims = [reader.unpack("<Q") for _ in range(reader.unpack("<I"))]
            kind, offset = reader.unpack("<I"), reader.unpack("<Q")
            count = 1
            for dim in dims:
                count *= dim
            parameters += count
            block, size = _TYPE_SIZES.get(kind, (1, 0))  # unknown type: check the offset only
            data_end = max(data_end, offset + count // block * size)
        alignment = int(metadata.get("general.alignment", 32))
        data_start = -(-handle.tell() // alignment) * alignment
    file_size = path.stat().st_size
    if tensor_count and data_start + data_end > file_size:
        raise ReportlibError(
            f"{str(path)!r}: truncated GGUF file (its tensors need {data_start + data_end:,} "
            f"bytes, the file has {file_size:,})"
        )
    return GGUFInfo(version, metadata, tensor_count, parameters)
