"""The languages of the report, as one table of data."""

from __future__ import annotations

from dataclasses import dataclass

from reportlib.core.errors import ReportlibError


@dataclass(frozen=True)
class Language:
    """One language of the report."""

    flores: str  #: FLORES-200 code, e.g. ``kor_Hang``
    iso: str  #: ISO 639-1 code, as the CLD3 language identifier reports it
    name: str  #: English name
    name_ko: str  #: Korean name, as in the report
    report_group: str  #: the report's grouping (or why we added the language)
    family: str  #: linguistic family
    script: str  #: Unicode script the language is normally written in
    spaces: bool  #: words are separated by spaces (token-per-word is meaningful)


LANGUAGES: tuple[Language, ...] = (
    Language(
        "eng_Latn", "en", "English", "영어", "Germanic/Romance", "Indo-European", "Latin", True
    ),
    Language(
        "spa_Latn", "es", "Spanish", "스페인어", "Germanic/Romance", "Indo-European", "Latin", True
    ),
    Language(
        "fra_Latn", "fr", "French", "프랑스어", "Germanic/Romance", "Indo-European", "Latin", True
    ),
    Language(
        "deu_Latn", "de", "German", "독일어", "Germanic/Romance", "Indo-European", "Latin", True
    ),
    Language(
        "ita_Latn",
        "it",
        "Italian",
        "이탈리아어",
        "Germanic/Romance",
        "Indo-European",
        "Latin",
        True,
    ),
    Language(
        "por_Latn",
        "pt",
        "Portuguese",
        "포르투갈어",
        "Meta-supported",
        "Indo-European",
        "Latin",
        True,
    ),
    Language(
        "nld_Latn", "nl", "Dutch", "네덜란드어", "Model's own list", "Indo-European", "Latin", True
    ),
    Language("rus_Cyrl", "ru", "Russian", "러시아어", "Slavic", "Indo-European", "Cyrillic", True),
    Language("pol_Latn", "pl", "Polish", "폴란드어", "Slavic", "Indo-European", "Latin", True),
    Language("ces_Latn", "cs", "Czech", "체코어", "Slavic", "Indo-European", "Latin", True),
    Language(
        "slv_Latn", "sl", "Slovenian", "슬로베니아어", "Slavic", "Indo-European", "Latin", True
    ),
    Language("slk_Latn", "sk", "Slovak", "슬로바키아어", "Slavic", "Indo-European", "Latin", True),
    Language("zho_Hans", "zh", "Chinese", "중국어", "Asian", "Sino-Tibetan", "Han", False),
    Language("jpn_Jpan", "ja", "Japanese", "일본어", "Asian", "Japonic", "Japanese", False),
    Language("kor_Hang", "ko", "Korean", "한국어", "Asian", "Koreanic", "Hangul", True),
    Language("kan_Knda", "kn", "Kannada", "칸나다어", "Asian", "Dravidian", "Kannada", True),
    Language("tam_Taml", "ta", "Tamil", "타밀어", "Asian", "Dravidian", "Tamil", True),
    Language(
        "hin_Deva", "hi", "Hindi", "힌디어", "Meta-supported", "Indo-European", "Devanagari", True
    ),
    Language("tha_Thai", "th", "Thai", "태국어", "Meta-supported", "Kra-Dai", "Thai", False),
    Language(
        "yor_Latn", "yo", "Yoruba", "요루바어", "African and Semitic", "Niger-Congo", "Latin", True
    ),
    Language(
        "amh_Ethi",
        "am",
        "Amharic",
        "암하라어",
        "African and Semitic",
        "Afro-Asiatic",
        "Ethiopic",
        True,
    ),
    Language(
        "arb_Arab", "ar", "Arabic", "아랍어", "African and Semitic", "Afro-Asiatic", "Arabic", True
    ),
    Language(
        "hau_Latn", "ha", "Hausa", "하우사어", "African and Semitic", "Afro-Asiatic", "Latin", True
    ),
    Language(
        "zul_Latn", "zu", "Zulu", "줄루어", "African and Semitic", "Niger-Congo", "Latin", True
    ),
)

ENGLISH = "eng_Latn"
_BY_CODE: dict[str, Language] = {}
for _lang in LANGUAGES:
    _BY_CODE[_lang.flores.lower()] = _lang
    _BY_CODE[_lang.iso] = _lang


