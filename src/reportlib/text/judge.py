"""Judging the language of an answer without another model.

An answer is *on-language* when most of its letters are in the script of the
requested language **and** the language is confirmed: by the script itself
where only one language of CLD3's 107 is written in it (Hangul: Korean; kana:
Japanese; Kannada, Tamil, Thai, Ethiopic), otherwise by the offline language
identifier CLD3 (PyPI ``cld3-py``). Script alone cannot tell Spanish from
Portuguese; CLD3 alone is unreliable on short, repetitive or digit-heavy text
(it calls "2018년 1월 1일, 2018년 1월 2일" Japanese). Markup (HTML tags,
Markdown symbols, URLs) is removed first.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from reportlib.core.languages import LANGUAGES, Language

#: the first word of a Unicode character name -> script
_SCRIPT_PREFIXES = {
    "LATIN": "Latin",
    "FULLWIDTH": "Latin",
    "CYRILLIC": "Cyrillic",
    "GREEK": "Greek",
    "ARABIC": "Arabic",
    "HEBREW": "Hebrew",
    "ETHIOPIC": "Ethiopic",
    "HANGUL": "Hangul",
    "CJK": "Han",
    "HIRAGANA": "Hiragana",
    "KATAKANA": "Katakana",
    "KATAKANA-HIRAGANA": "Katakana",
    "HALFWIDTH": "Katakana",
    "DEVANAGARI": "Devanagari",
    "BENGALI": "Bengali",
    "TAMIL": "Tamil",
    "KANNADA": "Kannada",
    "TELUGU": "Telugu",
    "MALAYALAM": "Malayalam",
    "THAI": "Thai",
    "GEORGIAN": "Georgian",
    "ARMENIAN": "Armenian",
}
#: scripts accepted for a language whose table script is not one Unicode script
_ACCEPTED = {"Japanese": {"Han", "Hiragana", "Katakana"}}
#: scripts that, among CLD3's languages, only one language is written in
UNIQUE_SCRIPTS = {
    "Hangul": "ko",
    "Hiragana": "ja",
    "Katakana": "ja",
    "Kannada": "kn",
    "Tamil": "ta",
    "Thai": "th",
    "Ethiopic": "am",
}
MIN_LETTERS = 3
_TABLE_ISO = frozenset(lang.iso for lang in LANGUAGES)
_MARKUP = re.compile(r"<[^>]{0,200}>|https?://\S+|[*_#`|~>\[\]{}]+")


def strip_markup(text: str) -> str:
    """Remove HTML tags, URLs and Markdown punctuation, which carry no language."""
    return re.sub(r"\s+", " ", _MARKUP.sub(" ", text)).strip()


def char_script(ch: str) -> str | None:
    """The script of a letter or mark, ``None`` for anything else (digits, spaces...)."""
    if not unicodedata.category(ch).startswith(("L", "M")):
        return None
    name = unicodedata.name(ch, "")
    if name.startswith("COMBINING"):
        return None  # accents combine with letters of any script
    return _SCRIPT_PREFIXES.get(name.split(" ", 1)[0], "Other")


def script_counts(text: str) -> Counter[str]:
    """How many letters of each script ``text`` has."""
    return Counter(s for s in map(char_script, text) if s is not None)


def accepted_scripts(lang: Language) -> set[str]:
    return _ACCEPTED.get(lang.script, {lang.script})


@lru_cache(maxsize=1)
def _identifier():
    import gcld3

    return gcld3.NNetLanguageIdentifier(min_num_bytes=0, max_num_bytes=2000)


@dataclass(frozen=True)
class Judgement:
    """The verdict on one answer."""

    detected_language: str  #: ISO code from CLD3 (``und`` if nothing to judge)
    probability: float
    main_script: str
    script_share: float  #: share of letters in the requested language's script
    on_language: bool
    decided_by: str  #: "script" or "cld3" (or "empty")


def identify_language(text: str) -> tuple[str, float]:
    """CLD3's best guess (ISO code without script suffix) and its probability."""
    result = _identifier().FindLanguage(text)
    return result.language.split("-")[0], round(float(result.probability), 4)


def strip_diacritics(text: str) -> str:
    """Remove accents and tone marks (NFD, drop marks, NFC)."""
    decomposed = unicodedata.normalize("NFD", text)
    kept = "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))
    return unicodedata.normalize("NFC", kept)


def judge_answer(text: str, lang: Language) -> Judgement:
    """Is ``text`` written in ``lang``? (script share >= 0.5 and CLD3 agrees)

    CLD3 reads fully tone-marked Yoruba as Vietnamese. When its first answer is
    a language outside the book's table (Vietnamese, Azerbaijani...), it is asked
    again on the text without diacritics (Latin script only: stripping marks
    would mangle Indic and Thai text). An answer inside the table is final, so a
    Slovak text is never re-read until it looks Slovenian.
    """
    clean = strip_markup(text)
    counts = script_counts(clean)
    letters = sum(counts.values())
    if letters < MIN_LETTERS:
        return Judgement("und", 0.0, "none", 0.0, False, "empty")
    share = sum(n for s, n in counts.items() if s in accepted_scripts(lang)) / letters
    detected, probability = identify_language(clean)
    if detected not in _TABLE_ISO and lang.script == "Latin":
        second = identify_language(strip_diacritics(clean))
        if second[0] == lang.iso:
            detected, probability = second
    main_script = counts.most_common(1)[0][0]
    by_script = any(
        UNIQUE_SCRIPTS.get(s) == lang.iso for s in counts if s in accepted_scripts(lang)
    )
    confirmed = by_script or detected == lang.iso
    return Judgement(
        detected,
        probability,
        main_script,
        round(share, 4),
        share >= 0.5 and confirmed,
        "script" if by_script else "cld3",
    )


#: for each language, a language whose text is labelled with it in the judge's
#: "deliberately wrong" reference set: near neighbours where possible
CONFUSERS: dict[str, str] = {
    "eng_Latn": "deu_Latn",
    "spa_Latn": "por_Latn",
    "fra_Latn": "ita_Latn",
    "deu_Latn": "nld_Latn",
    "ita_Latn": "spa_Latn",
    "por_Latn": "spa_Latn",
    "nld_Latn": "deu_Latn",
    "rus_Cyrl": "pol_Latn",
    "pol_Latn": "rus_Cyrl",
    "ces_Latn": "slk_Latn",
    "slv_Latn": "slk_Latn",
    "slk_Latn": "ces_Latn",
    "zho_Hans": "jpn_Jpan",
    "jpn_Jpan": "zho_Hans",
    "kor_Hang": "jpn_Jpan",
    "kan_Knda": "tam_Taml",
    "tam_Taml": "kan_Knda",
    "hin_Deva": "tam_Taml",
    "tha_Thai": "zho_Hans",
    "yor_Latn": "hau_Latn",
    "amh_Ethi": "arb_Arab",
    "arb_Arab": "amh_Ethi",
    "hau_Latn": "yor_Latn",
    "zul_Latn": "hau_Latn",
}
