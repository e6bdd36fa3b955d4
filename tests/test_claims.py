"""The claims ledger and the published facts behind it: every rule, every outcome."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from reportlib.core.errors import ReportlibError
from reportlib.core.sources import ARCHITECTURES, RELEASES, compare_matched_pairs, homes_per_year
from reportlib.core.verdicts import NOT_CHECKABLE, NOT_DECIDED, PARTLY, REFUTED, SUPPORTED, VERDICTS
from reportlib.experiments.claims import (
    CLAIMS,
    COLUMNS,
    FACTS,
    RULES,
    SLM_FACTOR,
    build_ledger,
    ledger_counts,
)
from reportlib.experiments.finetune.perplexity import PairedBits
from reportlib.experiments.ledger import BOOK_MODEL_COLUMN, DEFINITIONAL_MARK, ledger_html
from reportlib.experiments.probe.analysis import Observation
from reportlib.experiments.tokens import ClaimCheck, PremiumDifference


def check(verdict, measured=0.5, low=None, high=None, key="k"):
    return ClaimCheck(key, "c", "llama3", measured, verdict, "rule", low, high)


def observation(verdict):
    return Observation("k", "o", "3 of 10 vs 1 of 10", verdict, "rule", 0.5)


def premium(low, high):
    return PremiumDifference("zho_Hans", {"qwen": 1.0, "llama3": 1.2}, (low + high) / 2, low, high)


def bits(low, high):
    return PairedBits(3.2, 3.1, (low + high) / 2, low, high, 40)


def shift(low, high):
    return {"shift": (low + high) / 2, "low": low, "high": high}


def probe_pair(verdict):
    rates = SimpleNamespace(base=0.1, tuned=0.3, prompts=30, p_value=0.01)
    return SimpleNamespace(korean=[rates, rates], verdict=verdict, models="T + LoRA against T")


TIMINGS = [
    {"prompt_tokens": 256, "prompt_seconds_median": 0.5, "generation_tokens_per_s_median": 60.0},
    {"prompt_tokens": 4096, "prompt_seconds_median": 9.0, "generation_tokens_per_s_median": 40.0},
]

#: one plausible set of measurements (verdicts of every kind among them)
MEASUREMENTS = {
    "probe_scripts": observation(SUPPORTED),
    "probe_russian": observation(REFUTED),
    "finetune_korean": probe_pair(SUPPORTED),
    "split_word": check(PARTLY, 3.0),
    "chars_per_token": check(SUPPORTED, 4.1, 4.0, 4.2),
    "common_words": check(SUPPORTED, 0.99),
    "spaces": check(REFUTED, 0.01),
    "punctuation": check(SUPPORTED, 0.9),
    "trained_window": 32768,
    "kv_memory": {"contexts": [1024, 4096, 16384], "mib": [6.0, 24.0, 96.0]},
    "latency": {"lengths": [256, 4096], "seconds": [0.5, 9.0]},
    "input_output": TIMINGS,
    "qwen_chinese": premium(0.1, 0.3),
    "qwen_layers": compare_matched_pairs(),
    "qwen_hidden": compare_matched_pairs(),
    "qwen_ffn": compare_matched_pairs(),
    "slm_compute": {
        "parameters": 268e6,
        "reference": "Llama 3.1 8B",
        "reference_parameters": 8e9,
        "tokens_per_s": 60.0,
    },
    "slm_training": {
        "bits": bits(-0.1, -0.05),
        "pair": probe_pair(SUPPORTED),
        "machine": "AMD EPYC",
        "minutes": 9.3,
        "threads": 2,
    },
    "finetune_easy": {
        "pair": probe_pair(SUPPORTED),
        "shift": shift(0.1, 0.3),
        "over_control": shift(0.05, 0.2),
    },
}


MATCHED_COLUMNS = {
    "qwen_layers": "Qwen fewer layers",
    "qwen_hidden": "Qwen smaller hidden size",
    "qwen_ffn": "Qwen narrower feed-forward",
}


@pytest.mark.parametrize("rule", MATCHED_COLUMNS)
@pytest.mark.parametrize(
    ("smaller", "verdict"),
    [([True, True], SUPPORTED), ([True, False], PARTLY), ([False, False], REFUTED)],
)
def test_each_matched_pair_rule_gives_each_verdict(rule, smaller, verdict):
    pairs = [{column: False for column in MATCHED_COLUMNS.values()} for _ in smaller]
    for pair, value in zip(pairs, smaller, strict=True):
        pair[MATCHED_COLUMNS[rule]] = value  # only the rule's own column decides
    assert RULES[rule].decide(pairs).verdict == verdict


@pytest.mark.parametrize(
    ("rule", "measurement", "verdict"),
    [
        ("probe_scripts", observation(NOT_DECIDED), NOT_DECIDED),
        ("finetune_korean", probe_pair(REFUTED), REFUTED),
        ("chars_per_token", check(SUPPORTED, 4.1, 4.0, 4.2), SUPPORTED),
        ("kv_memory", {"contexts": [1, 2, 3], "mib": [6.0, 24.0, 96.0]}, SUPPORTED),
        ("kv_memory", {"contexts": [1, 2, 3], "mib": [6.0, 30.0, 24.0]}, PARTLY),
        ("kv_memory", {"contexts": [1, 2, 3], "mib": [6.0, 6.0, 6.0]}, REFUTED),
        ("latency", {"lengths": [1, 2, 3], "seconds": [0.5, 2.0, 9.0]}, SUPPORTED),
        ("latency", {"lengths": [1, 2, 3], "seconds": [0.5, 2.0, 1.0]}, PARTLY),
        ("latency", {"lengths": [1, 2, 3], "seconds": [0.5, 0.4, 0.5]}, REFUTED),
        ("input_output", TIMINGS, SUPPORTED),
        (
            "input_output",
            [dict(TIMINGS[0], prompt_seconds_median=30.0), TIMINGS[1]],  # 117 ms per prompt token
            PARTLY,
        ),
        (
            "input_output",
            [dict(t, generation_tokens_per_s_median=1e4) for t in TIMINGS],
            REFUTED,
        ),
        ("qwen_chinese", premium(0.1, 0.3), SUPPORTED),
        ("qwen_chinese", premium(-0.3, -0.1), REFUTED),
        ("qwen_chinese", premium(-0.1, 0.1), NOT_DECIDED),
        ("latency", {"lengths": [1], "seconds": [0.5]}, NOT_DECIDED),  # nothing to compare
        ("slm_compute", dict(MEASUREMENTS["slm_compute"], parameters=8e9 / SLM_FACTOR), SUPPORTED),
        ("slm_compute", dict(MEASUREMENTS["slm_compute"], parameters=4e9), PARTLY),
        ("slm_compute", dict(MEASUREMENTS["slm_compute"], parameters=8e9), REFUTED),
        *[
            ("slm_training", dict(MEASUREMENTS["slm_training"], bits=b, pair=probe_pair(v)), out)
            for b, v, out in [
                (bits(-0.1, -0.05), SUPPORTED, SUPPORTED),  # both improve
                (bits(0.05, 0.1), REFUTED, REFUTED),  # both worsen
                (bits(-0.05, 0.05), SUPPORTED, PARTLY),  # one improves, neither worsens
                (bits(-0.1, -0.05), NOT_DECIDED, PARTLY),
                (bits(-0.1, -0.05), REFUTED, NOT_DECIDED),  # they disagree
                (bits(-0.05, 0.05), NOT_DECIDED, NOT_DECIDED),
            ]
        ],
        *[
            (
                "finetune_easy",
                dict(MEASUREMENTS["finetune_easy"], pair=probe_pair(v), shift=s, over_control=o),
                out,
            )
            for v, s, o, out in [
                (SUPPORTED, shift(0.1, 0.3), shift(0.05, 0.2), SUPPORTED),
                (SUPPORTED, shift(0.1, 0.3), shift(-0.05, 0.2), PARTLY),  # not above the control
                (NOT_DECIDED, shift(0.1, 0.3), shift(0.05, 0.2), PARTLY),
                (NOT_DECIDED, shift(-0.1, 0.3), shift(0.05, 0.2), REFUTED),
                (REFUTED, shift(-0.3, -0.1), shift(-0.3, -0.1), REFUTED),
            ]
        ],
    ],
)
def test_each_computed_rule_can_give_each_of_its_verdicts(rule, measurement, verdict):
    assert RULES[rule].decide(measurement).verdict == verdict


@pytest.mark.parametrize("verdict", [SUPPORTED, PARTLY, REFUTED, NOT_DECIDED])
def test_the_tokenizer_rules_pass_their_checks_verdict_through(verdict):
    for key in ("split_word", "chars_per_token", "common_words", "spaces", "punctuation"):
        assert RULES[key].decide(check(verdict, 4.0, 3.9, 4.1)).verdict == verdict


def test_every_rule_says_what_it_rests_on():
    for key, rule in RULES.items():
        assert len(rule.text) > 40, key
        shown = rule.decide(MEASUREMENTS[key]).measured
        assert any(ch.isdigit() for ch in shown), (key, shown)
    cpt = check(SUPPORTED, 4.1, 4.0, 4.2, key="chars_per_token")
    decided = RULES["chars_per_token"].decide(cpt).measured
    assert "4.10 [4.00, 4.20]" in decided and "3.94" in decided  # Meta's figure beside ours


def test_ledger_covers_every_section_and_every_rule():
    sections = {c.section.split(". ")[0] for c in CLAIMS}
    assert sections == {"1", "2", "3", "4", "5"}
    assert len({c.claim for c in CLAIMS}) == len(CLAIMS)  # no claim twice
    measured = {c.measure for c in CLAIMS if c.kind == "measured"}
    assert measured == set(RULES)  # every rule decides a claim, every measured claim has a rule
    assert {c.shows for c in CLAIMS if c.shows} == set(FACTS)
    assert len(build_ledger(MEASUREMENTS)) == len(CLAIMS)


def test_every_rule_has_one_producer_and_every_producer_a_rule():
    """The producer side of the ledger: each measurement a rule decides on (or a fact shows)
    is made by one function of claim_measurements, which must make exactly the measurements
    listed for it."""
    from reportlib.experiments.claim_measurements import PRODUCERS

    assert set(PRODUCERS) == set(RULES) | set(FACTS)


def test_a_producer_that_makes_other_measurements_than_listed_is_an_error(monkeypatch):
    from reportlib.experiments import claim_measurements as cm

    def only_some(out, **_):
        out.values["split_word"] = "measured"  # lists six, makes one

    producers = {
        k: only_some if p is cm.measure_tokenizer_claims else p for k, p in cm.PRODUCERS.items()
    }
    monkeypatch.setattr(cm, "PRODUCERS", producers)
    settings = dict.fromkeys(cm.CHAPTERS_READ, {})
    with pytest.raises(ReportlibError, match="only_some measured .'split_word'., but is listed"):
        cm.gather_claim_measurements("default", "flores200", settings)


def test_the_cost_rows_name_the_model_they_were_measured_on(monkeypatch):
    """The cost rows are measured on the claims chapter's own model, not the probe's chat
    model: each names it, so a reader never reads a Gemma timing as SmolLM2's."""
    from reportlib.experiments import claim_measurements as cm

    class TimedModel:
        name = "Gemma 3 270m"
        card = {"size_label": "270M", "quantization": "Q4_K_M", "parameters": 2.7e8}
        has_chat_template = False

        def __init__(self, *_, **__):
            pass

    monkeypatch.setattr(cm, "LlamaCppModel", TimedModel)
    monkeypatch.setattr(cm, "resolve_model", lambda spec: spec)
    monkeypatch.setattr(cm.costs, "measure_kv_cache", lambda *_: {"kv_mib": 1.0})
    monkeypatch.setattr(cm.costs, "measure_latency", lambda *_: [])
    monkeypatch.setattr(cm.costs, "summarize_latency", lambda rows: [])
    monkeypatch.setattr(
        cm.costs, "measure_small_model", lambda *_: {"generation_tokens_per_s": 9.0}
    )
    out = cm.ClaimMeasurements()
    context = {"n_ctx": 512, "kv_contexts": [512], "latency_lengths": [8], "repeats": 1}
    small = {"n_threads": 2, "n_batch": 8, "prompt_tokens": 8, "generate": 8}
    cm.measure_cost_claims(out, "default", context, small)
    cost_keys = {"kv_memory", "latency", "input_output", "slm_compute"}
    assert set(out.values) == cost_keys
    assert {out.measured_on[k] for k in cost_keys} == {"Gemma 3 270M base (Q4_K_M)"}


