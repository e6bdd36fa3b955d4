"""The multilingual probe: ask the model to introduce itself in each language.

The report asked a hosted LLaMA 3.2 once per language and judged the answers
by eye. Here every (language, prompt style) pair is asked several times, each
answer is judged by :mod:`reportlib.judge`, and rates get Wilson intervals.

Prompt styles (columns of the results):

- ``english_request``: the request in English ("Introduce yourself in Korean.");
- ``native_request``: the same request written in the target language;
- ``native_opening``: a native opening for the model to continue ("안녕하세요, 저는").

A base model (no chat template) gets completion prompts: the request inside one
of several fixed *frames* (``Question: ... Answer:``, ...), which are the samples.
A model with a chat template gets the request as a user message, with a few
fixed variants of the message as samples. Decoding is greedy throughout, so
samples differ by prompt, never by chance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .backend import TextModel
from .errors import ReportlibError
from .judge import judge_answer
from .languages import Language, get_language


@dataclass(frozen=True)
class ProbeText:
    """The request and the opening, written in the target language."""

    request: str
    opening: str


PROBE_TEXTS: dict[str, ProbeText] = {
    "eng_Latn": ProbeText("Introduce yourself in English.", "Hello, my name is"),
    "spa_Latn": ProbeText("Preséntate en español.", "Hola, me llamo"),
    "fra_Latn": ProbeText("Présente-toi en français.", "Bonjour, je m'appelle"),
    "deu_Latn": ProbeText("Stell dich auf Deutsch vor.", "Hallo, ich heiße"),
    "ita_Latn": ProbeText("Presentati in italiano.", "Ciao, mi chiamo"),
    "por_Latn": ProbeText("Apresente-se em português.", "Olá, meu nome é"),
    "rus_Cyrl": ProbeText("Представься на русском языке.", "Здравствуйте, меня зовут"),
    "pol_Latn": ProbeText("Przedstaw się po polsku.", "Dzień dobry, nazywam się"),
    "ces_Latn": ProbeText("Představ se česky.", "Dobrý den, jmenuji se"),
    "slv_Latn": ProbeText("Predstavi se v slovenščini.", "Pozdravljeni, ime mi je"),
    "zho_Hans": ProbeText("请用中文介绍一下你自己。", "你好，我叫"),
    "jpn_Jpan": ProbeText("日本語で自己紹介してください。", "こんにちは、私の名前は"),
    "kor_Hang": ProbeText("한국어로 자기소개를 해 주세요.", "안녕하세요, 저는"),
    "kan_Knda": ProbeText("ಕನ್ನಡದಲ್ಲಿ ನಿಮ್ಮನ್ನು ಪರಿಚಯಿಸಿಕೊಳ್ಳಿ.", "ನಮಸ್ಕಾರ, ನನ್ನ ಹೆಸರು"),
    "tam_Taml": ProbeText("தமிழில் உங்களை அறிமுகப்படுத்துங்கள்.", "வணக்கம், என் பெயர்"),
    "hin_Deva": ProbeText("हिंदी में अपना परिचय दीजिए।", "नमस्ते, मेरा नाम"),
    "tha_Thai": ProbeText("กรุณาแนะนำตัวเองเป็นภาษาไทย", "สวัสดีครับ ผมชื่อ"),
    "yor_Latn": ProbeText("Ṣe àfihàn ara rẹ ní èdè Yorùbá.", "Ẹ n lẹ́, orúkọ mi ni"),
    "amh_Ethi": ProbeText("ራስህን በአማርኛ አስተዋውቅ።", "ሰላም፣ ስሜ"),
    "arb_Arab": ProbeText("عرّف بنفسك باللغة العربية.", "مرحبًا، اسمي"),
    "hau_Latn": ProbeText("Gabatar da kanka da Hausa.", "Sannu, sunana"),
    "zul_Latn": ProbeText("Zethule ngesiZulu.", "Sawubona, igama lami ngingu"),
}
#: the report's 19 languages plus Meta's officially supported Portuguese, Hindi and Thai
PROBE_LANGUAGES: tuple[str, ...] = tuple(PROBE_TEXTS)

PROMPT_STYLES: dict[str, str] = {
    "english_request": "request in English",
    "native_request": "request in the language",
    "native_opening": "native opening",
}

#: completion frames for base models; the first ``samples`` are used
REQUEST_FRAMES = (
    "{text}\n",
    "Question: {text}\nAnswer:",
    "User: {text}\nAssistant:",
    "### Instruction:\n{text}\n\n### Response:\n",
    "Q: {text}\nA:",
    "Prompt: {text}\nReply:",
)
OPENING_FRAMES = ("{text}", '"{text}', "- {text}", "\n{text}", "> {text}", "* {text}")
#: user-message variants for chat models
CHAT_REQUEST_VARIANTS = (
    "{text}",
    "{text} (2-3 sentences)",
    "Hi! {text}",
    "{text} Be brief.",
    "{text} Thank you.",
    "Please: {text}",
)
_ENDINGS = ("", ".", "!", " …", " -", " :")
CHAT_OPENING_VARIANTS = tuple(f'Continue this text: "{{text}}"{end}' for end in _ENDINGS)
MAX_SAMPLES = len(REQUEST_FRAMES)


def probe_text(lang: Language, style: str) -> str:
    """The core text of a prompt style for a language (before framing)."""
    texts = PROBE_TEXTS.get(lang.flores)
    if texts is None:
        raise ReportlibError(
            f"no probe texts for {lang.name} ({lang.flores}); probed languages: "
            f"{', '.join(PROBE_LANGUAGES)}"
        )
    if style == "english_request":
        return f"Introduce yourself in {lang.name}."
    if style == "native_request":
        return texts.request
    if style == "native_opening":
        return texts.opening
    raise ReportlibError(f"unknown prompt style {style!r}; choose from {', '.join(PROMPT_STYLES)}")


def build_probe_prompts(
    lang: Language, style: str, samples: int, chat_format: Callable[[str], str] | None = None
) -> list[str]:
    """The ``samples`` prompts of one (language, style) cell, exactly as sent to the model."""
    if not isinstance(samples, int) or not 1 <= samples <= MAX_SAMPLES:
        raise ReportlibError(
            f"samples must be a whole number from 1 to {MAX_SAMPLES}, not {samples!r}"
        )
    text = probe_text(lang, style)
    opening = style == "native_opening"
    if chat_format is None:
        frames = OPENING_FRAMES if opening else REQUEST_FRAMES
        return [f.format(text=text) for f in frames[:samples]]
    variants = CHAT_OPENING_VARIANTS if opening else CHAT_REQUEST_VARIANTS
    return [chat_format(v.format(text=text)) for v in variants[:samples]]


def chat_formatter(model: TextModel) -> Callable[[str], str] | None:
    """The model's chat template as a function of one user message, or ``None``."""
    if not model.has_chat_template:
        return None
    return lambda text: model.format_chat([{"role": "user", "content": text}])


