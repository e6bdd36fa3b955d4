"""How far the code's labels agree with a reader: the hand-labelled audit set, the judge's
accuracy on FLORES-200, agreement per label, by language and by answer length."""

from __future__ import annotations

from importlib.resources import files

import pandas as pd

from reportlib.core.errors import ReportlibError
from reportlib.core.languages import ENGLISH, LANGUAGES, get_language
from reportlib.core.stats import wilson_text
from reportlib.experiments.probe.analysis import ANSWER_LABELS
from reportlib.experiments.probe.prompts import probe_text, sample_design
from reportlib.text.answer_quality import label_answer, letter_count
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


def agreement_table(judged: pd.DataFrame) -> pd.DataFrame:
    """Accuracy, precision and recall of the code's labels against the reader's, per label
    (precision and recall of "yes"; ``nan`` where no answer has that label)."""
    rows = []
    for label, text in ANSWER_LABELS.items():
        truth, guess = judged[f"reader_{label}"], judged[f"judge_{label}"]
        tp = int((truth & guess).sum())
        right = int((truth == guess).sum())
        rows.append(
            {
                "label": text,
                "answers": len(judged),
                "yes (reader)": int(truth.sum()),
                "yes (code)": int(guess.sum()),
                "accuracy": right / len(judged),
                "precision": tp / int(guess.sum()) if guess.any() else float("nan"),
                "recall": tp / int(truth.sum()) if truth.any() else float("nan"),
                "accuracy 95%": wilson_text(right, len(judged)),
                "precision 95%": wilson_text(tp, int(guess.sum())),
                "recall 95%": wilson_text(tp, int(truth.sum())),
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
