"""The GGUF reader, on files written here and on bad input."""

import functools
import math
import struct
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from reportlib.backends.gguf import MAX_STRING_BYTES, ArraySummary, GGUFInfo, read_gguf
from reportlib.backends.specs import default_model_path
from reportlib.core.errors import ReportlibError


def assert_refused_quickly(path: Path, pattern: str) -> None:
    """Reading ``path`` fails with ``pattern`` in under 0.5 s of this process's CPU time (not
    wall-clock time, which a loaded machine stretches) and 1 MiB of allocations."""
    import tracemalloc

    tracemalloc.start()
    started = time.process_time()
    try:
        with pytest.raises(ReportlibError, match=pattern):
            read_gguf(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.process_time() - started < 0.5
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


def write_gguf(
    path: Path,
    kv: list[tuple[str, int, bytes]],
    tensors: list[list[int]] | dict[str, list[int]],
    *,
    data: bool = True,
    tensor_type: int = 0,
) -> Path:
    """A minimal GGUF v3 file: key/values given as (key, type, encoded value), then F32
    tensors of the given shapes (zeros; named ``t0``, ``t1``... unless given by name),
    aligned to 32 bytes as the format requires; ``data=False`` leaves their data out, and
    ``tensor_type`` gives them another 4-byte type (26: I32)."""
    named = tensors if isinstance(tensors, dict) else {f"t{i}": d for i, d in enumerate(tensors)}
    out = b"GGUF" + struct.pack("<IQQ", 3, len(named), len(kv))
    for key, kind, value in kv:
        out += _string(key) + struct.pack("<I", kind) + value
    offset = 0
    for name, dims in named.items():
        out += _string(name) + struct.pack("<I", len(dims))
        out += b"".join(struct.pack("<Q", d) for d in dims) + struct.pack(
            "<IQ", tensor_type, offset
        )
        offset += 4 * math.prod(dims)
    out += bytes(-len(out) % 32)
    path.write_bytes(out + (bytes(offset) if data else b""))
    return path


def write_lora_adapter(
    path: Path,
    shapes: dict[str, tuple[int, int]],
    *,
    rank: int = 8,
    alpha: float = 16.0,
    architecture: str = "gemma3",
) -> Path:
    """A GGUF LoRA adapter (F32 zeros) adapting weights of these shapes (ggml order: inputs,
    outputs), as llama.cpp's converter writes one."""
    kv = [
        ("general.architecture", 8, _string(architecture)),
        ("general.type", 8, _string("adapter")),
        ("adapter.type", 8, _string("lora")),
        ("adapter.lora.alpha", 6, struct.pack("<f", alpha)),
    ]
    tensors: dict[str, list[int]] = {}
    for name, (n_in, n_out) in shapes.items():
        tensors[f"{name}.lora_a"] = [n_in, rank]
        tensors[f"{name}.lora_b"] = [rank, n_out]
    return write_gguf(path, kv, tensors)


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


U64_EDGES = [0, 1, 2, 63, 64, 65, 255, 2**24, 2**29, 2**30, 2**31, 2**32 - 1, 2**32]
U64_EDGES += [2**40, 2**62, 2**63, 2**64 - 1]
U32_EDGES = [0, 1, 4, 5, 7, 8, 9, 12, 13, 255, 2**31, 2**32 - 1]
SECONDS_PER_READ = 1.0


BYTES_PER_READ = 32 << 20  # traced Python allocations; the header itself is mapped, not read


SCALAR_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def _read(path: Path) -> GGUFInfo | ReportlibError:
    try:
        return read_gguf(path)
    except ReportlibError as exc:
        return exc


def read_within_bounds(path: Path, budget: int = BYTES_PER_READ) -> GGUFInfo | ReportlibError:
    """Read ``path``: a result or one ReportlibError, in < 1 s of this process's CPU time (a
    loaded machine stretches wall-clock time, not CPU time) and within ``budget`` bytes of
    allocations (32 MiB). Timed on its own, then read again under tracemalloc (which slows
    Python down) for memory."""
    started = time.process_time()
    result = _read(path)
    elapsed = time.process_time() - started
    assert elapsed < SECONDS_PER_READ, f"read took {elapsed:.2f} s"
    tracemalloc.start()
    try:
        again = _read(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < budget, f"read allocated {peak:,} bytes"
    assert repr(again) == repr(result)
    if isinstance(result, ReportlibError):
        assert str(result) and "\n" not in str(result)
    else:
        assert result.version in (2, 3) and result.parameter_count >= 0
        assert all(isinstance(key, str) for key in result.metadata)
    return result


@functools.cache
def real_header() -> tuple[bytes, int, list[tuple[int, int]]]:
    """The embedded model's header (its first ~6.5 MB, never the weights), the file's size,
    and where the header's structural fields are, as (offset, width): every count, length,
    type and tensor shape, and the first items of each array. Walked here independently of
    the reader under test."""

    path = default_model_path()
    with path.open("rb") as handle:
        data = handle.read(8 << 20)
    fields: list[tuple[int, int]] = [(4, 4), (8, 8), (16, 8)]
    tensors, kvs = struct.unpack_from("<QQ", data, 8)
    pos = 24

    def skip_string(record: bool) -> None:
        nonlocal pos
        if record:
            fields.append((pos, 8))
        pos += 8 + struct.unpack_from("<Q", data, pos)[0]

    def skip_value(kind: int, record: bool) -> None:
        nonlocal pos
        if kind in SCALAR_SIZES:
            pos += SCALAR_SIZES[kind]
        elif kind == 8:
            skip_string(record)
        else:
            item, count = struct.unpack_from("<IQ", data, pos)
            fields.extend([(pos, 4), (pos + 4, 8)] if record else [])
            pos += 12
            if item in SCALAR_SIZES:
                pos += count * SCALAR_SIZES[item]
            else:
                for i in range(count):
                    skip_value(item, record and i < 3)

    for _ in range(kvs):
        skip_string(True)
        fields.append((pos, 4))
        pos += 4
        skip_value(struct.unpack_from("<I", data, pos - 4)[0], True)
    for _ in range(tensors):
        skip_string(True)
        n_dims = struct.unpack_from("<I", data, pos)[0]
        fields.extend([(pos, 4), *((pos + 4 + 8 * i, 8) for i in range(n_dims))])
        pos += 4 + 8 * n_dims
        fields.extend([(pos, 4), (pos + 4, 8)])
        pos += 12
    return data[: pos + 64], path.stat().st_size, fields


def write_sparse(path: Path, header: bytes, size: int) -> Path:
    """The header, then zeros up to ``size`` (a sparse file: the weights are not copied)."""
    with path.open("wb") as handle:
        handle.write(header)
        handle.truncate(max(size, len(header)))
    return path


#: one mutation of the real header: (action, offset, width, value)
Mutation = tuple[str, int, int, int | bytes]


@st.composite
def header_mutations(draw: st.DrawFn) -> tuple[list[Mutation], bool]:
    """1-3 mutations of the real header (a structural field set to an edge value or nudged,
    random bytes written anywhere, the file cut anywhere), and whether the file keeps its
    full size (zeros after the header) or ends with the header. Kept small, so that a
    failing example prints as a few numbers, not as 6 MB of header."""
    header, _, fields = real_header()
    mutations: list[Mutation] = []
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["field", "field", "nudge", "bytes", "cut"]))
        if action in ("field", "nudge"):
            offset, width = draw(st.sampled_from(fields))
            edges = U32_EDGES if width == 4 else U64_EDGES
            value = draw(st.integers(-16, 16) if action == "nudge" else st.sampled_from(edges))
            mutations.append((action, offset, width, value))
        elif action == "bytes":
            offset = draw(st.integers(0, len(header) - 1))
            mutations.append((action, offset, 0, draw(st.binary(min_size=1, max_size=16))))
        else:
            mutations.append((action, draw(st.integers(0, len(header))), 0, 0))
    return mutations, draw(st.integers(0, 3)) == 0


