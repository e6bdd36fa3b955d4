"""The Korean text the fine-tune trains on, its held-out split, and the contamination checks.

The text is the Korean legal corpus that KoNLPy 0.6.0 ships (``kolaw``: the Constitution of
the Republic of Korea; ``kobill``: ten National Assembly bills of 2010), copied unchanged
into ``data/korean_law`` (see its ``README.md`` for source and licence). Two whole bills are
held out, so held-out loss measures text the adapter never saw, not memorised lines.

FLORES-200 is evaluation data and is never trained on; :func:`contamination_report` checks
that no FLORES sentence, no probe prompt and no first-person sentence is in the training text.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from reportlib.core.errors import ReportlibError
from reportlib.experiments.probe.prompts import PROBE_TEXTS

DATA_FOLDER = "korean_law"
#: the documents, in the order they are concatenated
DOCUMENTS = (
    "constitution.txt",
    "1809890.txt",
    "1809891.txt",
    "1809892.txt",
    "1809893.txt",
    "1809894.txt",
    "1809895.txt",
    "1809896.txt",
    "1809899.txt",
    "1809897.txt",
    "1809898.txt",
)
#: whole documents kept out of training (two bills, about a tenth of the text)
HELD_OUT = ("1809897.txt", "1809898.txt")
DOCUMENT_SEPARATOR = "\n\n"
_PAGE_NUMBER = re.compile(r"^\s*-\s*\d+\s*-\s*$")
#: Korean first-person pronouns that cannot be part of another word when they stand alone
#: ("I", "my"); a training line that uses one speaks as a person (the Constitution's
#: presidential oath does) and is left out, so the adapter is not taught to say "I"
SELF_REFERENCE_KO = ("저는", "저의", "제가", "나는", "내가", "나의")
_SELF_REFERENCE = re.compile(r"(?<!\w)(?:" + "|".join(SELF_REFERENCE_KO) + r")(?!\w)")


@dataclass(frozen=True)
class TrainingText:
    """The training and held-out text, normalised, with their sha256."""

    train: str
    held_out: str
    source: str
    dropped_lines: int = 0  #: lines left out because they speak in the first person

    @property
    def train_sha256(self) -> str:
        return hashlib.sha256(self.train.encode("utf-8")).hexdigest()

    @property
    def held_out_sha256(self) -> str:
        return hashlib.sha256(self.held_out.encode("utf-8")).hexdigest()


def speaks_as_a_person(line: str) -> bool:
    """Whether a Korean line uses a first-person pronoun as a word of its own."""
    return bool(_SELF_REFERENCE.search(line))


def without_first_person(text: str) -> tuple[str, int]:
    """``text`` without its lines that speak as a person, and how many were left out."""
    lines = text.split("\n")
    kept = [line for line in lines if not speaks_as_a_person(line)]
    return "\n".join(kept), len(lines) - len(kept)


def normalise_document(text: str) -> str:
    """Unix line ends, no form feeds, no page-number lines (``- 3 -``), no trailing spaces, at
    most one blank line in a row."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x0c", "")
    lines = [line.rstrip() for line in text.split("\n")]
    lines = [line for line in lines if not _PAGE_NUMBER.match(line)]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def read_document(path: Path) -> str:
    """One UTF-8 document, normalised; a clear error for an unreadable or non-UTF-8 file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReportlibError(f"cannot read training text {str(path)!r}: {exc.strerror}") from None
    try:
        return normalise_document(raw.decode("utf-8").removeprefix("\ufeff"))
    except UnicodeDecodeError as exc:
        raise ReportlibError(
            f"training text {str(path)!r} is not valid UTF-8 (byte {exc.start})"
        ) from None


def korean_law_folder() -> Path:
    """The folder of the shipped Korean legal texts."""
    return Path(str(files("reportlib").joinpath("data", DATA_FOLDER)))


@lru_cache(maxsize=1)
def korean_training_text() -> TrainingText:
    """The shipped Korean legal texts, split into training and held-out text."""
    folder = korean_law_folder()
    train: list[str] = []
    held_out: list[str] = []
    dropped = 0
    for name in DOCUMENTS:
        kept, left_out = without_first_person(read_document(folder / name))
        dropped += left_out
        (held_out if name in HELD_OUT else train).append(kept)
    return TrainingText(
        DOCUMENT_SEPARATOR.join(train),
        DOCUMENT_SEPARATOR.join(held_out),
        "KoNLPy 0.6.0 kolaw + kobill (Korean Constitution, 10 National Assembly bills)",
        dropped,
    )


def text_from_file(path: str | Path, held_out_share: float = 0.1) -> TrainingText:
    """A user's own UTF-8 training text: its last ``held_out_share`` (cut at a line end) is
    held out."""
    text, dropped = without_first_person(read_document(Path(path).expanduser()))
    if not text.strip():
        raise ReportlibError(f"training text {str(path)!r} is empty")
    if not 0 < held_out_share < 1:
        raise ReportlibError(f"held_out_share must be between 0 and 1, not {held_out_share!r}")
    cut = text.rfind("\n", 0, int(len(text) * (1 - held_out_share)))
    cut = cut if cut > 0 else int(len(text) * (1 - held_out_share))
    return TrainingText(text[:cut].strip(), text[cut:].strip(), str(path), dropped)


@dataclass(frozen=True)
class Contamination:
    """What of the evaluation material is found in a training text."""

    flores_sentences: list[str]
    probe_prompts: list[str]
    first_person_lines: list[str]

    @property
    def clean(self) -> bool:
        return not (self.flores_sentences or self.probe_prompts or self.first_person_lines)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def contamination_report(train: str, flores_sentences: list[str]) -> Contamination:
    """FLORES sentences, probe prompts (every wording of every language) and lines that speak
    in the first person in Korean found in ``train``."""

    flat = _squash(train)
    found_flores = [s for s in flores_sentences if len(s) >= 20 and _squash(s) in flat]
    prompts = []
    for text in PROBE_TEXTS.values():
        for prompt in (*text.requests, *text.openings):
            core = _squash(prompt.rstrip(" :."))
            if len(core) >= 6 and core in flat:
                prompts.append(prompt)
    first_person = [line for line in train.split("\n") if speaks_as_a_person(line)]
    return Contamination(found_flores, prompts, first_person)