def test_the_ledger_names_the_chapters_whose_settings_it_needs():
    from reportlib.experiments.claim_measurements import gather_claim_measurements

    with pytest.raises(ReportlibError, match="needs the settings of finetune, context"):
        gather_claim_measurements("default", "flores200", {"multilingual": {}, "small-models": {}})


def test_every_claim_is_well_formed():
    for claim in CLAIMS:
        assert claim.kind in ("cited", "measured", NOT_CHECKABLE), claim
        assert claim.evidence, claim
        if claim.kind == "measured":
            assert claim.measure in RULES and not claim.verdict, claim
        else:
            assert claim.verdict in VERDICTS, claim
        if claim.kind == "cited":
            assert claim.evidence != "—", claim  # a cited verdict names its source


def test_measured_rows_carry_rule_number_and_model():
    ledger = build_ledger(MEASUREMENTS, model="Tiny (Q4)", models={"qwen_layers": "published"})
    for row in ledger:
        assert tuple(row) == COLUMNS
        if row["how"] == "measured":
            assert row["rule"] != "—" and row["measured"] != "—" and row["model"] != "—", row
    rows = {r["claim"]: r for r in ledger}
    assert rows["Qwen uses fewer layers than LLaMA."]["model"] == "published"
    assert rows["A larger window costs more memory."]["model"] == "Tiny (Q4)"
    assert rows["Qwen uses fewer layers than LLaMA."]["verdict"] == PARTLY
    window = rows[
        "A model can only consider a limited number of tokens at once (the context window)."
    ]
    assert window["how"] == "cited" and "32,768" in window[BOOK_MODEL_COLUMN]
    assert FACTS["trained_window"](None).startswith("trained window not reported")


