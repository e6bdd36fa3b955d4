"""The language judge: measured on the project's reference sets, with thresholds that
catch a broken judge (one that accepts everything, or rejects everything)."""

import pytest

from reportlib.core.languages import get_language
from reportlib.experiments.probe.audit import judge_accuracy
from reportlib.text.judge import char_script, judge_answer, strip_diacritics, strip_markup


@pytest.fixture(scope="module")
def accuracy():
    return judge_accuracy()


def test_accepts_correct_reference_sentences(accuracy):
    assert accuracy["correct accepted"].sum() / accuracy["correct"].sum() >= 0.95
    assert (accuracy["correct accepted"] >= 6).all()  # at most 2 of 8 missed per language


def test_rejects_wrong_reference_sentences(accuracy):
    assert accuracy["wrong rejected"].sum() / accuracy["wrong"].sum() >= 0.98
    assert (accuracy["wrong rejected"] >= accuracy["wrong"] - 1).all()


@pytest.mark.parametrize(
    "text, code, expected",
    [
        ("Hello, my name is Ana and I am a teacher.", "ko", False),  # English labelled Korean
        ("Меня зовут Анна, я учительница из Москвы.", "pl", False),  # Russian labelled Polish
        ("Меня зовут Анна, я учительница из Москвы.", "ru", True),
        (" 2018년 1월 1일, 2018년 1월 2일, 2018년 1월 3일", "ko", True),  # CLD3 says ja
        ("東京是中国的首都之一吗？不是，北京是首都。", "ja", False),  # Chinese labelled Japanese
        ("Àwọn onímọ̀ sáyẹ́ǹsì sọ pé abẹ́rẹ́ àjẹsára tuntun náà dára.", "yo", True),
        ("-\n-\n-\n-\n", "ko", False),
        ("<b><i><b><i><b><i>", "ta", False),
        ("", "en", False),
    ],
)
def test_single_answers(text, code, expected):
    assert judge_answer(text, get_language(code)).on_language is expected


def test_markup_and_scripts():
    assert strip_markup("<strong>안녕</strong> **하세요** https://x.y/z") == "안녕 하세요"
    assert char_script("가") == "Hangul" and char_script("ア") == "Katakana"
    assert char_script("5") is None and char_script("\u0301") is None
    assert strip_diacritics("Ẹ n lẹ́") == "E n le"
