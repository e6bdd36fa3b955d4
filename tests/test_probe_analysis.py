"""Probe statistics on constructed results: clustered rates, paired tests, verdicts, audit."""

import pandas as pd
import pytest

from reportlib.core.languages import get_language
from reportlib.core.verdicts import REFUTED, SUPPORTED
from reportlib.experiments.probe.analysis import (
    NOT_DECIDED,
    chapter_tests,
    clustered_rate,
    decide,
    model_comparisons,
    report_observations,
    style_comparisons,
)
from reportlib.experiments.probe.audit import agreement_table, judge_audit, load_audit
from reportlib.experiments.probe.prompts import PROMPT_STYLES, sample_design

EASY = ["eng_Latn", "spa_Latn", "fra_Latn", "deu_Latn", "rus_Cyrl", "arb_Arab"]
#: enough languages for the scripts test to be able to decide after Holm's adjustment
MANY_EASY = [*EASY, "ita_Latn", "por_Latn", "pol_Latn", "ces_Latn", "slv_Latn"]
CJK = ["zho_Hans", "jpn_Jpan", "kor_Hang"]


def results(good, languages=EASY + CJK, samples=10, model="m", detected=None, in_script=None):
    """Probe-like rows; ``good(language, style, sample)`` decides each answer (and whether it
    is in the requested script, unless ``in_script`` decides that)."""
    rows = []
    for code in languages:
        lang = get_language(code)
        for style in PROMPT_STYLES:
            for sample in range(samples):
                ok = bool(good(code, style, sample))
                scripted = ok if in_script is None else bool(in_script(code, style, sample))
                rows.append(
                    {
                        "model": model,
                        "language": code,
                        "script": lang.script,
                        "style": style,
                        "sample": sample,
                        "frame": sample_design(sample)[0],
                        "good": ok,
                        "script_share": 1.0 if scripted else 0.0,
                        "on_language": ok,
                        "detected_language": (detected or {}).get(code, lang.iso if ok else "en"),
                    }
                )
    return pd.DataFrame(rows)


def test_scripts_observation_can_be_supported_refuted_or_undecided():
    many = MANY_EASY + CJK
    supported = report_observations(results(lambda c, s, i: c not in CJK, many), "Model X")[0]
    assert supported.verdict == SUPPORTED and supported.measured.endswith("on Model X")
    refuted = report_observations(results(lambda c, s, i: c in CJK, many))[0]
    assert refuted.verdict == REFUTED
    even = report_observations(results(lambda c, s, i: i % 2 == 0, many))[0]
    assert even.verdict == NOT_DECIDED


def test_the_scripts_observation_is_about_producing_the_script_not_good_answers():
    """The report said the scripts were easy or hard to *output*: equal good-answer rates
    with script output only on the easy side is the report's claim (it was "not decided"
    when the test read good answers)."""
    produced = results(
        lambda c, s, i: i < 2, MANY_EASY + CJK, in_script=lambda c, s, i: c not in CJK
    )
    scripts = report_observations(produced)[0]
    assert scripts.verdict == SUPPORTED
    assert "100% vs 0% of answers in the requested script" in scripts.measured
    assert "good answers 20% vs 20%" in scripts.measured


def test_english_is_not_on_the_easy_side_of_the_scripts_test():
    """English is the frame language: its answers say nothing about producing a script."""
    only_english = results(
        lambda c, s, i: False,
        MANY_EASY + CJK,
        in_script=lambda c, s, i: c == "eng_Latn" or i % 2 == 0,
    )
    scripts = report_observations(only_english)[0]
    assert scripts.verdict == NOT_DECIDED
    assert "mean over 10 and 3 languages" in scripts.measured


def test_russian_observation_both_ways():
    english = results(lambda c, s, i: c != "rus_Cyrl")  # Russian answers: English
    assert report_observations(english)[1].verdict == SUPPORTED
    russian = results(lambda c, s, i: True)
    assert report_observations(russian)[1].verdict == REFUTED
    half = results(lambda c, s, i: c != "rus_Cyrl" or i % 2 == 0)
    assert report_observations(half)[1].verdict == NOT_DECIDED


def test_the_russian_case_is_tested_in_the_reports_setting_with_the_pooled_figure_beside():
    """Asked in English, Russian is answered in English; asked in Russian, in Russian.
    Pooling every style diluted the report's case; the style is fixed in the code."""
    from reportlib.experiments.probe.analysis import REPORT_RUSSIAN_STYLE

    assert REPORT_RUSSIAN_STYLE == "english_request"
    data = results(lambda c, s, i: c != "rus_Cyrl" or s != REPORT_RUSSIAN_STYLE)
    russian = report_observations(data)[1]
    assert russian.verdict == SUPPORTED
    assert russian.measured.startswith(
        "10 of 10 answers in English, 0 in Russian, asked in English"
    )
    assert "(every style: 10 of 30 in English, 20 in Russian)" in russian.measured


