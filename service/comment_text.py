"""What a comment's text fields may hold. Checked before anything is stored."""

import re
import unicodedata

from service.errors import InvalidComment

# Tab, newline and carriage return are ordinary in a comment; every other control character
# is either an attack on a downstream parser or a corrupted client.
_ALLOWED_CONTROLS = frozenset("\t\n\r")
# Bidi overrides and isolates can make a comment display differently from what was scored.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Invisible characters that split a word for the eye but not for a filter ("i\u200bdiot").
# Zero-width (non-)joiners are not here: emoji sequences and several scripts need them.
_INVISIBLE = frozenset("\u00ad\u180e\u200b\u2060\u2061\u2062\u2063\u2064\ufeff")
# A real tag, not a lone "<" ("I <3 this", "a < b" are fine).
_MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z!?][^<>]*>")


def clean_text(value: str, *, field: str, max_chars: int, multiline: bool) -> str:
    """Return the text as it will be stored (NFC, trimmed), or raise InvalidComment."""
    value = unicodedata.normalize("NFC", value).strip()
    if not value:
        raise InvalidComment("empty", f"{field} must not be empty", field=field)
    if len(value) > max_chars:
        raise InvalidComment(
            "too_long", f"{field} is {len(value)} characters; the limit is {max_chars}", field=field
        )
    for char in value:
        if char in _BIDI_CONTROLS:
            raise InvalidComment(
                "bidi_control_characters",
                f"{field} holds a bidirectional control character (U+{ord(char):04X})",
                field=field,
            )
        if char in _INVISIBLE:
            raise InvalidComment(
                "invisible_characters",
                f"{field} holds an invisible character (U+{ord(char):04X})",
                field=field,
            )
        category = unicodedata.category(char)
        if category == "Cc" and (char not in _ALLOWED_CONTROLS or not multiline):
            raise InvalidComment(
                "control_characters",
                f"{field} holds a control character (U+{ord(char):04X})",
                field=field,
            )
        if category == "Cs":
            raise InvalidComment("invalid_unicode", f"{field} holds a lone surrogate", field=field)
    if _MARKUP.search(value):
        raise InvalidComment(
            "markup_not_allowed",
            f"{field} holds HTML markup; comments are plain text",
            field=field,
        )
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
