"""What the fine-tunes train on: Korean requests with Korean replies, and their English twins.

The data is ``data/instructions/pairs.jsonl`` (see its ``README.md``: written for this
project, CC0): 320 everyday requests and replies in Korean, each with its English
translation, over 20 topics. One item per topic is held out (the held-out loss is measured
on it); the rest is the training pool, shuffled once with a fixed seed, and a dose of ``n``
items is the first ``n`` of that order, so every smaller dose is part of every larger one.
The English twin of the same items trains the control adapter.

:func:`contamination_report` checks that the training text holds no self-introduction (the
behaviour the fine-tune is tested on), none of the probe's prompts, none of the reference
self-introductions of the likelihood measure, no first-person line, and no FLORES-200
sentence (evaluation data, never trained on).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from reportlib.core.errors import ReportlibError
from reportlib.experiments.preference import load_references
from reportlib.experiments.probe.prompts import ENGLISH_REQUESTS, PROBE_TEXTS
from reportlib.text.judge import char_script

PAIRS_FILE = ("instructions", "pairs.jsonl")
#: the two languages of every item: the Korean it teaches and the English of the control
LANGUAGES = ("ko", "en")
#: the seed of the training pool's order (the doses are its prefixes)
ORDER_SEED = 0
#: Korean first-person pronouns that cannot be part of another word when they stand alone
#: ("I", "my"): a training line that uses one speaks as a person
SELF_REFERENCE_KO = ("저는", "저의", "제가", "나는", "내가", "나의")
_SELF_REFERENCE = re.compile(r"(?<!\w)(?:" + "|".join(SELF_REFERENCE_KO) + r")(?!\w)")
#: a reference self-introduction is in the training text when this share of its 12-character
#: pieces is (the shipped pairs share at most a tenth: common phrases)
NEAR_COPY = 0.5
#: what a self-introduction or a statement of the assistant's identity says
SELF_INTRODUCTION_MARKERS = (
    "자기소개",
    "제 이름",
    "저는 ai",
    "인공지능 비서",
    "언어 모델",
    "챗봇",
    "introduce yourself",
    "about yourself",
    "my name is",
    "i am an ai",
    "i'm an ai",
    "language model",
    "assistant",
    "who are you",
)


@dataclass(frozen=True)
class Pair:
    """One request and its reply, in Korean and in English."""

    id: str
    topic: str
    ko_request: str
    ko_reply: str
    en_request: str
    en_reply: str

    def request(self, language: str) -> str:
        return self.ko_request if language == "ko" else self.en_request

    def reply(self, language: str) -> str:
        return self.ko_reply if language == "ko" else self.en_reply


def pairs_path() -> Path:
    """The shipped instruction pairs."""
    return Path(str(files("reportlib").joinpath("data", *PAIRS_FILE)))


def load_pairs(path: str | Path | None = None) -> list[Pair]:
    """The instruction pairs of a JSON-lines file (the shipped ones by default), each line
    an object with ``id``, ``topic``, ``ko_request``, ``ko_reply``, ``en_request`` and
    ``en_reply``; one clear error for a line that is not one."""
    source = Path(path) if path is not None else pairs_path()
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportlibError(f"cannot read the instruction pairs {str(source)!r}: {exc}") from None
    pairs = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            pair = Pair(**{k: item[k] for k in Pair.__dataclass_fields__})
        except (ValueError, KeyError, TypeError) as exc:
            raise ReportlibError(
                f"{str(source)!r} line {number} is not an instruction pair "
                f"(id, topic, ko_request, ko_reply, en_request, en_reply): {exc}"
            ) from None
        if not all(isinstance(getattr(pair, f), str) and getattr(pair, f) for f in item):
            raise ReportlibError(f"{str(source)!r} line {number} has an empty field")
        pairs.append(pair)
    if len({p.id for p in pairs}) != len(pairs):
        raise ReportlibError(f"{str(source)!r} repeats an id")
    if not pairs:
        raise ReportlibError(f"{str(source)!r} holds no instruction pair")
    return pairs


def split_pairs(pairs: Sequence[Pair]) -> tuple[list[Pair], list[Pair]]:
    """(training pool, held out): the first item of each topic is held out; the pool is in
    a fixed shuffled order, so that a dose of ``n`` items is ``pool[:n]``."""
    seen: set[str] = set()
    pool: list[Pair] = []
    held_out: list[Pair] = []
    for pair in pairs:
        (pool if pair.topic in seen else held_out).append(pair)
        seen.add(pair.topic)
    random.Random(ORDER_SEED).shuffle(pool)
    return pool, held_out


def dose(pool: Sequence[Pair], items: int) -> list[Pair]:
    """The first ``items`` of the training pool (the smaller doses are inside the larger)."""
    if not isinstance(items, int) or isinstance(items, bool) or not 1 <= items <= len(pool):
        raise ReportlibError(f"a dose is 1 to {len(pool)} items, not {items!r}")
    return list(pool[:items])


def pairs_sha256(pairs: Iterable[Pair], language: str) -> str:
    """The sha256 of the requests and replies of ``pairs`` in ``language``, as trained on."""
    text = "\n".join(f"{p.request(language)}\t{p.reply(language)}" for p in pairs)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hangul_share(texts: Iterable[str]) -> float:
    """The share of the letters of ``texts`` that are Hangul."""
    letters = [c for text in texts for c in text if c.isalpha()]
    hangul = sum(char_script(c) == "Hangul" for c in letters)
    return hangul / len(letters) if letters else 0.0


def speaks_as_a_person(line: str) -> bool:
    """Whether a Korean line uses a first-person pronoun ("저는", "나의", ...)."""
    return bool(_SELF_REFERENCE.search(line))


@dataclass(frozen=True)
class Contamination:
    """What of the evaluation material, or of the tested behaviour, a training text holds."""

    flores_sentences: list[str]
    probe_prompts: list[str]
    references: list[str]
    self_introductions: list[str]
    first_person_lines: list[str]

    @property
    def clean(self) -> bool:
        return not any(
            (
                self.flores_sentences,
                self.probe_prompts,
                self.references,
                self.self_introductions,
                self.first_person_lines,
            )
        )


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _shingles(text: str, size: int = 12) -> set[str]:
    flat = _squash(text)
    return {flat[i : i + size] for i in range(max(0, len(flat) - size + 1))}


def contamination_report(texts: Sequence[str], flores_sentences: Sequence[str]) -> Contamination:
    """FLORES sentences, probe prompts (every request and opening of every language, the
    English requests in every language's name), reference self-introductions (near-copies:
    :data:`NEAR_COPY` of a reference's 12-character pieces in the training text; common
    phrases such as "I can answer" are not enough), self-introduction markers and Korean
    first-person lines found in the training ``texts``."""
    flat = "\n".join(_squash(t) for t in texts)
    found_flores = [s for s in flores_sentences if len(s) >= 20 and _squash(s) in flat]
    prompts = [
        prompt
        for text in PROBE_TEXTS.values()
        for prompt in (*text.requests, *text.openings)
        if len(core := _squash(prompt.rstrip(" :."))) >= 6 and core in flat
    ]
    prompts += [
        template for template in ENGLISH_REQUESTS if _squash(template.split("{")[0]) in flat
    ]
    ours = _shingles(flat)
    references = [
        text
        for refs in load_references().values()
        for ref in refs
        for text in (ref.native, ref.english)
        if len(_shingles(text) & ours) >= NEAR_COPY * len(_shingles(text))
    ]
    markers = [m for m in SELF_INTRODUCTION_MARKERS if m in flat]
    first_person = [t for t in texts for line in t.split("\n") if speaks_as_a_person(line)]
    return Contamination(found_flores, prompts, references, markers, first_person)