def test_measured_verdicts_follow_the_measurements():
    changed = dict(MEASUREMENTS, kv_memory={"contexts": [1, 2], "mib": [6.0, 6.0]})
    rows = {r["claim"]: r for r in build_ledger(changed)}
    assert rows["A larger window costs more memory."]["verdict"] == REFUTED


def test_a_missing_measurement_is_an_error():
    for key in ("latency", "trained_window"):
        incomplete = dict(MEASUREMENTS)
        del incomplete[key]
        with pytest.raises(KeyError, match=key):
            build_ledger(incomplete)


def test_ledger_html_escapes_and_links():
    rows = build_ledger(MEASUREMENTS)
    rows[0] = dict(rows[0], claim="<script>alert(1)</script>")
    html = ledger_html(rows)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert '<a href="../notebooks/tokenization.html#tokenization-claims">' in html
    assert html.count("<tr ") == len(rows) and html.count("<tr>") == 1  # rows and the header
    assert "rule: " in html and "overflow-wrap" in html  # the rule is shown, cells wrap
    assert "@media (max-width:700px)" in html  # on a phone each claim is one block


def test_the_ledger_rows_are_linkable_and_filterable_without_needing_the_script():
    """Was: 46 rows, 9,000 px, no way to find or link one. Each row has an anchor and carries
    its verdict, section and model (escaped); the filters list exactly the values the rows
    have and are hidden until the script shows them, so without it the whole table is
    there; the header is a thead that stays in view."""
    import re

    rows = build_ledger(MEASUREMENTS)
    rows[1] = dict(rows[1], section='1. "Intro" <b>')
    html = ledger_html(rows)
    ids = re.findall(r'<tr id="claim-(\d+)"', html)
    assert ids == [r["#"] for r in rows]
    assert f'<a href="#claim-{rows[0]["#"]}"' in html
    assert 'data-section="1. &quot;Intro&quot; &lt;b&gt;"' in html
    verdicts = re.findall(r'<select name="verdict">(.*?)</select>', html)[0]
    options = re.findall(r'<option value="([^"]*)">', verdicts)
    assert options == ["", *dict.fromkeys(r["verdict"] for r in rows)]
    models = re.findall(r'<select name="model">(.*?)</select>', html)[0]
    assert '<option value="not measured">' in models  # cited rows
    assert '<div class="ledger-filters" hidden>' in html  # shown by the script only
    assert not re.search(r"<(tr|table|tbody)[^>]*\bhidden\b", html)  # every row shown
    assert "<thead>" in html and "position:sticky" in html


