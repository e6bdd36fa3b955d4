"""How far the code's labels agree with a reader: the hand-labelled audit set, the judge's
accuracy on FLORES-200, agreement per label, by language and by answer length."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.resources import files

import numpy as np
import pandas as pd

from reportlib.core.errors import ReportlibError
from reportlib.core.languages import ENGLISH, LANGUAGES, get_language
from reportlib.core.stats import (
    cohen_kappa,
    kappa_interval,
    percentile_interval,
    rate_text,
    wilson_text,
)
from reportlib.experiments.probe.analysis import ANSWER_LABELS
from reportlib.experiments.probe.prompts import probe_text, sample_design
from reportlib.text.answer_quality import LOOP_CANDIDATES, label_answer, letter_count
from reportlib.text.corpus import bundled_document
from reportlib.text.judge import CONFUSERS, judge_answer


def judge_accuracy() -> pd.DataFrame:
    """The judge on the project's reference sentences (8 per language, which it must
    accept) and on wrong ones (a neighbour's sentences and English ones labelled
    with the language, which it must reject)."""
    sentences = bundled_document()["sentences"]
    rows = []
    for lang in LANGUAGES:
        wrong_codes = [CONFUSERS[lang.flores], ENGLISH if lang.flores != ENGLISH else "spa_Latn"]
        right = [judge_answer(s, lang).on_language for s in sentences[lang.flores]]
        wrong = [judge_answer(s, lang).on_language for c in wrong_codes for s in sentences[c]]
        rows.append(
            {
                "language": lang.name,
                "correct accepted": sum(right),
                "correct": len(right),
                "wrong rejected": len(wrong) - sum(wrong),
                "wrong": len(wrong),
                "wrong texts from": " + ".join(get_language(c).name for c in wrong_codes),
            }
        )
    return pd.DataFrame(rows)


#: reader labels of the audit set: yes/no columns and the language column
AUDIT_FILE = "probe_audit.csv"


def load_audit() -> pd.DataFrame:
    """The hand-labelled audit set shipped with the package (see ``probe_audit.md``)."""
    path = files("reportlib").joinpath("data", AUDIT_FILE)
    with path.open(encoding="utf-8") as handle:
        audit = pd.read_csv(handle, keep_default_na=False)
    for column in ("reader_degenerate", "reader_self_intro"):
        bad = set(audit[column]) - {"yes", "no"}
        if bad:
            raise ReportlibError(f"{AUDIT_FILE}: {column} must be yes or no, not {sorted(bad)}")
    return audit


def judge_audit(audit: pd.DataFrame) -> pd.DataFrame:
    """The audit set with the reader's labels and the code's labels side by side
    (``reader_*`` and ``judge_*`` for on_language, degenerate, self_intro, good)."""
    rows = []
    for _, row in audit.iterrows():
        lang = get_language(row["language"])
        frame, wording = sample_design(int(row["sample"]))
        core = probe_text(lang, row["style"], wording)
        verdict = judge_answer(row["answer"], lang)
        quality = label_answer(row["answer"], lang.flores, core, row["style"] == "native_opening")
        reader_on = row["reader_language"] == lang.flores
        reader_degenerate = row["reader_degenerate"] == "yes"
        rows.append(
            {
                "language": lang.flores,
                "style": row["style"],
                "answer": row["answer"],
                "reader_on_language": reader_on,
                "judge_on_language": verdict.on_language,
                "reader_degenerate": reader_degenerate,
                "judge_degenerate": quality.degenerate,
                "reader_self_intro": row["reader_self_intro"] == "yes",
                "judge_self_intro": quality.self_intro,
                "reader_good": reader_on and not reader_degenerate,
                "judge_good": verdict.on_language and not quality.degenerate,
                "letters": letter_count(row["answer"]),
            }
        )
    return pd.DataFrame(rows)


def agreement_table(judged: pd.DataFrame, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """How the code's labels agree with the reader's, per label: precision and recall of
    "yes" (95% Wilson intervals), Cohen's kappa (95% bootstrap interval over answers), and
    accuracy last, since a label that is rarely "yes" is accurate by saying "no"."""
    rows = []
    for label, text in (labels or ANSWER_LABELS).items():
        truth, guess = judged[f"reader_{label}"].astype(bool), judged[f"judge_{label}"].astype(bool)
        tp = int((truth & guess).sum())
        right = int((truth == guess).sum())
        kappa = cohen_kappa(truth.tolist(), guess.tolist())
        low, high = kappa_interval(truth.tolist(), guess.tolist())
        rows.append(
            {
                "label": text,
                "answers": len(judged),
                "yes (reader)": int(truth.sum()),
                "yes (code)": int(guess.sum()),
                "precision": tp / int(guess.sum()) if guess.any() else float("nan"),
                "precision 95%": wilson_text(tp, int(guess.sum())),
                "recall": tp / int(truth.sum()) if truth.any() else float("nan"),
                "recall 95%": wilson_text(tp, int(truth.sum())),
                "kappa": kappa,
                "kappa 95%": "—" if kappa != kappa else f"{low:.2f}–{high:.2f}",
                "accuracy": right / len(judged),
            }
        )
    return pd.DataFrame(rows)


#: bootstrap draws of the audit-corrected rates
CORRECTION_DRAWS = 2000


def audit_corrected_rates(
    results: pd.DataFrame,
    judged: pd.DataFrame,
    label: str = "good",
    by: str = "decoding",
    seed: int = 0,
) -> pd.DataFrame:
    """Per value of ``by``: the code's rate of ``label`` over ``results``, and that rate
    corrected by the audit draw ``judged`` (the same kind of answers, read): the code's rate
    times the reader's "yes" over the code's "yes" on the audit, which is precision over
    recall. The 95% interval comes from a bootstrap over the audited answers, so it carries
    the audit's uncertainty; the reader's own rate on the audit is shown beside it."""
    rng = np.random.default_rng(seed)
    rows = []
    for value, part in results.groupby(by, sort=False):
        raw = float(part[label].astype(bool).mean())
        read = judged[judged[by] == value]
        truth = read[f"reader_{label}"].to_numpy(bool)
        guess = read[f"judge_{label}"].to_numpy(bool)
        picks = rng.integers(0, len(read), size=(CORRECTION_DRAWS, len(read)))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = truth[picks].sum(axis=1) / guess[picks].sum(axis=1)
        ratio = truth.sum() / guess.sum() if guess.any() else float("nan")
        low, high = percentile_interval(np.where(np.isfinite(ratios), ratios, np.nan) * raw)
        rows.append(
            {
                by: value,
                "answers": len(part),
                "code": f"{raw:.0%}",
                "audit-corrected (95%)": rate_text(raw * ratio, low, high),
                "reader on the audit draw": f"{truth.mean():.0%} of {len(read)}",
            }
        )
    return pd.DataFrame(rows)


def audit_by_language(judged: pd.DataFrame) -> pd.DataFrame:
    """Per requested language: answers audited and how often the code's on-language and
    good labels agree with the reader's, with the two good-answer rates."""
    rows = []
    for code, part in judged.groupby("language", sort=False):
        rows.append(
            {
                "language": get_language(code).name,
                "answers": len(part),
                "on-language agrees": float(
                    (part.reader_on_language == part.judge_on_language).mean()
                ),
                "good agrees": float((part.reader_good == part.judge_good).mean()),
                "good (reader)": float(part.reader_good.mean()),
                "good (code)": float(part.judge_good.mean()),
            }
        )
    return pd.DataFrame(rows)


