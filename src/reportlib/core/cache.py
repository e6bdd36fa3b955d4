"""An on-disk cache of model results: one JSON file per key, written atomically.

Each entry stores the full key next to the value, so a file that is truncated,
hand-edited or written for another key is detected, reported and recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


class CorruptCacheEntry(UserWarning):
    """A cache file could not be used and will be recomputed."""


def canonical_json(payload: Any) -> str:
    """The one serialisation used for keys and result files (stable across runs)."""
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def key_digest(key: dict[str, Any]) -> str:
    """The digest that names ``key``'s entry in a :class:`ResultCache`."""
    return hashlib.sha256(canonical_json(key).encode("utf-8")).hexdigest()


def chunk_digest(prompts: Sequence[str]) -> str:
    """Identifies a chunk of prompts decoded together (their texts, in order)."""
    return hashlib.sha256(canonical_json(list(prompts)).encode("utf-8")).hexdigest()[:16]


_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; a result file is for readers
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file and a rename."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_csv(frame: Any, path: str | Path) -> None:
    """Write a pandas DataFrame as CSV (no index) atomically: a failed write (a full disk)
    leaves the previous file whole instead of a truncated one that still parses."""
    atomic_write_text(Path(path), frame.to_csv(index=False))


#: when set, the cache appends the digest of every key it is asked for to this file (the
#: answer archive's export reads it: :mod:`reportlib.core.answer_archive`)
CACHE_LOG_ENV = "REPORTLIB_CACHE_LOG"


def note_access(digest: str) -> None:
    """Append ``digest`` to the access log named by ``$REPORTLIB_CACHE_LOG``, if it is set."""
    log = os.environ.get(CACHE_LOG_ENV, "").strip()
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(digest + "\n")


class ResultCache:
    """A directory of JSON results addressed by the sha256 of their key."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path_for(self, key: dict[str, Any]) -> Path:
        return self.path_for_digest(key_digest(key))

    def path_for_digest(self, digest: str) -> Path:
        """The file of the entry whose key has this :func:`key_digest`."""
        return self.root / digest[:2] / f"{digest}.json"

    def get(self, key: dict[str, Any]) -> Any | None:
        """The cached value for ``key``, or ``None`` (a corrupt entry is reported and removed)."""
        path = self.path_for(key)
        note_access(path.stem)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (UnicodeDecodeError, IsADirectoryError, PermissionError) as exc:
            self.discard(key, f"unreadable: {exc}")
            return None
        try:
            entry = json.loads(text)
            if canonical_json(entry["key"]) != canonical_json(key):
                raise ValueError("the stored key differs from the requested key")
            return entry["value"]
        except (ValueError, KeyError, TypeError) as exc:
            self.discard(key, str(exc))
            return None

    def discard(self, key: dict[str, Any], reason: str) -> None:
        """Report a corrupt entry for ``key`` and remove it, so that it is recomputed."""
        path = self.path_for(key)
        warnings.warn(
            f"corrupt cache entry {path} ({reason}); recomputing", CorruptCacheEntry, stacklevel=3
        )
        try:
            if path.is_dir():
                import shutil

                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        except OSError:  # pragma: no cover - left for put() to overwrite or report
            pass

    def put(self, key: dict[str, Any], value: Any) -> None:
        """Store ``value`` under ``key`` atomically."""
        atomic_write_text(self.path_for(key), canonical_json({"key": key, "value": value}))

    def get_or_compute(self, key: dict[str, Any], compute: Callable[[], Any]) -> Any:
        """The cached value for ``key``; on a miss, ``compute()`` it and store it."""
        value = self.get(key)
        if value is None:
            value = compute()
            self.put(key, value)
        return value

    def __len__(self) -> int:
        return sum(1 for _ in self.root.glob("*/*.json")) if self.root.exists() else 0