def test_published_facts_are_consistent():
    dates = [r.date for r in RELEASES]
    assert dates == sorted(dates) and dates[0] == "2023-02-24"
    for arch in ARCHITECTURES:
        assert arch.heads % arch.kv_heads == 0 and arch.hidden % arch.heads == 0, arch.model
        assert arch.ffn > arch.hidden, arch.model
    pairs = compare_matched_pairs()
    assert [p["Qwen fewer layers"] for p in pairs] == [False, False, True, False]
    assert [p["Qwen narrower feed-forward"] for p in pairs] == [False, False, False, False]
    assert 119 < homes_per_year() < 121  # the report's "about 120 US homes"


def test_claims_about_the_reports_model_are_separated_from_the_books_model():
    pair = "Tiny base (Q4) + Korean LoRA against Tiny base (Q4)"
    ledger = build_ledger(MEASUREMENTS, model="Tiny base (Q4)", models={"finetune_korean": pair})
    rows = {r["claim"]: r for r in ledger}
    probe_rows = [
        r
        for r in rows.values()
        if r["evidence"].startswith("notebooks/multilingual#") and r["how"] == "measured"
    ]
    assert len(probe_rows) == 2
    for row in probe_rows:
        assert row["verdict"] == NOT_CHECKABLE
        assert row[BOOK_MODEL_COLUMN].endswith("on Tiny base (Q4)")
    (tuned,) = [
        r
        for r in rows.values()
        if r["evidence"].startswith("notebooks/finetune#") and "Bllossom" in r["claim"]
    ]
    assert tuned["verdict"] == NOT_CHECKABLE  # the claim is about Bllossom 8B
    assert tuned[BOOK_MODEL_COLUMN] == f"{SUPPORTED} on {pair}"
    qwen = rows["Qwen is strongest in Chinese."]
    assert qwen["verdict"] == NOT_CHECKABLE and qwen[BOOK_MODEL_COLUMN].startswith(SUPPORTED)
    about = [c.claim for c in CLAIMS if c.about_report_model or c.shows]
    others = [r for r in rows.values() if r["claim"] not in about]
    assert all(r[BOOK_MODEL_COLUMN] == "—" for r in others)


