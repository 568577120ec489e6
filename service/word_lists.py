"""A site's always-hold and always-reject words and phrases, matched in time linear in the text.

Words are compared as a filter should see them: case- and accent-folded, leetspeak undone
("1d10t", "$hit"), spaced letters joined ("i d i o t"), and a stretched word ("idiooot")
equal to a listed one once runs of a letter are squeezed; never inside other words
("Scunthorpe"), and a word that is merely spelt with a double letter is not stretched
("good" is not "god").

A list is compiled once per distinct list (cached), not per comment:
- single words go into two dictionaries: as written, and squeezed (consulted only for a
  stretched word);
- phrases go into one Aho-Corasick automaton (pyahocorasick) over the squeezed words, so the
  text is scanned once whatever the number of entries. Squeezing can only join what differs
  in double letters, so each hit of the automaton is then checked word by word against the
  phrases that squeeze alike (a bit mask per word position: one dictionary look-up and one
  AND per word).

Work per comment: one pass to read the words, one automaton scan, and per word at most one
check per listed phrase length ending there (each at most as long as the phrase), so it is
bounded by the text's length times a constant set by the longest entry (100 characters),
never by the number of entries.
"""

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import ahocorasick

# Characters readers substitute for letters to slip past a filter ("1d10t", "$hit", "@ss").
_LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "!": "i",
        "|": "i",
        "3": "e",
        "4": "a",
        "@": "a",
        "5": "s",
        "$": "s",
        "7": "t",
        "+": "t",
        "8": "b",
        "9": "g",
    }
)
# A symbol counts as a letter only when a letter follows it ("$hit", "sh!t"), so that the
# "!" closing "idiot!" stays punctuation.
_LEET_DIGITS = str.maketrans(
    {k: v for k, v in _LEET.items() if isinstance(k, int) and chr(k).isdigit()}
)
_SYMBOL_AS_LETTER = re.compile(r"[!|@$+](?=[^\W_])")
_WORD = re.compile(r"[^\W_]+")
_RUNS = re.compile(r"(.)\1+")
_LONG_RUN = re.compile(r"(.)\1\1")


def _fold(text: str) -> str:
    # NFKD then drop combining marks: "ìdìöt" and full-width letters match "idiot".
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words_of(text: str) -> list[str]:
    """Words of the text as a filter sees them: folded, leetspeak undone, spaced letters joined
    ("i d i o t" and "i.d.i.o.t" become "idiot")."""
    folded = _SYMBOL_AS_LETTER.sub(lambda m: m.group().translate(_LEET), _fold(text))
    words: list[str] = []
    singles: list[str] = []

    def flush() -> None:
        if len(singles) >= 3:
            words.append("".join(singles))
        else:
            words.extend(singles)
        singles.clear()

    for token in _WORD.findall(folded.translate(_LEET_DIGITS)):
        if len(token) == 1:
            singles.append(token)
        else:
            flush()
            words.append(token)
    flush()
    return words


def _squeeze(word: str) -> str:
    return _RUNS.sub(r"\1", word)


def normalise_words(words: Sequence[str]) -> tuple[str, ...]:
    """A word list as stored: trimmed, folded, no blanks or duplicates, order kept."""
    seen: dict[str, None] = {}
    for word in words:
        cleaned = " ".join(word.split())
        if cleaned:
            seen.setdefault(cleaned.casefold(), None)
    return tuple(seen)


class WrittenText:
    """A comment read once for every list it is checked against."""

    __slots__ = ("scan_text", "squeezed", "stretched", "word_ending_at", "words")

    def __init__(self, text: str) -> None:
        self.words = words_of(text)
        self.squeezed = [_squeeze(word) for word in self.words]
        self.stretched = [_LONG_RUN.search(word) is not None for word in self.words]
        # " w0 w1 w2 ": a phrase pattern " a b " can then only match whole words.
        self.scan_text = " " + " ".join(self.squeezed) + " "
        self.word_ending_at: dict[int, int] = {}
        at = 0
        for index, word in enumerate(self.squeezed):
            at += len(word) + 1
            self.word_ending_at[at] = index