#: answer-length bands of the audit, in letters
LENGTH_BANDS = (
    (0, 20, "under 20 letters"),
    (20, 80, "20 to 79 letters"),
    (80, 10**9, "80 or more"),
)


def audit_by_length(judged: pd.DataFrame) -> pd.DataFrame:
    """How often the code's on-language and good labels agree with the reader's, by the
    answer's length in letters (short answers give CLD3 little to go on)."""
    rows = []
    for low, high, name in LENGTH_BANDS:
        part = judged[(judged.letters >= low) & (judged.letters < high)]
        if part.empty:
            continue
        rows.append(
            {
                "answer length": name,
                "answers": len(part),
                "on-language agrees": float(
                    (part.reader_on_language == part.judge_on_language).mean()
                ),
                "good agrees": float((part.reader_good == part.judge_good).mean()),
            }
        )
    return pd.DataFrame(rows)


#: the chat model's audit: answers drawn from the chat protocol, read blind, in two draws:
#: ``dev`` (the gibberish ratio was chosen on it) and ``test`` (reported)
CHAT_AUDIT_FILE = "chat_audit.csv"
#: what the reader says an answer is (``reader_kind``): a real answer, or why it is not one
READER_KINDS = ("answer", "echo", "gibberish", "loop", "empty")


def draw_audit(
    results: pd.DataFrame, per_language: int, seed: int, exclude: pd.DataFrame | None = None
) -> pd.DataFrame:
    """``per_language`` answers of each language, drawn at random (seeded) across the
    styles and decodings, leaving out the answers of ``exclude`` (an earlier draw): rows of
    ``results`` with the prompt and the answer, for a reader who sees no label."""
    keys = ["language", "style", "decoding", "sample"]
    pool = results
    if exclude is not None and not exclude.empty:
        taken = set(map(tuple, exclude[keys].itertuples(index=False)))
        pool = results[[tuple(k) not in taken for k in results[keys].itertuples(index=False)]]
    drawn = [
        part.sample(n=min(per_language, len(part)), random_state=seed)
        for _, part in pool.groupby("language", sort=False)
    ]
    columns = ["model", "decoding", "language", "style", "sample", "prompt", "answer"]
    return pd.concat(drawn)[columns].reset_index(drop=True)