def test_the_architecture_table_names_every_source_for_a_reader():
    from reportlib.core.sources import SOURCE_NAMES, architecture_table

    table = architecture_table()
    assert list(table.index) == [a.model for a in ARCHITECTURES]
    assert "family" not in table.columns
    # every source is a name a reader knows, not a bibliography key
    assert set(table["source"]) == {SOURCE_NAMES[a.source] for a in ARCHITECTURES}


def test_every_evidence_link_to_a_chapter_lands_on_a_labelled_section():
    """A link to a chapter names the section that holds the evidence (a MyST label), and the
    label exists in that chapter."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for claim in CLAIMS:
        for evidence in claim.evidence.split():
            if not evidence.startswith("notebooks/"):
                continue
            page, _, label = evidence.partition("#")
            assert label, f"{claim.claim!r} links {page} without a section"
            source = (root / f"{page}.md").read_text(encoding="utf-8")
            assert f"({label})=" in source, f"{page} has no section labelled {label!r}"


def test_a_section_link_keeps_its_label():
    html = ledger_html(
        [
            {
                "#": "1",
                "section": "s",
                "claim": "c",
                "verdict": SUPPORTED,
                "how": "cited",
                "evidence": "notebooks/context#context-memory",
                "note": "",
            }
        ]
    )
    assert 'href="../notebooks/context.html#context-memory"' in html


ROOT = Path(__file__).resolve().parents[1]


def rows_by_claim(ledger=None):
    return {r["claim"]: r for r in (ledger or build_ledger(MEASUREMENTS))}


def test_the_rules_that_cannot_fail_are_marked_definitional():
    """A rule that cannot fail is a definition, not a measurement: the KV cache is allocated per
    token of the window, and BPE makes the commonest words of its language whole tokens."""
    definitional = [c for c in CLAIMS if c.definitional]
    assert {c.measure for c in definitional} == {"common_words", "kv_memory"}
    for claim in definitional:
        assert claim.kind == "measured", claim  # only a computed verdict can be definitional
        assert "not counted as evidence" in claim.note, claim  # the note says why and what
    rows = build_ledger(MEASUREMENTS)
    assert {r["definitional"] for r in rows if r["how"] == "measured"} == {"yes", "no"}
    assert {r["definitional"] for r in rows if r["how"] != "measured"} == {"—"}


def test_the_supported_by_measurement_count_leaves_out_definitional_rows():
    """Was: the page counted every measured row as a verdict computed from the measurements,
    the two that could not fail included."""
    ledger = build_ledger(MEASUREMENTS)
    rows = rows_by_claim(ledger)
    by_definition = ["Common English words are 1–2 tokens.", "A larger window costs more memory."]
    assert all(rows[c]["verdict"] == SUPPORTED for c in by_definition)  # they would be counted
    measured = [r for r in ledger if r["how"] == "measured"]
    counts = ledger_counts(ledger)
    assert counts["n_definitional"] == 2
    assert counts["n_measured"] == len(measured) - 2
    supported = sum(r["verdict"] == SUPPORTED for r in measured)
    assert counts["n_measured_supported"] == supported - 2
    assert counts["n_claims"] == len(CLAIMS)
    assert sum(counts[f"n_{v.replace(' ', '_')}"] for v in VERDICTS) == len(CLAIMS)
    assert counts["n_supported"] == sum(r["verdict"] == SUPPORTED for r in ledger)


def test_the_counts_include_what_the_books_model_shows():
    """Was: the summary counted "not decided 0" while rows read "this book's model shows:
    not decided": the second column is counted too."""
    from reportlib.experiments.ledger import BOOK_MODEL_COLUMN

    ledger = build_ledger(MEASUREMENTS)
    counts = ledger_counts(ledger)
    shown = [r[BOOK_MODEL_COLUMN] for r in ledger if r[BOOK_MODEL_COLUMN] != "—"]
    for v in VERDICTS:
        expected = sum(text.startswith(f"{v} on ") for text in shown)
        assert counts[f"shows_{v.replace(' ', '_')}"] == expected
    assert counts["n_shows"] == sum(counts[f"shows_{v.replace(' ', '_')}"] for v in VERDICTS)
    assert counts["n_shows"] >= 1
    undecided = [dict(r, **{BOOK_MODEL_COLUMN: "not decided on a model"}) for r in ledger[:2]]
    assert ledger_counts(undecided)["shows_not_decided"] == 2
    assert ledger_counts(undecided)["n_not_decided"] == 0


