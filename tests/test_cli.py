"""The reportlib command line: output formats and clean errors."""

import csv
import errno
import io
import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reportlib.cli import main
from reportlib.core.errors import ReportlibError
from reportlib.site import chapters

from fakes import FrozenClock, one_line_error


def test_tokens_csv(capsys):
    assert main(["tokens", "--tokenizer", "qwen", "--langs", "ko"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["code"] for r in rows] == ["eng_Latn", "kor_Hang"]
    assert set(rows[0]) == {
        "tokenizer",
        "code",
        "sentences",
        "characters",
        "tokens",
        "chars_per_token",
        "chars_per_token_low",
        "chars_per_token_high",
        "premium",
        "premium_low",
        "premium_high",
    }
    assert float(rows[0]["premium"]) == 1.0
    assert int(rows[0]["sentences"]) == 2009  # FLORES-200 dev + devtest, shipped, by default
    korean = rows[1]
    assert float(korean["premium_low"]) < float(korean["premium"]) < float(korean["premium_high"])


def test_tokens_json(capsys):
    assert main(["tokens", "--tokenizer", "llama3", "--langs", "en,kn", "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert records[1]["code"] == "kan_Knda" and records[1]["premium"] > 2


def test_tokens_joined(capsys):
    """--joined encodes each language's whole text once: Petrov et al.'s published Qwen count
    for English, no intervals, and not the sum over sentences encoded alone."""
    assert main(["tokens", "--tokenizer", "qwen", "--langs", "ko", "--joined"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0]) == [
        "tokenizer",
        "code",
        "sentences",
        "characters",
        "tokens",
        "chars_per_token",
        "premium",
    ]
    english = rows[0]
    assert (english["code"], english["tokens"], english["characters"]) == (
        "eng_Latn",
        "53726",  # Petrov et al. (2023), Qwen, FLORES-200 dev+devtest
        "259170",  # their UTF-32 count: the same text
    )
    assert main(["tokens", "--tokenizer", "qwen", "--langs", "ko", "--format", "json"]) == 0
    alone = json.loads(capsys.readouterr().out)[0]
    assert alone["tokens"] != int(english["tokens"])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["tokens", "--tokenizer", "qwen", "--langs", "xx"], "unknown language code 'xx'"),
        (["tokens", "--tokenizer", "qwen", "--corpus", "/no/such/dir"], "does not exist"),
        (["models", "/no/such/model.gguf"], "model file not found"),
        (["run", "no-such-chapter"], "unknown chapter 'no-such-chapter'"),
        (["run", "tokenization", "-p", "modle", "x"], "has no parameter 'modle'"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert err.startswith("reportlib: error:") and err.count("\n") == 1


@pytest.mark.model
def test_models_json(capsys):
    assert main(["models", "--json"]) == 0
    cards = json.loads(capsys.readouterr().out)
    assert [(c["architecture"], c["chat_template"]) for c in cards] == [
        ("gemma3", False),  # the embedded base model
        ("llama", True),  # the embedded chat model
    ]


def test_debug_shows_the_traceback():

    with pytest.raises(ReportlibError, match="unknown language code"):
        main(["--debug", "tokens", "--tokenizer", "qwen", "--langs", "xx"])


@pytest.mark.slow
def test_a_bad_papermill_parameter_value_gives_one_line(capsys, tmp_path):
    argv = [
        "run",
        "tokenization",
        "-p",
        "corpus",
        str(tmp_path / "missing"),
        "--output-dir",
        str(tmp_path),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("reportlib: error: chapter 'tokenization' failed in cell")
    assert "ReportlibError" in err and "does not exist" in err


def _gguf_with_metadata(path, kv):
    """A GGUF v3 file with these key/values (key, type, packed value) and no tensors."""

    def string(text):
        return struct.pack("<Q", len(text.encode())) + text.encode()

    body = b"".join(string(key) + struct.pack("<I", kind) + value for key, kind, value in kv)
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, len(kv)) + body)
    return path


def _strict_json(text):
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_models_json_is_strict_json_whatever_the_metadata(capsys, tmp_path):

    model = _gguf_with_metadata(
        tmp_path / "odd.gguf",
        [
            ("general.architecture", 8, struct.pack("<Q", 5) + b"llama"),
            ("llama.embedding_length", 6, struct.pack("<f", float("inf"))),  # head_dim: nan
            ("llama.attention.head_count", 4, struct.pack("<I", 2)),
            ("llama.context_length", 12, struct.pack("<d", float("nan"))),
            ("general.license", 12, struct.pack("<d", float("-inf"))),
            ("general.size_label", 9, struct.pack("<IQ", 0, 100) + bytes(100)),  # summary
            ("llama.block_count", 9, struct.pack("<IQ", 5, 2) + struct.pack("<ii", 1, -1)),
        ],
    )
    assert main(["models", "--json", str(model)]) == 0
    out = capsys.readouterr().out
    (card,) = _strict_json(out)  # was: NaN in the output, then a TypeError traceback
    assert card["embedding_size"] is None and card["head_dim"] is None
    assert card["trained_context"] is None and card["license"] is None
    assert card["size_label"] is None  # not text: the card leaves it out
    assert card["layers"] == 1  # a per-layer list: its largest value


def test_json_safe_converts_what_json_cannot_hold():
    from dataclasses import dataclass
    from pathlib import Path

    from reportlib.cli import json_safe

    @dataclass
    class Pair:
        a: float
        b: bytes

    value = {
        1: (float("nan"), float("inf"), -0.5, True, None),
        "b": b"caf\xc3\xa9 \xff",
        "p": Path("/m/x.gguf"),
        "d": Pair(float("-inf"), b"x"),
    }
    safe = json_safe(value)
    assert safe == {
        "1": [None, None, -0.5, True, None],
        "b": "café \\xff",
        "p": "/m/x.gguf",
        "d": {"a": None, "b": "x"},
    }
    assert _strict_json(json.dumps(safe, allow_nan=False)) == safe


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
    model = Path(fake_papermill.calls[0]["parameters"]["model"])
    assert model == Path.cwd() / "2024"  # a file named 2024 (in the caller's folder)


def test_simultaneous_runs_never_share_a_folder(tmp_path, monkeypatch, fake_papermill):
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(chapters, "datetime", FrozenClock)
    outputs = [chapters.run_chapter("environment", {}, tmp_path, progress=False) for _ in range(2)]
    assert outputs[0].parent != outputs[1].parent  # was: one folder, the second run overwrote
    with ThreadPoolExecutor(8) as pool:
        folders = list(pool.map(lambda _: chapters.new_run_dir(tmp_path, "x"), range(16)))
    assert len(set(folders)) == 16 and all(f.is_dir() for f in folders)


def test_run_output_dir_is_a_file(capsys, tmp_path, fake_papermill):
    target = tmp_path / "runs"
    target.write_text("")
    message = one_line_error(capsys, ["run", "environment", "--output-dir", str(target)])
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
    message = one_line_error(capsys, ["bench", *mode, "--output", str(tmp_path)])
    assert message == (
        f"--output {str(tmp_path)!r} is a folder; give a file name, "
        f"such as {str(tmp_path / 'bench.json')!r}"
    )


@pytest.mark.parametrize("mode", BENCH_MODES, ids=["bench", "server", "book"])
def test_bench_output_inside_a_file(capsys, tmp_path, no_benchmarks, mode):
    (tmp_path / "notes.txt").write_text("")
    output = tmp_path / "notes.txt" / "out" / "bench.json"
    message = one_line_error(capsys, ["bench", *mode, "--output", str(output)])
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
    message = one_line_error(capsys, ["bench", "--output", str(output)])
    assert message == f"--output {str(output)!r} cannot be written: Permission denied"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_bench_output_in_a_read_only_folder(capsys, tmp_path, no_benchmarks):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    try:
        message = one_line_error(capsys, ["bench", "--output", str(folder / "b.json")])
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
    message = one_line_error(capsys, ["tokens", "--tokenizer", "qwen", "--langs", "ko"])
    assert message == "Input/output error: '/dev/sdz'"


def test_run_chapter_starts_the_kernel_with_the_filter(tmp_path, fake_papermill):
    chapters.run_chapter("environment", {}, tmp_path, progress=False)
    (call,) = fake_papermill.calls
    assert call["extra_arguments"] == chapters.kernel_arguments()


@pytest.mark.model
@pytest.mark.slow
def test_reportlib_run_prints_no_tcp_warning(tmp_path):

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


# -- issue 28: parameters checked before the kernel starts (items 1, 12, 13 and 14) ----------
@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["timeline", "-p", "model", "/nonexistent.gguf"],
            "chapter 'timeline' has no parameter 'model'; it takes no parameters",
        ),
        (
            ["context", "-p", "n_ctx", "2048", "-p", "lengths", "[1024, 4096]"],
            "parameter 'lengths' has lengths that do not fit the window of n_ctx = 2,048 tokens "
            "with the 16 tokens of the answer: [4096]; give lengths up to 2,032 or a larger n_ctx",
        ),
        (
            ["context", "-p", "ruler_samples", '{"²": 1}'],
            "parameter 'ruler_samples' must be a mapping from a length of ruler_lengths to a "
            'whole number of haystacks >= 1, not {"²": 1}',
        ),
        (
            ["context", "-p", "ruler_samples", '{"1024": 2, "99999": 1}'],
            "parameter 'ruler_samples' gives haystacks for [99999], which are not lengths of "
            "ruler_lengths ([1024, 2048, 4096, 8192, 16384, 32768]); use those lengths as its keys",
        ),
        (
            ["context", "-p", "ruler_lengths", '{"filler": [512, 1024]}'],
            "parameter 'ruler_samples' gives no number of haystacks for the ruler lengths [512] "
            "(a key applies to its length and longer ones); add a key for 512",
        ),
        *(
            (
                ["context", "-p", "ruler_lengths", f'{{"filler": [{bad}]}}'],
                "parameter 'ruler_lengths' must be a mapping from haystack (\"filler\", "
                f'"flores-en", "flores-ko") to a list of lengths, not {{"filler": [{shown}]}}',
            )
            for bad, shown in (("1024.5", "1024.5"), ("true", "true"), ("1e300", "1e+300"))
        ),
        (
            ["multilingual", "-p", "batch_width", "10000"],
            "parameter 'batch_width' must be a whole number from 1 to 256 (the most sequences "
            "llama.cpp decodes at once), not 10000",
        ),
        (
            ["performance", "-p", "model", "embedded+lora:korean"],
            "parameter 'model' must be a model without a LoRA adapter (the page compares the "
            "harness with llama.cpp's own tools, which run the base model only), not "
            '"embedded+lora:korean"',
        ),
        (
            ["multilingual", "-p", "models", '["default", "m.gguf+lora:a+lora:b"]'],
            "parameter 'models' must be a non-empty list of model specs, not "
            '["default", "m.gguf+lora:a+lora:b"]: model spec \'m.gguf+lora:a+lora:b\' names 2 '
            "adapters; one adapter is allowed (BASE+lora:ADAPTER)",
        ),
    ],
)
def test_run_refuses_what_the_chapter_cannot_use_before_papermill_starts(
    capsys, tmp_path, fake_papermill, argv, message
):
    """Was: accepted, then ignored (timeline), an AttributeError or a late error after the
    model had loaded (context), a refusal at cell 11 (batch_width), or the harness timed
    with the adapter and llama.cpp without it (performance)."""
    assert one_line_error(capsys, ["run", *argv, "--output-dir", str(tmp_path)]) == message
    assert fake_papermill.calls == [] and list(tmp_path.iterdir()) == []


