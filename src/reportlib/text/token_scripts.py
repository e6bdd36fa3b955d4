"""Which script a token starts to write: the script of the first letter its bytes make.

A byte-level tokenizer (GPT-2's, SmolLM2's, Llama 3's) splits a Hangul syllable or a Kannada
letter into several tokens when its vocabulary has no token for it. The first such piece is
the start of a UTF-8 sequence, and its bytes already narrow down the character: a piece
``0xEC 0x95`` can only begin the code points U+C540 to U+C57F, all Hangul syllables. So a
token's script is the script of its first letter when its bytes hold one, else the script
that the code points its trailing partial character could start to (:func:`prefix_script`),
when 90% or more of the letters there share one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from reportlib.text.judge import char_script

#: share of a byte prefix's letters that must share a script for the prefix to have one
PREFIX_AGREEMENT = 0.9


def _sequence_length(lead: int) -> int:
    """How many bytes the UTF-8 sequence that starts with ``lead`` has (0: not a lead)."""
    if lead < 0x80:
        return 1
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    if 0xF0 <= lead <= 0xF4:
        return 4
    return 0


@lru_cache(maxsize=4096)
def prefix_script(prefix: bytes) -> str | None:
    """The script shared by the letters whose UTF-8 encoding starts with ``prefix`` (an
    incomplete character), or ``None`` when they have no common script."""
    size = _sequence_length(prefix[0]) if prefix else 0
    if not size or len(prefix) >= size:
        return None
    low = prefix + b"\x80" * (size - len(prefix))
    high = prefix + b"\xbf" * (size - len(prefix))
    try:
        first, last = ord(low.decode("utf-8")), ord(high.decode("utf-8"))
    except UnicodeDecodeError:  # e.g. 0xE0 0x80: no valid code point starts so
        return None
    scripts: Counter[str] = Counter()
    for point in range(first, last + 1):
        script = char_script(chr(point))
        if script is not None:
            scripts[script] += 1
    if not scripts:
        return None
    script, count = scripts.most_common(1)[0]
    return script if count >= PREFIX_AGREEMENT * sum(scripts.values()) else None


def token_script(raw: bytes) -> str | None:
    """The script of the first letter a token's bytes write (see the module's docstring);
    ``None`` for tokens with no letter (spaces, digits, punctuation, control tokens) and for
    pieces that start inside a character."""
    i = 0
    while i < len(raw):
        size = _sequence_length(raw[i])
        if not size:
            return None  # a continuation byte: the piece starts inside a character
        if i + size > len(raw):
            return prefix_script(raw[i:])
        try:
            ch = raw[i : i + size].decode("utf-8")
        except UnicodeDecodeError:
            return None
        script = char_script(ch)
        if script is not None:
            return script
        i += size
    return None


def token_script_groups(
    token_bytes: Sequence[bytes], groups: Sequence[frozenset[str]]
) -> np.ndarray:
    """A group id per token: the index of the first of ``groups`` (sets of script names)
    that holds the token's script, or ``len(groups)`` for a token in none of them."""
    ids = np.full(len(token_bytes), len(groups), dtype=np.int64)
    for token, raw in enumerate(token_bytes):
        script = token_script(raw)
        for index, group in enumerate(groups):
            if script in group:
                ids[token] = index
                break
    return ids
