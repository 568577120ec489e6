"""Which language a comment is written in, so that a site can route what the model cannot read.

pycld2 (Google's Compact Language Detector 2, its model compiled into the wheel) was chosen over
py3langid and lingua after measuring all three here on ~70,000 English comments of the shared
data (docs/classifier.md, "Languages"): it is the fastest by far (~100,000 comments/s against
~5,000 for py3langid and ~300-1,000 for lingua), and when it calls its answer reliable it calls
English something else for 0.3 % of comments (often rightly: a Dutch tweet). It refuses to guess
on most short texts, which is what we want: "lol", "kys" or "u r a moron" are no evidence of
another language, and the model still reads them.

Rules on top of it: a Latin-script text of fewer than three words is never called foreign (a
one-word "Peanuthead" came back Scottish Gaelic); a text written mostly in another script
(Cyrillic, Arabic, CJK, ...) always gets cld2's best guess, since the model has no features
for it either way; languages too close to English to be told apart in a comment (Scots) count
as English.
"""

from __future__ import annotations

import unicodedata
from typing import NamedTuple

import pycld2

UNDETERMINED = "und"
# cld2 codes that are, in a comment, English.
_ENGLISH_LIKE = frozenset({"en", "sco"})
_MIN_LATIN_WORDS = 3


class LanguageGuess(NamedTuple):
    code: str  # ISO 639-1 (cld2's codes), or "und" when it cannot tell
    confidence: float  # 0..1


_UNKNOWN = LanguageGuess(UNDETERMINED, 0.0)


def _mostly_other_script(text: str) -> bool:
    latin = other = 0
    for char in text:
        if char.isalpha():
            if char.isascii() or "LATIN" in unicodedata.name(char, ""):
                latin += 1
            else:
                other += 1
    return other > latin


def detect_language(text: str) -> LanguageGuess:
    other_script = not text.isascii() and _mostly_other_script(text)
    try:
        reliable, _, details = pycld2.detect(text, bestEffort=other_script)
    except pycld2.error:  # invalid UTF-8 cannot reach here from str; kept for odd surrogates
        return _UNKNOWN
    _, code, percent, _ = details[0]
    if code == "un" or not (reliable or other_script):
        return _UNKNOWN
    if code in _ENGLISH_LIKE:
        return LanguageGuess("en", percent / 100)
    if not other_script and len(text.split()) < _MIN_LATIN_WORDS:
        return _UNKNOWN
    return LanguageGuess(code, percent / 100)
