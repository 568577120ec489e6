"""Text as Perspective clients and Coral send it: HTML to text, UTF-16 offsets."""

import re
import unicodedata
from html import unescape

# Tags whose content is not text a reader sees.
_HIDDEN = ("script", "style", "template", "title")
# Tags that separate words when rendered ("a<br>b" is two words, "a<b>b</b>" one).
_BREAKS = frozenset(
    [
        "br",
        "p",
        "div",
        "li",
        "tr",
        "td",
        "th",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "hr",
        "ul",
        "ol",
        "table",
        "section",
        "article",
    ]
)
# A real tag, not a lone "<" ("I <3 this"): "<" then a letter, "/", "!" or "?" at once, as
# html_to_text reads a tag's start (a browser reads "< b>" as text too). Linear: nothing
# before "[^<>]*" can match a character two ways, and "[^<>]*" stops at the next "<", so each
# "<" is scanned up to the next one at most. (The pattern before, "<\s*/?\s*...", split a
# run of spaces every possible way: 0.3 s for "<" and 8,000 spaces, on the event loop.)
_TAG = re.compile(r"<[a-zA-Z/!?][^<>]*>")
# Only ever matched inside one tag (bounded by its ">"), which the caller then steps over.
_TAG_NAME = re.compile(r"/?\s*([a-zA-Z][a-zA-Z0-9]*)")


def html_to_text(html: str) -> str:
    """The text a reader sees in an HTML fragment: tags and comments dropped, the content of
    script and style dropped, entities decoded.

    One pass, each search starting where the last one ended, so the cost is linear in the
    input whatever it holds. (The standard library's html.parser is quadratic on unclosed
    tags: 8,000 "<a " took it 5 s.)"""
    parts: list[str] = []
    position, size = 0, len(html)
    while position < size:
        opening = html.find("<", position)
        if opening < 0:
            parts.append(html[position:])
            break
        parts.append(html[position:opening])
        following = html[opening + 1 : opening + 2]
        if not (following.isalpha() or following in ("/", "!", "?")):
            parts.append("<")  # a lone "<" is text
            position = opening + 1
            continue
        if html.startswith("<!--", opening):
            ending = html.find("-->", opening + 4)
            position = size if ending < 0 else ending + 3
            continue
        closing = html.find(">", opening + 1)
        if closing < 0:
            # No ">" anywhere after this: nothing further is a tag.
            parts.append(html[opening:])
            break
        name_match = _TAG_NAME.match(html, opening + 1, closing)
        name = name_match.group(1).lower() if name_match else ""
        position = closing + 1
        if name in _BREAKS:
            parts.append("\n")
        elif name in _HIDDEN and html[opening + 1] != "/":
            ending = _find_end(html, name, position)
            position = size if ending < 0 else ending
    return unescape("".join(parts))


def _find_end(html: str, name: str, start: int) -> int:
    """Where the closing tag of a hidden element starts, or -1 (case-insensitive)."""
    lowered_name = f"</{name}"
    index = start
    while True:
        index = html.find("</", index)
        if index < 0:
            return -1
        if html[index : index + len(lowered_name)].lower() == lowered_name:
            return index
        index += 2


def looks_like_html(text: str) -> bool:
    return _TAG.search(text) is not None


def plain_comment(text: str) -> str:
    """A comment as it is stored: NFC, control characters other than tab and newline gone
    (PostgreSQL cannot store NUL), trimmed."""
    text = unicodedata.normalize("NFC", text)
    kept = [c for c in text if c in "\t\n\r" or unicodedata.category(c) not in ("Cc", "Cs")]
    return "".join(kept).strip()


def utf16_offsets(text: str) -> list[int]:
    """For each code point offset 0..len(text), the same place in UTF-16 code units (what
    JavaScript's and Java's string indices count: a character past U+FFFF counts twice)."""
    offsets = [0] * (len(text) + 1)
    units = 0
    for index, char in enumerate(text):
        offsets[index] = units
        units += 2 if ord(char) > 0xFFFF else 1
    offsets[len(text)] = units
    return offsets
