import pytest

from reportlib.core.errors import ReportlibError
from reportlib.core.languages import ENGLISH, LANGUAGES, get_language, parse_language_list


def test_table_covers_the_report_and_has_unique_codes():
    assert len(LANGUAGES) == 24
    assert len({lang.flores for lang in LANGUAGES}) == 24
    assert len({lang.iso for lang in LANGUAGES}) == 24
    assert LANGUAGES[0].flores == ENGLISH
    groups = {lang.report_group for lang in LANGUAGES}
    assert {"Germanic/Romance", "Slavic", "Asian", "African and Semitic"} <= groups


def test_lookup_by_either_code():
    assert get_language("kor_Hang") is get_language("ko") is get_language(" KO ")


def test_unknown_code_names_the_value_and_the_choices():
    with pytest.raises(ReportlibError, match=r"'xx_Latn'.*eng_Latn"):
        get_language("xx_Latn")


def test_language_lists():
    assert [lang.iso for lang in parse_language_list("ko,en")] == ["en", "ko"]
    assert len(parse_language_list(None)) == len(parse_language_list("all")) == 24
    with pytest.raises(ReportlibError, match="empty"):
        parse_language_list(" , ")
