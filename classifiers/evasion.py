"""Disguise the abusive words of a comment the way evaders do, to measure robustness.

``moderation evaluate`` scores an evaded copy of the held-out split beside the original: a
model that only knows clean spellings loses recall there, which the per-source figures hide.
"""

from __future__ import annotations

import random
import re

from classifiers.lexicon import REPAIR_WORDS

_LEET = {"a": "@", "e": "3", "i": "1", "o": "0", "s": "$", "t": "7"}
_EMOJIS = ("\U0001f602", "\U0001f921", "\U0001f525", "\U0001f644")
_WORD_RE = re.compile(r"^(\W*)(\w+)(\W*)$")


def _leet(word: str, rng: random.Random) -> str:
    spots = [i for i, c in enumerate(word) if c.lower() in _LEET]
    if not spots:
        return word
    chosen = set(rng.sample(spots, k=max(1, len(spots) // 2)))
    return "".join(_LEET[c.lower()] if i in chosen else c for i, c in enumerate(word))


def _mask(word: str, rng: random.Random) -> str:
    inner = [i for i, c in enumerate(word) if 0 < i < len(word) - 1 and c in "aeiou"]
    if not inner:
        return word
    i = rng.choice(inner)
    return word[:i] + "*" + word[i + 1 :]


def _stretch(word: str, rng: random.Random) -> str:
    i = rng.randrange(len(word))
    return word[:i] + word[i] * rng.randint(3, 6) + word[i + 1 :]


def _space(word: str, rng: random.Random) -> str:
    return " ".join(word)


def _shout(word: str, rng: random.Random) -> str:
    return word.upper()


_TRICKS = (_leet, _mask, _stretch, _space, _shout)


def evade(text: str, rng: random.Random) -> str:
    """Apply one random disguise to every lexicon word; sprinkle emojis, a mention and a link."""
    out = []
    for chunk in text.split():
        match = _WORD_RE.match(chunk)
        if match and match.group(2).lower() in REPAIR_WORDS:
            before, word, after = match.groups()
            chunk = before + rng.choice(_TRICKS)(word, rng) + after
        out.append(chunk)
        if rng.random() < 0.05:
            out.append(rng.choice(_EMOJIS))
    if rng.random() < 0.3:
        out.insert(0, "@someone")
    if rng.random() < 0.2:
        out.append("https://example.com/p/123")
    return " ".join(out)