def probe_language_codes(codes: str | Iterable[str] | None) -> list[Language]:
    """Validate a language list for the probe (``None``/``"all"``: every probed language)."""
    if codes is None or codes == "all":
        codes = PROBE_LANGUAGES
    items = codes.split(",") if isinstance(codes, str) else list(codes)
    langs = [get_language(c) for c in items if c.strip()]
    if not langs:
        raise ReportlibError("the language list is empty; give codes such as 'ko,ja'")
    for lang in langs:
        probe_text(lang, "native_request")  # raises for a language without probe texts
    return langs


def run_language_probe(
    model: TextModel,
    model_name: str,
    languages: Iterable[Language],
    styles: Iterable[str] = tuple(PROMPT_STYLES),
    samples: int = 3,
    max_tokens: int = 40,
    seed: int = 0,
    progress: bool | None = None,
) -> list[dict[str, Any]]:
    """Ask, answer and judge every (language, style, sample); one row per answer."""
    from tqdm import tqdm

    styles, languages = list(styles), list(languages)
    for style in styles:
        if style not in PROMPT_STYLES:
            raise ReportlibError(
                f"unknown prompt style {style!r}; choose from {', '.join(PROMPT_STYLES)}"
            )
    fmt = chat_formatter(model)
    plan = [
        (lang, style, sample, prompt)
        for lang in languages
        for style in styles
        for sample, prompt in enumerate(build_probe_prompts(lang, style, samples, fmt))
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
    for (lang, style, sample, prompt), answer in zip(plan, answers, strict=False):
        verdict = judge_answer(answer.text, lang)
        rows.append(
            {
                "model": model_name,
                "language": lang.flores,
                "name": lang.name,
                "group": lang.report_group,
                "script": lang.script,
                "style": style,
                "sample": sample,
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
            }
        )
        bar.update()
    bar.close()
    return rows
