"""Running the probe: every prompt asked, every answer judged and labelled, one row per answer;
and the report's first question, which languages the model can use."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from reportlib.backends.interface import Completion, TextModel, sampling_arg
from reportlib.backends.sampling import DECODINGS
from reportlib.core.errors import ReportlibError
from reportlib.core.languages import Language, get_language
from reportlib.core.progress import progress_bar
from reportlib.experiments.probe.prompts import (
    CHAT_STYLES,
    PROBE_LANGUAGES,
    PROMPT_STYLES,
    build_probe_prompts,
    chat_formatter,
    probe_text,
    sample_design,
)
from reportlib.text.answer_quality import label_answer
from reportlib.text.judge import judge_answer


def answer_text(answer: Completion) -> str:
    """The answer as a reader sees it: an answer cut by the token limit can end inside a
    character (a Hangul syllable is three bytes, several tokens of a small vocabulary), which
    decodes as U+FFFD; that fragment is dropped. Other U+FFFD, which the model wrote, stay."""
    if answer.finish_reason == "length":
        return answer.text.rstrip("\ufffd")
    return answer.text


def run_language_probe(
    model: TextModel,
    model_name: str,
    languages: Iterable[Language],
    styles: Iterable[str] = tuple(PROMPT_STYLES),
    samples: int = 10,
    max_tokens: int = 40,
    seed: int = 0,
    progress: bool | None = None,
    decoding: str = "greedy",
) -> list[dict[str, Any]]:
    """Ask, answer and judge every (language, style, sample); one row per answer.

    ``decoding`` is ``"greedy"`` or ``"sampled"`` (Ollama's defaults, random numbers fixed
    by ``seed`` and each prompt). Each row has the path the prompt took (``prompt_path``:
    the model's chat template, or a text-continuation frame), the decoding, the judge's
    language verdict (``on_language``), the quality labels of
    :mod:`reportlib.text.answer_quality` (``degenerate``, ``degenerate_reason``,
    ``self_intro``) and the headline label ``good``: on-language and not degenerate.
    """
    if decoding not in DECODINGS:
        raise ReportlibError(f"unknown decoding {decoding!r}; choose from {', '.join(DECODINGS)}")
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
    answers = model.complete_many(
        prompts, max_tokens=max_tokens, seed=seed, **sampling_arg(DECODINGS[decoding])
    )
    path = "chat template" if fmt is not None else "text continuation"
    rows = []
    bar = progress_bar(
        total=len(plan), desc=f"probe {model_name} ({decoding})", unit="answer", enabled=progress
    )
    for (lang, style, sample, prompt), answer in zip(plan, answers, strict=True):
        text = answer_text(answer)
        verdict = judge_answer(text, lang)
        frame, wording = sample_design(sample)
        quality = label_answer(
            text, lang.flores, probe_text(lang, style, wording), style == "native_opening"
        )
        rows.append(
            {
                "model": model_name,
                "decoding": decoding,
                "prompt_path": path,
                "language": lang.flores,
                "name": lang.name,
                "group": lang.report_group,
                "script": lang.script,
                "style": style,
                "sample": sample,
                "frame": frame,
                "wording": wording,
                "prompt": prompt,
                "answer": text,
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


#: the report's first question, asked as the report asked it: in English and in Korean
LANGUAGES_QUESTIONS = {
    "eng_Latn": "Which languages can you speak?",
    "kor_Hang": "어떤 언어를 할 수 있나요?",
}
#: a base model gets the question in a completion frame that starts the answer
LANGUAGES_FRAMES = {
    "eng_Latn": "Question: {text}\nAnswer: I can speak",
    "kor_Hang": "질문: {text}\n답변: 저는",
}


@dataclass(frozen=True)
class LanguagesAnswer:
    """The model's answer to "which languages can you speak?" and the languages it names."""

    asked_in: str  #: FLORES code of the language the question was asked in
    decoding: str
    seed: int
    prompt: str
    answer: str
    named: tuple[str, ...]  #: FLORES codes of probed languages named in the answer


def languages_named(text: str) -> tuple[str, ...]:
    """The probed languages whose English or Korean name occurs in ``text`` (English names
    as whole words; Korean ones as written, "한국어" or "한국말")."""
    found = []
    for code in PROBE_LANGUAGES:
        lang = get_language(code)
        english = re.search(rf"(?<!\w){re.escape(lang.name)}(?!\w)", text, re.IGNORECASE)
        stem = lang.name_ko.removesuffix("어")
        korean = lang.name_ko in text or (len(stem) > 1 and f"{stem}말" in text)
        if english or korean:
            found.append(code)
    return tuple(found)


def ask_which_languages(
    model: TextModel,
    asked_in: str = "eng_Latn",
    decoding: str = "greedy",
    max_tokens: int = 60,
    seed: int = 0,
) -> LanguagesAnswer:
    """Ask the model which languages it speaks, as the report did first, in English or in
    Korean: a chat message for a model with a chat template, else a completion frame that
    starts the answer."""
    if asked_in not in LANGUAGES_QUESTIONS:
        raise ReportlibError(
            f"the languages question is asked in {', '.join(LANGUAGES_QUESTIONS)}, not {asked_in!r}"
        )
    if decoding not in DECODINGS:
        raise ReportlibError(f"unknown decoding {decoding!r}; choose from {', '.join(DECODINGS)}")
    fmt = chat_formatter(model)
    question = LANGUAGES_QUESTIONS[asked_in]
    prompt = LANGUAGES_FRAMES[asked_in].format(text=question) if fmt is None else fmt(question)
    answer = model.complete(
        prompt, max_tokens=max_tokens, seed=seed, **sampling_arg(DECODINGS[decoding])
    ).text
    return LanguagesAnswer(asked_in, decoding, seed, prompt, answer, languages_named(answer))


def run_report_protocol(
    model: TextModel,
    model_name: str,
    languages: Iterable[Language],
    samples: int,
    max_tokens: int,
    seed: int,
    decodings: Iterable[str] = ("greedy",),
) -> list[dict[str, Any]]:
    """The probe as the report ran it, on any model: a chat model is asked as a chat user
    asks (:data:`~reportlib.experiments.probe.prompts.CHAT_STYLES`) with every one of
    ``decodings``; a base model, which cannot be asked, gets the text-continuation frames
    of every style, decoded greedily."""
    chat = model.has_chat_template
    styles = CHAT_STYLES if chat else tuple(PROMPT_STYLES)
    rows: list[dict[str, Any]] = []
    for decoding in decodings if chat else ("greedy",):
        rows += run_language_probe(
            model, model_name, languages, styles, samples, max_tokens, seed, decoding=decoding
        )
    return rows
