"""Which language a comment is written in.

STAND-IN on the `perspective` branch only: the lead's issue 12 brings the real detector with
this exact name and shape; until then every text is taken to be English. Replace this file
with theirs when merging.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LanguageGuess:
    code: str  # ISO 639-1, or "und" when the text gives too little to tell
    confidence: float


def detect_language(text: str) -> LanguageGuess:
    return LanguageGuess(code="en", confidence=1.0)
