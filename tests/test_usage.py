"""Per-chapter usage files and the whole-book record's summaries."""

from __future__ import annotations

import json

import pytest

from reportlib.backends.cached_model import CachedModel
from reportlib.bench.usage import (
    read_scoring_timings,
    read_timings,
    read_usage,
    usage_summary,
    write_chapter_usage,
)
from reportlib.core.errors import ReportlibError
from reportlib.site import book_record


def test_cached_model_records_hits_misses_and_compute_time(fake_model, cache):
    model = CachedModel(fake_model, cache)
    model.complete("abc", max_tokens=5, seed=0)
    model.complete("abc", max_tokens=5, seed=0)
    first, second = model.records
    assert not first["cached"] and second["cached"]
    assert first["compute_seconds"] == second["compute_seconds"] >= 0  # kept with the result
    assert model.calls == 1 and len(fake_model.calls) == 1


def test_usage_file_is_identical_cold_and_warm(fake_model, cache, tmp_path):
    prompts = ["one", "two", "three"]
    texts = []
    for run in ("cold", "warm"):
        model = CachedModel(fake_model, cache)
        for p in prompts:
            model.complete(p, max_tokens=4, seed=0)
        path = write_chapter_usage("demo", [model], tmp_path / run)
        texts.append(path.read_text())
        calls = read_timings(tmp_path / run, "demo")["Fake model base"]
        assert [c["cached"] for c in calls] == [run == "warm"] * 3
    assert texts[0] == texts[1]
    usage = read_usage(tmp_path / "cold")["demo"]["Fake model base"]
    assert usage["completions"] == 3
    assert usage["prompt_tokens"] == sum(len(p) + 1 for p in prompts)
    assert usage["evaluated_tokens"] == usage["prompt_tokens"]  # no prefix reuse asked for


def test_usage_summary_adds_tokens():
    records = [
        {"prompt_tokens": 10, "evaluated_tokens": 4, "completion_tokens": 2},
        {"prompt_tokens": 20, "evaluated_tokens": 20, "completion_tokens": 3},
    ]
    assert usage_summary(records) == {
        "completions": 2,
        "prompt_tokens": 30,
        "evaluated_tokens": 24,
        "generated_tokens": 5,
    }


def _call(seconds: float, cached: bool = False) -> dict:
    return {
        "prompt_tokens": 9,
        "evaluated_tokens": 9,
        "completion_tokens": 4,
        "cached": cached,
        "compute_seconds": seconds,
    }


def _record() -> dict:
    # a probe of 2 cells x 3 samples; sample k of each cell costs k + 1 seconds
    probe = [_call(k + 1.0) for _ in range(2) for k in range(3)]
    return {
        "measured": "2026-01-01",
        "cpu": "test cpu",
        "cores": 2,
        "model": "m",
        "cold_build_seconds": 300.0,
        "rebuild_seconds": 1.5,
        "chapter_seconds": {"alternatives": 100.0, "multilingual": 2.0},
        "usage": {
            "alternatives": {"m": usage_summary(probe)},
            "multilingual": {"m": usage_summary(probe)},
        },
        "timings": {
            "alternatives": {"m": probe},
            "multilingual": {"m": [_call(1.0, True) for _ in probe]},
        },
        "rerun": {
            "chapter": "multilingual",
            "parameter": "samples",
            "value": "4",
            "seconds": 12.0,
            "calls": {"m": [_call(1.0, True)] * 6 + [_call(4.0)] * 2},
        },
        "context_parameters": {"lengths": [1, 2], "depths": [0.0, 1.0], "needles": 2, "n_ctx": 8},
        "needle_grid_growth": [
            {"largest_length": 1000, "prompts": 4, "seconds": 2.0},
            {"largest_length": 2000, "prompts": 8, "seconds": 7.0},
        ],
        "prompt_processing": [
            {"prompt_tokens": n, "seconds": 0.5 + 1e-3 * n + 1e-7 * n * n}
            for n in (500, 1000, 2000, 4000)
        ],
    }


