import contextlib
import time
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.comment_text import clean_identifier, clean_text, holds_markup
from service.errors import InvalidComment


def clean_body(value: str) -> str:
    return clean_text(value, field="body", max_chars=50, multiline=True)


def code_of(value: str) -> str:
    with pytest.raises(InvalidComment) as caught:
        clean_body(value)
    return caught.value.code


def test_keeps_ordinary_text_and_trims() -> None:
    assert (
        clean_body("  I <3 this, and 2 < 3.\nSecond line.  ")
        == "I <3 this, and 2 < 3.\nSecond line."
    )


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("x" * 51, "too_long"),
        ("nul\x00byte", "control_characters"),
        ("bell\x07", "control_characters"),
        ("evil\u202eexe.txt", "bidi_control_characters"),
        ("lone \ud800 surrogate", "invalid_unicode"),
        ("i\u200bdiot", "invisible_characters"),
        ("\ufeffhidden", "invisible_characters"),
    ],
)
def test_refuses_with_a_reason(value: str, code: str) -> None:
    assert code_of(value) == code


def test_emoji_sequences_and_joining_scripts_are_kept() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # joined by zero-width joiners
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # needs a non-joiner
    assert clean_body(f"{family} {persian}") == f"{family} {persian}"


def test_single_line_fields_refuse_newlines() -> None:
    with pytest.raises(InvalidComment) as caught:
        clean_text("Ann\nSmith", field="author_name", max_chars=50, multiline=False)
    assert caught.value.code == "control_characters"


def test_identifier_must_be_printable() -> None:
    with pytest.raises(InvalidComment):
        clean_identifier("a\tb", field="article_id", max_chars=10)
    assert clean_identifier(" a-1 ", field="article_id", max_chars=10) == "a-1"


@given(st.text(max_size=80))
def test_accepted_text_is_bounded_trimmed_and_free_of_controls(value: str) -> None:
    try:
        cleaned = clean_body(value)
    except InvalidComment as error:
        assert error.code in {
            "empty",
            "too_long",
            "control_characters",
            "bidi_control_characters",
            "invalid_unicode",
            "invisible_characters",
        }
        return
    assert 0 < len(cleaned) <= 50
    assert cleaned == cleaned.strip()
    assert all(c in "\t\n\r" or unicodedata.category(c) != "Cc" for c in cleaned)


def _best_time(value: str, *, rounds: int = 7, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(repeat):
            with contextlib.suppress(InvalidComment):
                clean_text(value, field="body", max_chars=5000, multiline=True)
        best = min(best, time.perf_counter() - started)
    return best


# Shapes that made the old markup pattern backtrack (its "<\s*/?\s*" split a run of spaces
# every possible way: ~0.3 s for the first one), and neighbours of them.
ADVERSARIAL_BODIES = {
    "lt, spaces, digit": "<" + " " * 4997 + "1",
    "lt, spaces, slash, spaces, digit": "<" + " " * 2498 + "/" + " " * 2498 + "1",
    "lt, tabs and newlines": "<" + "\t\n " * 1666,
    "a lt and spaces, repeated": ("<" + " " * 99 + "1") * 50,
    "an open tag never closed": "<a" + " x" * 2499,
    "open tags, repeated": "<a " * 1666,
    "lt slash, repeated": "</" * 2500,
}


@pytest.mark.parametrize("shape", ADVERSARIAL_BODIES)
def test_text_rules_take_linear_time_on_adversarial_bodies(shape: str) -> None:
    """An adversarial body costs about what a plain one of the same length costs, measured
    side by side in this run (a ratio, not a wall-clock limit: the machine is shared)."""
    adversarial = ADVERSARIAL_BODIES[shape][:5000]
    plain = ("Thanks for the careful reporting on the harbour. " * 120)[: len(adversarial)]
    ratio = _best_time(adversarial) / _best_time(plain)
    assert ratio < 25, f"{shape}: {ratio:.0f}x a plain body of {len(plain)} characters"


@pytest.mark.parametrize(
    "text",
    [
        "if x<y and y>z then x<z",
        "The <i> tag is broken on your site",
        "<script>alert(1)</script>",
        "I <3 this, and 2 < 3 > 1.",
    ],
)
def test_text_that_looks_like_markup_is_kept_as_written(text: str) -> None:
    """Comments are plain text: accepted and stored as written, escaped wherever shown."""
    assert clean_body(text) == text


@pytest.mark.parametrize(
    ("text", "markup"),
    [
        ("<b>bold</b>", True),
        ("The <i> tag is broken", True),
        ("<!-- hidden -->", True),
        ("if x<y and y>z", True),
        ("I <3 this", False),
        ("a < b and c > d", False),
        ("2<3", False),
    ],
)
def test_what_counts_as_markup_for_sites_that_hold_it(text: str, markup: bool) -> None:
    assert holds_markup(text) is markup


def test_markup_detection_takes_linear_time() -> None:
    adversarial = ("<a" + " " * 98) * 50
    plain = ("Thanks for the careful reporting on the harbour. " * 120)[: len(adversarial)]

    def best(text: str) -> float:
        timings = []
        for _ in range(7):
            started = time.perf_counter()
            for _ in range(5):
                holds_markup(text)
            timings.append(time.perf_counter() - started)
        return min(timings)

    assert best(adversarial) / best(plain) < 25
