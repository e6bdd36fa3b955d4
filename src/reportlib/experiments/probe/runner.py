"""Running the probe: every prompt asked, every answer judged and labelled, one row per answer;
and the report's first question, which languages the model can use."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from reportlib.backends.interface import TextModel
from reportlib.core.errors import ReportlibError
from reportlib.core.languages import Language, get_language
from reportlib.experiments.probe.prompts import (
    PROBE_LANGUAGES,
    PROMPT_STYLES,
    build_probe_prompts,
    chat_formatter,
    probe_text,
    sample_design,
)
from reportlib.text.answer_quality import label_answer
from reportlib.text.judge import judge_answer


def run_language_probe(
    model: TextModel,
    model_name: str,
    languages: Iterable[Language],
    styles: Iterable[str] = tuple(PROMPT_STYLES),
    samples: int = 10,
    max_tokens: int = 40,
    seed: int = 0,
    progress: bool | None = None,
) -> list[dict[str, Any]]:
    """Ask, answer and judge every (language, style, sample); one row per answer.

    Each row has the judge's language verdict (``on_language``), the quality labels
    of :mod:`reportlib.text.answer_quality` (``degenerate``, ``degenerate_reason``,
    ``self_intro``) and the headline label ``good``: on-language and not degenerate.
    """
    from tqdm import tqdm

    styles, languages = list(styles), list(languages)
    for style in styles:
        if style not in PROMPT_STYLES:
            raise ReportlibError(
                f"unknown prompt style {style!r}; choose from {', '.join(PROMPT_STYLES)}"
            )
    fmt = chat_formatter(model)
    cells = {
        (lang, style): build_probe_prompts(lang, style, samples, fmt)
        for lang in languages
        for style in styles
    }
    # sample-major: more samples append prompts at the end, so a batched model's earlier
    # chunks (and their cached answers) stay the same; rows come out language-major
    plan = [
        (lang, style, sample, prompts[sample])
        for sample in range(samples)
        for (lang, style), prompts in cells.items()
    ]
    prompts = [prompt for *_, prompt in plan]
    # cached; concurrent for a server, batched for a model loaded with batch_width > 1
    answers = model.complete_many(prompts, max_tokens=max_tokens, seed=seed)
    rows = []
    bar = tqdm(
        total=len(plan),
        desc=f"probe {model_name}",
        unit="answer",
        disable=None if progress is None else not progress,
    )
    for (lang, style, sample, prompt), answer in zip(plan, answers, strict=True):
        verdict = judge_answer(answer.text, lang)
        frame, wording = sample_design(sample)
        quality = label_answer(
            answer.text, lang.flores, probe_text(lang, style, wording), style == "native_opening"
        )
        rows.append(
            {
                "model": model_name,
                "language": lang.flores,
                "name": lang.name,
                "group": lang.report_group,
                "script": lang.script,
                "style": style,
                "sample": sample,
                "frame": frame,
                "wording": wording,
                "prompt": prompt,
                "answer": answer.text,
                "finish_reason": answer.finish_reason,
                "answer_tokens": answer.completion_tokens,
                "detected_language": verdict.detected_language,
                "probability": verdict.probability,
                "main_script": verdict.main_script,
                "script_share": verdict.script_share,
                "on_language": verdict.on_language,
                "decided_by": verdict.decided_by,
                "degenerate": quality.degenerate,
                "degenerate_reason": quality.reason,
                "self_intro": quality.self_intro,
                "good": verdict.on_language and not quality.degenerate,
            }
        )
        bar.update()
    bar.close()
    position = {(lang.flores, style): i for i, (lang, style) in enumerate(cells)}
    return sorted(rows, key=lambda row: (position[row["language"], row["style"]], row["sample"]))


#: the report's first question, as a completion frame for a base model
LANGUAGES_QUESTION = "Which languages can you speak?"


LANGUAGES_FRAME = "Question: {text}\nAnswer: I can speak"


@dataclass(frozen=True)
class LanguagesAnswer:
    """The model's answer to "which languages can you speak?" and the languages it names."""

    prompt: str
    answer: str
    named: tuple[str, ...]  #: FLORES codes of probed languages named in the answer


def languages_named(text: str) -> tuple[str, ...]:
    """The probed languages whose English name occurs in ``text`` as a word."""
    found = []
    for code in PROBE_LANGUAGES:
        name = get_language(code).name
        if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.IGNORECASE):
            found.append(code)
    return tuple(found)


def ask_which_languages(model: TextModel, max_tokens: int = 60, seed: int = 0) -> LanguagesAnswer:
    """Ask the model which languages it speaks, as the report did first: a chat message
    for a model with a chat template, else a completion frame that starts the answer."""
    fmt = chat_formatter(model)
    if fmt is None:
        prompt = LANGUAGES_FRAME.format(text=LANGUAGES_QUESTION)
    else:
        prompt = fmt(LANGUAGES_QUESTION)
    answer = model.complete(prompt, max_tokens=max_tokens, seed=seed).text
    return LanguagesAnswer(prompt, answer, languages_named(answer))
