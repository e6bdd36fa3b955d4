"""Token statistics per language, and the report's tokenization claims as checks."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import pandas as pd

from .corpus import Corpus
from .errors import ReportlibError
from .languages import ENGLISH, LANGUAGES, get_language
from .tokenization import Tokenizer, character_groups, token_pieces

#: The 100 most common English words of the Oxford English Corpus, in rank order.
COMMON_ENGLISH_WORDS: tuple[str, ...] = tuple(
    "the be to of and a in that have I it for not on with he as you do at this but his by "
    "from they we say her she or an will my one all would there their what so up out if "
    "about who get which go me when make can like time no just him know take people into "
    "year your good some could them see other than then now look only come its over think "
    "also back after use two how our work first well way even new want because any these "
    "give day most us".split()
)

SUPPORTED, PARTLY, REFUTED = "supported", "partly true", "refuted"
#: a two-sided test that is not significant in either direction
NOT_DECIDED = "not decided"


@dataclass(frozen=True)
class LanguageTokenCount:
    """Counts for one language under one tokenizer."""

    tokenizer: str
    code: str
    language: str
    script: str
    characters: int
    words: int | None
    tokens: int
    chars_per_token: float
    tokens_per_word: float | None
    premium: float  #: tokens relative to English on the same parallel text


def count_language_tokens(tokenizer: Tokenizer, corpus: Corpus) -> list[LanguageTokenCount]:
    """Characters, words and tokens for every language of ``corpus``."""
    if ENGLISH not in corpus.texts:
        raise ReportlibError("the corpus has no English text, the reference for premiums")
    english_tokens = len(tokenizer.encode(corpus.texts[ENGLISH]))
    rows = []
    for code, text in corpus.texts.items():
        lang = get_language(code)
        n_tokens = len(tokenizer.encode(text))
        n_chars = len(text)
        n_words = len(text.split()) if lang.spaces else None
        rows.append(
            LanguageTokenCount(
                tokenizer=tokenizer.name,
                code=code,
                language=lang.name,
                script=lang.script,
                characters=n_chars,
                words=n_words,
                tokens=n_tokens,
                chars_per_token=round(n_chars / n_tokens, 4),
                tokens_per_word=round(n_tokens / n_words, 4) if n_words else None,
                premium=round(n_tokens / english_tokens, 4),
            )
        )
    return rows


def token_count_table(rows: Iterable[LanguageTokenCount]) -> pd.DataFrame:
    """The rows as a DataFrame, one row per (tokenizer, language)."""
    return pd.DataFrame([asdict(r) for r in rows])


@dataclass(frozen=True)
class ClaimCheck:
    """One claim of the report, the number that decides it, and the verdict."""

    key: str  #: a stable name (glue keys are built from it)
    claim: str
    tokenizer: str
    measured: float
    verdict: str


def verdict_in_band(
    value: float, supported: tuple[float, float], partly: tuple[float, float]
) -> str:
    """``supported`` inside the first band, ``partly true`` inside the second, else ``refuted``."""
    if supported[0] <= value <= supported[1]:
        return SUPPORTED
    if partly[0] <= value <= partly[1]:
        return PARTLY
    return REFUTED


def check_chars_per_token(rows: Iterable[LanguageTokenCount]) -> ClaimCheck:
    """ "About 4 characters per token in English": 3.5-4.5 supports it, 3-5 partly."""
    english = next(r for r in rows if r.code == ENGLISH)
    value = english.chars_per_token
    return ClaimCheck(
        "chars_per_token",
        "~4 characters per token (English)",
        english.tokenizer,
        value,
        verdict_in_band(value, (3.5, 4.5), (3.0, 5.0)),
    )


def common_word_token_counts(
    tokenizer: Tokenizer,
    words: Iterable[str] = COMMON_ENGLISH_WORDS,
) -> dict[str, int]:
    """Tokens per common word as it appears in running text (after a space)."""
    return {w: len(tokenizer.encode(" " + w)) for w in words}


def check_common_words(tokenizer: Tokenizer) -> ClaimCheck:
    """ "Common English words are 1-2 tokens": share of the top 100 words with at most 2."""
    counts = common_word_token_counts(tokenizer)
    share = sum(1 for n in counts.values() if n <= 2) / len(counts)
    return ClaimCheck(
        "common_words",
        "common English words are 1–2 tokens",
        tokenizer.name,
        round(share, 4),
        verdict_in_band(share, (0.95, 1.0), (0.75, 1.0)),
    )


@dataclass(frozen=True)
class SeparationStats:
    """How often spaces and punctuation stand in tokens of their own."""

    spaces: int
    spaces_alone: int
    punctuation: int
    punctuation_alone: int

    @property
    def space_share(self) -> float:
        return self.spaces_alone / self.spaces if self.spaces else 0.0

    @property
    def punctuation_share(self) -> float:
        return self.punctuation_alone / self.punctuation if self.punctuation else 0.0


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


def separation_stats(tokenizer: Tokenizer, text: str) -> SeparationStats:
    """Count spaces in whitespace-only tokens and punctuation in punctuation-only tokens."""
    spaces = spaces_alone = punct = punct_alone = 0
    for piece in token_pieces(tokenizer, text):
        if not piece.is_whole_text:
            continue
        token = piece.raw.decode("utf-8")
        only_space = token.strip() == ""
        only_punct = not only_space and all(c.isspace() or _is_punct(c) for c in token)
        for ch in token:
            if ch == " ":
                spaces += 1
                spaces_alone += only_space
            elif _is_punct(ch):
                punct += 1
                punct_alone += only_punct
    return SeparationStats(spaces, spaces_alone, punct, punct_alone)


def check_separation(tokenizer: Tokenizer, english_text: str) -> list[ClaimCheck]:
    """ "Spaces and punctuation are usually separate tokens": a share above 0.5 is "usually"."""
    stats = separation_stats(tokenizer, english_text)
    return [
        ClaimCheck(
            "spaces",
            "spaces are usually separate tokens",
            tokenizer.name,
            round(stats.space_share, 4),
            SUPPORTED if stats.space_share > 0.5 else REFUTED,
        ),
        ClaimCheck(
            "punctuation",
            "punctuation is usually a separate token",
            tokenizer.name,
            round(stats.punctuation_share, 4),
            SUPPORTED if stats.punctuation_share > 0.5 else REFUTED,
        ),
    ]


def check_split(
    tokenizer: Tokenizer, word: str = "토큰화", expected: tuple[str, ...] = ("토큰", "화")
) -> ClaimCheck:
    """ "토큰화 is split into 토큰 + 화".

    Supported when the tokens are exactly the expected pieces; partly true when
    a token boundary falls before the last piece but the rest is split further
    (into syllables, or into UTF-8 byte fragments); refuted otherwise. The
    measured value is the number of tokens.
    """
    pieces = token_pieces(tokenizer, word)
    tokens = tuple(p.readable for p in pieces)
    groups = [text for _, text in character_groups(pieces)]
    if tokens == expected:
        verdict = SUPPORTED
    elif groups and groups[-1] == expected[-1]:
        verdict = PARTLY
    else:
        verdict = REFUTED
    return ClaimCheck(
        "split_word",
        f"{word} = {' + '.join(expected)}",
        tokenizer.name,
        float(len(pieces)),
        verdict,
    )


def wide_table(
    table: pd.DataFrame,
    value: str,
    labels: dict[str, str] | None = None,
) -> pd.DataFrame:
    """One row per language (in the report's order), one column per tokenizer."""

    order = [lang.name for lang in LANGUAGES if lang.name in set(table["language"])]
    wide = table.pivot(index="language", columns="tokenizer", values=value).loc[order]
    wide.columns.name = None
    return wide.rename(columns=labels or {})
