"""Chapters: parameters checked in one place before papermill starts, run folders, the
kernel's TCP line, and running with the network blocked."""

from __future__ import annotations

import functools
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reportlib.core.errors import ReportlibError
from reportlib.site import chapters

from fakes import FrozenClock

ROOT = Path(__file__).resolve().parents[1]
REPORTLIB = [sys.executable, "-m", "reportlib.cli"]


def _blocked_network_env(tmp_path: Path) -> dict[str, str]:
    """PYTHONPATH with a sitecustomize that refuses any connection off this machine."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import ipaddress, socket\n"
        "_connect = socket.socket.connect\n"
        "def guarded(self, address):\n"
        "    host = address[0] if isinstance(address, tuple) else None\n"
        "    if host is not None:\n"
        "        try:\n"
        "            if not ipaddress.ip_address(host).is_loopback:\n"
        "                raise OSError('network blocked by test: ' + str(address))\n"
        "        except ValueError:\n"
        "            raise OSError('network blocked by test: ' + str(address))\n"
        "    return _connect(self, address)\n"
        "socket.socket.connect = guarded\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = f"{site}{os.pathsep}{env.get('PYTHONPATH', '')}"
    return env


@pytest.mark.model
@pytest.mark.slow
def test_a_chapter_runs_with_the_network_blocked(tmp_path):
    env = _blocked_network_env(tmp_path)
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "import socket; socket.create_connection(('192.0.2.1', 80), timeout=2)",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert "network blocked by test" in check.stderr  # the guard works
    done = subprocess.run(
        [
            *REPORTLIB,
            "run",
            "tokenization",
            "-p",
            "languages",
            "en,ko",
            "--output-dir",
            str(tmp_path / "runs"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (csv,) = (tmp_path / "runs").glob("tokenization-*/tokenization.csv")
    assert "kor_Hang" in csv.read_text()


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
        (
            "context",
            {"ruler_samples": {"1024": 3, "8192": 1}},
            {"ruler_samples": {"1024": 3, "8192": 1}},
        ),
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
        "parameter 'ruler_samples' must be a mapping from a length of ruler_lengths to a whole "
        'number of haystacks >= 1, not {"1024": 0}',
    ),
    (
        "context",
        {"ruler_lengths": {"essays": [1024]}},
        "parameter 'ruler_lengths' must be a mapping from haystack",
    ),
    ("context", {"model": 3}, "parameter 'model' must be a model spec ('default', 'embedded', "),
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
        '(llama3, qwen, qwen3.6, model, chat), not ["gpt2"]',
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
        "base_samples, batch_width, decodings, languages, max_tokens, models, n_ctx, "
        "preference_samples, results_dir, samples, scorer, seed",
    ),
]


@pytest.mark.parametrize("chapter, overrides, message", BAD_PARAMETERS)
def test_bad_values_get_one_message_naming_parameter_value_and_expectation(
    chapter, overrides, message
):
    with pytest.raises(ReportlibError) as info:
        chapters.validate_parameters(defaults_of(chapter), overrides, f"chapter {chapter!r}")
    assert str(info.value).startswith(message)


def test_runs_started_in_the_same_second_get_their_own_folders(tmp_path, monkeypatch):
    monkeypatch.setattr(chapters, "datetime", FrozenClock)
    folders = [chapters.new_run_dir(tmp_path, "context") for _ in range(3)]
    assert [f.name for f in folders] == [
        "context-20250102T030405Z",
        "context-20250102T030405Z-2",
        "context-20250102T030405Z-3",
    ]


def _record(message: str, level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord("IPKernelApp", level, __file__, 1, message, None, None)


def test_the_kernel_filter_drops_the_tcp_warning_and_nothing_else():
    keep = chapters.KernelLogFilter()
    assert not keep.filter(_record(chapters.KERNEL_TCP_WARNING + ". All communication ..."))
    assert not keep.filter(_record(chapters.KERNEL_ORPHAN_WARNING + "."))  # after Ctrl-C
    # jupyter_client interrupts an idle kernel before shutting it down
    assert not keep.filter(_record("KeyboardInterrupt caught in kernel.", logging.ERROR))
    assert keep.filter(_record("Kernel is running over IPC"))
    assert keep.filter(_record("Failed to load connection file", logging.ERROR))


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


def test_named_models_and_adapters_stay_names_and_files_become_absolute(tmp_path):
    """Was: `-p models '["embedded-chat"]'` became the file <cwd>/embedded-chat."""
    specs = ["embedded-chat", "embedded", "default", "embedded-chat+lora:korean-20", "m.gguf"]
    out = chapters.in_folder({"models": specs, "model": "embedded+lora:a.gguf"}, tmp_path)
    assert out["models"] == [*specs[:4], str(tmp_path / "m.gguf")]
    assert out["model"] == f"embedded+lora:{tmp_path / 'a.gguf'}"
