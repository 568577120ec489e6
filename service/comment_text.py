"""What a comment's text fields may hold. Checked before anything is stored.

Every check here runs on the API's event loop for every submission, reachable by anonymous
readers through the form endpoint, so each one is a single pass over the text in C: one
character class for the forbidden characters, and a markup pattern that cannot backtrack.
"""

import re
import unicodedata

from service.errors import InvalidComment

# Bidi overrides and isolates can make a comment display differently from what was scored.
_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
# Invisible characters that split a word for the eye but not for a filter ("i\u200bdiot").
# Zero-width (non-)joiners are not here: emoji sequences and several scripts need them.
_INVISIBLE = "\u00ad\u180e\u200b\u2060-\u2064\ufeff"
# Unicode's control characters (category Cc) are exactly these two ranges; tab, newline and
# carriage return are ordinary in a comment's body, every other one is either an attack on a
# downstream parser or a corrupted client. Lone surrogates cannot be stored as UTF-8.
_CONTROLS_MULTILINE = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_CONTROLS_SINGLE_LINE = "\x00-\x1f\x7f-\x9f"
_SURROGATES = "\ud800-\udfff"
_FORBIDDEN = {
    multiline: re.compile(
        f"[{_BIDI_CONTROLS}{_INVISIBLE}{controls}{_SURROGATES}]",
    )
    for multiline, controls in ((True, _CONTROLS_MULTILINE), (False, _CONTROLS_SINGLE_LINE))
}
_BIDI = re.compile(f"[{_BIDI_CONTROLS}]")
_INVISIBLE_CHAR = re.compile(f"[{_INVISIBLE}]")
_SURROGATE = re.compile(f"[{_SURROGATES}]")
# What a browser would read as a tag: "<" then a letter, "/", "!" or "?" at once, up to a ">"
# ("<b>", "</i>", "<!--", "<?php"; not "I <3 this" nor "a < b"). Comments are plain text and
# are stored as written; this only serves a site that holds such comments for a human.
# Linear: "[^<>]*" stops at the next "<", so each "<" is scanned up to the next one at most.
_MARKUP = re.compile(r"<[/!?]?[a-zA-Z!?-][^<>]*>")


def holds_markup(text: str) -> bool:
    """Whether the text holds something a browser would take for an HTML tag."""
    return _MARKUP.search(text) is not None


def _refuse_character(char: str, field: str) -> InvalidComment:
    code = f"U+{ord(char):04X}"
    if _BIDI.match(char):
        return InvalidComment(
            "bidi_control_characters",
            f"{field} holds a bidirectional control character ({code})",
            field=field,
        )
    if _INVISIBLE_CHAR.match(char):
        return InvalidComment(
            "invisible_characters", f"{field} holds an invisible character ({code})", field=field
        )
    if _SURROGATE.match(char):
        return InvalidComment("invalid_unicode", f"{field} holds a lone surrogate", field=field)
    return InvalidComment(
        "control_characters", f"{field} holds a control character ({code})", field=field
    )


def clean_text(value: str, *, field: str, max_chars: int, multiline: bool) -> str:
    """Return the text as it will be stored (NFC, trimmed), or raise InvalidComment."""
    value = unicodedata.normalize("NFC", value).strip()
    if not value:
        raise InvalidComment("empty", f"{field} must not be empty", field=field)
    if len(value) > max_chars:
        raise InvalidComment(
            "too_long", f"{field} is {len(value)} characters; the limit is {max_chars}", field=field
        )
    forbidden = _FORBIDDEN[multiline].search(value)
    if forbidden:
        raise _refuse_character(forbidden.group(), field)
    # Text that looks like markup ("if x<y and y>z", "the <i> tag") is kept as written: every
    # page, script and webhook shows it as text (escaped), never as HTML.
    return value


def clean_identifier(value: str, *, field: str, max_chars: int) -> str:
    """Article ids and idempotency keys: printable, single-line, bounded."""
    value = value.strip()
    if not value:
        raise InvalidComment("empty", f"{field} must not be empty", field=field)
    if len(value) > max_chars:
        raise InvalidComment(
            "too_long", f"{field} is {len(value)} characters; the limit is {max_chars}", field=field
        )
    if not value.isprintable():
        raise InvalidComment(
            "invalid_characters", f"{field} must hold printable characters only", field=field
        )
    return value