def test_probe_cost_grows_by_sample_and_adds_the_rerun():
    rows = book_record.probe_cost_by_samples(_record())  # an old record: language-major
    assert [r["samples"] for r in rows] == [1, 2, 3, 4]
    assert [r["answers"] for r in rows] == [2, 4, 6, 8]
    assert [r["seconds"] for r in rows] == pytest.approx([2.0, 6.0, 12.0, 20.0])


def test_a_rerun_with_fewer_samples_adds_no_point():
    """make bench-book reruns with one sample fewer (the default is the most allowed): it
    computes nothing new, and the curve must not show the full cost at the smaller count."""
    record = _record()
    record["rerun"].update(value="2", calls={"m": [_call(1.0, True)] * 4})
    rows = book_record.probe_cost_by_samples(record)
    assert [r["samples"] for r in rows] == [1, 2, 3]


def test_probe_cost_of_a_sample_major_record():
    record = _record()
    # the same costs asked sample by sample: both cells' sample 0, then sample 1, ...
    record["timings"]["alternatives"]["m"] = [_call(k + 1.0) for k in range(3) for _ in range(2)]
    record.update(probe_samples=3, probe_order="sample-major")
    rows = book_record.probe_cost_by_samples(record)
    assert [r["seconds"] for r in rows] == pytest.approx([2.0, 6.0, 12.0, 20.0])


def test_probe_cost_reads_the_chapter_that_computed_the_probe():
    """The multilingual chapter reads the greedy answers the alternatives chapter computed
    and adds more of its own (sampled): more computed calls, but not the probe's cold cost."""
    record = _record()
    record["timings"]["multilingual"]["m"] += [_call(9.0) for _ in range(7)]
    rows = book_record.probe_cost_by_samples(record)
    assert [r["seconds"] for r in rows] == pytest.approx([2.0, 6.0, 12.0, 20.0])


def test_probe_cost_needs_a_cold_probe():
    record = _record()
    for call in record["timings"]["alternatives"]["m"][:2]:
        call["cached"] = True
    with pytest.raises(ReportlibError, match="not computed"):
        book_record.probe_cost_by_samples(record)


def test_quadratic_fit_recovers_coefficients():
    a, b, c = book_record.prompt_fit(_record())
    assert (a, b, c) == pytest.approx((0.5, 1e-3, 1e-7), rel=1e-6)


def test_chapter_rows_and_phrases():
    record = _record()
    rows = {r["chapter"]: r for r in book_record.chapter_cost_rows(record)}
    assert rows["alternatives"]["computed in this chapter"] == 6
    assert rows["multilingual"]["computed in this chapter"] == 0
    assert rows["alternatives"]["evaluated tokens"] == 54
    phrases = book_record.book_bench_phrases(record)
    assert set(phrases) == set(book_record.PHRASE_NAMES)
    assert phrases["rerun_computed"] == "2 of 8 answers"
    assert phrases["rerun_command"] == "reportlib run multilingual -p samples 4"
    assert phrases["rerun_change"] == "one more prompt variant"  # 4 after the default 3
    record["rerun"]["value"] = "1"
    assert book_record.book_bench_phrases(record)["rerun_change"] == "2 prompt variants fewer"
    assert phrases["cold_build"] == "5.0 minutes (300 s)"
    assert phrases["rebuild"] == "1.5 s" and book_record.duration_text(0.004) == "under 0.1 s"
    assert (
        "the chapters ran m, and the growth measurements below ran m"
        in (phrases["bench_provenance"])
    )
    assert phrases["longest"] == "4,000 tokens"
    # 1.6 s of the 6.1 s a 4,000-token prompt takes is the quadratic term
    assert phrases["quadratic_share"] == f"{1.6 / 6.1:.0%}"


def test_phrases_without_a_record_say_not_measured(tmp_path):
    assert book_record.load_book_bench(tmp_path / "missing.json") is None
    phrases = book_record.book_bench_phrases(None)
    assert all("not measured" in p for p in phrases.values())
    note = json.loads(book_record.copy_record(None, tmp_path / "out.json").read_text())
    assert "make bench-book" in note["note"]


