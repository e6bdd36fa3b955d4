"""Token statistics per language, and the report's tokenization claims as checks."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from importlib.resources import files
from typing import Any

import numpy as np
import pandas as pd

from reportlib.core.errors import ReportlibError
from reportlib.core.html import escape_text
from reportlib.core.languages import ENGLISH, LANGUAGES, get_language
from reportlib.core.stats import percentile_interval, resample_indices
from reportlib.core.verdicts import NOT_DECIDED, PARTLY, REFUTED, SUPPORTED
from reportlib.text.corpus import Corpus
from reportlib.text.tokenization import (
    Tokenizer,
    TokenPiece,
    character_groups,
    pieces_crossing_characters,
    token_pieces,
)

#: The 100 most common English words of the Oxford English Corpus, in rank order.
COMMON_ENGLISH_WORDS: tuple[str, ...] = tuple(
    "the be to of and a in that have I it for not on with he as you do at this but his by "
    "from they we say her she or an will my one all would there their what so up out if "
    "about who get which go me when make can like time no just him know take people into "
    "year your good some could them see other than then now look only come its over think "
    "also back after use two how our work first well way even new want because any these "
    "give day most us".split()
)


#: bootstrap draws over sentences for every per-language interval (seeded, so reproducible)
BOOTSTRAP_DRAWS = 1000
BOOTSTRAP_SEED = 0


@dataclass(frozen=True)
class LanguageTokenCount:
    """Counts for one language under one tokenizer, with 95% bootstrap intervals over
    sentences (the same resampled sentences in every language, so premiums are paired)."""

    tokenizer: str
    code: str
    language: str
    script: str
    sentences: int
    characters: int
    words: int | None
    tokens: int
    chars_per_token: float
    chars_per_token_low: float
    chars_per_token_high: float
    tokens_per_word: float | None
    tokens_per_word_low: float | None
    tokens_per_word_high: float | None
    premium: float  #: tokens relative to English on the same parallel text
    premium_low: float
    premium_high: float


@dataclass(frozen=True)
class SentenceCounts:
    """Characters, words and tokens of every sentence of one language (each encoded alone)."""

    characters: np.ndarray
    words: np.ndarray
    tokens: np.ndarray


def sentence_counts(tokenizer: Tokenizer, corpus: Corpus) -> dict[str, SentenceCounts]:
    """Per-sentence counts for every language of ``corpus`` (no special tokens)."""
    if ENGLISH not in corpus.lines:
        raise ReportlibError("the corpus has no English text, the reference for premiums")
    counts = {}
    for code, lines in corpus.lines.items():
        counts[code] = SentenceCounts(
            np.array([len(line) for line in lines], dtype=np.int64),
            np.array([len(line.split()) for line in lines], dtype=np.int64),
            np.array([len(tokenizer.encode(line)) for line in lines], dtype=np.int64),
        )
    return counts


def bootstrap_indices(n: int, draws: int = BOOTSTRAP_DRAWS, seed: int = BOOTSTRAP_SEED):
    """``draws`` resamples of ``n`` sentence indices, with replacement (seeded)."""
    if n < 1:
        raise ReportlibError("the corpus has no sentences to resample")
    return resample_indices(n, draws, seed)


def _ratio(num: np.ndarray, den: np.ndarray, idx: np.ndarray) -> tuple[float, float, float]:
    """Ratio of sums and its 95% percentile interval over resampled sentences."""
    replicates = num[idx].sum(axis=1) / np.maximum(den[idx].sum(axis=1), 1)
    low, high = percentile_interval(replicates)
    return float(num.sum() / max(den.sum(), 1)), low, high


def count_language_tokens(
    tokenizer: Tokenizer,
    corpus: Corpus,
    draws: int = BOOTSTRAP_DRAWS,
    seed: int = BOOTSTRAP_SEED,
) -> list[LanguageTokenCount]:
    """Characters, words and tokens for every language of ``corpus``, each sentence encoded
    alone; ratios are ratios of sums, with percentile intervals over resampled sentences."""
    counts = sentence_counts(tokenizer, corpus)
    english = counts[ENGLISH]
    idx = bootstrap_indices(len(english.tokens), draws, seed)
    rows = []
    for code, c in counts.items():
        lang = get_language(code)
        cpt = _ratio(c.characters, c.tokens, idx)
        premium = _ratio(c.tokens, english.tokens, idx)
        tpw = _ratio(c.tokens, c.words, idx) if lang.spaces else (None, None, None)
        rows.append(
            LanguageTokenCount(
                tokenizer=tokenizer.name,
                code=code,
                language=lang.name,
                script=lang.script,
                sentences=len(c.tokens),
                characters=int(c.characters.sum()),
                words=int(c.words.sum()) if lang.spaces else None,
                tokens=int(c.tokens.sum()),
                chars_per_token=round(cpt[0], 4),
                chars_per_token_low=round(cpt[1], 4),
                chars_per_token_high=round(cpt[2], 4),
                tokens_per_word=_round(tpw[0]),
                tokens_per_word_low=_round(tpw[1]),
                tokens_per_word_high=_round(tpw[2]),
                premium=round(premium[0], 4),
                premium_low=round(premium[1], 4),
                premium_high=round(premium[2], 4),
            )
        )
    return rows


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@dataclass(frozen=True)
class JoinedTokenCount:
    """Counts for one language's whole text encoded at once (:meth:`Corpus.joined_text`), as
    Petrov et al. (2023) count: one text, so no sentences to resample and no interval."""

    tokenizer: str
    code: str
    language: str
    sentences: int
    characters: int  #: of the joined text, the spaces that join the sentences included
    tokens: int
    chars_per_token: float
    premium: float  #: tokens relative to English's joined text


def count_joined_tokens(tokenizer: Tokenizer, corpus: Corpus) -> list[JoinedTokenCount]:
    """Characters and tokens of every language's joined text (no special tokens). A merge
    can cross the space that joins two sentences, so the count can differ from the sum of
    :func:`count_language_tokens`, which encodes each sentence alone."""
    if ENGLISH not in corpus.lines:
        raise ReportlibError("the corpus has no English text, the reference for premiums")
    texts = {code: corpus.joined_text(code) for code in corpus.lines}
    tokens = {code: len(tokenizer.encode(text)) for code, text in texts.items()}
    return [
        JoinedTokenCount(
            tokenizer=tokenizer.name,
            code=code,
            language=get_language(code).name,
            sentences=len(corpus.lines[code]),
            characters=len(text),
            tokens=tokens[code],
            chars_per_token=round(len(text) / max(tokens[code], 1), 4),
            premium=round(tokens[code] / max(tokens[ENGLISH], 1), 4),
        )
        for code, text in texts.items()
    ]


#: Petrov et al.'s (2023) published counts for the book's languages (see its ``.md``)
PUBLISHED_COUNTS_FILE = "petrov2023_token_counts.csv"
#: our tokenizer's name -> the column of their table counted with the same vocabulary
PUBLISHED_TOKENIZERS = {"qwen": "Qwen"}
#: their one-token-per-code-point "tokenizer": the characters of the text they counted
PUBLISHED_CHARACTERS = "UTF-32"


def published_token_counts() -> pd.DataFrame:
    """Petrov et al.'s published counts on FLORES-200 dev+devtest, joined, one row per
    FLORES code: their language name, then one column per tokenizer of theirs."""
    path = files("reportlib").joinpath("data", PUBLISHED_COUNTS_FILE)
    with path.open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, index_col="code")


#: :func:`published_comparison`'s columns as a reader reads them
COMPARISON_LABELS = {
    "tokens": "ours, joined",
    "published": "Petrov et al.",
    "difference": "difference",
    "relative_pct": "difference (%)",
    "characters": "characters, ours",
    "published_characters": "UTF-32, Petrov et al.",
    "sentence_tokens": "ours, each sentence alone",
    "sentence_difference": "its difference",
    "sentence_relative_pct": "its difference (%)",
}


def published_comparison(
    rows: Iterable[JoinedTokenCount],
    per_sentence: Iterable[LanguageTokenCount] = (),
    published: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Our joined counts beside Petrov et al.'s for the same tokenizer, one row per language
    (the book's name): ``difference`` is ours minus theirs, ``relative_pct`` that in percent
    of theirs; our joined text's characters beside their UTF-32 count (the same text has
    the same number). With ``per_sentence`` (the same tokenizer's :func:`count_language_tokens`)
    also the sum of each sentence encoded alone, and its difference from theirs (``sentence_``)."""
    table = published_token_counts() if published is None else published
    rows = list(rows)
    names = sorted({r.tokenizer for r in rows})
    if len(names) != 1 or names[0] not in PUBLISHED_TOKENIZERS:
        raise ReportlibError(
            f"Petrov et al. publish counts for {', '.join(PUBLISHED_TOKENIZERS)} of the book's "
            f"tokenizers; got rows of {', '.join(names) or 'none'}"
        )
    name = names[0]
    column = PUBLISHED_TOKENIZERS[name]
    alone = {r.code: r.tokens for r in per_sentence if r.tokenizer == name}
    records = []
    for r in rows:
        if r.code not in table.index:
            raise ReportlibError(f"Petrov et al.'s table has no {r.code}")
        theirs = int(table.loc[r.code, column])
        record = {
            "language": r.language,
            "tokens": r.tokens,
            "published": theirs,
            "difference": r.tokens - theirs,
            "relative_pct": round(100 * (r.tokens - theirs) / theirs, 4),
            "characters": r.characters,
            "published_characters": int(table.loc[r.code, PUBLISHED_CHARACTERS]),
        }
        if alone:
            record["sentence_tokens"] = alone[r.code]
            record["sentence_difference"] = alone[r.code] - theirs
            record["sentence_relative_pct"] = round(100 * (alone[r.code] - theirs) / theirs, 4)
        records.append(record)
    return pd.DataFrame(records).set_index("language")


