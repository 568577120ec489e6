"""Text normalisation that undoes the usual evasions before features are built.

A comment is split into whitespace *chunks* of the original text (runs of spaced-out single
letters such as ``i d i o t`` are merged into one chunk). Each chunk is normalised on its own
into zero or more word tokens, so every token knows the character span of the original text it
came from; that is what lets :meth:`ToxicityModel.explain` point at the words a moderator sees.

Chunk normalisation is cached because comment vocabulary is Zipf-distributed: after a few
thousand comments almost every chunk is a cache hit, which is where the throughput comes from.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from itertools import chain

from classifiers.lexicon import REPAIR_WORDS

# Characters people substitute for letters. Digits are only translated inside tokens that also
# contain letters, so years and prices are left alone.
_LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "i",
        "+": "t",
        "€": "e",
    }
)
_LEET_CHARS = frozenset("013457@$!|+€")
_MASK_CHARS = frozenset("*#%")
_TOKEN_RE = re.compile(r"[a-z0-9@$*#%!|+€']+")
_URL_RE = re.compile(r"^(?:https?:|www\.|[a-z0-9.-]+\.(?:com|org|net|co|ly|io|gov|edu|uk)(?:/|$))")
_CAMEL_RE = re.compile(r"(?<=[a-z])(?=[A-Z])")
_REPEAT3_RE = re.compile(r"(.)\1{2,}")
_REPEAT2_RE = re.compile(r"(.)\1+")
_SPELLED_RE = re.compile(r"^(?:[a-z0-9@$*!][.\-_]){2,}[a-z0-9@$*!][.\-_]?$")
_SEPARATORS_RE = re.compile(r"[.\-_/\\,;:?\"()\[\]{}<>=~^`]+")
# A spaced-out letter, possibly followed by punctuation ("i d i o t," ends with "t,").
_SINGLE_RE = re.compile(r"^[A-Za-z0-9@$*!][.,!?;:]*$")

# Emojis that carry a meaning a moderator would read as words; every other emoji or symbol is
# treated as a separator so that decorating a comment with emojis does not change its score.
_EMOJI_WORDS = {
    "\U0001f595": " fuck ",  # middle finger
    "\U0001f92c": " fuck ",  # face with symbols on mouth
    "\U0001f4a9": " shit ",
}

_REPAIR_BY_LENGTH: dict[int, tuple[str, ...]] = {}
for _word in REPAIR_WORDS:
    _REPAIR_BY_LENGTH.setdefault(len(_word), ())
    _REPAIR_BY_LENGTH[len(_word)] += (_word,)
_REPAIR_BY_SQUEEZED = {_REPEAT2_RE.sub(r"\1", w): w for w in sorted(REPAIR_WORDS)}

URL_TOKEN = "xxurl"

# Chat abbreviations spelled out, so the model reads them as the words it learned: "kys" is
# "kill yourself" (self-harm incitement, which the training data spells out far more often
# than it abbreviates), "u r a moron" is "you are a moron".
_EXPANSIONS: dict[str, tuple[str, ...]] = {
    "kys": ("kill", "yourself"),
    "stfu": ("shut", "the", "fuck", "up"),
    "gtfo": ("get", "the", "fuck", "out"),
    "foad": ("fuck", "off", "and", "die"),
    "u": ("you",),
    "ur": ("your",),
    "r": ("are",),
    "ppl": ("people",),
}
# Spaced-out letters are joined when they spell one of these, or when there are four or more
# ("i d i o t"); three that spell nothing ("u r a") are words of their own.
_JOINABLE = REPAIR_WORDS | frozenset(_EXPANSIONS)


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _unmask(token: str) -> str:
    """Fill ``f*ck`` / ``b****`` style masks from the repair lexicon, else drop the masks."""
    stripped = token.strip("*#%")
    if stripped and not (set(stripped) & _MASK_CHARS) and len(stripped) == len(token):
        return token
    pattern = re.compile("^" + "".join("." if c in _MASK_CHARS else re.escape(c) for c in token))
    for word in _REPAIR_BY_LENGTH.get(len(token), ()):
        if pattern.match(word):
            return word
    return "".join(c for c in token if c not in _MASK_CHARS)


def _normalize_token(token: str) -> str:
    token = token.strip("'")
    if not token:
        return ""
    # Trailing "!" is punctuation, not a leet "i" ("idiot!!").
    token = token.rstrip("!")
    if not token:
        return ""
    n_alpha = sum("a" <= c <= "z" for c in token)
    has_alpha = n_alpha > 0
    if set(token) & _MASK_CHARS and has_alpha:
        token = _unmask(token.translate(_LEET) if set(token) & _LEET_CHARS else token)
    elif n_alpha >= 2 and set(token) & _LEET_CHARS:
        # ("4u", "b4" stay as they are: one letter is too little evidence of a disguised word)
        token = token.translate(_LEET)
    elif not has_alpha:
        token = "".join(c for c in token if c.isdigit())
        return token
    token = token.replace("'", "")
    if _REPEAT3_RE.search(token):
        token = _REPEAT3_RE.sub(r"\1\1", token)
    if token not in REPAIR_WORDS:
        squeezed = _REPEAT2_RE.sub(r"\1", token)
        if squeezed != token:
            token = _REPAIR_BY_SQUEEZED.get(squeezed, token)
    return token


_CHUNK_CACHE: dict[str, tuple[str, ...]] = {}
_CHUNK_CACHE_LIMIT = 100_000  # ~150 bytes each: ~15 MB at most


def clear_cache() -> None:
    _CHUNK_CACHE.clear()


def normalize_chunk(chunk: str) -> tuple[str, ...]:
    """Normalise one whitespace chunk of the original text into word tokens (cached).

    A plain dict, cleared when full, rather than ``lru_cache``: a hit is one ``dict.get``,
    with no recency bookkeeping, and comment vocabulary is stable enough not to need it.
    """
    hit = _CHUNK_CACHE.get(chunk)
    if hit is None:
        if len(_CHUNK_CACHE) >= _CHUNK_CACHE_LIMIT:
            _CHUNK_CACHE.clear()
        hit = _CHUNK_CACHE[chunk] = _expand(_normalize_chunk(chunk))
    return hit


def _expand(tokens: tuple[str, ...]) -> tuple[str, ...]:
    if not any(t in _EXPANSIONS for t in tokens):
        return tokens
    return tuple(chain.from_iterable(_EXPANSIONS.get(t, (t,)) for t in tokens))


def _normalize_chunk(chunk: str) -> tuple[str, ...]:
    # Fast path for plain words with ordinary punctuation around them ("idiot,", "(you"):
    # the general path gives exactly the same tokens (a property test checks), much slower.
    core = chunk.lstrip(_PLAIN_LEAD).rstrip(_PLAIN_TRAIL)
    if core and core.isascii() and core.replace("'", "").isalpha() and core not in _SPECIAL:
        token = _normalize_token(core.lower())
        return (token,) if token else ()
    return _normalize_general(chunk)


_PLAIN_LEAD = "\"'(["
_PLAIN_TRAIL = ".,!?;:\"')]"
_SPECIAL = frozenset({"RT", "URL"})


def _normalize_general(chunk: str) -> tuple[str, ...]:
    if chunk.startswith("@") and len(chunk) > 1:
        return ()  # @mentions identify people, not what was said about them
    if chunk == "RT" or chunk == "URL":
        return ()  # retweet marker / OLID's link placeholder: data-set artefacts
    if "&" in chunk:
        chunk = html.unescape(chunk)
    for emoji, words in _EMOJI_WORDS.items():
        if emoji in chunk:
            chunk = chunk.replace(emoji, words)
    if chunk.startswith("#") and _CAMEL_RE.search(chunk):
        # "#SendThemBack" carries its words: keep the tag as one token (campaign tags are
        # strong signals on their own) and add its words, split before the case is gone.
        return _normalize_chunk(chunk.replace("#", "")) + _normalize_chunk(
            _CAMEL_RE.sub(" ", chunk)
        )
    text = unicodedata.normalize("NFKC", chunk).lower()
    if not text.isascii():
        text = _strip_accents(text)
    if _URL_RE.match(text) or "://" in text:
        return (URL_TOKEN,)
    text = text.lstrip("#")
    if _SPELLED_RE.match(text):
        text = _SEPARATORS_RE.sub("", text)
    else:
        text = _SEPARATORS_RE.sub(" ", text)
    tokens = []
    for raw in _TOKEN_RE.findall(text):
        token = _normalize_token(raw)
        if token:
            tokens.append(token)
    return tuple(tokens)


def _merge_spaced(chunks: list[str]) -> list[tuple[int, int]]:
    """Index ranges of chunks; runs of >= 3 single characters (``i d i o t``) become one."""
    groups: list[tuple[int, int]] = []
    i, n = 0, len(chunks)
    while i < n:
        if _SINGLE_RE.match(chunks[i]):
            j = i
            while j < n and _SINGLE_RE.match(chunks[j]):
                j += 1
            if j - i >= 4 or (j - i == 3 and _spells_a_word(chunks[i:j])):
                groups.append((i, j))
            else:
                groups.extend((k, k + 1) for k in range(i, j))
            i = j
        else:
            groups.append((i, i + 1))
            i += 1
    return groups


def _spells_a_word(chunks: list[str]) -> bool:
    return any(t in _JOINABLE for t in _normalize_chunk("".join(chunks)))


_SINGLE = r"[A-Za-z0-9@$*!][.,!?;:]*"
# Three spaced-out single letters anywhere: one regex search instead of a loop over chunks.
_SINGLE_RUN_RE = re.compile(rf"(?<!\S){_SINGLE}\s+{_SINGLE}\s+{_SINGLE}(?!\S)")


def split_chunks(text: str) -> list[str]:
    """Whitespace chunks of a comment, spaced-out letters (``i d i o t``) merged into one."""
    chunks = text.split()
    if _SINGLE_RUN_RE.search(text):
        return ["".join(chunks[i:j]) for i, j in _merge_spaced(chunks)]
    return chunks


def tokenize(text: str) -> list[str]:
    """Normalised word tokens of a comment."""
    get = _CHUNK_CACHE.get
    return list(chain.from_iterable([get(c) or normalize_chunk(c) for c in split_chunks(text)]))


_CHUNK_RE = re.compile(r"\S+")


def tokenize_with_spans(text: str) -> list[tuple[str, int, int]]:
    """Like :func:`tokenize`, with the ``[start, end)`` span of the original text per token."""
    matches = list(_CHUNK_RE.finditer(text))
    chunks = [m.group() for m in matches]
    out: list[tuple[str, int, int]] = []
    for i, j in _merge_spaced(chunks):
        start, end = matches[i].start(), matches[j - 1].end()
        # Highlight the word, not the punctuation stuck to it ("idiot!!" -> "idiot").
        inner = text[start:end].lstrip(_PLAIN_LEAD).rstrip(_PLAIN_TRAIL)
        if inner:
            start += len(text[start:end]) - len(text[start:end].lstrip(_PLAIN_LEAD))
            end = start + len(inner)
        for token in normalize_chunk("".join(chunks[i:j])):
            out.append((token, start, end))
    return out


def normalize(text: str) -> str:
    """Readable normalised form of a comment, for debugging and the docs."""
    return " ".join(tokenize(text))


def normalize_many(texts: Iterable[str]) -> list[list[str]]:
    return [tokenize(t) for t in texts]
