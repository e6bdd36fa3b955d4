"""What an answer says, beyond its language: degenerate or not, a self-introduction or not.

The judge (:mod:`reportlib.judge`) decides *which language* an answer is in. A
small base model often answers in the right language without answering at all:
it loops ("I am a student. I am a student. I am a …"), repeats the request
("Apresente-se em inglês. Apresente-se em francês …") or writes nothing but
punctuation. These rules label that, from the text alone:

``empty``
    fewer than :data:`MIN_LETTERS` letters once markup is removed;
``loop``
    at least half of the answer (:data:`LOOP_SHARE`) is repetition: either one
    stretch that repeats itself with a fixed period (two copies of a unit of 10 or
    more characters, or three of a shorter one: "1. 1. 1. 1."), or characters
    covered by 10-character pieces that occur more than once anywhere in the answer
    (a sentence said again after a "User:" line);
``echo``
    the answer repeats the prompt's request: it shares a run of at least half of
    the request's characters (at least 6) with it; for an opening, the answer
    restarts with the whole opening again.

An answer is **degenerate** when any rule fires (the first that fires is its
reason). A *self-introduction* is decided per language, from a short list of
first-person words of the requested language and of English (:data:`FIRST_PERSON`:
"I", "my", "je", "ich", "я", "我", "저는", …), matched as whole words where the
language writes spaces between words and as substrings where it does not. It is
a lexical rule, not understanding: the audit set in :mod:`reportlib.probe_analysis`
measures how often it agrees with a reader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

from .errors import ReportlibError
from .judge import strip_markup

MIN_LETTERS = 2
LOOP_SHARE = 0.5
LONG_UNIT = 10
ECHO_SHARE = 0.5
ECHO_MIN_CHARS = 6

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
    "kor_Hang": ("저는", "저의", "제가", "제 ", "나는", "내가", "나의", "내 이름"),
    "kan_Knda": ("ನಾನು", "ನನ್ನ", "ನನಗೆ"),
    "tam_Taml": ("நான்", "என்", "எனது", "என்னை", "எனக்கு"),
    "hin_Deva": ("मैं", "मेरा", "मेरी", "मेरे", "मुझे"),
    "tha_Thai": ("ผม", "ฉัน", "ดิฉัน", "หนู"),
    "yor_Latn": ("mo", "èmi", "emi", "mi", "orúkọ mi"),
    "amh_Ethi": ("እኔ", "ስሜ", "ነኝ"),
    "arb_Arab": ("أنا", "انا", "اسمي", "إسمي"),
    "hau_Latn": ("ni", "sunana", "ina", "nake", "na"),
    "zul_Latn": ("mina", "ngingu", "igama lami", "ngi"),
}
#: languages written without spaces between words: markers match as substrings
UNSPACED = {"zho_Hans", "jpn_Jpan", "kor_Hang", "tha_Thai", "amh_Ethi"}
#: Zulu marks the first person with a verb prefix ("ngi-"): match word starts
PREFIX_MARKERS = {"zul_Latn": ("ngi",)}


@dataclass(frozen=True)
class Quality:
    """The labels of one answer."""

    degenerate: bool
    reason: str  #: "empty", "loop", "echo" or "" for a real continuation
    self_intro: bool


def letter_count(text: str) -> int:
    """Letters (Unicode category L*, and combining marks of Indic scripts) in ``text``."""
    return sum(ch.isalpha() for ch in text)


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def periodic_share(text: str) -> float:
    """The largest share of ``text`` covered by one stretch that repeats with a fixed
    period, counting only stretches with two copies of a unit of at least
    :data:`LONG_UNIT` characters or three copies of a shorter unit (0 if none)."""
    s = _normalise(text)
    n = len(s)
    best = 0
    for period in range(1, n // 2 + 1):
        run = 0
        for i in range(n - period):
            run = run + 1 if s[i] == s[i + period] else 0
            stretch = run + period  # the stretch text[i+1-run : i+1+period] has this period
            copies = stretch / period
            if copies >= (2 if period >= LONG_UNIT else 3):
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


def longest_shared_run(a: str, b: str) -> int:
    """Length of the longest common substring of ``a`` and ``b`` (case-insensitive)."""
    a, b = _normalise(a).casefold(), _normalise(b).casefold()
    if not a or not b:
        return 0
    match = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    return match.size


def echo_of(answer: str, core_text: str, opening: bool) -> bool:
    """Whether ``answer`` repeats the request (or, for an opening, restarts with it)."""
    core = _normalise(core_text)
    if not core:
        return False
    if opening:
        return core.casefold() in _normalise(answer).casefold()
    needed = max(ECHO_MIN_CHARS, int(ECHO_SHARE * len(core) + 0.5))
    return longest_shared_run(answer, core) >= min(needed, len(core))


@lru_cache(maxsize=64)
def _marker_pattern(code: str) -> re.Pattern[str]:
    words = FIRST_PERSON.get(code, ()) + (FIRST_PERSON["eng_Latn"] if code != "eng_Latn" else ())
    if code in UNSPACED:
        native = "|".join(re.escape(w) for w in FIRST_PERSON[code])
        english = "|".join(re.escape(w) for w in FIRST_PERSON["eng_Latn"])
        return re.compile(rf"(?:{native})|(?<!\w)(?:{english})(?!\w)", re.IGNORECASE)
    parts = [rf"(?<!\w){re.escape(w)}(?!\w)" if w[-1].isalpha() else re.escape(w) for w in words]
    parts += [rf"(?<!\w){re.escape(p)}\w+" for p in PREFIX_MARKERS.get(code, ())]
    return re.compile("|".join(parts), re.IGNORECASE)


def introduces_itself(answer: str, code: str) -> bool:
    """Whether ``answer`` speaks in the first person, in the language ``code`` or English."""
    if code not in FIRST_PERSON:
        raise ReportlibError(
            f"no first-person words for {code!r}; known: {', '.join(FIRST_PERSON)}"
        )
    return bool(_marker_pattern(code).search(strip_markup(answer)))


def label_answer(answer: str, code: str, core_text: str, opening: bool) -> Quality:
    """Label one answer to a prompt whose request (or opening) was ``core_text``."""
    text = strip_markup(answer)
    reason = ""
    if letter_count(text) < MIN_LETTERS:
        reason = "empty"
    elif max(periodic_share(text), repeated_share(text)) >= LOOP_SHARE:
        reason = "loop"
    elif echo_of(text, core_text, opening):
        reason = "echo"
    return Quality(bool(reason), reason, introduces_itself(text, code))