def published_agreement(table: pd.DataFrame) -> dict[str, Any]:
    """What :func:`published_comparison`'s table says, as the glue names the chapter shows:
    how many languages agree exactly (tokens, and characters with their UTF-32), the largest
    difference, a sentence that says it, and (with the ``sentence_`` columns) the range of
    the differences when each sentence is encoded alone."""
    n, exact = len(table), int((table["difference"] == 0).sum())
    largest = int(table["difference"].abs().max())
    if exact == n:
        sentence = f"agree exactly in all {n} languages"
    else:
        sentence = (
            f"differ in {n - exact} of {n} languages, by up to {largest:,} tokens "
            f"({table['relative_pct'].abs().max():.3g}%)"
        )
    out: dict[str, Any] = {
        "n_published_languages": n,
        "n_published_exact": exact,
        "n_published_characters_exact": int(
            (table["characters"] == table["published_characters"]).sum()
        ),
        "measured_published_max_difference": largest,
        "measured_published_agreement": sentence,
    }
    if "sentence_difference" in table:
        pct = table["sentence_relative_pct"]
        out |= {
            "n_sentence_more": int((table["sentence_difference"] > 0).sum()),
            "n_sentence_fewer": int((table["sentence_difference"] < 0).sum()),
            "measured_sentence_min_pct": float(pct.min()),
            "measured_sentence_max_pct": float(pct.max()),
        }
    return out


