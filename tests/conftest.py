"""Shared fixtures: a fake model for fast tests, the real embedded model for slow ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from reportlib.core.cache import ResultCache

from fakes import FakeModel

ROOT = Path(__file__).resolve().parents[1]

# Hypothesis: "ci" (set when $CI is, as .ci/run does) replays a fixed set of examples,
# derandomized, so a CI run cannot fail on an example the last run did not try; "dev" (the
# default) draws new examples each run and keeps failures in .hypothesis/ for the next one
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)


@pytest.fixture
def fake_model() -> FakeModel:
    return FakeModel()


@pytest.fixture
def cache(tmp_path: Path) -> ResultCache:
    return ResultCache(tmp_path / "cache")


@pytest.fixture(scope="session")
def flores_dir() -> Path:
    """The FLORES-200 subset that ships with the project (evaluation data)."""
    from reportlib.text.corpus import flores_folder

    return flores_folder()


@pytest.fixture(scope="session")
def real_model():
    """The embedded Gemma 3 270M, loaded once, with a throwaway cache."""
    import tempfile

    from reportlib.backends.loading import load_model

    return load_model(n_ctx=512, cache=ResultCache(tempfile.mkdtemp(prefix="reportlib-test-")))


@pytest.fixture(scope="session")
def committed_archive():
    """The book's archived model answers (book/data/model-answers.jsonl.gz), read once."""
    from reportlib.core.answer_archive import ARCHIVE_PATH, read_archive

    return read_archive(ROOT / ARCHIVE_PATH)


@pytest.fixture(scope="session")
def archived_model(committed_archive):
    """The embedded Gemma 3 270M at the chapters' scoring context (512), over a throwaway
    cache holding the book's archived answers: what the chapters computed is read, not
    recomputed (test_answer_archive checks the archive against this machine); anything else
    is computed."""
    import tempfile

    from reportlib.backends.loading import load_model
    from reportlib.core.answer_archive import restore_archive

    cache = ResultCache(tempfile.mkdtemp(prefix="reportlib-test-"))
    restore_archive(committed_archive, cache)
    return load_model(n_ctx=512, cache=cache)


class FakePapermill:
    """Stands in for ``papermill.execute_notebook``: records each call, writes the output."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, source, output, **kwargs):
        self.calls.append({"source": source, "output": output, **kwargs})
        Path(output).write_text("{}")


@pytest.fixture
def fake_papermill(monkeypatch) -> FakePapermill:
    import papermill

    fake = FakePapermill()
    monkeypatch.setattr(papermill, "execute_notebook", fake)
    return fake
