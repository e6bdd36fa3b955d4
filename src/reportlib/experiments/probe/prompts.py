"""The multilingual probe: ask the model to introduce itself in each language.

The report asked a hosted LLaMA 3.2 once per language and judged the answers
by eye. Here every (language, prompt style) pair is asked several times, each
answer is judged by :mod:`reportlib.text.judge`, and rates get Wilson intervals.

Prompt styles (columns of the results):

- ``english_request``: the request in English ("Introduce yourself in Korean.");
- ``native_request``: the same request written in the target language;
- ``native_opening``: a native opening for the model to continue ("안녕하세요, 저는").

A base model (no chat template) gets completion prompts: the request inside one
of several fixed *frames* (``Question: ... Answer:``, ...), which are the samples.
A model with a chat template gets the request as one user message rendered by the
template stored in its GGUF (no system prompt of ours; the template may add its own), as
a chat user types it: the request alone, after a greeting in the request's language, or
with an emoji (:data:`CHAT_REQUEST_VARIANTS`). The report asked in a chat app, in the
language itself (and, for Russian, in another language): :data:`CHAT_STYLES`. Under
greedy decoding samples differ by prompt only; under sampled decoding
(:mod:`reportlib.backends.sampling`) by prompt and by chance, from a seed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from reportlib.backends.interface import TextModel
from reportlib.core.errors import ReportlibError
from reportlib.core.languages import Language, get_language


@dataclass(frozen=True)
class ProbeText:
    """Two requests and two openings, written in the target language.

    The two requests differ in wording and register (an imperative "introduce
    yourself" and a politer "tell us a little about yourself"); the two openings
    differ in what they start with (a greeting with "my name is", and "nice to meet
    you! I am"). Each is placed in several frames (below), so that a cell's samples
    vary in frame and wording, not only in punctuation.
    """

    requests: tuple[str, str]
    openings: tuple[str, str]


PROBE_TEXTS: dict[str, ProbeText] = {
    "eng_Latn": ProbeText(
        ("Introduce yourself in English.", "Could you tell us a little about yourself?"),
        ("Hello, my name is", "Nice to meet you! I am"),
    ),
    "spa_Latn": ProbeText(
        ("Preséntate en español.", "¿Podría contarnos un poco sobre usted?"),
        ("Hola, me llamo", "¡Mucho gusto! Soy"),
    ),
    "fra_Latn": ProbeText(
        ("Présente-toi en français.", "Pourriez-vous nous parler un peu de vous ?"),
        ("Bonjour, je m'appelle", "Enchanté ! Je suis"),
    ),
    "deu_Latn": ProbeText(
        ("Stell dich auf Deutsch vor.", "Könnten Sie uns ein wenig über sich erzählen?"),
        ("Hallo, ich heiße", "Freut mich! Ich bin"),
    ),
    "ita_Latn": ProbeText(
        ("Presentati in italiano.", "Potrebbe raccontarci qualcosa di sé?"),
        ("Ciao, mi chiamo", "Piacere di conoscerti! Sono"),
    ),
    "por_Latn": ProbeText(
        ("Apresente-se em português.", "Você poderia nos contar um pouco sobre você?"),
        ("Olá, meu nome é", "Muito prazer! Eu sou"),
    ),
    "rus_Cyrl": ProbeText(
        ("Представься на русском языке.", "Не могли бы вы немного рассказать о себе?"),
        ("Здравствуйте, меня зовут", "Приятно познакомиться! Я"),
    ),
    "pol_Latn": ProbeText(
        ("Przedstaw się po polsku.", "Czy mógłby Pan opowiedzieć nam coś o sobie?"),
        ("Dzień dobry, nazywam się", "Miło mi! Jestem"),
    ),
    "ces_Latn": ProbeText(
        ("Představ se česky.", "Mohl byste nám říct něco o sobě?"),
        ("Dobrý den, jmenuji se", "Těší mě! Jsem"),
    ),
    "slv_Latn": ProbeText(
        ("Predstavi se v slovenščini.", "Bi nam lahko povedali nekaj o sebi?"),
        ("Pozdravljeni, ime mi je", "Me veseli! Sem"),
    ),
    "zho_Hans": ProbeText(
        ("请用中文介绍一下你自己。", "能简单说说你自己吗？"),
        ("你好，我叫", "很高兴认识你！我是"),
    ),
    "jpn_Jpan": ProbeText(
        ("日本語で自己紹介してください。", "あなたのことを少し教えていただけますか？"),
        ("こんにちは、私の名前は", "はじめまして！私は"),
    ),
    "kor_Hang": ProbeText(
        ("한국어로 자기소개를 해 주세요.", "당신에 대해 조금 이야기해 주시겠어요?"),
        ("안녕하세요, 저는", "만나서 반갑습니다! 제 이름은"),
    ),
    "kan_Knda": ProbeText(
        ("ಕನ್ನಡದಲ್ಲಿ ನಿಮ್ಮನ್ನು ಪರಿಚಯಿಸಿಕೊಳ್ಳಿ.", "ನಿಮ್ಮ ಬಗ್ಗೆ ಸ್ವಲ್ಪ ಹೇಳುತ್ತೀರಾ?"),
        ("ನಮಸ್ಕಾರ, ನನ್ನ ಹೆಸರು", "ನಿಮ್ಮನ್ನು ಭೇಟಿಯಾಗಿ ಸಂತೋಷವಾಯಿತು! ನಾನು"),
    ),
    "tam_Taml": ProbeText(
        ("தமிழில் உங்களை அறிமுகப்படுத்துங்கள்.", "உங்களைப் பற்றி கொஞ்சம் சொல்ல முடியுமா?"),
        ("வணக்கம், என் பெயர்", "உங்களைச் சந்தித்ததில் மகிழ்ச்சி! நான்"),
    ),
    "hin_Deva": ProbeText(
        ("हिंदी में अपना परिचय दीजिए।", "क्या आप अपने बारे में थोड़ा बता सकते हैं?"),
        ("नमस्ते, मेरा नाम", "आपसे मिलकर खुशी हुई! मैं"),
    ),
    "tha_Thai": ProbeText(
        ("กรุณาแนะนำตัวเองเป็นภาษาไทย", "ช่วยเล่าเรื่องของคุณให้ฟังสักหน่อยได้ไหม"),
        ("สวัสดีครับ ผมชื่อ", "ยินดีที่ได้รู้จัก! ฉัน"),
    ),
    "yor_Latn": ProbeText(
        ("Ṣe àfihàn ara rẹ ní èdè Yorùbá.", "Ṣé o lè sọ díẹ̀ fún wa nípa ara rẹ?"),
        ("Ẹ n lẹ́, orúkọ mi ni", "Inú mi dùn láti pàdé yín! Èmi ni"),
    ),
    "amh_Ethi": ProbeText(
        ("ራስህን በአማርኛ አስተዋውቅ።", "ስለ ራስህ ትንሽ ልትነግረን ትችላለህ?"),
        ("ሰላም፣ ስሜ", "በመተዋወቃችን ደስ ብሎኛል! እኔ"),
    ),
    "arb_Arab": ProbeText(
        ("عرّف بنفسك باللغة العربية.", "هل يمكنك أن تحدثنا قليلًا عن نفسك؟"),
        ("مرحبًا، اسمي", "تشرفت بمعرفتك! أنا"),
    ),
    "hau_Latn": ProbeText(
        ("Gabatar da kanka da Hausa.", "Za ka iya gaya mana kaɗan game da kanka?"),
        ("Sannu, sunana", "Na ji daɗin haɗuwa da kai! Ni"),
    ),
    "zul_Latn": ProbeText(
        ("Zethule ngesiZulu.", "Ungasitshela kancane ngawe?"),
        ("Sawubona, igama lami ngingu", "Ngiyajabula ukukwazi! Ngingu"),
    ),
}
#: the report's 19 languages plus Meta's officially supported Portuguese, Hindi and Thai
PROBE_LANGUAGES: tuple[str, ...] = tuple(PROBE_TEXTS)

PROMPT_STYLES: dict[str, str] = {
    "english_request": "request in English",
    "native_request": "request in the language",
    "native_opening": "native opening",
}
#: the two English wordings of the request (``{name}``: the language's English name)
ENGLISH_REQUESTS = (
    "Introduce yourself in {name}.",
    "Could you tell us a little about yourself? Please answer in {name}.",
)

#: completion frames for base models
REQUEST_FRAMES = (
    "{text}\n",
    "Question: {text}\nAnswer:",
    "User: {text}\nAssistant:",
    "### Instruction:\n{text}\n\n### Response:\n",
    "Q: {text}\nA:",
    "Prompt: {text}\nReply:",
)
#: openings placed in different kinds of text (English scaffolding, as the request frames)
OPENING_FRAMES = (
    "{text}",
    "Dialogue\nA: Hi! Who are you?\nB: {text}",
    'From the "About me" page of a personal website:\n\n{text}',
    "Transcript of a short video introduction\n\n{text}",
    "Letter to a new pen pal\n\nDear friend,\n{text}",
    '"{text}',
)
#: user-message variants for chat models: what a chat user types, in the request's own
#: language (a greeting from the language's opening) or none (an emoji)
CHAT_REQUEST_VARIANTS = (
    "{text}",
    "{greeting}! {text}",
    "{text} 🙂",
    "{greeting}! {text} 🙂",
    "{text} :)",
)
#: the prompt styles of the chat protocol: as the report asked, in the language itself, and
#: in another language (English; the report's Russian case)
CHAT_STYLES = ("native_request", "english_request")
CHAT_OPENING_VARIANTS = (
    'Continue this text: "{text}"',
    'Finish this self-introduction: "{text}"',
    "{text}",
    'Complete the sentence in the same language: "{text}"',
    'Write the next two sentences of this text: "{text}"',
    "Please continue: {text}",
)
#: wordings per style (two requests, two openings)
WORDINGS = 2
#: a cell's samples: every frame with every wording (a base model's frames)
MAX_SAMPLES = len(REQUEST_FRAMES) * WORDINGS
#: a chat model's: every message variant with every wording
MAX_CHAT_SAMPLES = len(CHAT_REQUEST_VARIANTS) * WORDINGS


def sample_design(sample: int) -> tuple[int, int]:
    """The (frame, wording) of sample number ``sample``: frames advance every two
    samples, wordings alternate, so any number of samples uses both wordings."""
    return sample // WORDINGS, sample % WORDINGS


def greeting(lang: Language, style: str) -> str:
    """A greeting in the language a request is written in: English for the English request,
    else the first phrase of the language's first opening ("안녕하세요", "Hola")."""
    if style == "english_request":
        return "Hello"
    opening = PROBE_TEXTS[lang.flores].openings[0]
    phrase = opening.split(",")[0].split("，")[0].split("、")[0].split("،")[0].split("፣")[0]
    return phrase.split()[0] if phrase == opening else phrase


def probe_text(lang: Language, style: str, wording: int = 0) -> str:
    """The core text of a prompt style for a language (before framing)."""
    texts = PROBE_TEXTS.get(lang.flores)
    if texts is None:
        raise ReportlibError(
            f"no probe texts for {lang.name} ({lang.flores}); probed languages: "
            f"{', '.join(PROBE_LANGUAGES)}"
        )
    if style == "english_request":
        return ENGLISH_REQUESTS[wording].format(name=lang.name)
    if style == "native_request":
        return texts.requests[wording]
    if style == "native_opening":
        return texts.openings[wording]
    raise ReportlibError(f"unknown prompt style {style!r}; choose from {', '.join(PROMPT_STYLES)}")


def build_probe_prompts(
    lang: Language, style: str, samples: int, chat_format: Callable[[str], str] | None = None
) -> list[str]:
    """The ``samples`` prompts of one (language, style) cell, exactly as sent to the model."""
    most = MAX_SAMPLES if chat_format is None else MAX_CHAT_SAMPLES
    if not isinstance(samples, int) or isinstance(samples, bool) or not 1 <= samples <= most:
        raise ReportlibError(f"samples must be a whole number from 1 to {most}, not {samples!r}")
    opening = style == "native_opening"
    frames: tuple[str, ...]
    if chat_format is None:
        frames = OPENING_FRAMES if opening else REQUEST_FRAMES
    else:
        frames = CHAT_OPENING_VARIANTS if opening else CHAT_REQUEST_VARIANTS
    prompts = []
    for sample in range(samples):
        frame, wording = sample_design(sample)
        text = probe_text(lang, style, wording)
        prompt = frames[frame].format(text=text, greeting=greeting(lang, style))
        prompts.append(prompt if chat_format is None else chat_format(prompt))
    return prompts


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
