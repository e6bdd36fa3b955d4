"""Quality labels of probe answers: every rule on constructed cases, both ways."""

import pytest

from reportlib.core.errors import ReportlibError
from reportlib.experiments.probe.prompts import PROBE_LANGUAGES
from reportlib.text.answer_quality import (
    FIRST_PERSON,
    echo_of,
    introduces_itself,
    label_answer,
    periodic_share,
    repeated_share,
)

REQUEST = "Apresente-se em português."
OPENING = "Bonjour, je m'appelle"


@pytest.mark.parametrize("answer", ["", "   ", "...!?", "<b><b><b><b><b>", "1. 2. 3. 4.", "x"])
def test_no_letters_is_empty(answer):
    quality = label_answer(answer, "eng_Latn", "Introduce yourself in English.", False)
    assert quality.degenerate and quality.reason == "empty"


@pytest.mark.parametrize(
    "answer",
    [
        "ha ha ha ha ha ha ha ha",
        "I am a student. I am a student. I am a student. I am a",
        "Hello, I'm Maria.\nUser: Hello, I'm Maria.\nAssistant: Hello, I'm Maria.\nUser:",
        "저는 학생입니다. 저는 학생입니다. 저는 학생입니다.",
    ],
)
def test_repetition_is_a_loop(answer):
    assert label_answer(answer, "eng_Latn", "Introduce yourself.", False).reason == "loop"


@pytest.mark.parametrize(
    "answer",
    [
        "I am a student from Seoul. I like music and I play the piano every day.",
        "Елена.",
        "李。",  # one Chinese character: a name
        "김",
        "Ich bin ein junger Mann, der in der Stadt lebt. Ich bin 23 Jahre alt.",
        "저는 서울에 사는 학생입니다. 만나서 반갑습니다.",
    ],
)
def test_real_continuations_are_not_degenerate(answer):
    quality = label_answer(answer, "eng_Latn", "Introduce yourself in English.", False)
    assert not quality.degenerate and quality.reason == ""


def test_loop_measures():
    assert periodic_share("abcabcabcabc") == pytest.approx(1.0)
    assert periodic_share("abcdefgh") == 0.0
    assert repeated_share("The cat sat on the mat. The cat sat on the mat.") > 0.9
    assert repeated_share("A quick brown fox jumps over the lazy dog today.") == 0.0


def test_echo_of_the_request_both_ways():
    assert echo_of("Question: Apresente-se em português. Answer: sim", REQUEST, False)
    assert label_answer(
        "Apresente-se em português. Obrigado", "por_Latn", REQUEST, False
    ).reason == ("echo")
    assert not echo_of("Olá, eu sou a Maria e moro em Lisboa.", REQUEST, False)
    # a few shared words are not an echo
    assert not echo_of(
        "I will introduce myself: 저는 학생입니다", "Introduce yourself in Korean.", False
    )


def test_echo_of_an_opening_is_mostly_the_opening_again():
    assert echo_of("Jean.\n- Bonjour, je m'appelle Jean.", OPENING, True)
    assert not echo_of("Marie et je suis étudiante à Lyon.", OPENING, True)
    # for an opening, a shorter shared run ("je m'appelle") is not an echo
    assert not echo_of("Marie. Oui, je m'appelle Marie depuis toujours.", OPENING, True)
    # a chat model repeats the opening, then continues: not an echo
    assert not echo_of(
        "Bonjour, je m'appelle Marie. J'habite à Lyon et je travaille dans une école.",
        OPENING,
        True,
    )


@pytest.mark.parametrize(
    "answer, core",
    [
        (
            "네, 한국어로 자기소개를 하겠습니다. 저는 서울에 사는 학생입니다.",
            "한국어로 자기소개를 해 주세요.",
        ),
        (
            "好的，我用中文介绍一下我自己：我叫李明，今年二十岁，是北京大学的学生。",
            "请用中文介绍一下你自己。",
        ),
        ("Ngizozethula ngesiZulu: igama lami nguThemba, ngihlala eThekwini.", "Zethule ngesiZulu."),
    ],
)
def test_an_answer_that_restates_the_request_and_goes_on_is_not_an_echo(answer, core):
    assert not echo_of(answer, core, False)


