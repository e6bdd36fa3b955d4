"""The zero-haystack control, recall by distance to the question, the paired layout test and
the Korean-English content ratio, on fake tokenizers and made-up answers."""

import pandas as pd
import pytest
from test_ruler import SIZES, chars, oracle, rows_for

from reportlib.core.errors import ReportlibError
from reportlib.experiments.context import ruler_analysis, ruler_findings
from reportlib.experiments.context import ruler_tasks as ruler
from reportlib.experiments.context.ruler_scoring import run_grid, task_scores

from fakes import FakeModel


def test_a_control_case_is_its_sample_without_haystack_text():
    """The same inserts in the same order and the same questions as the sample's case, with
    nothing around them: the instructions, the inserts, then the questions."""
    case = ruler.build_case(chars, "filler", 3000, 1, SIZES, task="multi-value")
    control = ruler.build_control_case(chars, 1, SIZES, task="multi-value")
    assert control.questions == case.questions
    assert control.haystack == ruler.CONTROL_HAYSTACK and control.length == 0
    inserts = [line for line in case.context.split(". ") if line.startswith("One of")]
    assert control.context.startswith(ruler.prefix_for("multi-value"))
    body = control.context.removeprefix(ruler.prefix_for("multi-value"))
    assert [x.rstrip(".") for x in body.split(". ")] == [x.rstrip(".") for x in inserts]
    assert control.context_characters == 0 and control.context_tokens == len(control.context)


def test_the_control_grid_has_one_case_per_task_and_sample_and_scores_as_one_cell():
    grid = ruler.build_control_grid(chars, 3, SIZES)
    assert [(c.sample, c.task) for c in grid] == [(s, t) for s in range(3) for t in ruler.TASKS]
    assert len(ruler.build_control_grid(chars, 2, SIZES, layout="shared")) == 2
    scores = task_scores(run_grid(FakeModel(oracle, n_ctx=4000), grid, progress=False))
    assert sorted(scores["task"]) == sorted(ruler.TASKS) and set(scores["length"]) == {0}
    assert (scores["score"] == 1.0).all()
    with pytest.raises(ReportlibError, match="unknown layout"):
        ruler.build_control_grid(chars, 1, SIZES, layout="both")


def control_of(score):
    return task_scores(rows_for(ruler.CONTROL_HAYSTACK, [(0, score)]))


def test_effective_length_against_the_control_counts_what_length_costs():
    """A model at 50% with no haystack fails RULER's threshold everywhere; held to 85.6%
    of its own 50%, it keeps its floor up to the length where it drops below 42.8%."""
    scores = task_scores(rows_for("flores-en", [(448, 0.5), (640, 0.5), (1024, 0.25)]))
    relative = ruler_analysis.relative_effective_lengths(scores, control_of(0.5))
    average = relative.set_index("task").loc["average"]
    assert average["effective length"] is None
    assert average["relative threshold"] == pytest.approx(0.428)
    assert average["relative effective length"] == 640
    none = ruler_analysis.relative_effective_lengths(scores, control_of(0.0))
    assert none["no floor"].all() and none["relative effective length"].isna().all()
    text = ruler_findings.control_finding(relative)
    assert text.startswith("With no haystack at all, only the instructions, the inserts")
    assert "average 50%, below RULER's threshold of 85.6%: the model fails" in text
    assert text.endswith("(43%), the average's effective length is FLORES-200 English: 640 tokens.")
    table = ruler_findings.relative_effective_table(relative)
    row = table.loc[("FLORES-200 English", "average")]
    assert row["at that share of no haystack"] == "640" and row["no haystack"] == "50%"
    assert row["effective length at RULER's threshold"] == "< 448"
    assert list(table.index.get_level_values("task")) == [*ruler.TASKS, "average"]


def test_a_control_missing_a_task_is_an_error():
    scores = task_scores(rows_for("flores-en", [(448, 0.5)]))
    partial = task_scores(rows_for(ruler.CONTROL_HAYSTACK, [(0, 0.5)], tasks=ruler.TASKS[:2]))
    with pytest.raises(ReportlibError, match="no score for 'multi-value'"):
        ruler_analysis.relative_effective_lengths(scores, partial)


def test_each_value_is_measured_from_its_own_insert_to_the_question():
    """With one character per token, a value's distance is the characters from the start of
    the insert that holds it to the end of the question, for needles and chains alike."""
    case = ruler.build_case(chars, "filler", 3000, 0, SIZES)
    distances = ruler_analysis.insert_distances([case], chars)
    assert len(distances) == sum(len(q.expected) for q in case.questions)
    for row in distances.to_dict("records"):
        question = case.questions[row["question"]]
        start = ruler_analysis.insert_start(case.context, row["task"], row["value"])
        assert row["distance"] == len(case.context) - start + len(question.prompt)
        insert = case.context[start:].split(". ")[0]
        assert row["value"] in insert
        assert insert.startswith("VAR" if row["task"] == "variable tracking" else "One of")
    first = distances.sort_values("distance").iloc[-1]
    assert first["distance"] > len(case.context) - case.context.index("One of") - 5


