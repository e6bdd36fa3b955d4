"""The gibberish label (a scorer's bits per character against ordinary text of the language)
and the chat model's audit set it is chosen and measured on."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from reportlib.experiments.probe import audit, fluency


class LetterScorer:
    """A scorer that finds 'x' hard: 4 nats per token with an 'x' in it, 1 for any other."""

    def tokenize(self, text, *, add_bos=True):
        return [0] + [ord(c) for c in text]

    def sequence_nats(self, tokens):
        return float(sum(4.0 if t == ord("x") else 1.0 for t in tokens[1:]))


def answers(*texts, language="eng_Latn", degenerate=False):
    return pd.DataFrame(
        {
            "answer": list(texts),
            "language": language,
            "degenerate": degenerate,
            "degenerate_reason": "",
            "on_language": True,
        }
    )


def test_bits_per_character_reads_only_the_scored_prefix():
    scorer = LetterScorer()
    short = fluency.bits_per_character(scorer, "a" * fluency.PREFIX_CHARACTERS)
    long = fluency.bits_per_character(scorer, "a" * fluency.PREFIX_CHARACTERS + "x" * 500)
    assert short == long == pytest.approx(1 / math.log(2))
    assert math.isnan(fluency.bits_per_character(scorer, ""))


def test_an_answer_much_harder_to_predict_than_ordinary_text_is_gibberish():
    scorer = LetterScorer()
    rows = answers("hello there friend", "xxxxxx xxxxxx xxxx", "ok")
    labelled = fluency.label_gibberish(rows, scorer, ratio=2.0)
    assert labelled["gibberish"].tolist() == [False, True, False]  # "ok" is too short to judge
    assert math.isnan(labelled["fluency"].iloc[2])
    assert labelled.loc[1, "degenerate_reason"] == "gibberish"
    assert labelled["good"].tolist() == [True, False, True]
    assert labelled["fluency"].iloc[1] > 2.0 > labelled["fluency"].iloc[0]


def test_an_answer_in_a_language_without_reference_bits_is_one_clear_error():
    """Was: a KeyError from the multilingual chapter run on three languages, whose audit set
    holds answers in all 22."""
    from reportlib.core.errors import ReportlibError

    rows = answers("hello there friend", language="hau_Latn")
    with pytest.raises(ReportlibError, match="no reference bits per character for hau_Latn"):
        fluency.fluency_ratios(LetterScorer(), rows, {"eng_Latn": 1.0})


def test_an_answer_already_degenerate_keeps_its_reason():
    rows = answers("xxxxxx xxxxxx xxxx", degenerate=True).assign(degenerate_reason="loop")
    labelled = fluency.label_gibberish(rows, LetterScorer(), ratio=2.0)
    assert not labelled["gibberish"].iloc[0]
    assert labelled["degenerate_reason"].iloc[0] == "loop"
    assert not labelled["good"].iloc[0]


def test_the_chat_audit_has_two_disjoint_draws_over_every_language():
    chat = audit.load_chat_audit()
    dev, test = chat[chat.split == "dev"], chat[chat.split == "test"]
    assert len(dev) + len(test) == len(chat) and len(dev) and len(test)
    keys = ["decoding", "language", "style", "sample"]
    assert not dev.merge(test, on=keys).shape[0]  # no answer is in both draws
    assert set(dev.language) == set(test.language)
    assert len(set(chat.language)) == 22
    assert set(chat["reader_kind"]) <= set(audit.READER_KINDS)


def test_the_ratio_choice_picks_the_ratio_that_agrees_with_the_reader():
    dev = pd.DataFrame(
        {
            "reader_gibberish": [True, True, False, False, False],
            "judge_loop_echo_empty": [False, False, False, False, True],
            "fluency": [2.6, 1.9, 1.6, 1.1, 3.0],
        }
    )
    choice = audit.gibberish_choice(dev, [1.5, 1.75, 2.0]).set_index("ratio")
    assert choice.kappa.idxmax() == 1.75  # 1.5 also flags 1.6; 2.0 misses 1.9
    assert choice.loc[1.75, "gibberish"] == 2  # the loop at 3.0 is not gibberish


@pytest.mark.model
@pytest.mark.slow
def test_the_shipped_ratio_is_the_development_draws_best(archived_model):
    """GIBBERISH_RATIO is the candidate with the highest kappa on the dev draw, scored by the
    embedded model as the multilingual chapter scores it (the same languages, context and
    scores, read from the book's archived answers; it is not tuned on the test draw)."""
    from reportlib.core.languages import get_language

    chat = audit.load_chat_audit()
    dev = chat[chat.split == "dev"].reset_index(drop=True)
    languages = [get_language(code) for code in dict.fromkeys(chat.language)]  # as the chapter
    references = fluency.reference_bits(archived_model, languages)
    ratios = fluency.fluency_ratios(archived_model, dev, references)
    judged = audit.judge_chat_audit(dev, ratios, 1.0)
    choice = audit.gibberish_choice(judged, fluency.GIBBERISH_CANDIDATES).set_index("ratio")
    assert choice.kappa.idxmax() == fluency.GIBBERISH_RATIO, choice


def test_audit_correction_scales_the_code_rate_by_precision_over_recall():
    """The code finds 2 good answers where the reader finds 4 (precision 1, recall 0.5):
    the corrected rate doubles the code's rate, and its interval holds it."""
    judged = pd.DataFrame(
        {
            "decoding": "greedy",
            "reader_good": [True, True, True, True] + [False] * 16,
            "judge_good": [True, True, False, False] + [False] * 16,
        }
    )
    results = pd.DataFrame({"decoding": "greedy", "good": [True] + [False] * 9})
    row = audit.audit_corrected_rates(results, judged).iloc[0]
    assert row["code"] == "10%"
    assert row["audit-corrected (95%)"].startswith("20% (")
    low, high = row["audit-corrected (95%)"][5:-1].replace("%", "").split("–")
    assert float(low) <= 20 <= float(high)
    assert row["reader on the audit draw"] == "20% of 20"


def test_the_shipped_loop_rule_is_the_development_sets_best():
    """LONG_UNIT and LOOP_SHARE are the candidate with the highest kappa on the development
    sets (the base audit and the chat model's first draw), never on the second draw."""
    from reportlib.text import answer_quality

    dev = audit.loop_development_set()
    assert set(dev["set"]) == {"base audit", "chat, first draw"}
    choice = audit.loop_choice(dev)
    best = choice.loc[choice.kappa.idxmax()]
    assert (best["unit"], best["share"]) == (answer_quality.LONG_UNIT, answer_quality.LOOP_SHARE)
    first = choice[(choice.unit == 10) & (choice.share == 0.5)].kappa.iloc[0]
    assert best["kappa"] > first  # the first version's rule agreed less


def test_a_formulaic_but_real_answer_is_not_a_loop():
    """The review's example: the same opening said three times, each sentence new."""
    from reportlib.text.answer_quality import label_answer

    text = (
        "I am a student at the University of California, Berkeley. I am a member of the "
        "Student Government Association. I am a member of the Student Council. I am a "
        "member of the Student Union."
    )
    assert label_answer(text, "eng_Latn", "Introduce yourself.", False).reason == ""
    assert label_answer(text, "eng_Latn", "Introduce yourself.", False, (10, 0.5)).reason == "loop"
    said_again = "I am a student at Berkeley. " * 4
    assert label_answer(said_again, "eng_Latn", "Introduce yourself.", False).reason == "loop"
