"""Shared fixtures: a fake model for fast tests, the real embedded model for slow ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from reportlib.core.cache import ResultCache

from fakes import FakeModel

ROOT = Path(__file__).resolve().parents[1]
FLORES_ARCHIVE = ROOT.parent / "shared" / "data" / "flores200-subset.tar.gz"


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
