"""Where a site's listed word or phrase is written in a comment, for the moderator's marks.

The policy (service.policy) decides on a folded, leetspeak-undone copy of the text and only
says which entry matched; here the entry is found again in the text as written, ignoring case
and accents, so the moderator sees which words held the comment. A match the policy made
through leetspeak or spaced letters ("1d10t", "i d i o t") is not marked; the reason still
names it. One pass over the folded text per entry: linear in the comment's length.
"""

import re
import unicodedata

_WORD = re.compile(r"[^\W_]+")


def _folded_with_offsets(text: str) -> tuple[str, list[int]]:
    """The text case- and accent-folded, and for each folded character the index of the
    character of `text` it came from."""
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for piece in unicodedata.normalize("NFKD", char.casefold()):
            if not unicodedata.combining(piece):
                folded.append(piece)
                origin.append(index)
    return "".join(folded), origin


def phrase_spans(text: str, phrase: str) -> list[tuple[int, int]]:
    """(start, end) in `text` of each whole-word occurrence of the phrase."""
    words = _WORD.findall(_folded_with_offsets(phrase)[0])
    if not words:
        return []
    folded, origin = _folded_with_offsets(text)
    # Whole words, any run of spaces or punctuation between them. Each word is a literal and
    # each gap a class that cannot match a word character, so nothing here backtracks.
    pattern = re.compile(
        r"(?<![^\W_])" + r"[\W_]+".join(re.escape(word) for word in words) + r"(?![^\W_])"
    )
    return [(origin[m.start()], origin[m.end() - 1] + 1) for m in pattern.finditer(folded)]
