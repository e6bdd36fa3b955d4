"""The judge-free preference measure, checked on constructed models whose answer is known."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from reportlib.backends.interface import ContinuationScores
from reportlib.core.errors import ReportlibError
from reportlib.core.languages import get_language
from reportlib.experiments.preference import (
    SCRIPTS,
    Reference,
    load_references,
    measure_preference,
    paired_shift,
    preference_summary,
    reply_end,
    target_mass,
)

from fakes import FakeModel

KO = get_language("ko")
REFS = {
    "kor_Hang": [
        Reference("kor_Hang", "안녕하세요, 도와드릴게요.", "Hello, I will help you."),
        Reference("kor_Hang", "반갑습니다!", "Nice to meet you!"),
    ]
}


class ScoringModel(FakeModel):
    """Native replies cost ``native`` nats, English ones ``english``, whatever the prompt;
    the first token's mass is split evenly between Hangul and Latin."""

    def __init__(self, native: float, english: float, name: str = "fake") -> None:
        super().__init__(chat_template=True, fingerprint=name)
        self.native, self.english, self._label = native, english, name

    @property
    def name(self) -> str:
        return self._label

    def score_continuations(self, prompt, continuations, token_groups=None):
        natives = {r.native for refs in REFS.values() for r in refs}
        nats = [
            self.native if any(c.startswith(n) for n in natives) else self.english
            for c in continuations
        ]
        mass = [0.0] * (len(SCRIPTS) + 1)
        mass[SCRIPTS.index("Hangul")] = mass[SCRIPTS.index("Latin")] = 0.5
        return ContinuationScores(nats, [len(c) for c in continuations], mass)


def test_the_preference_is_the_log_odds_per_native_character_in_bits():
    rows = pd.DataFrame(
        measure_preference(ScoringModel(2.0, 5.0), [KO], ["native_request"], 4, REFS, groups=[0])
    )
    assert len(rows) == 4 * 2  # prompts x references
    first = rows[rows.reference == 0].preference.iloc[0]
    assert first == pytest.approx((5.0 - 2.0) / math.log(2) / len(REFS["kor_Hang"][0].native))
    assert (rows.script_mass == 0.5).all()  # Hangul only, of the Hangul and Latin halves


def test_the_summary_and_the_paired_shift_recover_the_constructed_difference():
    a = measure_preference(ScoringModel(2.0, 5.0, "tuned"), [KO], ["native_request"], 4, REFS)
    b = measure_preference(ScoringModel(5.0, 5.0, "base"), [KO], ["native_request"], 4, REFS)
    rows = pd.DataFrame(a + b)
    summary = preference_summary(rows).set_index("model")
    assert summary.loc["base", "preference"] == pytest.approx(0.0)
    assert (
        summary.loc["tuned", "low"]
        <= summary.loc["tuned", "preference"]
        <= summary.loc["tuned", "high"]
    )
    shift = paired_shift(rows, "tuned", "base", "kor_Hang")
    expected = sum(3 / math.log(2) / len(r.native) for r in REFS["kor_Hang"]) / 2
    assert shift["shift"] == pytest.approx(expected)
    assert shift["low"] <= shift["shift"] <= shift["high"]
    with pytest.raises(ReportlibError, match="not paired"):
        paired_shift(rows, "tuned", "nobody", "kor_Hang")


def test_a_base_and_its_adapter_of_one_name_are_told_apart_by_their_labels():
    """A GGUF base and the same file with a LoRA adapter share a name: rows labelled by it
    could not be paired (the fine-tune chapter failed on it)."""
    tuned, base = ScoringModel(2.0, 5.0, "same"), ScoringModel(5.0, 5.0, "same")
    rows = pd.DataFrame(
        measure_preference(tuned, [KO], ["native_request"], 4, REFS, model_name="same + LoRA")
        + measure_preference(base, [KO], ["native_request"], 4, REFS, model_name="same")
    )
    assert paired_shift(rows, "same + LoRA", "same", "kor_Hang")["shift"] > 0


def test_the_script_mass_of_japanese_counts_its_three_scripts():
    mass = [0.0] * (len(SCRIPTS) + 1)
    for script in ("Han", "Hiragana", "Katakana", "Latin"):
        mass[SCRIPTS.index(script)] = 0.25
    assert target_mass(mass, get_language("ja")) == pytest.approx(0.75)
    assert target_mass(mass, get_language("zh")) == pytest.approx(0.25)


def test_a_chat_reply_ends_with_the_templates_end_of_turn_and_a_base_reply_with_nothing():
    class ChatML(FakeModel):
        end_of_text = "<|im_end|>"

    assert reply_end(ChatML(chat_template=True)) == "<|im_end|>"
    assert reply_end(FakeModel()) == ""


def test_the_shipped_references_cover_every_probed_language():
    from reportlib.experiments.probe.prompts import PROBE_LANGUAGES

    refs = load_references()
    assert set(refs) == set(PROBE_LANGUAGES)
    assert all(len(items) == 3 for items in refs.values())
