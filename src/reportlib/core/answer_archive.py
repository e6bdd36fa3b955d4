"""The model answers of the book, archived with the chapters' stored outputs.

Every chapter asks the embedded models through the result cache
(:class:`~reportlib.core.cache.ResultCache`). ``make notebooks`` executes every chapter
with ``$REPORTLIB_CACHE_LOG`` set, so the cache notes the digest of every answer it is asked
for, in order; :func:`export_archive` then writes those answers (key and value, as the cache
holds them) to one gzipped JSON-lines file. ``make book`` and ``make test`` restore it into
the cache before they execute, so a fresh clone renders the answers this book's code
computed instead of spending an hour on two cores recomputing them; ``reportlib book
--cold`` and ``make bench-book`` recompute everything.

An archive is only as good as its reproduction: :func:`verify_archive` recomputes a sample
(the cheapest single prompts of each model and setting, and one whole batched chunk per
model) outside the cache and reports every answer that differs. Timings and memory
(keys that name a CPU) are never archived: they are measured on the machine that shows them.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reportlib.core.cache import (
    CACHE_LOG_ENV,
    ResultCache,
    atomic_write_bytes,
    atomic_write_text,
    canonical_json,
    chunk_digest,
    key_digest,
)
from reportlib.core.errors import ReportlibError

FORMAT = "reportlib model answers v1"
#: the book's archive, relative to the project's root
ARCHIVE_PATH = "book/data/model-answers.jsonl.gz"


def read_access_log(path: str | Path) -> list[str]:
    """The digests of an access log, first access first, each once."""
    try:
        lines = Path(path).read_text(encoding="utf-8").split()
    except FileNotFoundError:
        raise ReportlibError(
            f"no cache access log at {str(path)!r}: run the chapters with "
            f"{CACHE_LOG_ENV} set (make notebooks does)"
        ) from None
    return list(dict.fromkeys(line for line in lines if len(line) == 64))


def is_archivable(key: dict[str, Any]) -> bool:
    """Answers are archived; measurements of a machine (their keys name the CPU) are not."""
    return "cpu" not in key


def _batched_chunks(entries: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The batched chunks whose prompts the log holds in decoding order: chunk digest ->
    the digests of its answers, kept only where the order reproduces the chunk's digest."""
    members: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        batch = entry["key"].get("batch")
        if isinstance(batch, dict) and "chunk" in batch:
            members.setdefault(str(batch["chunk"]), []).append(entry)
    return {
        chunk: [key_digest(e["key"]) for e in group]
        for chunk, group in members.items()
        if chunk_digest([e["key"]["prompt"] for e in group]) == chunk
    }


def export_archive(
    cache: ResultCache, digests: Iterable[str], output: str | Path, *, computed_on: str
) -> int:
    """Write the archivable entries of ``cache`` named by ``digests`` (access order) to
    ``output``, sorted by digest, byte-identical for identical entries; returns their count."""
    entries = []
    for digest in digests:
        try:
            entry = json.loads(cache.path_for_digest(digest).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            continue  # a key asked for and never stored (a failed call): nothing to archive
        if is_archivable(entry["key"]) and key_digest(entry["key"]) == digest:
            entries.append(entry)
    header = {
        "format": FORMAT,
        "computed_on": computed_on,
        "entries": len(entries),
        "chunks": _batched_chunks(entries),
    }
    lines = [canonical_json(header)]
    lines += sorted(canonical_json(e) for e in entries)
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as handle:
        handle.write(("\n".join(lines) + "\n").encode("utf-8"))
    atomic_write_bytes(Path(output), buffer.getvalue())
    return len(entries)


@dataclass
class Archive:
    """An archive read back: its header and its entries by digest."""

    path: Path
    header: dict[str, Any]
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)


def read_archive(path: str | Path) -> Archive:
    """Read and check an archive; anything malformed is one clear error."""
    path = Path(path)
    try:
        text = gzip.decompress(path.read_bytes()).decode("utf-8")
    except FileNotFoundError:
        raise ReportlibError(f"no answer archive at {str(path)!r}") from None
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise ReportlibError(f"the answer archive {str(path)!r} is corrupt: {exc}") from None
    lines = text.splitlines()
    try:
        header = json.loads(lines[0])
        if header.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT!r} file")
        entries = {}
        for number, line in enumerate(lines[1:], start=2):
            entry = json.loads(line)
            if set(entry) != {"key", "value"} or not isinstance(entry["key"], dict):
                raise ValueError(f"line {number} is not a cache entry")
            entries[key_digest(entry["key"])] = entry
        if len(entries) != header.get("entries"):
            raise ValueError(f"{len(entries)} entries where the header says {header['entries']}")
    except (IndexError, ValueError, AttributeError, TypeError) as exc:
        raise ReportlibError(f"the answer archive {str(path)!r} is corrupt: {exc}") from None
    return Archive(path, header, entries)


