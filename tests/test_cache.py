import json

import pytest

from reportlib.core.cache import CorruptCacheEntry, ResultCache, atomic_write_text


def test_round_trip_and_key_sensitivity(cache):
    cache.put({"prompt": "a", "seed": 1}, {"text": "x"})
    assert cache.get({"prompt": "a", "seed": 1}) == {"text": "x"}
    assert cache.get({"prompt": "a", "seed": 2}) is None
    assert cache.get({"seed": 1, "prompt": "a"}) == {"text": "x"}  # key order does not matter
    assert len(cache) == 1


def test_truncated_entry_is_reported_removed_and_missed(cache):
    key = {"prompt": "a"}
    cache.put(key, {"text": "x"})
    path = cache.path_for(key)
    path.write_text(path.read_text()[:10])
    with pytest.warns(CorruptCacheEntry, match="corrupt cache entry"):
        assert cache.get(key) is None
    assert not path.exists()


def test_entry_for_another_key_is_not_used(cache):
    key = {"prompt": "a"}
    cache.put(key, {"text": "x"})
    path = cache.path_for(key)
    path.write_text(json.dumps({"key": {"prompt": "b"}, "value": {"text": "y"}}))
    with pytest.warns(CorruptCacheEntry, match="stored key differs"):
        assert cache.get(key) is None


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "sub" / "r.json"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["r.json"]


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "r.json"
    atomic_write_text(target, "old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("reportlib.core.cache.os.replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_empty_cache_has_no_entries(tmp_path):
    assert len(ResultCache(tmp_path / "none")) == 0


def test_get_or_compute_computes_once(cache):
    calls = []

    def compute():
        calls.append(1)
        return {"v": 1}

    assert cache.get_or_compute({"k": 1}, compute) == {"v": 1}
    assert cache.get_or_compute({"k": 1}, compute) == {"v": 1}
    assert len(calls) == 1


def test_a_failed_csv_write_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    """A plain ``to_csv`` on a full disk left a truncated file that pandas still read."""
    import errno

    import pandas as pd

    from reportlib.core import cache as cache_module
    from reportlib.core.cache import atomic_write_csv

    path = tmp_path / "results.csv"
    good = pd.DataFrame({"answer": [f"row {i}" for i in range(500)]})
    atomic_write_csv(good, path)
    real_fdopen = cache_module.os.fdopen

    class FullDisk:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, text):
            self.handle.write(text[:100])
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache_module.os, "fdopen", lambda *a, **k: FullDisk(real_fdopen(*a, **k)))
    with pytest.raises(OSError, match="No space left"):
        atomic_write_csv(pd.DataFrame({"answer": ["new"] * 500}), path)
    assert pd.read_csv(path).equals(good)
    assert [p.name for p in tmp_path.iterdir()] == ["results.csv"]  # no temporary file left


def test_atomic_writes_get_the_usual_permissions(tmp_path):
    """mkstemp creates 0600 files; results are served to readers like any other file."""
    import os

    path = tmp_path / "out.txt"
    atomic_write_text(path, "x")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