@dataclass(frozen=True)
class PremiumDifference:
    """How much lower one tokenizer's premium for a language is than another's."""

    code: str
    premium: dict[str, float]  #: tokenizer name -> premium of ``code`` over English
    difference: float  #: premium of ``reference`` minus premium of ``candidate``
    low: float
    high: float


def premium_difference(
    candidate: Tokenizer,
    reference: Tokenizer,
    corpus: Corpus,
    code: str,
    draws: int = BOOTSTRAP_DRAWS,
    seed: int = BOOTSTRAP_SEED,
) -> PremiumDifference:
    """``reference``'s premium minus ``candidate``'s for language ``code``, with a paired
    95% bootstrap interval over sentences (positive: ``candidate`` needs fewer tokens)."""
    a, b = sentence_counts(candidate, corpus), sentence_counts(reference, corpus)
    if code not in a:
        raise ReportlibError(f"the corpus has no {code} text")
    idx = bootstrap_indices(len(a[ENGLISH].tokens), draws, seed)

    def premium(c: dict[str, SentenceCounts], rows: np.ndarray | slice) -> np.ndarray:
        return c[code].tokens[rows].sum(axis=-1) / c[ENGLISH].tokens[rows].sum(axis=-1)

    whole = slice(None)
    low, high = percentile_interval(premium(b, idx) - premium(a, idx))
    pa, pb = float(premium(a, whole)), float(premium(b, whole))
    return PremiumDifference(
        code, {candidate.name: round(pa, 4), reference.name: round(pb, 4)}, pb - pa, low, high
    )


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
    rule: str = ""  #: how the verdict follows from the number, in words
    low: float | None = None  #: 95% interval of ``measured``, where it has one
    high: float | None = None