@dataclass
class _PhraseGroup:
    """The listed phrases that squeeze to the same words, in list order."""

    length: int
    indexes: list[int]  # list position of each phrase; bit i of a mask is phrase i here
    columns: list[dict[str, int]]  # per word position: word as listed -> mask of phrases
    all_phrases: int


class WordList:
    """One compiled list; first_in() answers the first listed entry the text holds."""

    def __init__(self, entries: Sequence[str]) -> None:
        self.entries = tuple(entries)
        self._single: dict[str, int] = {}
        self._single_squeezed: dict[str, int] = {}
        grouped: dict[tuple[str, ...], list[tuple[int, list[str]]]] = {}
        for index, entry in enumerate(self.entries):
            listed = words_of(entry)
            if len(listed) == 1:
                self._single.setdefault(listed[0], index)
                self._single_squeezed.setdefault(_squeeze(listed[0]), index)
            elif listed:
                key = tuple(_squeeze(word) for word in listed)
                grouped.setdefault(key, []).append((index, listed))
        self._groups: list[_PhraseGroup] = []
        self._automaton: ahocorasick.Automaton | None = None
        if grouped:
            automaton = ahocorasick.Automaton()
            for key, phrases in grouped.items():
                columns: list[dict[str, int]] = [{} for _ in key]
                for bit, (_, listed) in enumerate(phrases):
                    for position, word in enumerate(listed):
                        columns[position][word] = columns[position].get(word, 0) | (1 << bit)
                group = _PhraseGroup(
                    length=len(key),
                    indexes=[index for index, _ in phrases],
                    columns=columns,
                    all_phrases=(1 << len(phrases)) - 1,
                )
                automaton.add_word(" " + " ".join(key) + " ", len(self._groups))
                self._groups.append(group)
            automaton.make_automaton()
            self._automaton = automaton

    def first_in(self, written: WrittenText) -> str | None:
        """The first entry (in list order) that occurs in the text as whole words, or None."""
        best = len(self.entries)
        if self._single:
            for word, squeezed, stretched in zip(
                written.words, written.squeezed, written.stretched, strict=True
            ):
                found = self._single_squeezed.get(squeezed) if stretched else self._single.get(word)
                if found is not None and found < best:
                    best = found
                    if best == 0:
                        return self.entries[0]
        if self._automaton is not None and written.words:
            best = min(best, self._first_phrase(written, best))
        return self.entries[best] if best < len(self.entries) else None

    def _first_phrase(self, written: WrittenText, best: int) -> int:
        words, stretched = written.words, written.stretched
        for end, group_number in self._automaton.iter(written.scan_text):  # type: ignore[union-attr]
            group = self._groups[group_number]
            if group.indexes[0] >= best:
                continue
            start = written.word_ending_at[end] - group.length + 1
            mask = group.all_phrases
            for position, column in enumerate(group.columns):
                # A stretched word matches every phrase of the group at its place (they all
                # squeeze alike); any other word must be the listed one.
                if not stretched[start + position]:
                    mask &= column.get(words[start + position], 0)
                    if not mask:
                        break
            if mask:
                found = group.indexes[(mask & -mask).bit_length() - 1]
                if found < best:
                    best = found
                    if best == 0:
                        break
        return best


@lru_cache(maxsize=256)
def compile_word_list(entries: tuple[str, ...]) -> WordList:
    """The compiled list, built once per distinct list (a site's policy is rebuilt for every
    scoring round; its lists are not)."""
    return WordList(entries)


def find_listed_word(text: str, words: Sequence[str]) -> str | None:
    """The first listed word or phrase that occurs in text as whole words, or None."""
    if not words:
        return None
    return compile_word_list(tuple(words)).first_in(WrittenText(text))
