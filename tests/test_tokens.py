"""Token statistics and claim verdicts, on fake tokenizers with known answers."""

import pytest

from reportlib.core.errors import ReportlibError
from reportlib.core.verdicts import NOT_DECIDED, PARTLY, REFUTED, SUPPORTED
from reportlib.experiments.tokens import (
    CHARS_PER_TOKEN_PARTLY,
    CHARS_PER_TOKEN_SUPPORTED,
    check_chars_per_token,
    check_common_words,
    check_separation,
    check_split,
    count_joined_tokens,
    count_language_tokens,
    premium_difference,
    published_comparison,
    separation_stats,
    token_count_table,
    verdict_in_band,
    verdict_of_interval,
    wide_table,
)
from reportlib.text.corpus import Corpus
from reportlib.text.tokenization import TokenPiece, pieces_crossing_characters


class CharTokenizer:
    """One token per character: every number is easy to compute by hand."""

    name = label = "chars"
    vocab_size = 0x110000

    def encode(self, text):
        return [ord(c) for c in text]

    def token_bytes(self, token_id):
        return chr(token_id).encode()


class WordTokenizer:
    """Splits before spaces, and splits punctuation off: ' word' and ',' are tokens."""

    name = label = "words"
    vocab_size = 0

    def __init__(self):
        self.vocab: list[str] = []

    def encode(self, text):
        import re

        ids = []
        for piece in re.findall(r" ?\w+| ?[^\w\s]|\s", text):
            if piece not in self.vocab:
                self.vocab.append(piece)
            ids.append(self.vocab.index(piece))
        return ids

    def token_bytes(self, token_id):
        return self.vocab[token_id].encode()


CORPUS = Corpus("test", {"eng_Latn": ["ab cd"], "kor_Hang": ["가나다 라"], "zho_Hans": ["一二"]})


def test_counts_by_hand():
    rows = {r.code: r for r in count_language_tokens(CharTokenizer(), CORPUS)}
    assert (rows["eng_Latn"].characters, rows["eng_Latn"].tokens, rows["eng_Latn"].words) == (
        5,
        5,
        2,
    )
    assert rows["kor_Hang"].premium == pytest.approx(5 / 5)
    assert rows["zho_Hans"].premium == pytest.approx(2 / 5)
    assert rows["zho_Hans"].words is None and rows["zho_Hans"].tokens_per_word is None
    assert rows["kor_Hang"].tokens_per_word == pytest.approx(5 / 2)
    assert rows["eng_Latn"].chars_per_token == 1.0


def test_english_is_required():
    with pytest.raises(ReportlibError, match="no English"):
        count_language_tokens(CharTokenizer(), Corpus("x", {"kor_Hang": ["가"]}))


def test_verdict_bands():
    assert verdict_in_band(4.2, (3.5, 4.5), (3, 5)) == SUPPORTED
    assert verdict_in_band(4.9, (3.5, 4.5), (3, 5)) == PARTLY
    assert verdict_in_band(5.04, (3.5, 4.5), (3, 5)) == REFUTED


def test_chars_per_token_claim_uses_english():
    rows = count_language_tokens(CharTokenizer(), CORPUS)
    check = check_chars_per_token(rows)
    assert check.measured == 1.0 and check.verdict == REFUTED
    assert (check.low, check.high) == (1.0, 1.0) and "3.5–4.5" in check.rule


@pytest.mark.parametrize(
    ("low", "high", "verdict"),
    [
        (3.9, 4.1, SUPPORTED),
        (4.4, 4.6, PARTLY),  # crosses 4.5, inside 3-5
        (5.1, 5.3, REFUTED),
        (2.0, 2.9, REFUTED),
        (4.9, 5.1, NOT_DECIDED),  # crosses 5
        (2.9, 3.1, NOT_DECIDED),  # crosses 3
        (2.5, 5.5, NOT_DECIDED),  # spans the whole band
    ],
)
def test_interval_verdicts_go_every_way(low, high, verdict):
    assert (
        verdict_of_interval(low, high, CHARS_PER_TOKEN_SUPPORTED, CHARS_PER_TOKEN_PARTLY) == verdict
    )


def test_intervals_resample_sentences_and_pair_the_premium():
    lines = {
        "eng_Latn": ["ab", "abcd", "a", "abc"],
        "kor_Hang": ["가나", "가나다라마바", "가", "가나다"],
    }
    rows = {r.code: r for r in count_language_tokens(CharTokenizer(), Corpus("t", lines))}
    english, korean = rows["eng_Latn"], rows["kor_Hang"]
    assert english.sentences == 4 and english.tokens == 10
    assert english.chars_per_token_low == english.chars_per_token_high == 1.0  # always 1
    assert korean.premium == pytest.approx(12 / 10)
    assert korean.premium_low < korean.premium < korean.premium_high
    again = {r.code: r for r in count_language_tokens(CharTokenizer(), Corpus("t", lines))}
    assert again == rows  # seeded: the same intervals every run


