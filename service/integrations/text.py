"""Text as Perspective clients and Coral send it: HTML to text, UTF-16 offsets."""

import re
import unicodedata
from html.parser import HTMLParser

# Tags whose content is not text a reader sees.
_HIDDEN = frozenset({"script", "style", "template", "head", "title"})
# Tags that separate words when rendered ("a<br>b" is two words, "a<b>b</b>" one).
_BREAKS = frozenset(
    {
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
    }
)
# A real tag, not a lone "<" ("I <3 this").
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z!?][^<>]*>")


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The text a reader sees in an HTML fragment: tags dropped, entities decoded.
    (html.parser is a linear tokenizer, so hostile markup costs no more than its length.)"""
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


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