def get_language(code: str) -> Language:
    """Look a language up by FLORES-200 code (``kor_Hang``) or ISO 639-1 code (``ko``)."""
    try:
        return _BY_CODE[code.strip().lower()]
    except KeyError:
        known = ", ".join(lang.flores for lang in LANGUAGES)
        raise ReportlibError(
            f"unknown language code {code!r}; use a FLORES-200 code ({known}) "
            "or the matching ISO 639-1 code (en, ko, ...)"
        ) from None


def parse_language_list(codes: str | list[str] | tuple[str, ...] | None) -> list[Language]:
    """Turn ``"ko,ja"``, a list of codes, or ``None``/``"all"`` into languages, in table order."""
    if codes is None or codes == "all" or codes == ["all"]:
        return list(LANGUAGES)
    items = codes.split(",") if isinstance(codes, str) else list(codes)
    wanted = {get_language(c).flores for c in items if c.strip()}
    if not wanted:
        raise ReportlibError("the language list is empty; give codes such as 'eng_Latn,kor_Hang'")
    return [lang for lang in LANGUAGES if lang.flores in wanted]


#: the languages CLD3 (Google's offline language identifier) names, by its codes (ISO 639-1
#: where there is one; "-Latn": written in Latin letters); "und": nothing it could judge
CLD3_NAMES: dict[str, str] = {
    "af": "Afrikaans", "am": "Amharic", "ar": "Arabic", "bg": "Bulgarian",
    "bg-Latn": "Bulgarian in Latin letters", "bn": "Bengali", "bs": "Bosnian",
    "ca": "Catalan", "ceb": "Cebuano", "co": "Corsican", "cs": "Czech", "cy": "Welsh",
    "da": "Danish", "de": "German", "el": "Greek", "el-Latn": "Greek in Latin letters",
    "en": "English", "eo": "Esperanto", "es": "Spanish", "et": "Estonian", "eu": "Basque",
    "fa": "Persian", "fi": "Finnish", "fil": "Filipino", "fr": "French", "fy": "Frisian",
    "ga": "Irish", "gd": "Scottish Gaelic", "gl": "Galician", "gu": "Gujarati",
    "ha": "Hausa", "haw": "Hawaiian", "hi": "Hindi", "hi-Latn": "Hindi in Latin letters",
    "hmn": "Hmong", "hr": "Croatian", "ht": "Haitian Creole", "hu": "Hungarian",
    "hy": "Armenian", "id": "Indonesian", "ig": "Igbo", "is": "Icelandic", "it": "Italian",
    "iw": "Hebrew", "ja": "Japanese", "ja-Latn": "Japanese in Latin letters",
    "jv": "Javanese", "ka": "Georgian", "kk": "Kazakh", "km": "Khmer", "kn": "Kannada",
    "ko": "Korean", "ku": "Kurdish", "ky": "Kyrgyz", "la": "Latin", "lb": "Luxembourgish",
    "lo": "Lao", "lt": "Lithuanian", "lv": "Latvian", "mg": "Malagasy", "mi": "Maori",
    "mk": "Macedonian", "ml": "Malayalam", "mn": "Mongolian", "mr": "Marathi",
    "ms": "Malay", "mt": "Maltese", "my": "Burmese", "ne": "Nepali", "nl": "Dutch",
    "no": "Norwegian", "ny": "Chichewa", "pa": "Punjabi", "pl": "Polish", "ps": "Pashto",
    "pt": "Portuguese", "ro": "Romanian", "ru": "Russian",
    "ru-Latn": "Russian in Latin letters", "sd": "Sindhi", "si": "Sinhala", "sk": "Slovak",
    "sl": "Slovenian", "sm": "Samoan", "sn": "Shona", "so": "Somali", "sq": "Albanian",
    "sr": "Serbian", "st": "Sesotho", "su": "Sundanese", "sv": "Swedish", "sw": "Swahili",
    "ta": "Tamil", "te": "Telugu", "tg": "Tajik", "th": "Thai", "tr": "Turkish",
    "uk": "Ukrainian", "ur": "Urdu", "uz": "Uzbek", "vi": "Vietnamese", "xh": "Xhosa",
    "yi": "Yiddish", "yo": "Yoruba", "zh": "Chinese", "zh-Latn": "Chinese in Latin letters",
    "zu": "Zulu", "und": "nothing to judge",
}  # fmt: skip


def detected_name(code: str) -> str:
    """What a reader reads for a language code the judge gave: CLD3's name for it, else the
    name of one of the report's languages (the script rules name those), else the code."""
    if code in CLD3_NAMES:
        return CLD3_NAMES[code]
    for lang in LANGUAGES:
        if code in (lang.flores, lang.iso):
            return lang.name
    return code