#: the labels the chat audit compares (reader against code)
CHAT_AUDIT_LABELS = {
    "on_language": "in the requested language",
    "degenerate": "not an answer (empty, loop, echo, gibberish)",
    "gibberish": "gibberish",
    "self_intro": "speaks in the first person",
    "good": "good answer",
}


def load_chat_audit() -> pd.DataFrame:
    """The chat model's audit set shipped with the package (see ``chat_audit.md``)."""
    path = files("reportlib").joinpath("data", CHAT_AUDIT_FILE)
    with path.open(encoding="utf-8") as handle:
        audit = pd.read_csv(handle, keep_default_na=False)
    bad = set(audit["reader_kind"]) - set(READER_KINDS)
    if bad or set(audit["reader_self_intro"]) - {"yes", "no"}:
        raise ReportlibError(f"{CHAT_AUDIT_FILE}: unknown reader labels {sorted(bad)}")
    return audit


def judge_chat_audit(audit: pd.DataFrame, fluency: Sequence[float], ratio: float) -> pd.DataFrame:
    """The chat audit with the reader's labels and the code's side by side, the code's
    computed on the stored answers (its gibberish label from each answer's ``fluency``, the
    scorer's ratio, at ``ratio``)."""
    rows = []
    for (_, row), flow in zip(audit.iterrows(), fluency, strict=True):
        lang = get_language(row["language"])
        frame, wording = sample_design(int(row["sample"]))
        verdict = judge_answer(row["answer"], lang)
        core = probe_text(lang, row["style"], wording)
        quality = label_answer(row["answer"], lang.flores, core, False)
        gibberish = not quality.degenerate and flow >= ratio
        reader_on = row["reader_language"] == lang.flores
        reader_kind = row["reader_kind"]
        rows.append(
            {
                "split": row["split"],
                "decoding": row["decoding"],
                "language": lang.flores,
                "reader_on_language": reader_on,
                "judge_on_language": verdict.on_language,
                "reader_degenerate": reader_kind != "answer",
                "judge_degenerate": quality.degenerate or gibberish,
                "judge_loop_echo_empty": quality.degenerate,
                "reader_gibberish": reader_kind == "gibberish",
                "judge_gibberish": gibberish,
                "reader_self_intro": row["reader_self_intro"] == "yes",
                "judge_self_intro": quality.self_intro,
                "reader_good": reader_on and reader_kind == "answer",
                "judge_good": verdict.on_language and not (quality.degenerate or gibberish),
                "fluency": flow,
            }
        )
    return pd.DataFrame(rows)


def loop_development_set() -> pd.DataFrame:
    """The answers the loop rule is chosen on: the base model's audit set (whole) and the
    chat model's first draw, without the answers the reader calls gibberish (another
    label). ``reader`` is the reader's "not an answer" (empty, loop, echo)."""
    base = load_audit()
    chat = load_chat_audit()
    chat = chat[(chat["split"] == "dev") & (chat["reader_kind"] != "gibberish")]
    columns = ["answer", "language", "style", "sample"]
    return pd.concat(
        [
            base[columns].assign(reader=base["reader_degenerate"] == "yes", set="base audit"),
            chat[columns].assign(reader=chat["reader_kind"] != "answer", set="chat, first draw"),
        ],
        ignore_index=True,
    )


def loop_choice(
    dev: pd.DataFrame, candidates: Sequence[tuple[int, float]] = LOOP_CANDIDATES
) -> pd.DataFrame:
    """Cohen's kappa of the code's "not an answer" (empty, loop, echo) against the reader's
    on ``dev`` (:func:`loop_development_set`) for each loop rule (unit, share)."""
    cores = []
    for _, row in dev.iterrows():
        lang = get_language(row["language"])
        cores.append(probe_text(lang, row["style"], sample_design(int(row["sample"]))[1]))
    truth = dev["reader"].astype(bool).tolist()
    rows = []
    for unit, share in candidates:
        guess = [
            label_answer(answer, code, core, style == "native_opening", (unit, share)).degenerate
            for answer, code, core, style in zip(
                dev["answer"], dev["language"], cores, dev["style"], strict=True
            )
        ]
        rows.append(
            {
                "unit": unit,
                "share": share,
                "kappa": cohen_kappa(truth, guess),
                "flagged": sum(guess),
            }
        )
    return pd.DataFrame(rows)


def gibberish_choice(dev: pd.DataFrame, ratios: Sequence[float]) -> pd.DataFrame:
    """On the development draw, Cohen's kappa of the gibberish label against the reader's
    at each candidate ratio (answers with no fluency score are never gibberish)."""
    truth = dev["reader_gibberish"].astype(bool).tolist()
    rows = []
    for ratio in ratios:
        pairs = zip(dev["judge_loop_echo_empty"], dev["fluency"], strict=True)
        guess = [bool(not other and flow >= ratio) for other, flow in pairs]
        rows.append({"ratio": ratio, "kappa": cohen_kappa(truth, guess), "gibberish": sum(guess)})
    return pd.DataFrame(rows)
