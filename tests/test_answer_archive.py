"""The answer archive: export from the cache's access log, restore, corruption, verification."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from reportlib import cli
from reportlib.backends.interface import Completion
from reportlib.core import answer_archive as archive
from reportlib.core.cache import CACHE_LOG_ENV, ResultCache, chunk_digest
from reportlib.core.errors import ReportlibError

ROOT = Path(__file__).resolve().parents[1]


def answer(text: str, seconds: float = 1.0) -> dict[str, Any]:
    return {
        "text": text,
        "prompt_tokens": 3,
        "completion_tokens": 2,
        "finish_reason": "length",
        "evaluated_tokens": 3,
        "compute_seconds": seconds,
    }


def completion_key(prompt: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "completion",
        "model": "m" * 64,
        "backend": "b",
        "n_ctx": 512,
        "prompt": prompt,
        "max_tokens": 8,
        "seed": 0,
        "stop": [],
        **extra,
    }


CHUNK = ["first prompt", "second prompt"]
BATCH = {"width": 2, "n_batch": 512, "scheduler": "s", "chunk": chunk_digest(CHUNK)}


@pytest.fixture
def filled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ResultCache, list[str]]:
    """A cache with a single answer, a batched chunk and a timing; its access log, in order."""
    log = tmp_path / "access.log"
    monkeypatch.setenv(CACHE_LOG_ENV, str(log))
    cache = ResultCache(tmp_path / "cache")
    keys = [completion_key("single", reuse_prefix=True)]
    keys += [completion_key(p, batch=BATCH) for p in CHUNK]
    keys += [{"kind": "latency", "cpu": "some CPU", "model": "m"}]
    for key in keys:
        assert cache.get(key) is None  # a miss is logged as well: its digest, in order
    for key in keys:
        cache.put(key, answer(key.get("prompt", "t")))
    cache.get(keys[1])  # a later hit is logged again and kept once
    cache.get(completion_key("never stored"))
    return cache, archive.read_access_log(log)


def test_the_cache_logs_every_key_it_is_asked_for(filled: tuple[ResultCache, list[str]]) -> None:
    cache, digests = filled
    assert len(digests) == 5  # four keys and a miss, each once, first access first
    assert digests[1] == archive.key_digest(completion_key(CHUNK[0], batch=BATCH))


def test_the_export_keeps_answers_not_timings_and_is_byte_stable(
    filled: tuple[ResultCache, list[str]], tmp_path: Path
) -> None:
    cache, digests = filled
    first, second = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    assert archive.export_archive(cache, digests, first, computed_on="CPU X") == 3
    archive.export_archive(cache, digests, second, computed_on="CPU X")
    assert first.read_bytes() == second.read_bytes()  # no time stamp inside
    shuffled = tmp_path / "c.jsonl.gz"  # decoding order lost: the chunk cannot be recomputed
    archive.export_archive(cache, list(reversed(digests)), shuffled, computed_on="CPU X")
    assert archive.read_archive(shuffled).header["chunks"] == {}
    stored = archive.read_archive(first)
    assert stored.header["computed_on"] == "CPU X"
    assert all("cpu" not in e["key"] for e in stored.entries.values())
    chunk = stored.header["chunks"][BATCH["chunk"]]
    assert [stored.entries[d]["key"]["prompt"] for d in chunk] == CHUNK


def exported(filled: tuple[ResultCache, list[str]], tmp_path: Path) -> Path:
    """The filled cache's logged entries exported to an archive in ``tmp_path``."""
    path = tmp_path / "a.jsonl.gz"
    archive.export_archive(*filled, path, computed_on="CPU X")
    return path


def test_restore_fills_an_empty_cache_and_keeps_what_a_cache_computed(
    filled: tuple[ResultCache, list[str]], tmp_path: Path
) -> None:
    path = exported(filled, tmp_path)
    stored = archive.read_archive(path)
    fresh = ResultCache(tmp_path / "fresh")
    counts = archive.restore_archive(stored, fresh)
    assert (counts.restored, counts.present, counts.differing) == (3, 0, [])
    key = completion_key("single", reuse_prefix=True)
    assert fresh.get(key) == answer("single")
    fresh.put(key, answer("computed here", seconds=2.0))
    again = archive.restore_archive(stored, fresh)
    assert (again.restored, again.present) == (0, 3)
    assert again.differing == [archive.key_digest(key)]
    assert fresh.get(key)["text"] == "computed here"  # kept, and reported


