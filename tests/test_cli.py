"""The reportlib command line: output formats and clean errors."""

import csv
import io
import json

import pytest

from reportlib.cli import main


def test_tokens_csv(capsys):
    assert main(["tokens", "--tokenizer", "qwen", "--langs", "ko"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["code"] for r in rows] == ["eng_Latn", "kor_Hang"]
    assert set(rows[0]) == {
        "tokenizer",
        "code",
        "characters",
        "tokens",
        "chars_per_token",
        "premium",
    }
    assert float(rows[0]["premium"]) == 1.0


def test_tokens_json(capsys):
    assert main(["tokens", "--tokenizer", "llama3", "--langs", "en,kn", "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert records[1]["code"] == "kan_Knda" and records[1]["premium"] > 2


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
    (card,) = json.loads(capsys.readouterr().out)
    assert card["architecture"] == "gemma3"


def test_debug_shows_the_traceback():
    from reportlib.errors import ReportlibError

    with pytest.raises(ReportlibError, match="unknown language code"):
        main(["--debug", "tokens", "--tokenizer", "qwen", "--langs", "xx"])


@pytest.mark.slow
def test_a_bad_papermill_parameter_value_gives_one_line(capsys, tmp_path):
    argv = ["run", "tokenization", "-p", "corpus", str(tmp_path / "missing"),
            "--output-dir", str(tmp_path)]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("reportlib: error: chapter 'tokenization' failed in cell")
    assert "ReportlibError" in err and "does not exist" in err