def test_premium_difference_is_positive_when_the_candidate_needs_fewer_tokens():
    class Halving(CharTokenizer):
        name = "half"

        def encode(self, text):
            ids = super().encode(text)
            return ids if text.isascii() else ids[: max(1, len(ids) // 2)]

    lines = {"eng_Latn": ["abcd", "ab", "abc"], "zho_Hans": ["一二三四", "一二", "一二三"]}
    diff = premium_difference(Halving(), CharTokenizer(), Corpus("t", lines), "zho_Hans")
    assert diff.premium == {"half": pytest.approx(4 / 9, abs=1e-4), "chars": 1.0}
    assert diff.difference > 0 and 0 < diff.low <= diff.high
    with pytest.raises(ReportlibError, match="no kor_Hang"):
        premium_difference(Halving(), CharTokenizer(), Corpus("t", lines), "kor_Hang")


def test_common_words_with_a_character_tokenizer_is_refuted():
    check = check_common_words(CharTokenizer())  # ' the' is 4 tokens
    assert check.verdict == REFUTED
    assert 0 < check.measured < 0.2  # only ' a' and ' I' fit in two tokens


def test_separation_by_hand():
    stats = separation_stats(WordTokenizer(), "Hi, you. Me  too!")
    # tokens: 'Hi' ',' ' you' '.' ' Me' ' ' ' too' '!'
    assert (stats.spaces, stats.spaces_alone) == (4, 1)
    assert (stats.punctuation, stats.punctuation_alone) == (3, 3)
    space, punct = check_separation(WordTokenizer(), "Hi, you. Me  too!")
    assert space.verdict == REFUTED and punct.verdict == SUPPORTED


class Fixed(CharTokenizer):
    """A tokenizer that returns the given byte pieces, whatever the text."""

    def __init__(self, pieces):
        self.pieces = pieces

    def encode(self, text):
        return list(range(len(self.pieces)))

    def token_bytes(self, token_id):
        return self.pieces[token_id]


def test_split_verdicts():
    whole = Fixed(["토큰".encode(), "화".encode()])
    syllables = Fixed([s.encode() for s in "토큰화"])
    merged = Fixed(["토".encode(), "큰화".encode()])
    assert check_split(whole).verdict == SUPPORTED
    assert check_split(syllables).verdict == PARTLY
    assert check_split(merged).verdict == REFUTED
    assert check_split(syllables).measured == 3
    word = "토큰화".encode()
    single_bytes = Fixed([word[i : i + 1] for i in range(len(word))])
    assert check_split(single_bytes).verdict == PARTLY  # bytes, each inside one syllable


def test_a_byte_piece_across_two_syllables_is_not_a_sub_word_split():
    """Llama 3's and Qwen's pieces of 토큰화: <ED><86> <A0><ED> <81> <B0> 화, where the
    second holds the end of 토 and the start of 큰. A boundary falls before 화, but the
    word is cut into bytes across syllables, not into sub-words: refuted."""
    llama3 = [b"\xed\x86", b"\xa0\xed", b"\x81", b"\xb0", "화".encode()]
    assert b"".join(llama3) == "토큰화".encode()
    assert pieces_crossing_characters([TokenPiece(i, r) for i, r in enumerate(llama3)]) == [1]
    assert check_split(Fixed(llama3)).verdict == REFUTED


def test_tables_keep_the_report_order():
    table = token_count_table(count_language_tokens(CharTokenizer(), CORPUS))
    wide = wide_table(table, "premium", {"chars": "Characters"})
    assert list(wide.index) == ["English", "Chinese", "Korean"]
    assert list(wide.columns) == ["Characters"]


def test_common_words_can_give_each_verdict():
    class WordsAsTokens(CharTokenizer):
        """One token per word, except the ``long`` words, which take three."""

        def __init__(self, long=()):
            self.long = set(long)

        def encode(self, text):
            return [0, 0, 0] if text.strip() in self.long else [0]

    from reportlib.experiments.tokens import COMMON_ENGLISH_WORDS

    assert check_common_words(WordsAsTokens()).verdict == SUPPORTED
    assert check_common_words(WordsAsTokens(COMMON_ENGLISH_WORDS[:10])).verdict == PARTLY
    assert check_common_words(WordsAsTokens(COMMON_ENGLISH_WORDS[:30])).verdict == REFUTED


def test_separation_can_give_each_verdict():
    space, punct = check_separation(CharTokenizer(), "Hi, you. Me too!")  # every char alone
    assert space.verdict == SUPPORTED and punct.verdict == SUPPORTED

    class Whole(CharTokenizer):
        """The whole text is one token: nothing stands alone."""

        def __init__(self):
            self.text = ""

        def encode(self, text):
            self.text = text
            return [0]

        def token_bytes(self, token_id):
            return self.text.encode()

    space, punct = check_separation(Whole(), "Hi, you. Me too!")
    assert space.verdict == REFUTED and punct.verdict == REFUTED


class LongestMatch:
    """Greedy longest match over a fixed vocabulary (a BPE in miniature): ' cat' is one
    token, but 'cat' at the start of a text is three, and ' ' next to '一' is its own."""

    name = label = "longest"
    VOCAB = (" cat", "c", "a", "t", ".", " ", "一", "二", "。")
    vocab_size = len(VOCAB)

    def encode(self, text):
        ids, i = [], 0
        while i < len(text):
            piece = max((v for v in self.VOCAB if text.startswith(v, i)), key=len)
            ids.append(self.VOCAB.index(piece))
            i += len(piece)
        return ids

    def token_bytes(self, token_id):
        return self.VOCAB[token_id].encode()


def test_joined_counts_differ_where_a_merge_crosses_the_sentence_boundary():
    lines = {"eng_Latn": ["cat.", "cat."], "zho_Hans": ["一。", "二。"]}
    corpus = Corpus("t", lines)
    alone = {r.code: r.tokens for r in count_language_tokens(LongestMatch(), corpus)}
    joined = {r.code: r for r in count_joined_tokens(LongestMatch(), corpus)}
    assert alone == {"eng_Latn": 4 + 4, "zho_Hans": 2 + 2}
    # "cat. cat.": the joining space merges with the next word into " cat" (fewer tokens);
    # "一。 二。": the joining space is a token of its own (more tokens)
    assert joined["eng_Latn"].tokens == 4 + 2 and joined["zho_Hans"].tokens == 2 + 1 + 2
    assert joined["eng_Latn"].characters == len("cat. cat.") and joined["eng_Latn"].sentences == 2
    assert joined["zho_Hans"].premium == pytest.approx(5 / 6, abs=1e-4)
    assert joined["eng_Latn"].chars_per_token == pytest.approx(9 / 6, abs=1e-4)


def test_joined_counts_encode_the_text_as_petrov_et_al_join_it():
    corpus = Corpus("t", {"eng_Latn": ["ab", "c", "de"]}, split_sizes=(2, 1))
    assert corpus.joined_text("eng_Latn") == "ab c  de "  # each split's file ends in "\n"
    (row,) = count_joined_tokens(CharTokenizer(), corpus)
    assert row.characters == row.tokens == len("ab c  de ")
    with pytest.raises(ReportlibError, match="no English"):
        count_joined_tokens(CharTokenizer(), Corpus("x", {"kor_Hang": ["가"]}))


def test_published_comparison_is_ours_minus_theirs():
    import pandas as pd

    class Named(CharTokenizer):
        name = "qwen"

    corpus = Corpus("t", {"eng_Latn": ["ab cd"], "kor_Hang": ["가나다 라"]})
    published = pd.DataFrame(
        {"Language": ["English", "Korean"], "Qwen": [4, 5], "UTF-32": [5, 6]},
        index=pd.Index(["eng_Latn", "kor_Hang"], name="code"),
    )
    rows = count_joined_tokens(Named(), corpus)
    table = published_comparison(rows, count_language_tokens(Named(), corpus), published)
    assert table.loc["English", "difference"] == 5 - 4
    assert table.loc["English", "relative_pct"] == pytest.approx(25.0)
    assert table.loc["Korean", "difference"] == 0
    assert table.loc["Korean", "characters"] - table.loc["Korean", "published_characters"] == -1
    assert table.loc["English", "sentence_difference"] == 1  # one sentence: alone = joined
    assert list(published_comparison(rows, published=published).columns)[-1] == (
        "published_characters"
    )
    with pytest.raises(ReportlibError, match="publish counts for qwen.*got rows of chars$"):
        published_comparison(count_joined_tokens(CharTokenizer(), corpus), published=published)
    with pytest.raises(ReportlibError, match="has no kor_Hang"):
        published_comparison(rows, published=published.drop(index="kor_Hang"))


def test_published_agreement_says_whether_the_counts_agree():
    import pandas as pd

    from reportlib.experiments.tokens import published_agreement

    table = pd.DataFrame(
        {
            "difference": [0, 0],
            "relative_pct": [0.0, 0.0],
            "characters": [5, 6],
            "published_characters": [5, 6],
            "sentence_difference": [3, -2],
            "sentence_relative_pct": [1.5, -0.5],
        },
        index=pd.Index(["English", "Korean"], name="language"),
    )
    summary = published_agreement(table)
    assert summary["measured_published_agreement"] == "agree exactly in all 2 languages"
    assert summary["n_published_exact"] == summary["n_published_characters_exact"] == 2
    assert (summary["n_sentence_more"], summary["n_sentence_fewer"]) == (1, 1)
    assert (summary["measured_sentence_min_pct"], summary["measured_sentence_max_pct"]) == (
        -0.5,
        1.5,
    )
    table.loc["Korean", ["difference", "relative_pct"]] = [-7, -0.25]
    off = published_agreement(table.drop(columns=["sentence_difference", "sentence_relative_pct"]))
    assert (
        off["measured_published_agreement"]
        == "differ in 1 of 2 languages, by up to 7 tokens (0.25%)"
    )
    assert off["n_published_exact"] == 1 and "n_sentence_more" not in off
