"""The claims ledger and the published facts behind it."""

import pytest

from reportlib.claims import CLAIMS, NOT_CHECKABLE, RULES, VERDICTS, build_ledger
from reportlib.render import ledger_html
from reportlib.sources import ARCHITECTURES, RELEASES, compare_matched_pairs
from reportlib.tokenstats import PARTLY, REFUTED, SUPPORTED

#: one plausible set of measurements (verdicts of every kind among them)
MEASUREMENTS = {
    "probe_scripts": SUPPORTED,
    "probe_russian": REFUTED,
    "split_word": PARTLY,
    "chars_per_token": REFUTED,
    "common_words": SUPPORTED,
    "spaces": REFUTED,
    "punctuation": SUPPORTED,
    "window_enforced": True,
    "kv_memory": [6.0, 24.0, 96.0],
    "latency": [0.5, 2.0, 9.0],
    "qwen_chinese": {"qwen": 1.0, "llama3": 1.3},
    "qwen_architecture": compare_matched_pairs(),
    "slm_speed": 30.0,
    "finetune_korean": SUPPORTED,
}


def test_ledger_covers_every_section_and_every_rule():
    sections = {c.section.split(". ")[0] for c in CLAIMS}
    assert sections == {"1", "2", "3", "4", "5"}
    assert len({c.claim for c in CLAIMS}) == len(CLAIMS)  # no claim twice
    measured = {c.measure for c in CLAIMS if c.kind == "measured"}
    assert measured == set(RULES)  # every rule decides a claim, every measured claim has a rule
    assert len(build_ledger(MEASUREMENTS)) == len(CLAIMS)


@pytest.mark.parametrize(
    ("rule", "measurement", "verdict"),
    [
        ("window_enforced", True, SUPPORTED),
        ("window_enforced", False, REFUTED),
        ("kv_memory", [6.0, 24.0, 96.0], SUPPORTED),
        ("kv_memory", [6.0, 6.0, 6.0], REFUTED),
        ("latency", [0.5, 2.0, 9.0], SUPPORTED),
        ("latency", [0.5, 2.0, 1.0], PARTLY),
        ("qwen_chinese", {"qwen": 1.0, "llama3": 1.3}, PARTLY),
        ("qwen_chinese", {"qwen": 1.4, "llama3": 1.3}, REFUTED),
        ("slm_speed", 30.0, SUPPORTED),
        ("slm_speed", 1.0, REFUTED),
    ],
)
def test_each_computed_rule_can_give_each_of_its_verdicts(rule, measurement, verdict):
    assert RULES[rule](measurement) == verdict


def test_every_claim_is_well_formed():
    for claim in CLAIMS:
        assert claim.kind in ("cited", "measured", NOT_CHECKABLE), claim
        assert claim.evidence, claim
        if claim.kind == "measured":
            assert claim.measure in RULES and not claim.verdict, claim
        else:
            assert claim.verdict in VERDICTS, claim


def test_measured_verdicts_follow_the_measurements():
    ledger = {row["claim"]: row for row in build_ledger(MEASUREMENTS)}
    assert ledger["A larger window costs more memory."]["verdict"] == SUPPORTED
    assert ledger["Qwen uses fewer dimensions and fewer layers than LLaMA."]["verdict"] == PARTLY
    changed = dict(MEASUREMENTS, kv_memory=[6.0, 6.0, 6.0], window_enforced=False, slm_speed=1.0)
    ledger = {row["claim"]: row for row in build_ledger(changed)}
    assert ledger["A larger window costs more memory."]["verdict"] == REFUTED
    assert (
        ledger["Small language models are cheap enough to run on ordinary hardware."]["verdict"]
        == REFUTED
    )


def test_a_missing_measurement_is_an_error():
    incomplete = dict(MEASUREMENTS)
    del incomplete["latency"]
    with pytest.raises(KeyError, match="latency"):
        build_ledger(incomplete)


def test_ledger_html_escapes_and_links():
    rows = build_ledger(MEASUREMENTS)
    rows[0] = dict(rows[0], claim="<script>alert(1)</script>")
    html = ledger_html(rows)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<a href="../notebooks/tokenization.html">' in html
    assert html.count("<tr>") == len(rows) + 1


def test_published_facts_are_consistent():
    dates = [r.date for r in RELEASES]
    assert dates == sorted(dates) and dates[0] == "2023-02-24"
    for arch in ARCHITECTURES:
        assert arch.heads % arch.kv_heads == 0 and arch.hidden % arch.heads == 0, arch.model
    pairs = compare_matched_pairs()
    assert [p["Qwen fewer layers"] for p in pairs] == [False, False, True, False]


def test_claims_about_the_reports_model_are_separated_from_the_books_model():
    pair = "Tiny base (Q4) + Korean LoRA against Tiny base (Q4)"
    ledger = build_ledger(MEASUREMENTS, model="Tiny base (Q4)", models={"finetune_korean": pair})
    rows = {r["claim"]: r for r in ledger}
    probe_rows = [
        r
        for r in rows.values()
        if r["evidence"] == "notebooks/multilingual" and r["how"] == "measured"
    ]
    assert len(probe_rows) == 2
    for row in probe_rows:
        assert row["verdict"] == NOT_CHECKABLE
        assert row["this book's model shows"].endswith("on Tiny base (Q4)")
    (tuned,) = [r for r in rows.values() if r["evidence"] == "notebooks/finetune"]
    assert tuned["verdict"] == NOT_CHECKABLE  # the claim is about Bllossom 8B
    assert tuned["this book's model shows"] == f"{SUPPORTED} on {pair}"
    others = [r for r in rows.values() if r not in probe_rows and r is not tuned]
    assert all(r["this book's model shows"] == "—" for r in others)