def verdict_in_band(
    value: float, supported: tuple[float, float], partly: tuple[float, float]
) -> str:
    """``supported`` inside the first band, ``partly true`` inside the second, else ``refuted``."""
    if supported[0] <= value <= supported[1]:
        return SUPPORTED
    if partly[0] <= value <= partly[1]:
        return PARTLY
    return REFUTED


#: "about 4 characters per token": the tolerance bands, as (low, high)
CHARS_PER_TOKEN_SUPPORTED = (3.5, 4.5)
CHARS_PER_TOKEN_PARTLY = (3.0, 5.0)
CHARS_PER_TOKEN_RULE = (
    "'about 4' read as 3.5–4.5 (±12.5%): supported if the 95% interval over sentences lies "
    "in 3.5–4.5, partly true if it lies in 3–5, refuted if it lies outside 3–5, not decided "
    "if it crosses 3 or 5. Characters per token depend on the genre of the text."
)


def verdict_of_interval(
    low: float, high: float, supported: tuple[float, float], partly: tuple[float, float]
) -> str:
    """The verdict an interval earns against two tolerance bands: ``supported`` when it lies
    in the first, ``partly true`` in the second, ``refuted`` when it lies wholly outside the
    second, and ``not decided`` when it crosses the second band's edge."""
    if supported[0] <= low and high <= supported[1]:
        return SUPPORTED
    if partly[0] <= low and high <= partly[1]:
        return PARTLY
    if high < partly[0] or low > partly[1]:
        return REFUTED
    return NOT_DECIDED


def check_chars_per_token(rows: Iterable[LanguageTokenCount]) -> ClaimCheck:
    """ "About 4 characters per token in English", judged on the interval (see the rule)."""
    english = next(r for r in rows if r.code == ENGLISH)
    low, high = english.chars_per_token_low, english.chars_per_token_high
    return ClaimCheck(
        "chars_per_token",
        "~4 characters per token (English)",
        english.tokenizer,
        english.chars_per_token,
        verdict_of_interval(low, high, CHARS_PER_TOKEN_SUPPORTED, CHARS_PER_TOKEN_PARTLY),
        CHARS_PER_TOKEN_RULE,
        low,
        high,
    )


def common_word_token_counts(
    tokenizer: Tokenizer,
    words: Iterable[str] = COMMON_ENGLISH_WORDS,
) -> dict[str, int]:
    """Tokens per common word as it appears in running text (after a space)."""
    return {w: len(tokenizer.encode(" " + w)) for w in words}


COMMON_WORDS_RULE = (
    "supported if at least 95% of the 100 most common English words (Oxford English "
    "Corpus) take at most two tokens after a space, partly true from 75%, refuted below"
)
SEPARATION_RULE = (
    "'usually' read as more than half: supported if more than 50% of the {what} of the "
    "English text stand in tokens of their own, refuted otherwise"
)
SPLIT_RULE = (
    "supported if the tokens are exactly 토큰 + 화; partly true if a token boundary falls "
    "before 화 and 토큰 is split further into syllables or bytes of one syllable; refuted "
    "otherwise, and when a piece straddles two syllables (a byte fragment across a syllable "
    "boundary is not a sub-word split)"
)


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
        COMMON_WORDS_RULE,
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
            SEPARATION_RULE.format(what="spaces"),
        ),
        ClaimCheck(
            "punctuation",
            "punctuation is usually a separate token",
            tokenizer.name,
            round(stats.punctuation_share, 4),
            SUPPORTED if stats.punctuation_share > 0.5 else REFUTED,
            SEPARATION_RULE.format(what="punctuation marks"),
        ),
    ]