def test_style_comparisons_are_paired_and_decided_after_holm():
    data = results(
        lambda c, s, i: (
            s == "native_opening" or (s == "native_request" and i == 0 and c == "eng_Latn")
        )
    )
    tests = {t.key: t for t in decide(style_comparisons(data))}
    opening = tests["style_native_request_vs_native_opening"]
    assert opening.verdict == "second higher" and opening.adjusted_p >= opening.p_value
    assert tests["style_english_request_vs_native_request"].verdict == NOT_DECIDED
    family = chapter_tests(data)
    assert len(family) == 5 and (family.adjusted_p >= family.p_value).all()


def test_model_comparison_pairs_the_same_prompts():
    a = results(lambda c, s, i: True, model="base")
    b = results(lambda c, s, i: c == "kor_Hang", model="tuned")
    (test,) = model_comparisons(pd.concat([a, b]))
    assert test.question == "base vs tuned" and "0 only the second" in test.measured
    assert "8 favour the first, 0 the second" in test.measured  # Korean is a tie
    assert test.estimate > 0 and test.p_value == pytest.approx(2 / 2**8)  # the language test


def test_one_language_cannot_make_a_difference_alone():
    """10 discordant answers, all in one language: McNemar alone would call it, the
    sign test over languages does not, so the comparison is not decided."""
    data = results(lambda c, s, i: s == "native_opening" and c == "kor_Hang")
    tests = {t.key: t for t in decide(style_comparisons(data))}
    test = tests["style_native_request_vs_native_opening"]
    assert "McNemar p = 0.002" in test.measured
    assert test.p_value == 1.0 and test.verdict == NOT_DECIDED


def test_clustered_rate_brackets_the_rate():
    data = results(lambda c, s, i: c in EASY[:3])
    rate, low, high = clustered_rate(data)
    assert low <= rate <= high and rate == pytest.approx(3 / 9)
    assert high - low > 0.3  # 9 languages, not 270 independent answers


def test_agreement_table_precision_and_recall():
    judged = pd.DataFrame(
        {
            f"{who}_{label}": values
            for label in ("on_language", "degenerate", "self_intro", "good")
            for who, values in (
                ("reader", [True, True, False, False]),
                ("judge", [True, False, True, False]),
            )
        }
    )
    table = agreement_table(judged).set_index("label")
    assert (table.accuracy == 0.5).all() and (table.precision == 0.5).all()
    assert (table.recall == 0.5).all()


def test_the_shipped_audit_set_covers_the_design():
    audit = load_audit()
    assert len(audit) >= 200
    assert audit.language.nunique() == 22 and set(audit["style"]) == set(PROMPT_STYLES)
    assert audit.groupby("language").size().min() >= 9
    judged = judge_audit(audit)
    assert len(judged) == len(audit)
    assert set(agreement_table(judged).label) >= {"in the requested language"}


def test_clustered_rate_table_keeps_the_order_and_gives_intervals():
    from reportlib.experiments.probe.analysis import clustered_rate_table

    data = pd.concat([results(lambda c, s, i: c in EASY, model=m) for m in ("b", "a")])
    data["group"] = data.language.map(lambda c: "cjk" if c in CJK else "easy")
    table = clustered_rate_table(data, "group", "model")
    assert list(table.columns) == ["b", "a"] and list(table.index) == ["easy", "cjk"]
    assert table.loc["easy", "a"].startswith("100% (100%–100%)")
    assert table.loc["cjk", "b"] == "0% (0%–0%)"


def test_audit_by_length_bands():
    from reportlib.experiments.probe.audit import audit_by_length

    judged = pd.DataFrame(
        {
            "letters": [5, 50, 500, 10],
            "reader_on_language": [True, True, False, True],
            "judge_on_language": [False, True, False, True],
            "reader_good": [False, True, False, True],
            "judge_good": [False, True, False, True],
        }
    )
    table = audit_by_length(judged).set_index("answer length")
    assert list(table.answers) == [2, 1, 1]
    assert table.loc["under 20 letters", "on-language agrees"] == 0.5


def test_interval_widening_compares_clustered_with_wilson():
    from reportlib.experiments.probe.analysis import interval_widening, pooled_rates

    data = results(lambda c, s, i: c in EASY[:3])
    pooled = pooled_rates(data, "style", "good")
    from reportlib.experiments.probe.analysis import rate_table

    factor = interval_widening(pooled, data, "style")
    assert factor > 1.5  # 9 languages, not 90 independent answers per style
    same = pooled.copy()
    wilson = rate_table(data, ["style"], label="good")
    same[["low", "high"]] = wilson[["low", "high"]].to_numpy()
    assert interval_widening(same, data, "style") == pytest.approx(1.0)
