"""The GGUF reader, on files written here and on bad input."""

import math
import struct
import time
from pathlib import Path

import pytest

from reportlib.backends.gguf import ArraySummary, read_gguf
from reportlib.core.errors import ReportlibError


def assert_refused_quickly(path: Path, pattern: str) -> None:
    """Reading ``path`` fails with ``pattern`` in under 0.5 s and 1 MiB of allocations."""
    import tracemalloc

    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ReportlibError, match=pattern):
            read_gguf(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 0.5
    assert peak < 1 << 20


def write_alien_gguf(path: Path) -> Path:
    """A valid GGUF header of an architecture llama.cpp does not know."""
    return write_gguf(
        path,
        [
            ("general.architecture", 8, _string("alien-transformer")),
            ("alien-transformer.context_length", 4, struct.pack("<I", 4096)),
        ],
        [[16, 16]],
    )


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


# --- crafted headers: each once crashed the reader or cost time/memory in its claims -------


def _header(kv: list[bytes], tensor_count: int = 0, kv_count: int | None = None) -> bytes:
    count = len(kv) if kv_count is None else kv_count
    return b"GGUF" + struct.pack("<IQQ", 3, tensor_count, count) + b"".join(kv)


def _kv(key: str, kind: int, value: bytes) -> bytes:
    return _string(key) + struct.pack("<I", kind) + value


def _nested_arrays(depth: int) -> bytes:
    return struct.pack("<IQ", 9, 1) * depth + struct.pack("<IQ", 0, 0)


@pytest.mark.parametrize(
    "alignment, shown",
    [
        (_kv("general.alignment", 4, struct.pack("<I", 0)), "not 0"),  # ZeroDivisionError
        (_kv("general.alignment", 4, struct.pack("<I", 24)), "not 24"),
        (_kv("general.alignment", 8, _string("abc")), "not 'abc'"),  # ValueError
        (_kv("general.alignment", 6, struct.pack("<f", math.nan)), "not nan"),  # ValueError
        (_kv("general.alignment", 12, struct.pack("<d", math.inf)), "not inf"),  # OverflowError
        (_kv("general.alignment", 9, struct.pack("<IQI", 4, 1, 32)), r"not \[32\]"),  # TypeError
    ],
    ids=["zero", "not-a-power-of-two", "text", "nan", "inf", "array"],
)
def test_bad_alignment_is_one_clear_error(tmp_path, alignment, shown):
    path = tmp_path / "m.gguf"
    path.write_bytes(_header([alignment]))
    with pytest.raises(ReportlibError, match=f"general.alignment must be a power of two, {shown}"):
        read_gguf(path)


def test_deeply_nested_arrays_are_refused_not_recursed(tmp_path):
    path = tmp_path / "m.gguf"
    path.write_bytes(_header([_kv("x", 9, _nested_arrays(5000))]))  # was a RecursionError
    with pytest.raises(ReportlibError, match="arrays nested more than 8 deep"):
        read_gguf(path)


def test_shallow_nested_arrays_are_still_read(tmp_path):
    path = tmp_path / "m.gguf"
    path.write_bytes(_header([_kv("x", 9, _nested_arrays(2))]))
    assert read_gguf(path).metadata["x"] == [[[]]]


@pytest.mark.parametrize(
    "kv, message",
    [
        (_kv("s", 8, struct.pack("<Q", 1 << 29) + b"x"), "a string of 536,870,912 bytes"),
        (_kv("a", 9, struct.pack("<IQ", 0, 1 << 40)), "an array of 1,099,511,627,776 values"),
        (_kv("a", 9, struct.pack("<IQ", 8, 1 << 60)), "an array of 1,152,921,504,606,84"),
        (
            _kv("a", 9, struct.pack("<IQ", 8, 100) + _string("x") * 99),
            "an array of 100 strings at byte 49 runs past",
        ),
        (struct.pack("<Q", (1 << 64) - 1) + bytes(8), "a key of 18,446,744,073,709,551,615 b"),
    ],
    ids=["string", "scalar-array", "string-array", "short-string-array", "key"],
)
def test_claimed_sizes_beyond_the_file_fail_before_any_allocation(tmp_path, kv, message):

    path = tmp_path / "m.gguf"
    path.write_bytes(_header([kv]))
    assert_refused_quickly(path, f"truncated or corrupt GGUF file .*{message}")


@pytest.mark.parametrize(
    "kv, tensors, message",
    [
        ([], 1 << 40, "implausible counts: 0 key/values and 1,099,511,627,776 tensors"),
        ([_kv("a", 4, bytes(4))], 0, None),
        ([_kv("a", 13, bytes(4))], 0, "unknown value type 13 at byte 33"),
        ([_kv("a", 9, struct.pack("<IQ", 77, 0))], 0, "unknown array item type 77 at byte 37"),
    ],
)
def test_counts_and_types(tmp_path, kv, tensors, message):
    path = tmp_path / "m.gguf"
    path.write_bytes(_header(kv, tensor_count=tensors))
    if message is None:
        assert read_gguf(path).metadata == {"a": 0}
    else:
        with pytest.raises(ReportlibError, match=message):
            read_gguf(path)


def test_kv_count_beyond_the_file(tmp_path):
    path = tmp_path / "m.gguf"
    path.write_bytes(_header([_kv("a", 4, bytes(4))], kv_count=1000))
    with pytest.raises(ReportlibError, match="implausible counts: 1,000 key/values and 0 tensors"):
        read_gguf(path)


def _tensor(name: str, dims: list[int], kind: int = 0, offset: int = 0) -> bytes:
    info = _string(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims)
    return info + struct.pack("<IQ", kind, offset)


@pytest.mark.parametrize(
    "tensor, message",
    [
        (_tensor("t", [1] * 5), "tensor 't' has 5 dimensions, at most 4"),
        (struct.pack("<Q", 1) + b"t" + struct.pack("<I", (1 << 32) - 1), "has 4,294,967,295 dim"),
        (_tensor("t", [1 << 40, 1 << 40], kind=99), "tensor 't' claims 1,208,925,819,614,629,"),
        (_tensor("t", [8], offset=1 << 62), r"truncated GGUF file \(its tensors need"),
    ],
    ids=["5-dims", "2**32-dims", "2**80-elements", "offset-past-the-end"],
)
def test_bad_tensor_infos(tmp_path, tensor, message):
    path = tmp_path / "m.gguf"
    path.write_bytes(_header([], tensor_count=1) + tensor + bytes(64))
    with pytest.raises(ReportlibError, match=message):
        read_gguf(path)


def test_truncation_at_every_byte_is_one_clear_error(tmp_path):
    kv = [
        ("general.architecture", 8, _string("llama")),
        ("general.alignment", 4, struct.pack("<I", 32)),
        ("f", 6, struct.pack("<f", 0.5)),
        ("b", 7, b"\x01"),
        ("strings", 9, struct.pack("<IQ", 8, 2) + _string("ab") + _string("")),
        ("nested", 9, struct.pack("<IQ", 9, 1) + struct.pack("<IQ", 5, 2) + bytes(8)),
        ("long", 9, struct.pack("<IQ", 8, 70) + _string("t") * 70),
    ]
    good = write_gguf(tmp_path / "m.gguf", kv, [[4, 4], [3]]).read_bytes()
    assert read_gguf(tmp_path / "m.gguf").metadata["nested"] == [[0, 0]]
    cut = tmp_path / "cut.gguf"
    for end in range(len(good)):
        cut.write_bytes(good[:end])
        with pytest.raises(ReportlibError, match="not a GGUF|truncated"):
            read_gguf(cut)


def _sparse(path: Path, head: bytes, size: int) -> Path:
    with path.open("wb") as handle:
        handle.write(head)
        handle.truncate(size)  # zeros, not written: the claimed bytes exist but cost no disk
    return path


@pytest.mark.parametrize(
    "head, message",
    [
        (
            _header([], tensor_count=1) + struct.pack("<Q", 200 << 20),
            "a tensor name of 209,715,200 bytes at byte 32; at most 64",
        ),
        (_header([struct.pack("<Q", 70_000)]), "a key of 70,000 bytes at byte 32; at most 65,535"),
        (
            _header([_kv("general.name", 8, struct.pack("<Q", 100 << 20))]),
            "a string of 104,857,600 bytes at byte 56; at most 67,108,864",
        ),
    ],
    ids=["tensor-name", "key", "string"],
)
def test_lengths_beyond_the_format_limits_are_refused_before_reading(tmp_path, head, message):
    """Claims the file can hold (a sparse 256 MB file) but no real GGUF has: once 10 s and
    hundreds of MB for a tensor name, copied, decoded and quoted in every message."""

    path = _sparse(tmp_path / "m.gguf", head, 256 << 20)
    assert_refused_quickly(path, f"corrupt GGUF header \\({message}\\)")


def test_a_long_string_within_the_limit_is_read(tmp_path):
    text = "{" + "x" * 200_000 + "}"  # a big chat template or tokenizer.json
    path = tmp_path / "m.gguf"
    path.write_bytes(_header([_kv("tokenizer.huggingface.json", 8, _string(text))]))
    assert read_gguf(path).metadata["tokenizer.huggingface.json"] == text