def read_archive_header(path: str | Path) -> dict[str, Any]:
    """The header of an archive (its machine and counts), without reading its entries."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            header = json.loads(handle.readline())
    except FileNotFoundError:
        raise ReportlibError(f"no answer archive at {str(path)!r}") from None
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError) as exc:
        raise ReportlibError(f"the answer archive {str(path)!r} is corrupt: {exc}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ReportlibError(f"the answer archive {str(path)!r} is corrupt: not a {FORMAT!r} file")
    return header


@dataclass
class RestoreCounts:
    """What :func:`restore_archive` did."""

    restored: int = 0
    present: int = 0
    #: entries the cache already held with another value (kept: they were computed here)
    differing: list[str] = field(default_factory=list)


def restore_archive(archive: Archive, cache: ResultCache) -> RestoreCounts:
    """Copy the archive's answers into ``cache``; an answer the cache already holds is kept
    as it is (reported if it differs). The archive is read whole before anything is written."""
    counts = RestoreCounts()
    for digest, entry in sorted(archive.entries.items()):
        path = cache.path_for_digest(digest)
        try:
            existing = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):  # missing or corrupt: the archive's answer
            atomic_write_text(path, canonical_json(entry))
            counts.restored += 1
            continue
        counts.present += 1
        if _answer(existing.get("value")) != _answer(entry["value"]):
            counts.differing.append(digest)
    return counts


#: what a cached value records about how it was computed, not what the answer is: the seconds
#: it took, and how many prompt tokens were evaluated rather than reused from the KV cache of
#: the call before (which depends on the order the calls ran in)
HOW_COMPUTED = frozenset({"compute_seconds", "evaluated_tokens"})


def _answer(value: Any) -> Any:
    """A cached value without what records how it was computed (:data:`HOW_COMPUTED`)."""
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in HOW_COMPUTED}
    return value


@dataclass
class Mismatch:
    """An archived answer that this machine computes differently."""

    digest: str
    prompt: str
    archived: Any
    recomputed: Any


@dataclass
class Verification:
    """What :func:`verify_archive` recomputed, and what differed."""

    checked: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def _is_greedy_completion(key: dict[str, Any]) -> bool:
    return key.get("kind") == "completion" and "sampling" not in key


def verification_sample(archive: Archive, per_setting: int = 2) -> list[str]:
    """Digests of the single-prompt greedy answers to recompute: the ``per_setting``
    cheapest (by stored compute time, then digest) of each model, context size and length."""
    groups: dict[tuple[str, int, int], list[tuple[float, str]]] = {}
    for digest, entry in archive.entries.items():
        key = entry["key"]
        if not _is_greedy_completion(key) or "batch" in key:
            continue
        seconds = entry["value"].get("compute_seconds") or 0.0
        setting = (str(key["model"]), int(key["n_ctx"]), int(key["max_tokens"]))
        groups.setdefault(setting, []).append((float(seconds), digest))
    return [d for group in groups.values() for _, d in sorted(group)[:per_setting]]


def chunk_sample(archive: Archive) -> list[list[str]]:
    """One batched greedy chunk per model to recompute whole: the cheapest one."""
    best: dict[str, tuple[float, list[str]]] = {}
    for digests in archive.header.get("chunks", {}).values():
        found = [archive.entries.get(d) for d in digests]
        entries = [e for e in found if e is not None and _is_greedy_completion(e["key"])]
        if len(entries) != len(digests) or not entries:
            continue
        model = str(entries[0]["key"]["model"])
        cost = float(sum(e["value"].get("compute_seconds") or 0.0 for e in entries))
        if model not in best or (cost, digests) < best[model]:
            best[model] = (cost, digests)
    return [digests for _, digests in sorted(best.values())]


#: loads the model an archived key names, or None when no model of this machine matches it
ModelLoader = Callable[[dict[str, Any]], Any]


def verify_archive(
    archive: Archive,
    load: ModelLoader,
    *,
    per_setting: int = 2,
    progress: Callable[[Iterator[Any], int], Iterator[Any]] | None = None,
) -> Verification:
    """Recompute a sample of the archive outside any cache and compare every answer."""
    result = Verification()
    singles = verification_sample(archive, per_setting)
    chunks = chunk_sample(archive)
    jobs: list[list[str]] = [[d] for d in singles] + chunks
    iterator: Iterator[list[str]] = iter(jobs)
    if progress is not None:
        iterator = progress(iterator, len(jobs))
    for digests in iterator:
        entries = [archive.entries[d] for d in digests]
        key = entries[0]["key"]
        model = load(key)
        if model is None:
            result.skip(f"no model of this machine has the identity of {key['model'][:12]}")
            continue
        arguments = {"max_tokens": key["max_tokens"], "seed": key["seed"], "stop": key["stop"]}
        if "batch" in key:
            answers = model.complete_batch([e["key"]["prompt"] for e in entries], **arguments)
        else:
            answers = [
                model.complete(
                    key["prompt"], reuse_prefix=bool(key.get("reuse_prefix")), **arguments
                )
            ]
        for digest, entry, answer in zip(digests, entries, answers, strict=True):
            recomputed = _answer(
                dataclasses.asdict(answer)
                if dataclasses.is_dataclass(answer) and not isinstance(answer, type)
                else repr(answer)
            )
            result.checked += 1
            if recomputed != _answer(entry["value"]):
                result.mismatches.append(
                    Mismatch(digest, entry["key"]["prompt"], _answer(entry["value"]), recomputed)
                )
    return result
