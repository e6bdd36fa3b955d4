"""Shared fixtures: a fake model for fast tests, the real embedded model for slow ones."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from reportlib.cache import ResultCache
from reportlib.generation import Completion

ROOT = Path(__file__).resolve().parents[1]
FLORES_ARCHIVE = ROOT.parent / "shared" / "data" / "flores200-subset.tar.gz"


class FakeModel:
    """A deterministic stand-in for a GGUF model: answers are a function of the prompt."""

    def __init__(self, answers: dict[str, str] | None = None, n_ctx: int = 64) -> None:
        self.answers = answers or {}
        self._n_ctx = n_ctx
        self.calls: list[tuple[str, int, int]] = []

    @property
    def fingerprint(self) -> str:
        return "fake-model-0001"

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    def tokenize(self, text: str, *, add_bos: bool = True) -> list[int]:
        return ([1] if add_bos else []) + [ord(c) for c in text]

    def complete(
        self, prompt: str, *, max_tokens: int, seed: int, stop: Sequence[str] = ()
    ) -> Completion:
        self.calls.append((prompt, max_tokens, seed))
        text = self.answers.get(prompt, f"echo:{prompt[::-1]}:{seed}")[:max_tokens]
        return Completion(text, len(self.tokenize(prompt)), len(text), "length")


@pytest.fixture
def fake_model() -> FakeModel:
    return FakeModel()


@pytest.fixture
def cache(tmp_path: Path) -> ResultCache:
    return ResultCache(tmp_path / "cache")


@pytest.fixture(scope="session")
def flores_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """FLORES-200 unpacked from ../shared/data (validation only; never copied into the repo)."""
    if not FLORES_ARCHIVE.exists():
        pytest.skip("FLORES-200 archive not available beside the project")
    import tarfile

    target = tmp_path_factory.mktemp("flores")
    with tarfile.open(FLORES_ARCHIVE) as archive:
        archive.extractall(target, filter="data")
    return target / "flores200"


@pytest.fixture(scope="session")
def real_model():
    """The embedded Gemma 3 270M, loaded once, with a throwaway cache."""
    import tempfile

    from reportlib.generation import load_model

    return load_model(n_ctx=512, cache=ResultCache(tempfile.mkdtemp(prefix="reportlib-test-")))