#: a first-person sentence and a third-person one per language
SELF_INTRO_CASES = {
    "eng_Latn": ("My name is Anna and I live in Leeds.", "The weather in Leeds is rainy."),
    "spa_Latn": ("Soy Ana y vivo en Madrid.", "La ciudad de Madrid es grande."),
    "fra_Latn": ("Je suis Marie, j'habite à Lyon.", "La ville de Lyon est belle."),
    "deu_Latn": ("Ich heiße Anna und wohne in Bonn.", "Die Stadt Bonn liegt am Rhein."),
    "ita_Latn": ("Sono Marco e vivo a Roma.", "La città di Roma è antica."),
    "por_Latn": ("Eu sou a Ana e moro em Lisboa.", "A cidade de Lisboa é bonita."),
    "rus_Cyrl": ("Меня зовут Анна, я живу в Москве.", "Москва - большой город."),
    "pol_Latn": ("Jestem Anna i mieszkam w Krakowie.", "Kraków to piękne miasto."),
    "ces_Latn": ("Jmenuji se Jana a bydlím v Praze.", "Praha je krásné město."),
    "slv_Latn": ("Jaz sem Ana in živim v Ljubljani.", "Ljubljana je lepo mesto."),
    "zho_Hans": ("我叫李明，是学生。", "北京是一个大城市。"),
    "jpn_Jpan": ("私は田中です。学生です。", "東京は大きな都市です。"),
    "kor_Hang": ("저는 서울에 사는 학생입니다.", "서울은 큰 도시입니다."),
    "kan_Knda": ("ನಾನು ಬೆಂಗಳೂರಿನಲ್ಲಿ ವಾಸಿಸುತ್ತೇನೆ.", "ಬೆಂಗಳೂರು ದೊಡ್ಡ ನಗರ."),
    "tam_Taml": ("நான் சென்னையில் வசிக்கிறேன்.", "சென்னை ஒரு பெரிய நகரம்."),
    "hin_Deva": ("मेरा नाम अनु है और मैं दिल्ली में रहती हूँ।", "दिल्ली एक बड़ा शहर है।"),
    "tha_Thai": ("ผมชื่อสมชายครับ", "กรุงเทพเป็นเมืองใหญ่"),
    "yor_Latn": ("Orúkọ mi ni Adé, mo ń gbé ní Èkó.", "Èkó jẹ́ ìlú ńlá."),
    "amh_Ethi": ("ስሜ አበበ ነው።", "አዲስ አበባ ትልቅ ከተማ ናት።"),
    "arb_Arab": ("اسمي أحمد وأنا طالب.", "القاهرة مدينة كبيرة."),
    "hau_Latn": ("Sunana Musa, ina zaune a Kano.", "Kano babban birni ne."),
    "zul_Latn": ("Igama lami nguThemba, ngihlala eThekwini.", "ITheku lidolobha elikhulu."),
}


def test_every_probed_language_has_a_rule_and_cases():
    assert set(FIRST_PERSON) == set(PROBE_LANGUAGES) == set(SELF_INTRO_CASES)


@pytest.mark.parametrize("code", sorted(SELF_INTRO_CASES))
def test_self_introduction_both_ways(code):
    first, third = SELF_INTRO_CASES[code]
    assert introduces_itself(first, code)
    assert not introduces_itself(third, code)


def test_self_introduction_in_english_counts_for_any_language():
    assert introduces_itself("Hello, I am a student.", "kor_Hang")
    assert not introduces_itself("Hello, this is a test.", "kor_Hang")


def test_first_person_words_match_whole_words_only():
    assert not introduces_itself("El mismo día llovió.", "spa_Latn")  # "mi" inside "mismo"
    assert not introduces_itself("Imagine a big city.", "eng_Latn")  # "I" inside a word


@pytest.mark.parametrize(
    "text, code",
    [
        ("Lei ha visto i bambini al parco.", "ita_Latn"),  # Italian article "i"
        ("Kot i pies śpią w domu.", "pol_Latn"),  # Polish "i" (and)
        ("Littafin na malam ne.", "hau_Latn"),  # Hausa genitive "na"
        ("இது என்ன?", "tam_Taml"),  # "என்" inside "என்ன" (what)
        ("நான்கு புத்தகங்கள் உள்ளன.", "tam_Taml"),  # "நான்" inside "நான்கு" (four)
        ("यह कैमेरा नया है।", "hin_Deva"),  # "मेरा" inside "कैमेरा" (camera)
        ("언제 문제가 생겼나요?", "kor_Hang"),  # "제" inside words
        ("역에서 만나는 사람에게 안내가 필요합니다.", "kor_Hang"),  # "나는", "내가" inside words
    ],
)
def test_first_person_words_inside_other_words_do_not_count(text, code):
    assert not introduces_itself(text, code)


@pytest.mark.parametrize(
    "text",
    ["وأنا طالب في الجامعة.", "أَنَا طَالِبٌ.", "فاسمي أحمد."],  # attached "and"/"so", vowel marks
)
def test_arabic_first_person_with_prefixes_and_vowel_marks(text):
    assert introduces_itself(text, "arb_Arab")


def test_unknown_language_is_an_error():
    with pytest.raises(ReportlibError, match="no first-person words for 'xx_Latn'"):
        introduces_itself("I am", "xx_Latn")