def mutate(header: bytes, mutations: list[Mutation]) -> bytes:
    data = bytearray(header)
    for action, offset, width, value in mutations:
        if action == "cut":
            del data[offset:]
        elif action == "bytes":
            assert isinstance(value, bytes)
            data[offset : offset + len(value)] = value
        elif offset + width <= len(data):
            assert isinstance(value, int)
            old = int.from_bytes(data[offset : offset + width], "little")
            new = max(0, old + value) if action == "nudge" else value
            data[offset : offset + width] = (new % 2 ** (8 * width)).to_bytes(width, "little")
    return bytes(data)


@pytest.mark.model
def test_the_real_header_walk_agrees_with_the_reader(tmp_path):
    header, size, fields = real_header()
    info = read_within_bounds(write_sparse(tmp_path / "m.gguf", header, size))
    assert isinstance(info, GGUFInfo) and info.metadata["general.architecture"] == "gemma3"
    assert len(fields) > 1000 and len(header) < 8 << 20


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.mark.model
@settings(
    max_examples=30,
    deadline=3000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated=header_mutations())
def test_mutated_real_header_gives_a_result_or_one_error(fuzz_dir, mutated):
    mutations, full_size = mutated
    header, size, _ = real_header()
    data = mutate(header, mutations)
    cut = any(action == "cut" for action, *_ in mutations)
    path = write_sparse(fuzz_dir / "mutated.gguf", data, size if full_size and not cut else 0)
    # a string value may claim up to MAX_STRING_BYTES of the zeros after the header: read
    # (and decoded) because those bytes exist
    budget = BYTES_PER_READ + (2 * MAX_STRING_BYTES if full_size else 0)
    result = read_within_bounds(path, budget)
    event(f"{type(result).__name__}: {str(result).split('(')[-1][:20]}")