def test_time_to_run_adds_the_model_work_found_in_the_cache(tmp_path):
    path = tmp_path / "record.json"
    path.write_text(json.dumps(_record()))
    # alternatives computed its 6 answers itself: its own execution time
    record = _record()
    source = f"(the book record of {record['measured']}, {record['cpu']}, {record['cores']} cores)"
    assert book_record.time_to_run(path, "alternatives") == f"100.0 s {source}"
    # multilingual found 6 cached answers of 1 s each: 2 s + 6 s
    assert book_record.time_to_run(path, "multilingual") == f"8.0 s {source}"
    assert "not measured" in book_record.time_to_run(tmp_path / "none.json", "context")


def test_two_models_with_one_name_are_not_pooled(cache, tmp_path):
    from fakes import FakeModel

    first = CachedModel(FakeModel(fingerprint="aaaa1111"), cache)
    second = CachedModel(FakeModel(fingerprint="bbbb2222"), cache)
    first.complete("one", max_tokens=4, seed=0)
    second.complete("two", max_tokens=4, seed=0)
    write_chapter_usage("demo", [first, second], tmp_path)
    usage = read_usage(tmp_path)["demo"]
    assert set(usage) == {"Fake model base (aaaa1111)", "Fake model base (bbbb2222)"}


def test_the_whole_book_record_says_when_another_machine_made_it():
    from reportlib.site.book_record import machine_note

    assert "different machine" not in machine_note("AMD EPYC", "AMD EPYC")
    other = machine_note("Intel(R) Xeon(R) Processor", "AMD EPYC")
    assert "different machine" in other and "Intel" in other and "AMD EPYC" in other


def test_cpu_flags_keeps_the_kernel_relevant_ones_in_order():
    from reportlib.core.machine import cpu_flags

    info = "processor\t: 0\nflags\t\t: fpu sse4_2 avx512f avx2 amx_tile fma ht\n"
    assert cpu_flags(info) == ["sse4_2", "fma", "avx2", "avx512f", "amx_tile"]
    assert cpu_flags("no flags here") == []


def test_budget_floor_adds_the_probe_per_model_and_the_costliest_other_completion():
    record = _record()
    long_prompt = {**_call(250.0), "prompt_tokens": 32000}
    record["timings"]["context"] = {"m": [_call(3.0), long_prompt]}
    record["timings"]["claims"] = {"m + LoRA": [_call(300.0), _call(5.0, True)]}
    floor = book_record.budget_floor(record)
    # the probe: 2 cells x (1 + 2 + 3) s for m (the multilingual copies were cached), 300 s
    # with the adapter (its cached answer costs nothing); the longest completion is the
    # context chapter's, not the probe's (counted once, with the probe)
    assert floor["probe_seconds"] == {"m": 12.0, "m + LoRA": 300.0}
    assert floor["longest_call"] is long_prompt
    assert floor["floor_seconds"] == 12.0 + 300.0 + 250.0
    phrase = book_record.budget_phrase(record)
    assert phrase.startswith("The probe's answers take 12.0 s for m and 5.0 minutes (300 s) for")
    assert "(a prompt of 32,000 tokens) takes 4.2 minutes (250 s)" in phrase
    assert phrase.endswith("9.4 minutes (562 s) together, leaving 20.6 minutes (1,238 s) of "
                           "the 30-minute goal for everything else")  # fmt: skip
    record["timings"]["context"]["m"][1] = {**_call(1600.0), "prompt_tokens": 32000}
    assert book_record.budget_phrase(record).endswith("over the 30-minute goal")
    assert book_record.budget_verdict(record) == "these defaults meet it"  # a 300 s cold build
    assert book_record.budget_verdict({**record, "cold_build_seconds": 1801.0}) == (
        "these defaults do not meet it"
    )
    assert "not measured" in book_record.budget_phrase(None)
    assert book_record.budget_floor({**record, "timings": {}})["longest_call"] is None


def test_the_costliest_chapters_are_named_longest_first():
    record = {"chapter_seconds": {"a": 10.0, "b": 300.0, "c": 40.0, "d": 90.0}}
    assert book_record.costliest_chapters(record) == (
        "b (5.0 minutes (300 s)), d (90.0 s), c (40.0 s)"
    )