def test_batch_width_limit_is_llama_cpps():
    import llama_cpp

    from reportlib.backends.llama_runtime import MAX_PARALLEL_SEQUENCES

    assert llama_cpp.llama_max_parallel_sequences() == MAX_PARALLEL_SEQUENCES


def test_needle_lengths_beyond_the_models_window_are_said(capsys):
    """The trained window can be below n_ctx: what is dropped is printed, and nothing left
    is one error, before the model loads (was: an AttributeError after it had)."""
    from reportlib.experiments.context.needles import lengths_in_window

    assert lengths_in_window([1024, 2048, 8192], 4096) == [1024, 2048]
    assert capsys.readouterr().out == (
        "not measured: needle lengths 8,192, beyond the window of 4,096 tokens (the model's "
        "trained window, or n_ctx)\n"
    )
    with pytest.raises(ReportlibError) as error:
        lengths_in_window([4096], 2048)
    assert str(error.value) == (
        "no needle length fits the window of 2,048 tokens (each needs 16 more for the answer): "
        "4,096; give lengths up to 2,032 or a larger n_ctx"
    )


# -- issue 28, item 6: relative paths mean the caller's folder -------------------------------
def test_relative_paths_given_to_run_mean_the_callers_folder(tmp_path, monkeypatch):
    """Was: resolved in notebooks/, where the kernel runs (`-p model m.gguf` said "not
    found"; REPORTLIB_HOME=relhome assembled the model into notebooks/relhome/)."""
    import papermill

    seen = {}

    def fake(source, output, **kwargs):
        seen.update(kwargs["parameters"])
        seen["env"] = {k: os.environ.get(k) for k in ("REPORTLIB_HOME", "REPORTLIB_MODEL")}
        Path(output).write_text("{}")

    monkeypatch.setattr(papermill, "execute_notebook", fake)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REPORTLIB_HOME", "relhome")
    monkeypatch.setenv("REPORTLIB_MODEL", "models/m.gguf+lora:a.gguf")
    argv = ["run", "context", "-p", "model", "m.gguf", "-p", "results_dir", "out"]
    runs = ["--output-dir", "runs"]  # in tmp_path, like everything this test writes
    assert main([*argv, *runs]) == 0
    assert seen["model"] == str(tmp_path / "m.gguf")
    assert seen["results_dir"] == str(tmp_path / "out")
    assert seen["env"] == {
        "REPORTLIB_HOME": str(tmp_path / "relhome"),
        "REPORTLIB_MODEL": f"{tmp_path / 'models/m.gguf'}+lora:{tmp_path / 'a.gguf'}",
    }
    assert os.environ["REPORTLIB_HOME"] == "relhome"  # the caller's own setting is kept
    specs = ["default", "embedded+lora:korean", "x.gguf+lora:/abs/a.gguf", "openai+http://h:1/v1"]
    assert main(["run", "multilingual", "-p", "models", json.dumps(specs), *runs]) == 0
    assert seen["models"] == [
        "default",
        "embedded+lora:korean",
        f"{tmp_path / 'x.gguf'}+lora:/abs/a.gguf",
        "openai+http://h:1/v1",
    ]
    assert main(["run", "tokenization", "-p", "corpus", "flores200", *runs]) == 0
    assert seen["corpus"] == "flores200"  # a corpus name, not a folder
    assert main(["run", "tokenization", "-p", "corpus", "my-corpus", *runs]) == 0
    assert seen["corpus"] == str(tmp_path / "my-corpus")


