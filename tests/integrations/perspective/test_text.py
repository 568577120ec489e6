"""Text helpers of the integrations: UTF-16 offsets, HTML to text, Coral signatures,
durations. Plain functions, no store."""

import hashlib
import hmac
import time

import pytest
import typer

from service.integrations.cli import parse_duration
from service.integrations.coral.phase import coral_comment
from service.integrations.coral.schemas import ExternalModerationRequest
from service.integrations.coral.signing import MAX_SIGNATURES, sign, signature_matches
from service.integrations.perspective.attributes import known_attribute, label_for
from service.integrations.text import html_to_text, looks_like_html, plain_comment, utf16_offsets


def test_utf16_offsets_count_astral_characters_twice() -> None:
    text = "a😀é b"  # U+1F600 is two UTF-16 code units; é (U+00E9) is one
    offsets = utf16_offsets(text)
    assert offsets == [0, 1, 3, 4, 5, 6]
    # What JavaScript's String.length would say for the whole text.
    assert offsets[-1] == len(text.encode("utf-16-le")) // 2


def test_utf16_offsets_of_a_decomposed_accent_count_the_combining_mark() -> None:
    text = "cafe\u0301!"  # e + COMBINING ACUTE ACCENT: two code points, two code units
    assert utf16_offsets(text) == [0, 1, 2, 3, 4, 5, 6]


def test_html_to_text_keeps_what_a_reader_sees() -> None:
    html = "<p>Hello <b>there</b> &amp; welcome</p><script>alert(1)</script><br>bye"
    assert html_to_text(html).split() == ["Hello", "there", "&", "welcome", "bye"]


def test_html_to_text_is_linear_on_hostile_markup() -> None:
    # Many unclosed tags and attribute openings: a backtracking parser would blow up.
    size = 50_000
    hostile = "<a " * size + '="' * size
    plain = "word " * (len(hostile) // 5)

    def cost(text: str) -> float:
        started = time.perf_counter()
        html_to_text(text)
        return time.perf_counter() - started

    cost(plain)
    assert cost(hostile) < 20 * cost(plain) + 0.05


# About the longest body a Coral call can carry (requests are up to 64 KiB): what the Coral
# handler reads on the event loop before anything else happens. The first three made the old
# tag pattern ("<\s*/?\s*...") backtrack quadratically: 0.3 s at 8,000 characters, 38 s at
# this size.
CORAL_BODY_CHARS = 60_000
ADVERSARIAL_CORAL_BODIES = {
    "lt, spaces": "<" + " " * CORAL_BODY_CHARS,
    "lt, spaces, slash, spaces": "<" + " " * 30_000 + "/" + " " * 30_000,
    "lt, tabs and newlines": "<" + "\t\n " * 20_000,
    "a lt and spaces, repeated": ("<" + " " * 99 + "1") * 600,
    "lt slash, spaces, never a name": ("</" + " " * 98 + ">") * 600,
    "an open tag never closed": "<a" + " x" * 30_000,
    "open tags, repeated": "<a " * 20_000,
    "closed tags, repeated": "<a>" * 20_000,
    "lt slash, repeated": "</" * 30_000,
    "comments never closed": "<!--" * 15_000,
    "a script never closed": "<script>" + "</scrip" * 9_000,
}


def _best_coral_time(body: str, *, rounds: int = 5) -> float:
    request = ExternalModerationRequest.model_validate(
        {"action": "NEW", "comment": {"body": body}, "author": {"id": "a"}, "story": {"id": "s"}}
    )
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        coral_comment(request)
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize("shape", ADVERSARIAL_CORAL_BODIES)
def test_a_coral_body_is_read_in_linear_time(shape: str) -> None:
    """An adversarial Coral body costs about what a plain one of the same length costs,
    measured side by side in this run (a ratio, not a wall-clock limit: the machine is
    shared)."""
    adversarial = ADVERSARIAL_CORAL_BODIES[shape][:CORAL_BODY_CHARS]
    plain = ("Thanks for the careful reporting on the harbour. " * 1300)[: len(adversarial)]
    ratio = _best_coral_time(adversarial) / _best_coral_time(plain)
    assert ratio < 25, f"{shape}: {ratio:.1f}x a plain body of {len(plain)} characters"


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("<b>bold</b>", True),
        ("</p>", True),
        ("<!-- hidden -->", True),
        ("if x<y and y>z", True),
        ("I <3 this", False),
        ("a < b and c > d", False),
        ("< b>not a tag for a browser</ b>", True),  # "</ b>" is read (and dropped) as one
        ("< b>not a tag for a browser", False),
    ],
)
def test_what_looks_like_html(text: str, html: bool) -> None:
    assert looks_like_html(text) is html


def test_plain_comment_drops_control_characters_but_keeps_newlines() -> None:
    assert plain_comment(" a\x00b\nc\x07 ") == "ab\nc"


def test_a_signature_from_any_live_secret_is_enough() -> None:
    body = b'{\n  "action": "NEW"\n}'
    old, new = "ssec_old-secret-0123456789", "ssec_new-secret-0123456789"
    header = sign(body, [old, new])
    assert header.count("sha256=") == 2
    assert signature_matches(body, header, [new])
    assert signature_matches(body, header, [old])
    assert not signature_matches(body, header, ["ssec_other-secret-012345"])
    assert not signature_matches(body + b" ", header, [old, new])
    expected = hmac.new(new.encode(), body, hashlib.sha256).hexdigest()
    assert signature_matches(body, f"sha256={expected}", [new])
    assert not signature_matches(body, expected, [new])  # no scheme: not a signature
    assert not signature_matches(body, None, [new])
    assert not signature_matches(body, header, [])


def test_a_header_with_too_many_signatures_is_refused_whole() -> None:
    body = b"{}"
    secret = "ssec_secret-0123456789abc"
    good = sign(body, [secret])
    assert signature_matches(body, ",".join([good] * MAX_SIGNATURES), [secret])
    assert not signature_matches(body, ",".join([good] * (MAX_SIGNATURES + 1)), [secret])


def test_durations() -> None:
    assert parse_duration("0").total_seconds() == 0
    assert parse_duration("90s").total_seconds() == 90
    assert parse_duration("10m").total_seconds() == 600
    assert parse_duration("24h").total_seconds() == 86400
    for bad in ("", "1h30m", "-5m", "10 minutes", "31d"):
        with pytest.raises(typer.BadParameter):
            parse_duration(bad)


def test_attribute_names_map_to_the_labels_the_model_has() -> None:
    assert known_attribute("TOXICITY_EXPERIMENTAL") == "TOXICITY"
    assert known_attribute("SEXUALLY_EXPLICIT") is None
    old = ("toxicity", "hate", "insult", "profanity")
    new = ("toxicity", "severe_toxicity", "identity_attack", "insult", "profanity", "threat")
    assert label_for("IDENTITY_ATTACK", old) == "hate"
    assert label_for("IDENTITY_ATTACK", new) == "identity_attack"
    assert label_for("THREAT", old) is None
    assert label_for("THREAT", new) == "threat"
