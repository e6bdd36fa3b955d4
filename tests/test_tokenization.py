"""The real tokenizers: their pieces must reassemble every text exactly."""

import pytest

from reportlib.core.errors import ReportlibError
from reportlib.core.sources import architecture
from reportlib.text.corpus import load_corpus
from reportlib.text.tokenization import (
    TokenPiece,
    character_groups,
    get_tokenizer,
    token_pieces,
    vocabulary_bytes,
)

NAMES = ["llama3", "qwen", "qwen3.6", pytest.param("model", marks=pytest.mark.model)]


@pytest.fixture(scope="module", params=NAMES)
def tokenizer(request):
    return get_tokenizer(request.param)


def test_pieces_reassemble_every_language(tokenizer):
    for code, text in load_corpus("bundled").texts.items():
        pieces = token_pieces(tokenizer, text)
        assert b"".join(p.raw for p in pieces) == text.encode("utf-8"), code
        assert "".join(t for _, t in character_groups(pieces)) == text, code


def test_english_is_cheaper_than_kannada(tokenizer):
    corpus = load_corpus("bundled", languages="en,kn")
    assert len(tokenizer.encode(corpus.text("kan_Knda"))) > len(
        tokenizer.encode(corpus.text("eng_Latn"))
    )


def test_vocabulary_sizes_are_those_published():
    llama3 = get_tokenizer("llama3")
    assert llama3.vocab_size == 128_256  # 128,000 BPE + 256 special, as Llama 3's configs say
    assert llama3.vocab_size == architecture("Llama 3.1 8B").vocabulary
    assert get_tokenizer("qwen").vocab_size == 151_643


def test_the_llama3_vocabulary_leaves_out_the_vision_models_image_tag():
    """Was 128,257: the tokenizer.json adds <|image|> (Llama 3.2 Vision's tag) as id 128,256,
    one past Llama 3's vocabulary; every page that counted the vocabulary showed one too many."""
    llama3 = get_tokenizer("llama3")
    assert llama3.token_bytes(128_256) == b"<|image|>"  # the file does list it ...
    vocabulary = vocabulary_bytes(llama3)  # ... but the vocabulary stops before it
    assert b"<|image|>" not in vocabulary and len(vocabulary) == 128_256
    assert llama3.token_bytes(128_000) == b"<|begin_of_text|>"  # the 256 special tokens stay


def test_unknown_tokenizer():
    with pytest.raises(ReportlibError, match=r"unknown tokenizer 'gpt2'.*llama3"):
        get_tokenizer("gpt2")


def test_partial_utf8_pieces_are_shown_as_bytes_and_grouped():
    hangul = "토".encode()  # 3 bytes
    pieces = [TokenPiece(1, hangul[:2]), TokenPiece(2, hangul[2:]), TokenPiece(3, b" ok")]
    assert pieces[0].readable == "<ED><86>"
    assert not pieces[0].is_whole_text
    assert pieces[2].readable == " ok"
    assert character_groups(pieces) == [(2, "토"), (1, " ok")]


def test_dangling_bytes_are_not_lost():
    assert character_groups([TokenPiece(1, b"\xed\x86")]) == [(1, "\ufffd")]