def check_split(
    tokenizer: Tokenizer, word: str = "토큰화", expected: tuple[str, ...] = ("토큰", "화")
) -> ClaimCheck:
    """ "토큰화 is split into 토큰 + 화".

    Supported when the tokens are exactly the expected pieces; partly true when
    a token boundary falls before the last piece and the rest is split further
    into syllables or bytes of one syllable; refuted otherwise, including when
    a piece straddles two syllables. The measured value is the number of tokens.
    """
    pieces = token_pieces(tokenizer, word)
    tokens = tuple(p.readable for p in pieces)
    groups = [text for _, text in character_groups(pieces)]
    if tokens == expected:
        verdict = SUPPORTED
    elif groups and groups[-1] == expected[-1] and not pieces_crossing_characters(pieces):
        verdict = PARTLY
    else:
        verdict = REFUTED
    return ClaimCheck(
        "split_word",
        f"{word} = {' + '.join(expected)}",
        tokenizer.name,
        float(len(pieces)),
        verdict,
        SPLIT_RULE,
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


def interval_table(
    table: pd.DataFrame, value: str, labels: dict[str, str] | None = None
) -> pd.DataFrame:
    """:func:`wide_table` of ``value`` with its 95% interval, as text: ``1.49 [1.48, 1.50]``."""
    mid, low, high = (
        wide_table(table, v, labels) for v in (value, f"{value}_low", f"{value}_high")
    )
    shown = mid.copy().astype(object)
    for column in mid.columns:
        shown[column] = [
            "—" if pd.isna(m) else f"{m:.2f} [{lo:.2f}, {hi:.2f}]"
            for m, lo, hi in zip(mid[column], low[column], high[column], strict=True)
        ]
    return shown


#: how each check's number reads in a table
CHECK_FORMATS = {
    "chars_per_token": "{:.2f}",
    "common_words": "{:.0%} of words",
    "spaces": "{:.0%} of spaces",
    "punctuation": "{:.0%} of marks",
    "split_word": "{:.0f} tokens",
}


def claims_table(
    checks: Iterable[ClaimCheck], labels: dict[str, str] | None = None
) -> pd.DataFrame:
    """One row per claim, one column per tokenizer: the number (with its interval) and the
    verdict, as text."""
    rows = []
    for c in checks:
        shown = CHECK_FORMATS.get(c.key, "{:.3g}").format(c.measured)
        if c.low is not None:
            shown += f" [{c.low:.2f}, {c.high:.2f}]"
        rows.append({"claim": c.claim, "tokenizer": c.tokenizer, "shown": f"{shown} — {c.verdict}"})
    wide = pd.DataFrame(rows).pivot(index="claim", columns="tokenizer", values="shown")
    wide.columns.name = None
    return wide.rename(columns=labels or {})


_COLOURS = ("#fde68a", "#bfdbfe", "#bbf7d0", "#fbcfe8", "#ddd6fe")


def token_boundaries_html(pieces: list[TokenPiece], title: str = "") -> str:
    """Coloured token boundaries, each token's id and bytes in its tooltip."""
    spans = []
    for i, piece in enumerate(pieces):
        shown = piece.readable.replace(" ", "\u2423")  # make spaces visible: ␣
        tip = f"id {piece.token_id}: {piece.raw!r}"
        spans.append(
            f'<span title="{escape_text(tip)}" style="background:{_COLOURS[i % len(_COLOURS)]};'
            f'padding:1px 2px;margin:0 1px;border-radius:3px;font-family:monospace">'
            f"{escape_text(shown)}</span>"
        )
    head = f"<strong>{escape_text(title)}</strong> " if title else ""
    return f'<div class="token-boundaries">{head}{"".join(spans)}</div>'
