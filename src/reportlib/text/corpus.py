"""Parallel text for the tokenizer statistics.

Three sources, one shape (``{flores_code: [sentence, ...]}``, line i parallel across
languages):

- ``flores200`` (the default): the FLORES-200 dev and devtest files of the book's 24
  languages that ship with the project (``data/flores200``, CC BY-SA 4.0, see its
  ``LICENSE.md``), the text Petrov et al. (2023) count on. Evaluation data: never train on it.
- ``bundled``: the project's own parallel sample (8 sentences x 24 languages,
  ``data/parallel_sample.json``).
- a directory in FLORES-200 layout (``dev/<code>.dev``, ``devtest/<code>.devtest``): the dev
  and devtest sentences of each language. Each split must be parallel on its own (the same
  number of sentences in every language), and a UTF-8 byte-order mark is not counted as text.

:meth:`Corpus.joined_text` rebuilds a language's whole text as Petrov et al. (2023) count it
(the ``--joined`` mode of ``reportlib tokens``): their code reads each split's file, splits it
at newlines and joins every piece with one space. A FLORES-200 file ends in a newline, so each
split leaves one empty piece: two spaces between dev and devtest, and one at the end.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from reportlib.core.errors import ReportlibError
from reportlib.core.languages import ENGLISH, Language, parse_language_list

BUNDLED = "bundled"
FLORES = "flores200"
FLORES_SPLITS = (("dev", ".dev"), ("devtest", ".devtest"))


@dataclass(frozen=True)
class Corpus:
    """Parallel text per language, with where it came from."""

    source: str
    lines: dict[str, list[str]]  #: FLORES code -> its sentences, line i parallel across codes
    #: sentences in each file read (FLORES-200: dev, devtest); empty when not read from files
    split_sizes: tuple[int, ...] = ()

    @property
    def texts(self) -> dict[str, str]:
        """FLORES code -> the whole text of that language (sentences joined by one space)."""
        return {code: " ".join(lines) for code, lines in self.lines.items()}

    @property
    def sentences(self) -> int:
        """Sentences per language."""
        return len(self.lines[ENGLISH]) if ENGLISH in self.lines else 0

    def text(self, code: str) -> str:
        return " ".join(self.lines[code])

    def joined_text(self, code: str) -> str:
        """The whole text of ``code`` as Petrov et al. (2023) tokenize it: the pieces of each
        split's file, split at newlines, joined by one space. Each file ends in a newline (as
        every FLORES-200 file does), so each split adds one empty piece: ``"a b  c "`` for
        dev ``a, b`` and devtest ``c``. Without splits, :meth:`text`."""
        if not self.split_sizes:
            return self.text(code)
        lines, pieces, start = self.lines[code], [], 0
        for size in self.split_sizes:
            pieces += [*lines[start : start + size], ""]
            start += size
        return " ".join(pieces)

    @property
    def label(self) -> str:
        """The corpus as a reader should see it named."""
        return {FLORES: "FLORES-200", BUNDLED: "book-sample"}.get(self.source, self.source)


@lru_cache(maxsize=1)
def bundled_document() -> dict[str, Any]:
    """The bundled sample as stored (sentences, description, license)."""
    path = files("reportlib").joinpath("data", "parallel_sample.json")
    return json.loads(path.read_text(encoding="utf-8"))


def flores_folder() -> Path:
    """The shipped FLORES-200 subset (evaluation data only: never train on it)."""
    return Path(str(files("reportlib").joinpath("data", "flores200")))


def flores_sentences(code: str, split: str = "devtest") -> list[str]:
    """The sentences of one language and split of the shipped FLORES-200 subset."""
    extensions = dict(FLORES_SPLITS)
    if split not in extensions:
        raise ReportlibError(f"unknown FLORES split {split!r}; one of {', '.join(extensions)}")
    (lang,) = parse_language_list([code])
    return _read_lines(flores_folder() / split / f"{lang.flores}{extensions[split]}")


def _read_lines(path: Path) -> list[str]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReportlibError(f"cannot read corpus file {str(path)!r}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReportlibError(
            f"corpus file {str(path)!r} is not valid UTF-8 (byte {exc.start}); "
            "FLORES-200 files are UTF-8"
        ) from None
    text = text.removeprefix("\ufeff")  # a byte-order mark is not text (editors on Windows add it)
    return [line.rstrip("\r") for line in text.split("\n") if line.strip()]


def _load_flores(root: Path, languages: list[Language]) -> Corpus:
    if not root.is_dir():
        raise ReportlibError(
            f"corpus directory {str(root)!r} does not exist; give 'flores200', 'bundled' or a "
            "directory in FLORES-200 layout (dev/<code>.dev, devtest/<code>.devtest)"
        )
    lines_by_code: dict[str, list[str]] = {}
    counts: dict[str, dict[str, int]] = {split: {} for split, _ in FLORES_SPLITS}
    for lang in languages:
        paths = {split: root / split / f"{lang.flores}{ext}" for split, ext in FLORES_SPLITS}
        missing = [str(p) for p in paths.values() if not p.is_file()]
        if missing:
            raise ReportlibError(
                f"corpus directory {str(root)!r} lacks {lang.name} ({lang.flores}): "
                f"missing {', '.join(missing)}"
            )
        lines = []
        for split, path in paths.items():
            split_lines = _read_lines(path)
            counts[split][lang.flores] = len(split_lines)
            lines.extend(split_lines)
        if not lines:
            raise ReportlibError(f"corpus files for {lang.flores} in {str(root)!r} are empty")
        lines_by_code[lang.flores] = lines
    for split, per_language in counts.items():  # line i of each file is the same sentence
        if len(set(per_language.values())) > 1:
            shown = ", ".join(f"{code} {n}" for code, n in per_language.items())
            raise ReportlibError(
                f"corpus {str(root)!r} is not parallel: its {split} files have different "
                f"sentence counts ({shown}); line i of every file must translate the same sentence"
            )
    sizes = tuple(next(iter(per_language.values())) for per_language in counts.values())
    return Corpus(str(root), lines_by_code, sizes)


def load_corpus(source: str | Path = FLORES, languages: str | list[str] | None = None) -> Corpus:
    """Load parallel text for ``languages`` (all 24 by default); English is always included."""
    langs = parse_language_list(languages)
    if ENGLISH not in {lang.flores for lang in langs}:
        langs = parse_language_list([ENGLISH, *(lang.flores for lang in langs)])
    if str(source) == BUNDLED:
        sentences = bundled_document()["sentences"]
        return Corpus(BUNDLED, {lang.flores: list(sentences[lang.flores]) for lang in langs})
    if str(source) == FLORES:
        return replace(_load_flores(flores_folder(), langs), source=FLORES)
    return _load_flores(Path(source).expanduser(), langs)
