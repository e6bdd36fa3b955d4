"""The GGUF reader, on files written here and on bad input."""

import math
import struct
from pathlib import Path

import pytest

from reportlib.errors import ReportlibError
from reportlib.gguf import ArraySummary, read_gguf


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def write_gguf(path: Path, kv: list[tuple[str, int, bytes]], tensors: list[list[int]]) -> Path:
    """A minimal GGUF v3 file: key/values given as (key, type, encoded value), then F32
    tensors of the given shapes (zeros), aligned to 32 bytes as the format requires."""
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv))
    for key, kind, value in kv:
        out += _string(key) + struct.pack("<I", kind) + value
    offset, data = 0, b""
    for i, dims in enumerate(tensors):
        out += _string(f"t{i}") + struct.pack("<I", len(dims))
        out += b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", 0, offset)
        size = 4 * math.prod(dims)
        data += bytes(size)
        offset += size
    out += bytes(-len(out) % 32)
    path.write_bytes(out + data)
    return path


def test_reads_metadata_arrays_and_parameter_count(tmp_path):
    tokens = struct.pack("<IQ", 8, 100) + b"".join(_string(f"tok{i}") for i in range(100))
    kv = [
        ("general.architecture", 8, _string("llama")),
        ("llama.block_count", 4, struct.pack("<I", 32)),
        ("general.file_type", 4, struct.pack("<I", 15)),
        ("llama.rope.freq_base", 6, struct.pack("<f", 0.5)),
        ("tokenizer.ggml.tokens", 9, tokens),
        ("small.array", 9, struct.pack("<IQ", 5, 3) + struct.pack("<iii", 1, -2, 3)),
    ]
    info = read_gguf(write_gguf(tmp_path / "m.gguf", kv, [[4, 5], [7]]))
    assert info.version == 3
    assert info.metadata["general.architecture"] == "llama"
    assert info.metadata["llama.block_count"] == 32
    assert info.metadata["llama.rope.freq_base"] == 0.5
    assert info.metadata["tokenizer.ggml.tokens"] == ArraySummary(8, 100)
    assert info.metadata["small.array"] == [1, -2, 3]
    assert info.parameter_count == 4 * 5 + 7


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "not a GGUF"),
        (b"hello, I am a text file\n", "not a GGUF"),
        (bytes(range(256)) * 4, "not a GGUF"),
        (b"GGUF" + struct.pack("<I", 3) + b"\x01", "truncated"),
        (b"GGUF" + struct.pack("<I", 99) + bytes(16), "unsupported GGUF version 99"),
    ],
)
def test_bad_files_get_one_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.gguf"
    path.write_bytes(content)
    with pytest.raises(ReportlibError, match=message):
        read_gguf(path)


def test_truncated_in_the_metadata(tmp_path):
    good = write_gguf(tmp_path / "m.gguf", [("general.name", 8, _string("x" * 50))], [])
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(good.read_bytes()[:40])  # inside the first key/value
    with pytest.raises(ReportlibError, match="truncated"):
        read_gguf(cut)


def test_truncated_in_the_tensor_data(tmp_path):
    good = write_gguf(tmp_path / "m.gguf", [("general.name", 8, _string("x"))], [[64, 64]])
    read_gguf(good)
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(good.read_bytes()[:-100])
    with pytest.raises(ReportlibError, match=r"truncated GGUF file \(its tensors need"):
        read_gguf(cut)


def test_missing_file(tmp_path):
    with pytest.raises(ReportlibError, match="cannot open"):
        read_gguf(tmp_path / "nope.gguf")