def test_restore_ignores_a_different_compute_time(
    filled: tuple[ResultCache, list[str]], tmp_path: Path
) -> None:
    path = exported(filled, tmp_path)
    fresh = ResultCache(tmp_path / "fresh")
    fresh.put(completion_key("single", reuse_prefix=True), answer("single", seconds=9.0))
    assert archive.restore_archive(archive.read_archive(path), fresh).differing == []


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"not gzip at all", "corrupt"),
        (gzip.compress(b'{"format": "something else"}\n'), "not a"),
        (gzip.compress(b'{"format": "reportlib model answers v1", "entries": 2}\n'), "header"),
        (gzip.compress(b'{"format": "reportlib model answers v1", "entries": 1}\n[1]\n'), "line 2"),
    ],
    ids=["not-gzip", "another-format", "entries-missing", "not-an-entry"],
)
def test_a_corrupt_archive_is_one_clear_error(tmp_path: Path, payload: bytes, message: str) -> None:
    path = tmp_path / "bad.jsonl.gz"
    path.write_bytes(payload)
    with pytest.raises(ReportlibError, match=message):
        archive.read_archive(path)


def test_a_missing_archive_or_log_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReportlibError, match="no answer archive"):
        archive.read_archive(tmp_path / "none.jsonl.gz")
    with pytest.raises(ReportlibError, match="REPORTLIB_CACHE_LOG"):
        archive.read_access_log(tmp_path / "none.log")


def test_the_cli_restores_into_the_home_cache(
    filled: tuple[ResultCache, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = exported(filled, tmp_path)
    monkeypatch.setenv("REPORTLIB_HOME", str(tmp_path / "home"))
    assert cli.main(["answers", "restore", "--archive", str(path)]) == 0
    assert "3 restored" in capsys.readouterr().out
    assert len(ResultCache(tmp_path / "home" / "results")) == 3
    assert cli.main(["answers", "restore", "--archive", str(tmp_path / "x.gz")]) == 2
    assert "no answer archive" in capsys.readouterr().err


class ArchivedAnswers:
    """A fake model that answers with what an archive holds (or a changed text)."""

    def __init__(self, stored: archive.Archive, change: str | None = None) -> None:
        self.by_prompt = {e["key"]["prompt"]: e["value"] for e in stored.entries.values()}
        self.change = change
        self.calls: list[str] = []

    def complete(self, prompt: str, **_: Any) -> Completion:
        self.calls.append(prompt)
        value = {k: v for k, v in self.by_prompt[prompt].items() if k != "compute_seconds"}
        value["evaluated_tokens"] = 1  # prefix reuse depends on the calls before, not the answer
        if prompt == self.change:
            value["text"] = "something else"
        return Completion(**value)

    def complete_batch(self, prompts: list[str], **kwargs: Any) -> list[Completion]:
        return [self.complete(p, **kwargs) for p in prompts]


def test_verification_recomputes_singles_and_whole_chunks(
    filled: tuple[ResultCache, list[str]], tmp_path: Path
) -> None:
    path = exported(filled, tmp_path)
    stored = archive.read_archive(path)
    model = ArchivedAnswers(stored)
    result = archive.verify_archive(stored, lambda key: model)
    assert (result.checked, result.mismatches) == (3, [])
    assert model.calls == ["single", *CHUNK]
    changed = ArchivedAnswers(stored, change=CHUNK[1])
    result = archive.verify_archive(stored, lambda key: changed)
    assert [m.prompt for m in result.mismatches] == [CHUNK[1]]
    assert result.mismatches[0].recomputed["text"] == "something else"
    nothing = archive.verify_archive(stored, lambda key: None)
    assert nothing.checked == 0 and sum(nothing.skipped.values()) == 2


def test_the_committed_archive_reads_and_names_its_machine() -> None:
    stored = archive.read_archive(ROOT / archive.ARCHIVE_PATH)
    assert stored.header["computed_on"]
    kinds = {e["key"]["kind"] for e in stored.entries.values()}
    assert {"completion", "sequence-nats-v1"} <= kinds
    assert stored.header["chunks"], "no batched chunk can be recomputed"
    assert not any("cpu" in e["key"] for e in stored.entries.values())


@pytest.mark.model
def test_this_machine_reproduces_a_sample_of_the_committed_archive() -> None:
    """The archive is only used because this machine computes the same answers: the
    cheapest single prompts of each model and setting, and one chunk per batched model."""
    from reportlib.backends.loading import archived_model_loader

    stored = archive.read_archive(ROOT / archive.ARCHIVE_PATH)
    result = archive.verify_archive(stored, archived_model_loader(), per_setting=1)
    assert result.checked >= 10, result.skipped
    assert result.mismatches == [], json.dumps(
        [m.__dict__ for m in result.mismatches[:3]], ensure_ascii=False, indent=1
    )
