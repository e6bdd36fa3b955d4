"""Which language a model prefers to answer in, measured without a judge.

For each language, self-introductions written for the book in that language and their
English translations (``data/self_intro_references.json``, three of each) are scored as
replies to each of the probe's prompts, through the model's own prompt path (its chat
template, or a text-continuation frame). The **preference** for a (prompt, reference) pair
is ``log2 P(native reply) - log2 P(English reply)``, per character of the native reply:
positive when the model finds the native reply the likelier one. It is continuous, paired
(the same prompts and references for every model), and needs no language judge; its level
differs between scripts (a Hangul syllable carries more than a Latin letter), so it is
compared between models on one language, not between languages on one model.

Beside it, the **script mass**: the probability that the first token of the answer starts
in the requested language's script (:mod:`reportlib.text.token_scripts`), read from the
model's distribution at the first position after the prompt. For languages written in the
Latin script, English is in the same script, so their script mass does not tell the two
apart.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import numpy as np
import pandas as pd

from reportlib.backends.interface import TextModel
from reportlib.core.errors import ReportlibError
from reportlib.core.languages import Language, get_language
from reportlib.core.progress import progress_bar
from reportlib.core.stats import crossed_bootstrap, percentile_interval
from reportlib.experiments.probe.prompts import build_probe_prompts, chat_formatter
from reportlib.text.judge import accepted_scripts
from reportlib.text.token_scripts import token_script_groups

REFERENCES_FILE = "self_intro_references.json"
#: the scripts whose first-token mass is read (every script of the probe's languages)
SCRIPTS = (
    "Latin",
    "Cyrillic",
    "Han",
    "Hiragana",
    "Katakana",
    "Hangul",
    "Kannada",
    "Tamil",
    "Devanagari",
    "Thai",
    "Ethiopic",
    "Arabic",
)
#: bootstrap draws for every preference interval (seeded)
PREFERENCE_DRAWS = 2000


@dataclass(frozen=True)
class Reference:
    """A self-introduction written in a language, and its English translation."""

    language: str  #: FLORES code
    native: str
    english: str


def load_references() -> dict[str, list[Reference]]:
    """The references shipped with the package, per FLORES code."""
    path = files("reportlib").joinpath("data", REFERENCES_FILE)
    with path.open(encoding="utf-8") as handle:
        data = json.load(handle)
    out: dict[str, list[Reference]] = {}
    for code, items in data["references"].items():
        get_language(code)  # every code is a language of the book
        out[code] = [Reference(code, item["native"], item["english"]) for item in items]
        if not out[code] or any(not r.native or not r.english for r in out[code]):
            raise ReportlibError(f"{REFERENCES_FILE}: {code} has an empty reference")
    return out


def script_groups(token_bytes: Sequence[bytes]) -> np.ndarray:
    """A group id per token: the index of its script in :data:`SCRIPTS`, or ``len(SCRIPTS)``
    for tokens in no listed script (spaces, digits, punctuation, control tokens)."""
    return token_script_groups(token_bytes, [frozenset({s}) for s in SCRIPTS])


def target_mass(group_mass: Sequence[float], lang: Language) -> float:
    """The probability mass, among :data:`SCRIPTS`' groups, of the scripts ``lang`` is
    written in (Han, Hiragana and Katakana for Japanese)."""
    wanted = accepted_scripts(lang)
    return float(sum(m for s, m in zip(SCRIPTS, group_mass, strict=False) if s in wanted))


def reply_end(model: TextModel) -> str:
    """What ends a reply: for a chat model, its end-of-generation token (the end of turn
    its template writes after an assistant message, which it emits to stop); for a base
    model nothing (a continuation does not end)."""
    return model.end_of_text if model.has_chat_template else ""


def measure_preference(
    model: TextModel,
    languages: Iterable[Language],
    styles: Sequence[str],
    samples: int,
    references: dict[str, list[Reference]],
    groups: np.ndarray | None = None,
    model_name: str | None = None,
) -> list[dict[str, Any]]:
    """One row per (language, style, prompt sample, reference), labelled ``model_name``
    (the model's own name by default; give each model of a comparison its own label, as
    :func:`~reportlib.backends.interface.model_labels` makes): the nats of the native and
    the English reply given the prompt, their characters and tokens, the preference in bits
    per native character, and the first token's mass in the language's script (with
    ``groups``, from :func:`script_groups` of the model's vocabulary)."""
    end = reply_end(model)
    fmt = chat_formatter(model)
    group_ids = None if groups is None else [int(g) for g in groups]
    languages, styles = list(languages), list(styles)
    bar = progress_bar(
        total=len(languages) * len(styles) * samples,
        desc=f"preference {model_name or model.name}",
        unit="prompt",
    )
    rows = []
    for lang in languages:
        refs = references.get(lang.flores)
        if not refs:
            raise ReportlibError(f"no reference self-introductions for {lang.name}")
        texts = [t + end for r in refs for t in (r.native, r.english)]
        for style in styles:
            for sample, prompt in enumerate(build_probe_prompts(lang, style, samples, fmt)):
                scores = model.score_continuations(prompt, texts, group_ids)
                bar.update(1)
                mass = target_mass(scores.group_mass, lang) if groups is not None else math.nan
                for k, ref in enumerate(refs):
                    native, english = scores.nats[2 * k], scores.nats[2 * k + 1]
                    rows.append(
                        {
                            "model": model_name or model.name,
                            "language": lang.flores,
                            "name": lang.name,
                            "style": style,
                            "sample": sample,
                            "reference": k,
                            "native_nats": native,
                            "english_nats": english,
                            "native_chars": len(ref.native),
                            "native_tokens": scores.tokens[2 * k],
                            "english_tokens": scores.tokens[2 * k + 1],
                            "preference": (english - native) / math.log(2) / len(ref.native),
                            "script_mass": mass,
                        }
                    )
    bar.close()
    return rows


def _matrix(part: pd.DataFrame, value: str) -> np.ndarray:
    """Prompts (rows) x references (columns) of ``value``."""
    table = part.pivot_table(index="sample", columns="reference", values=value, aggfunc="mean")
    return table.to_numpy(dtype=float)


def preference_summary(
    rows: pd.DataFrame, by: Sequence[str] = ("model", "language", "style"), seed: int = 0
) -> pd.DataFrame:
    """Mean preference per group, with a 95% interval from a bootstrap that resamples
    prompts and references independently (both are samples of what could have been
    asked and answered); the mean script mass beside it."""
    out = []
    for keys, part in rows.groupby(list(by), sort=False):
        values = _matrix(part, "preference")
        reps = crossed_bootstrap(values, np.ones_like(values), PREFERENCE_DRAWS, seed)
        low, high = percentile_interval(reps)
        out.append(
            {
                **dict(zip(by, keys if isinstance(keys, tuple) else (keys,), strict=True)),
                "preference": float(values.mean()),
                "low": low,
                "high": high,
                "script_mass": float(part["script_mass"].mean()),
                "prompts": values.shape[0],
                "references": values.shape[1],
            }
        )
    return pd.DataFrame(out)


def paired_shift(
    rows: pd.DataFrame, model: str, baseline: str, language: str, seed: int = 0
) -> dict[str, float]:
    """How much ``model`` moved the preference for ``language`` from ``baseline``: the mean
    of the paired differences over the same (style, prompt, reference) items, with a 95%
    interval from the crossed bootstrap of the differences."""
    keys = ["style", "sample", "reference"]
    a = rows[(rows.model == model) & (rows.language == language)].set_index(keys)
    b = rows[(rows.model == baseline) & (rows.language == language)].set_index(keys)
    if a.empty or b.empty or not a.index.equals(b.index):
        raise ReportlibError(
            f"the preference rows of {model!r} and {baseline!r} on {language} are not paired"
        )
    diff = (a["preference"] - b["preference"]).reset_index()
    diff["sample"] = diff["style"] + ":" + diff["sample"].astype(str)
    values = _matrix(diff, "preference")
    reps = crossed_bootstrap(values, np.ones_like(values), PREFERENCE_DRAWS, seed)
    low, high = percentile_interval(reps)
    return {"shift": float(values.mean()), "low": low, "high": high}