# -- issue 28, items 10 and 14: a dead kernel and Ctrl-C in `reportlib run` ------------------
def _toy_book(root: Path, cell: str) -> Path:
    """A book of one chapter, ``boom``, whose second cell is ``cell``."""
    import nbformat

    (root / "notebooks").mkdir(parents=True)
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nchapters:\n- file: notebooks/boom\n"
    )
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_code_cell("seconds = 0", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("print('started', flush=True)"),
        nbformat.v4.new_code_cell(cell),
    ]
    nbformat.write(nb, root / "notebooks" / "boom.ipynb")
    return root


@pytest.mark.slow
def test_a_kernel_that_dies_is_one_message_saying_what_was_kept(tmp_path):
    """Was: nbclient's DeadKernelError traceback, exit 1. The kernel is killed as the OOM
    killer would (SIGKILL)."""
    root = _toy_book(tmp_path, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    proc = subprocess.run(
        [sys.executable, "-m", "reportlib.cli", "run", "boom"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    (run,) = (root / "runs").iterdir()
    assert proc.returncode == 2, proc.stderr
    assert after_start_line(proc.stderr, "boom") == (
        "reportlib: error: chapter 'boom' stopped because its Python kernel died, most likely "
        f"out of memory or a crash inside llama.cpp; what it wrote is kept in {str(run)!r}\n"
    )
    assert "started" in (run / "boom.ipynb").read_text()  # the cells run before it are kept


def after_start_line(stderr: str, chapter: str) -> str:
    """What ``reportlib run`` wrote after its progress line saying the chapter started."""
    first, _, rest = stderr.partition("\n")
    assert first.startswith(f"{chapter}: running, "), stderr
    return rest


@pytest.mark.slow
def test_ctrl_c_in_run_is_one_line_and_exit_130(tmp_path):
    """Was: a KeyboardInterrupt traceback. SIGINT reaches the CLI while the kernel runs."""
    import signal

    root = _toy_book(tmp_path, "import time\ntime.sleep(120)")
    proc = subprocess.Popen(
        [sys.executable, "-m", "reportlib.cli", "run", "boom"],
        cwd=root,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and "started" not in "".join(
        p.read_text() for p in root.glob("runs/*/boom.ipynb")
    ):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    (run,) = (root / "runs").iterdir()
    assert proc.returncode == 130
    assert after_start_line(err, "boom") == (
        f"reportlib: interrupted: chapter 'boom' stopped; what it wrote is kept in {str(run)!r}\n"
    )


def test_ctrl_c_anywhere_is_one_line(tmp_path):
    script = (
        "import sys, papermill\n"
        "def interrupted(*args, **kwargs):\n"
        "    raise KeyboardInterrupt\n"
        "papermill.execute_notebook = interrupted\n"
        "from reportlib.cli import main\n"
        "sys.exit(main(['run', 'environment', '--output-dir', sys.argv[1]]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    (run,) = tmp_path.iterdir()
    assert proc.returncode == 130
    assert after_start_line(proc.stderr, "environment") == (
        "reportlib: interrupted: chapter 'environment' stopped; what it wrote is kept in "
        f"{str(run)!r}\n"
    )