def test_the_claims_page_glues_its_counts_from_ledger_counts():
    """Every count the claims page names comes from ledger_counts, so no page computes its own
    (the old page counted measured rows inline)."""
    import re

    page = (ROOT / "notebooks" / "claims.md").read_text(encoding="utf-8")
    assert "claims.ledger_counts(ledger)" in page
    assert 'r["how"] == "measured"' not in page
    named = set(re.findall(r"\{glue:text\}`(n_[a-z_]+)`", page))
    assert named and named <= set(ledger_counts(build_ledger(MEASUREMENTS)))
    assert {"n_measured_supported", "n_definitional"} <= named


def test_the_ledger_table_marks_definitional_rows():
    html = ledger_html(build_ledger(MEASUREMENTS))
    assert html.count(DEFINITIONAL_MARK) == 2


#: the report's claims added from issue #30, each with its kind, verdict and sources
ADDED = {
    "LLaMA stands for Large Language Model Meta AI.": (
        "cited",
        SUPPORTED,
        {"https://ai.meta.com/blog/large-language-model-llama-meta-ai/"},
    ),
    "A larger window lets the model remember more of a conversation.": (
        "cited",
        PARTLY,
        {"ruler2024", "notebooks/context#context-ruler"},
    ),
    "A larger window keeps the model coherent over long passages.": (
        NOT_CHECKABLE,
        NOT_CHECKABLE,
        {"notebooks/context#context-ruler"},
    ),
    "The amount of data used for training is already overtaking the amount produced.": (
        "cited",
        PARTLY,
        {"villalobos2024"},
    ),
    "Training on AI-generated data leads to overfitting and makes models gradually less "
    "human-like.": ("cited", PARTLY, {"shumailov2024", "llama33card"}),
    "Figure, which works with OpenAI, is already trying to combine AI with robots.": (
        "cited",
        SUPPORTED,
        None,  # two news reports, checked below
    ),
    "Training a large language model takes days to months, even on many GPUs.": (
        "cited",
        SUPPORTED,
        {"llama1", "llama3herd2024"},
    ),
}


@pytest.mark.parametrize("text", ADDED)
def test_each_added_claim_has_its_verdict_and_its_source(text):
    kind, verdict, sources = ADDED[text]
    (claim,) = [c for c in CLAIMS if c.claim == text]
    assert (claim.kind, claim.verdict) == (kind, verdict)
    if sources is not None:
        assert set(claim.evidence.split()) == sources
    assert claim.note  # every added verdict is explained


