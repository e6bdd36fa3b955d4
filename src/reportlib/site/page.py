"""What every chapter does first, in one call: tables for readers, its results folder, and
its time to run from the whole-book record."""

from __future__ import annotations

from pathlib import Path

from reportlib.site.book_record import time_to_run
from reportlib.site.chapters import project_root
from reportlib.site.tables import use_reader_tables

#: the whole-book record the pages read (``make bench-book`` writes it)
BOOK_BENCH_RECORD = Path("book") / "data" / "book-bench.json"


def book_bench_path() -> Path:
    """The committed whole-book record, wherever the chapter runs from."""
    return project_root() / BOOK_BENCH_RECORD


def start_chapter(chapter: str, results_dir: str | Path | None = None) -> Path | None:
    """Every table through the reader's table helper (whole texts, reader names, no row
    numbers), the chapter's time to run glued as ``time_to_run``, and its results folder
    created; returns that folder (``None`` without one)."""
    import pandas as pd
    from myst_nb import glue

    pd.set_option("display.max_colwidth", None)  # tables show whole texts, not "…"
    use_reader_tables()
    glue("time_to_run", time_to_run(book_bench_path(), chapter), display=False)
    if results_dir is None:
        return None
    out_dir = Path(results_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir
