"""The script a token starts to write, whole characters or a piece of one."""

import numpy as np
import pytest

from reportlib.text.token_scripts import prefix_script, token_script, token_script_groups


@pytest.mark.parametrize(
    ("raw", "script"),
    [
        (" 안녕".encode(), "Hangul"),
        (b"\xec\x95", "Hangul"),  # the start of U+C540..U+C57F: Hangul syllables only
        ("ಕ".encode()[:2], "Kannada"),  # U+0C80..U+0CBF
        (b" Hello", "Latin"),
        ("Привет".encode(), "Cyrillic"),
        ("。你".encode(), "Han"),
        (b"123 ", None),
        (b"\x95\xab", None),  # starts inside a character
        ("ಕ".encode()[:1], None),  # U+0800..U+0FFF: many scripts
        (b"", None),
    ],
)
def test_token_script(raw, script):
    assert token_script(raw) == script


def test_a_complete_character_is_not_a_prefix():
    assert prefix_script("가".encode()) is None


def test_groups_give_each_token_the_index_of_its_script():
    tokens = [b" a", "가".encode(), b"!", "я".encode()]
    groups = token_script_groups(tokens, [frozenset({"Hangul"}), frozenset({"Latin"})])
    assert groups.tolist() == [1, 0, 2, 2]
    assert groups.dtype == np.int64