class _ScoringFake:
    """A fake model's scoring: fixed scores, counted."""

    def __init__(self, model):
        self.model, self.scored = model, 0

    def sequence_nats(self, tokens):
        self.scored += 1
        return 1.5 * len(tokens)

    def score_continuations(self, prompt, continuations, token_groups=None):
        from reportlib.backends.interface import ContinuationScores

        self.scored += 1
        return ContinuationScores([1.0] * len(continuations), [3] * len(continuations), [])


def test_scoring_is_timed_when_computed_and_marked_when_cached(
    fake_model, cache, tmp_path, monkeypatch
):
    scorer = _ScoringFake(fake_model)
    monkeypatch.setattr(fake_model, "sequence_nats", scorer.sequence_nats, raising=False)
    monkeypatch.setattr(
        fake_model, "score_continuations", scorer.score_continuations, raising=False
    )
    texts = []
    for run in ("cold", "warm"):
        model = CachedModel(fake_model, cache)
        model.complete("one", max_tokens=4, seed=0)
        assert model.sequence_nats([1, 2, 3]) == 4.5
        assert model.score_continuations("p", ["a", "b"]).nats == [1.0, 1.0]
        texts.append(write_chapter_usage("demo", [model], tmp_path / run).read_text())
        scoring = read_scoring_timings(tmp_path / run, "demo")["Fake model base"]
        assert [(s["kind"], s["tokens"], s["cached"]) for s in scoring] == [
            ("sequence", 3, run == "warm"),
            ("continuations", 6, run == "warm"),
        ]
        assert all((s["compute_seconds"] is None) == (run == "warm") for s in scoring)
    assert scorer.scored == 2  # the warm run scored nothing
    assert texts[0] == texts[1]  # the usage file stays free of machine-dependent times


def test_chapter_time_splits_answers_scoring_and_the_rest():
    record = _record()
    split = book_record.chapter_time_split(record)
    # alternatives computed its probe: 2 cells x (1 + 2 + 3) s; the rest is untimed
    assert split["alternatives"] == {"answers": 12.0, "scoring": None, "other": 88.0}
    assert split["multilingual"] == {"answers": 0.0, "scoring": None, "other": 2.0}
    phrase = book_record.book_bench_phrases(record)["time_split"]
    assert "took 12.0 s; the other 90.0 s went to" in phrase and "does not time" in phrase
    rows = {r["chapter"]: r for r in book_record.chapter_cost_rows(record)}
    assert rows["alternatives"]["computing answers (s)"] == 12.0
    assert "scoring (s)" not in rows["alternatives"]
    record["scoring_timings"] = {
        "alternatives": {
            "m": [
                {"kind": "sequence", "tokens": 3, "cached": False, "compute_seconds": 30.0},
                {"kind": "sequence", "tokens": 3, "cached": True, "compute_seconds": None},
            ]
        },
    }
    split = book_record.chapter_time_split(record)
    assert split["alternatives"] == {"answers": 12.0, "scoring": 30.0, "other": 58.0}
    assert split["multilingual"]["scoring"] == 0.0
    assert "scoring texts' likelihoods 30.0 s" in book_record.time_split_phrase(record)
    rows = {r["chapter"]: r for r in book_record.chapter_cost_rows(record)}
    assert rows["alternatives"]["scoring (s)"] == 30.0


def test_a_scorer_adds_its_scoring_times_but_not_its_completions(
    fake_model, cache, tmp_path, monkeypatch
):
    scorer_fake = _ScoringFake(fake_model)
    monkeypatch.setattr(fake_model, "sequence_nats", scorer_fake.sequence_nats, raising=False)
    chat, scorer = CachedModel(fake_model, cache), CachedModel(fake_model, cache)
    chat.complete("one", max_tokens=4, seed=0)
    scorer.complete("two", max_tokens=4, seed=0)  # not the chapter's answer
    scorer.sequence_nats([1, 2])
    write_chapter_usage("demo", [chat], tmp_path, scorers=[scorer, chat])
    assert read_usage(tmp_path)["demo"]["Fake model base"]["completions"] == 1
    assert len(read_timings(tmp_path, "demo")["Fake model base"]) == 1
    assert [s["tokens"] for s in read_scoring_timings(tmp_path, "demo")["Fake model base"]] == [2]
