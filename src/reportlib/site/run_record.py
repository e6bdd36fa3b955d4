"""How long each chapter took on this machine, for the next estimate.

A build (``reportlib book``) keeps the seconds each chapter took in
``_build/chapter-seconds.json``; before this machine's first build the estimate comes from the
whole-book record (``book/data/book-bench.json``), named with its machine and date.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from reportlib.core.cache import atomic_write_text

#: where a build keeps the seconds each chapter took on this machine (read by the next one)
LOCAL_RECORD = Path("_build") / "chapter-seconds.json"
#: the whole-book record (``make bench-book``), the estimate before this machine's first build
BOOK_RECORD = Path("book") / "data" / "book-bench.json"


def minutes(seconds: float) -> str:
    """``42 s``, ``3.4 min``: how long, as a person reads it."""
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.1f} min"


@dataclass
class Estimates:
    """Seconds each chapter took, and where that record comes from."""

    seconds: dict[str, float]
    source: str

    def describe(self, chapter: str) -> str:
        """``about 3.4 min by <record>``, or ``no estimate (<record>)``."""
        guess = self.seconds.get(chapter)
        if guess is None:
            return f"no estimate ({self.source})"
        return f"about {minutes(guess)} by {self.source}"


def last_record(root: Path) -> Estimates:
    """This machine's last build, or else the whole-book record, or nothing."""
    local = root / LOCAL_RECORD
    try:
        data = json.loads(local.read_text(encoding="utf-8"))
        return Estimates(
            {str(k): float(v) for k, v in data["chapter_seconds"].items()},
            f"this machine's last build, {data['measured']}",
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    try:
        data = json.loads((root / BOOK_RECORD).read_text(encoding="utf-8"))
        return Estimates(
            {str(k): float(v) for k, v in data["chapter_seconds"].items()},
            f"the book record, {data.get('cpu', 'unknown CPU')}, {data.get('measured', '?')}",
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return Estimates({}, "no record")


def save_record(root: Path, executed: dict[str, float]) -> None:
    """Merge this build's chapter times into the local record (for the next estimate)."""
    if not executed:
        return
    path = root / LOCAL_RECORD
    try:
        old = json.loads(path.read_text(encoding="utf-8")).get("chapter_seconds", {})
    except (OSError, ValueError, AttributeError):
        old = {}
    record = {
        "measured": time.strftime("%Y-%m-%d"),
        "chapter_seconds": {**old, **executed},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(record, indent=1, sort_keys=True) + "\n")


def estimate_for(chapter: str, root: Path) -> str:
    """What :meth:`Estimates.describe` says for ``chapter`` from the last record."""
    return last_record(root).describe(chapter)