def test_recall_by_distance_splits_at_the_window_within_prompts_holding_both():
    distances = pd.DataFrame(
        [
            {"haystack": "flores-en", "layout": "shared", "length": 1024, "sample": s,
             "question": 0, "task": "multi-value", "value": v, "distance": d}
            for s in range(3)
            for v, d in (("111", 100), ("222", 900))
        ]
        + [{"haystack": "flores-en", "layout": "shared", "length": 448, "sample": 0,
            "question": 0, "task": "multi-value", "value": "333", "distance": 100}]
    )  # fmt: skip
    answers = pd.DataFrame(
        [{"haystack": "flores-en", "layout": "shared", "length": 1024, "sample": s,
          "question": 0, "answer": a} for s, a in enumerate(["111", "111, 222", "111"])]
        + [{"haystack": "flores-en", "layout": "shared", "length": 448, "sample": 0,
            "question": 0, "answer": "no"}]
    )  # fmt: skip
    table, test = ruler_analysis.recall_by_distance(distances, answers, 512)
    rows = table[table["task"] == "all four tasks"].set_index("distance (tokens)")
    assert rows.loc["within 512", "values"] == 3  # the 448-token prompt holds one side only
    assert rows.loc["within 512", "recall"] == 1.0
    assert rows.loc["beyond 512", "recall"] == pytest.approx(1 / 3)
    assert (test["prompts"], test["inside_better"], test["beyond_better"]) == (3, 2, 0)
    shown = ruler_findings.distance_table(table)
    assert shown.loc[("all four tasks", "within 512"), "values"] == 3
    headline = ruler_findings.distance_headline(test, 512, table)
    assert headline.startswith("values within the model's 512-token sliding window")
    assert "recalled 100% of the time, values beyond it 33% (sign test over 3 prompts" in headline
    assert "no sliding window" in ruler_findings.distance_headline(test, None, table)
    text = ruler_findings.distance_finding(test, 512, table)
    assert "recall 100% of the values placed within 512 tokens" in text
    assert text.endswith("no difference the sign test decides.")
    with pytest.raises(ReportlibError, match="has no answer"):
        ruler_analysis.recall_by_distance(distances, answers.iloc[:1], 512)


def answer_rows(layout, scores):
    return pd.DataFrame(
        [
            {"haystack": "flores-en", "layout": layout, "length": 1024, "sample": s,
             "task": t, "score": score}
            for s, score in enumerate(scores)
            for t in ruler.TASKS
        ]
    )  # fmt: skip


def test_three_haystacks_cannot_decide_a_layout_difference_however_large():
    """42% against 5% on three haystacks is not "no difference": no two-sided sign test over
    three haystacks can fall below p = 0.25, and the finding says so."""
    shared = answer_rows("shared", [0.5, 0.4, 0.35])
    separate = answer_rows("separate", [0.0, 0.1, 0.05, 0.2, 0.0])  # two more haystacks
    paired = ruler_analysis.layout_paired_test(shared, separate)
    average = paired.set_index("task").loc["average"]
    assert average["haystacks"] == 3 and average["smallest_p"] == 0.25
    assert average["difference"] == pytest.approx(-100 * (0.5 + 0.3 + 0.3) / 3)
    assert (average["separate_higher"], average["shared_higher"]) == (0, 3)
    text = ruler_findings.layout_finding(paired)
    assert text.startswith("At 1,024 tokens, on the 3 haystacks both layouts carry")
    assert "cannot fall below p = 0.25, so no difference" in text
    assert "overlap" not in text
    table = ruler_findings.layout_paired_table(paired)
    assert table.loc[("1,024", "average"), "one task higher / four higher"] == "0 / 3"


def test_enough_haystacks_let_the_sign_test_decide():
    shared = answer_rows("shared", [0.5] * 8)
    separate = answer_rows("separate", [0.0] * 8)
    text = ruler_findings.layout_finding(ruler_analysis.layout_paired_test(shared, separate))
    assert "finds a difference for multi-key, multi-query, multi-value and variable" in text
    unshared = answer_rows("separate", [0.0]).assign(length=448)
    assert ruler_analysis.layout_paired_test(shared, unshared).empty
    assert "not tested at a common length" in ruler_findings.layout_finding(pd.DataFrame())


def test_korean_sentences_per_english_compares_the_same_content():
    def byte_tokens(text):
        return [0, *text.encode()]

    from reportlib.text.corpus import flores_sentences

    def size(code):
        lines = flores_sentences(code, "dev") + flores_sentences(code, "devtest")
        return sum(len(line.encode()) for line in lines)

    ratio = ruler_analysis.korean_sentences_per_english(byte_tokens)
    assert ratio == pytest.approx(size("eng_Latn") / size("kor_Hang"))