def _u64_claim(actual: int) -> st.SearchStrategy[int]:
    """A count or length as the header claims it: mostly true, else an edge or any value."""
    true = st.just(actual)
    return st.one_of(true, true, true, true, st.sampled_from(U64_EDGES), st.integers(0, 2**64 - 1))


TYPES = st.one_of(st.integers(0, 12), st.sampled_from([13, 255, 2**31, 2**32 - 1]))


@st.composite
def gguf_string(draw: st.DrawFn, text: bytes | None = None) -> bytes:
    data = draw(st.binary(max_size=24)) if text is None else text
    return struct.pack("<Q", draw(_u64_claim(len(data)))) + data


@st.composite
def gguf_value(draw: st.DrawFn, kind: int, depth: int = 0) -> bytes:
    if kind in SCALAR_SIZES:
        return draw(st.binary(min_size=SCALAR_SIZES[kind], max_size=SCALAR_SIZES[kind]))
    if kind == 8:
        return draw(gguf_string())
    if kind != 9:  # an unknown type: whatever bytes follow
        return draw(st.binary(max_size=16))
    if draw(st.integers(0, 9)) == 0:  # arrays of arrays of ... (a RecursionError once)
        depth = draw(st.integers(1, 3000))
        return struct.pack("<IQ", 9, 1) * depth + struct.pack("<IQ", 0, 0)
    item = draw(TYPES if depth < 3 else st.integers(0, 8))
    count = draw(st.integers(0, 3 if item == 9 else 70))  # around MAX_ARRAY_KEPT (64)
    if item in SCALAR_SIZES:
        items = draw(st.binary(min_size=count * SCALAR_SIZES[item], max_size=70 * 8))
    else:
        items = b"".join(draw(gguf_value(item, depth + 1)) for _ in range(count))
    return struct.pack("<IQ", item, draw(_u64_claim(count))) + items


@st.composite
def key_value(draw: st.DrawFn) -> bytes:
    names = st.sampled_from([b"general.alignment", b"general.name", b""])
    key = draw(names | st.binary(max_size=9))
    kind = draw(TYPES)
    if key == b"general.alignment" and kind == 4 and draw(st.booleans()):
        value = struct.pack("<I", draw(st.sampled_from([0, 1, 3, 24, 32, 2**31, 2**32 - 1])))
    else:
        value = draw(gguf_value(kind))
    return draw(gguf_string(key)) + struct.pack("<I", kind) + value


@st.composite
def tensor_info(draw: st.DrawFn) -> bytes:
    n_dims = draw(st.integers(0, 5))
    dims = draw(
        st.lists(st.integers(0, 64) | st.sampled_from(U64_EDGES), min_size=n_dims, max_size=n_dims)
    )
    claimed_dims = draw(st.just(n_dims) | st.sampled_from(U32_EDGES))
    kind = draw(st.sampled_from([0, 1, 2, 8, 12, 14, 30]) | st.sampled_from(U32_EDGES))
    offset = draw(st.integers(0, 256) | st.sampled_from(U64_EDGES))
    return (
        draw(gguf_string(b"t"))
        + struct.pack("<I", claimed_dims)
        + struct.pack(f"<{n_dims}Q", *dims)
        + struct.pack("<IQ", kind, offset)
    )


@st.composite
def crafted_files(draw: st.DrawFn) -> bytes:
    kvs = draw(st.lists(key_value(), max_size=5))
    tensors = draw(st.lists(tensor_info(), max_size=3))
    magic = draw(st.sampled_from([b"GGUF"] * 9 + [b"GGUG"]))
    version = draw(st.sampled_from([3, 3, 3, 2, 1, 4, 2**32 - 1]))
    counts = (draw(_u64_claim(len(tensors))), draw(_u64_claim(len(kvs))))
    data = magic + struct.pack("<IQQ", version, *counts) + b"".join(kvs) + b"".join(tensors)
    data += bytes(-len(data) % 32) + draw(st.binary(max_size=512))
    end = draw(st.none() | st.integers(0, len(data)))
    return data if end is None else data[:end]


@settings(
    max_examples=300,
    deadline=2000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=crafted_files())
def test_crafted_header_gives_a_result_or_one_error(fuzz_dir, data):
    path = fuzz_dir / "crafted.gguf"
    path.write_bytes(data)
    result = read_within_bounds(path)
    event(f"{type(result).__name__}: {str(result).split('(')[-1][:20]}")
