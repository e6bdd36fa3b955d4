"""What an answer says, beyond its language: degenerate or not, a self-introduction or not.

The judge (:mod:`reportlib.text.judge`) decides *which language* an answer is in. A
small base model often answers in the right language without answering at all:
it loops ("I am a student. I am a student. I am a …"), repeats the request
("Apresente-se em inglês. Apresente-se em francês …") or writes nothing but
punctuation. These rules label that, from the text alone:

``empty``
    fewer than :data:`MIN_LETTERS` letters once markup is removed (one Chinese,
    Japanese, Korean or Ethiopic character is a syllable or a word: not empty);
``loop``
    at least :data:`LOOP_SHARE` of the answer is repetition: either one stretch that
    repeats itself with a fixed period (two copies of a unit of :data:`PERIODIC_UNIT`
    or more characters, or three of a shorter one: "1. 1. 1. 1."), or characters
    covered by :data:`LONG_UNIT`-character pieces that occur more than once anywhere in
    the answer (a sentence said again after a "User:" line). The piece and the share
    are the third version's: the first (10 characters, half) called formulaic but real
    answers loops ("I am a member of the Student Council. I am a member of the Student
    Union."); the pair with the highest Cohen's kappa against a reader on two
    development sets (the base model's audit set and the chat model's first draw,
    :data:`LOOP_CANDIDATES`) replaced it, and the chat model's second draw, never used
    to choose, measures it (the multilingual chapter);
``echo``
    the answer is mostly the prompt said again: it shares a run of at least half of
    the request's characters (at least 6) with the request, or contains the whole
    opening, and once every copy of that run is removed less than half of its
    letters are left (:data:`ECHO_NEW_SHARE`). "네, 한국어로 자기소개를 하겠습니다.
    저는 서울에 사는 학생입니다." repeats part of the request but says something new:
    not an echo.

An answer is **degenerate** when any rule fires (the first that fires is its
reason). Whether an answer *speaks in the first person* is decided per language,
from a short list of first-person words of the requested language
(:data:`FIRST_PERSON`: "I", "my", "je", "ich", "я", "我", "저는", …) and a few
unambiguous English phrases ("I am", "my name", …), matched as whole words (a
combining mark of an Indic script counts as part of a word; Arabic "و"/"ف" may
be attached in front) where the language writes spaces between words, and as
substrings where it does not (Chinese, Japanese, Thai, Amharic). It is a lexical
rule, not understanding: the audit set in :mod:`reportlib.experiments.probe.analysis`
measures how often it agrees with a reader. These are the rules' second version,
revised after an independent review of the first; the audit set was drawn and
labelled after the revision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

from reportlib.core.errors import ReportlibError
from reportlib.text.judge import char_script, strip_markup

MIN_LETTERS = 2
#: (unit, share) pairs tried for the loop rule on the development sets
LOOP_CANDIDATES = tuple((unit, share) for unit in (10, 15, 20, 25, 30) for share in (0.5, 0.6, 0.7))
#: the unit of an exact periodic repetition ("저는 학생입니다. " is 10 characters)
PERIODIC_UNIT = 10
#: the width of the pieces that count as repeated anywhere in the answer, and the share
#: of repetition that makes a loop (chosen on the development sets, see above)
LONG_UNIT = 15
LOOP_SHARE = 0.6
ECHO_SHARE = 0.5
ECHO_MIN_CHARS = 6
ECHO_NEW_SHARE = 0.5

#: first-person words per language (FLORES code); matched case-insensitively
FIRST_PERSON: dict[str, tuple[str, ...]] = {
    "eng_Latn": ("i", "i'm", "i’m", "me", "my", "myself", "mine"),
    "spa_Latn": ("yo", "soy", "me llamo", "mi", "mis", "estoy", "tengo", "vivo", "trabajo"),
    "fra_Latn": ("je", "j'", "j’", "moi", "mon", "ma", "mes", "suis", "m'appelle"),
    "deu_Latn": ("ich", "mein", "meine", "meinen", "mich", "mir", "bin", "heiße"),
    "ita_Latn": ("io", "sono", "mi chiamo", "mio", "mia", "miei", "ho", "vivo", "lavoro"),
    "por_Latn": ("eu", "sou", "meu", "minha", "me chamo", "chamo-me", "estou", "tenho", "moro"),
    "rus_Cyrl": ("я", "меня", "мой", "моя", "мне", "мои", "зовут"),
    "pol_Latn": ("ja", "jestem", "nazywam", "mam", "mój", "moja", "mnie", "mieszkam"),
    "ces_Latn": ("já", "jsem", "jmenuji", "mám", "můj", "moje", "mé", "bydlím"),
    "slv_Latn": ("jaz", "sem", "ime mi je", "moj", "moja", "imam", "živim"),
    "zho_Hans": ("我",),
    "jpn_Jpan": ("私", "わたし", "僕", "ぼく", "俺", "名前は"),
    "kor_Hang": ("저는", "저의", "제가", "제", "저", "나는", "내가", "나의", "내", "나"),
    "kan_Knda": ("ನಾನು", "ನನ್ನ", "ನನಗೆ"),
    "tam_Taml": ("நான்", "என்", "எனது", "என்னை", "எனக்கு"),
    "hin_Deva": ("मैं", "मेरा", "मेरी", "मेरे", "मुझे"),
    "tha_Thai": ("ผม", "ฉัน", "ดิฉัน"),
    "yor_Latn": ("mo", "èmi", "emi", "mi", "orúkọ mi"),
    "amh_Ethi": ("እኔ", "ስሜ", "ነኝ"),
    "arb_Arab": ("أنا", "انا", "اسمي", "إسمي"),
    "hau_Latn": ("ni", "sunana", "ina", "nake"),
    "zul_Latn": ("mina", "ngingu", "igama lami", "ngi"),
}
#: English phrases that count for every language (single English words such as "I",
#: "me" or "mine" are words of other languages too: Italian "i", Spanish "me")
ENGLISH_PHRASES = ("i am", "i'm", "i’m", "my name", "myself", "i have", "i live", "i was")
#: languages written without spaces between words: markers match as substrings
UNSPACED = {"zho_Hans", "jpn_Jpan", "tha_Thai", "amh_Ethi"}
#: word characters beyond ``\w``: combining marks (matras, viramas) of Indic and Thai
#: scripts, and Arabic diacritics, so "என்" does not match inside "என்ன"
_MARKS = "\u0300-\u036f\u064b-\u065f\u0900-\u097f\u0b80-\u0bff\u0c80-\u0cff\u0e00-\u0e7f"
_NOT_BEFORE = rf"(?<![\w{_MARKS}])"
_NOT_AFTER = rf"(?![\w{_MARKS}])"
#: Arabic attaches "and" / "so" to the next word: "وأنا"
_ARABIC_PREFIX = "(?:[وف])?"
#: Zulu marks the first person with a verb prefix ("ngi-"): match word starts
PREFIX_MARKERS = {"zul_Latn": ("ngi",)}


@dataclass(frozen=True)
class Quality:
    """The labels of one answer."""

    degenerate: bool
    reason: str  #: "empty", "loop", "echo" or "" for a real continuation
    self_intro: bool


def letter_count(text: str) -> int:
    """Letters (Unicode category L*) in ``text``."""
    return sum(ch.isalpha() for ch in text)


#: scripts in which one character is a syllable or a word ("李", "김", "ሰ")
SYLLABIC_SCRIPTS = {"Han", "Hangul", "Hiragana", "Katakana", "Ethiopic"}


def is_empty(text: str) -> bool:
    """Fewer than :data:`MIN_LETTERS` letters, except that one character of a syllabic
    script (a Chinese name, a Korean syllable) is not empty."""
    if letter_count(text) >= MIN_LETTERS:
        return False
    letters = [ch for ch in text if ch.isalpha()]
    return not (letters and char_script(letters[0]) in SYLLABIC_SCRIPTS)


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def periodic_share(text: str, unit: int = PERIODIC_UNIT) -> float:
    """The largest share of ``text`` covered by one stretch that repeats with a fixed
    period, counting only stretches with two copies of a unit of at least ``unit``
    characters or three copies of a shorter unit (0 if none)."""
    s = _normalise(text)
    n = len(s)
    best = 0
    for period in range(1, n // 2 + 1):
        run = 0
        for i in range(n - period):
            run = run + 1 if s[i] == s[i + period] else 0
            stretch = run + period  # the stretch text[i+1-run : i+1+period] has this period
            copies = stretch / period
            if copies >= (2 if period >= unit else 3):
                best = max(best, stretch)
    return best / n if n else 0.0


def repeated_share(text: str, width: int = LONG_UNIT) -> float:
    """The share of ``text``'s characters covered by ``width``-character pieces that
    occur at least twice in it (whitespace runs count as one space)."""
    s = _normalise(text)
    if len(s) < 2 * width:
        return 0.0
    seen: dict[str, int] = {}
    for i in range(len(s) - width + 1):
        seen[s[i : i + width]] = seen.get(s[i : i + width], 0) + 1
    covered = [False] * len(s)
    for i in range(len(s) - width + 1):
        if seen[s[i : i + width]] > 1:
            covered[i : i + width] = [True] * width
    return sum(covered) / len(s)


def shared_run(a: str, b: str) -> str:
    """The longest common substring of ``a`` and ``b`` (case-folded, whitespace runs as
    one space)."""
    a, b = _normalise(a).casefold(), _normalise(b).casefold()
    if not a or not b:
        return ""
    match = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    return a[match.a : match.a + match.size]


def echo_of(answer: str, core_text: str, opening: bool) -> bool:
    """Whether ``answer`` is mostly the request (or the opening) said again: it shares a
    long enough run with it, and little is left once every copy of the run is removed."""
    core = _normalise(core_text)
    if not core:
        return False
    run = shared_run(answer, core)
    needed = (
        len(core) if opening else min(len(core), max(ECHO_MIN_CHARS, round(ECHO_SHARE * len(core))))
    )
    if len(run) < needed:
        return False
    text = _normalise(answer).casefold()
    left = letter_count(text.replace(run, " "))
    return left < ECHO_NEW_SHARE * letter_count(text)


def _whole_word(word: str, prefix: str = "") -> str:
    end = _NOT_AFTER if word[-1] not in "'’" else ""  # "j'" is followed by the next word
    return rf"{_NOT_BEFORE}{prefix}{re.escape(word)}{end}"


@lru_cache(maxsize=64)
def _marker_pattern(code: str) -> re.Pattern[str]:
    english = [_whole_word(w) for w in ENGLISH_PHRASES]
    if code in UNSPACED:
        native = [re.escape(w) for w in FIRST_PERSON[code]]
    else:
        prefix = _ARABIC_PREFIX if code == "arb_Arab" else ""
        native = [_whole_word(w, prefix) for w in FIRST_PERSON[code]]
        native += [rf"{_NOT_BEFORE}{re.escape(p)}\w+" for p in PREFIX_MARKERS.get(code, ())]
    return re.compile("|".join(native + english), re.IGNORECASE)


def introduces_itself(answer: str, code: str) -> bool:
    """Whether ``answer`` speaks in the first person, in the language ``code`` or English."""
    if code not in FIRST_PERSON:
        raise ReportlibError(
            f"no first-person words for {code!r}; known: {', '.join(FIRST_PERSON)}"
        )
    text = re.sub("[\u064b-\u065f]", "", strip_markup(answer))  # Arabic vowel marks
    return bool(_marker_pattern(code).search(text))


def loop_share(text: str, unit: int = LONG_UNIT) -> float:
    """The share of ``text`` that is repetition, by the larger of the two measures of the
    loop rule: :func:`periodic_share`, and :func:`repeated_share` with pieces of ``unit``
    characters."""
    return max(periodic_share(text), repeated_share(text, unit))


def label_answer(
    answer: str,
    code: str,
    core_text: str,
    opening: bool,
    loop: tuple[int, float] = (LONG_UNIT, LOOP_SHARE),
) -> Quality:
    """Label one answer to a prompt whose request (or opening) was ``core_text``; ``loop``
    is the loop rule's (unit, share)."""
    text = strip_markup(answer)
    reason = ""
    if is_empty(text):
        reason = "empty"
    elif loop_share(text, loop[0]) >= loop[1]:
        reason = "loop"
    elif echo_of(text, core_text, opening):
        reason = "echo"
    return Quality(bool(reason), reason, introduces_itself(text, code))
