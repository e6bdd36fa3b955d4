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
    from reportlib.core.errors import ReportlibError

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
    import struct

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
    import struct

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