def test_figure_and_openai_rests_on_dated_reports_of_the_start_and_the_end():
    (claim,) = [c for c in CLAIMS if c.claim.startswith("Figure, which works with OpenAI")]
    start, end = claim.evidence.split()
    assert "2024/02/29" in start and "figure" in start and "openai" in end
    assert "4 February 2025" in claim.note and "no longer" in claim.note


def test_the_training_data_row_rests_on_llama_3s_own_card():
    """Was: refuted from Meta's Llama 3 blog ('publicly available sources', which does not
    exclude public posts) and the Llama 2 paper (which is not about Llama 3)."""
    (claim,) = [c for c in CLAIMS if "family apps" in c.claim]
    assert claim.kind == "cited" and claim.verdict == REFUTED
    assert claim.evidence == "llama3card"
    assert "Neither the pretraining nor the fine-tuning datasets include Meta user data" in (
        claim.note
    )
    assert "Meta's own statement" in claim.note and "Llama 4" in claim.note


@pytest.mark.parametrize(
    "start",
    [
        "The 405B model is comparable",
        "The training data includes",
        "Training a large language model takes",
    ],
)
def test_a_row_that_rests_only_on_metas_word_says_so(start):
    (claim,) = [c for c in CLAIMS if c.claim.startswith(start)]
    assert "Meta's own" in claim.note


def test_every_cited_key_is_in_the_bibliography():
    bib = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    keys = {line.split("{", 1)[1].rstrip(",") for line in bib.splitlines() if line[:1] == "@"}
    for claim in CLAIMS:
        for evidence in claim.evidence.split():
            if evidence.startswith(("https://", "http://", "notebooks/", "book/")):
                continue
            if evidence != "—":
                assert evidence in keys, (claim.claim, evidence)


def test_the_timeline_continues_past_the_report_with_meta_s_model_cards():
    names = [r.name for r in RELEASES]
    assert names[-3:] == ["Llama 3.2", "Llama 3.3", "Llama 4"]
    by_name = {r.name: r for r in RELEASES}
    assert by_name["Llama 3.3"].date == "2024-12-06"
    assert by_name["Llama 4"].date == "2025-04-05"
    for name in ("Llama 3.3", "Llama 4"):
        release = by_name[name]
        assert release.source.startswith("https://github.com/meta-llama/llama-models/")
        assert "Meta's model card" in release.note  # resting on Meta's word, it says so
    page = (ROOT / "notebooks" / "timeline.md").read_text(encoding="utf-8")
    assert "llama33card" in page and "llama4card" in page


def test_no_cited_claim_is_decided_on_a_source_that_could_not_be_read():
    """Was: the Patterson row was "supported" while its note said the paper's table could
    not be opened offline. A source the book could not read decides nothing."""
    from reportlib.core import sources

    unread = {
        figure.source
        for figure in vars(sources).values()
        if isinstance(figure, sources.CitedFigure) and figure.quote.startswith("(not read")
    }
    assert unread, "the check needs at least one figure that was not read offline"
    for claim in CLAIMS:
        if claim.kind != "cited":
            continue
        keys = set(claim.evidence.split())
        if keys and keys <= unread:  # every source it cites is one the book did not read
            assert claim.verdict == NOT_CHECKABLE, claim.claim


def test_cited_sources_link_their_entry_by_its_number_on_the_references_page():
    """Was: the ledger showed citation keys (llama3herd2024) that the References page does
    not show, linked to the top of that page."""
    from reportlib.core.sources import citation_labels

    bib = Path(__file__).resolve().parents[1] / "book" / "references.bib"
    labels = citation_labels(bib)
    keys = {k for r in build_ledger(MEASUREMENTS) for k in r["evidence"].split() if "/" not in k}
    keys -= {"—"}
    assert keys and keys <= set(labels), keys - set(labels)
    assert sorted(map(int, labels.values())) == list(range(1, len(labels) + 1))
    html = ledger_html(build_ledger(MEASUREMENTS), labels=labels)
    key = "llama3herd2024"
    assert f'<a href="../book/references.html#cite-{key}">[{labels[key]}]</a>' in html
    assert f">{key}<" not in html
