"""The one fake model of the test suite: a real :class:`TextModel`, answers scripted."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from reportlib.backends.interface import Completion, TextModel
from reportlib.core.errors import ReportlibError

#: the FLORES-200 archive the project's data came from (beside the project, in shared/)
FLORES_ARCHIVE = Path(__file__).resolve().parents[2] / "shared" / "data" / "flores200-subset.tar.gz"


class FakeModel(TextModel):
    """A deterministic stand-in for a GGUF model.

    ``answers`` maps a prompt to its answer, or is a function of the prompt; otherwise the
    answer echoes the reversed prompt and the seed. ``fail_on`` makes prompts containing it
    raise, as a crashing backend would. Tokens are characters, after a BOS of 1.
    """

    def __init__(
        self,
        answers: dict[str, str] | Callable[[str], str] | None = None,
        *,
        n_ctx: int = 64,
        fingerprint: str = "fake-model-0001",
        fail_on: str | None = None,
    ) -> None:
        self.answers = answers or {}
        self._n_ctx = n_ctx
        self._fingerprint = fingerprint
        self.fail_on = fail_on
        self.calls: list[tuple[str, int, int]] = []
        self._previous: list[int] = []

    @property
    def name(self) -> str:
        return "Fake model"

    @property
    def card(self) -> dict[str, Any]:
        return {"name": self.name, "architecture": "fake", "chat_template": False}

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    def cache_identity(self) -> dict[str, Any]:
        return {"model": self._fingerprint, "backend": "fake v1", "n_ctx": self._n_ctx}

    def tokenize(self, text: str, *, add_bos: bool = True) -> list[int]:
        return ([1] if add_bos else []) + [ord(c) for c in text]

    def complete(
        self,
        prompt: str,
        *,
        max_tokens: int,
        seed: int,
        stop: Sequence[str] = (),
        reuse_prefix: bool = False,
    ) -> Completion:
        if self.fail_on and self.fail_on in prompt:
            raise RuntimeError("model crashed")
        tokens = self.tokenize(prompt)
        if len(tokens) + max_tokens > self._n_ctx:
            raise ReportlibError(f"the prompt does not fit the context window of {self._n_ctx}")
        self.calls.append((prompt, max_tokens, seed))
        if callable(self.answers):
            text = self.answers(prompt)
        else:
            text = self.answers.get(prompt, f"echo:{prompt[::-1]}:{seed}")
        for s in stop:
            text = text.split(s, 1)[0]
        text = text[:max_tokens]
        shared = 0
        if reuse_prefix:
            while shared < min(len(tokens), len(self._previous)) - 1:
                if tokens[shared] != self._previous[shared]:
                    break
                shared += 1
        self._previous = tokens
        return Completion(text, len(tokens), len(text), "length", len(tokens) - shared)


class FrozenClock(datetime.datetime):
    """A clock stopped at one second: runs started "at once" get the same time."""

    @classmethod
    def now(cls, tz=None):
        return cls(2025, 1, 2, 3, 4, 5, tzinfo=tz)


def one_line_error(capsys, argv: list[str]) -> str:
    """Run the CLI with ``argv``: it must fail with exit code 2 and one line of error."""
    from reportlib.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith("reportlib: error: ")
    return err.removeprefix("reportlib: error: ").strip()
