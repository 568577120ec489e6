"""Modes, per-score thresholds and leetspeak-aware word lists (no database needed)."""

import hashlib
import hmac
import time

import pytest

from service.moderation.webhooks import sign, verify
from service.policy import LabelThreshold, Mode, Policy, decide, margin
from service.tables import CommentStatus
from service.word_lists import find_listed_word

POST = Policy(approve_below=0.5, reject_at=0.9)
PRE = Policy(approve_below=0.5, reject_at=0.9, mode=Mode.PRE)


@pytest.mark.parametrize(
    "text",
    ["you 1d10t!", "I D I O T", "i.d.i.o.t", "idiooot", "ÏDÌOT", "what an idiot."],
)
def test_disguised_words_match(text: str) -> None:
    assert find_listed_word(text, ["idiot"]) == "idiot"


@pytest.mark.parametrize("text", ["good news", "idiotic? no", "Scunthorpe United", "iddiot"])
def test_innocent_words_do_not_match(text: str) -> None:
    assert find_listed_word(text, ["god", "idiot", "cunt"]) is None


def test_symbols_count_as_letters_only_inside_words() -> None:
    assert find_listed_word("$hit happens", ["shit"]) == "shit"
    assert find_listed_word("sh!t", ["shit"]) == "shit"
    assert find_listed_word("hello!", ["helloi"]) is None


def test_phrases_match_across_spacing_and_case() -> None:
    assert find_listed_word("You Stupid   COW!", ["stupid cow"]) == "stupid cow"


def test_reject_words_win_over_hold_words_and_scores() -> None:
    policy = Policy(0.5, 0.9, hold_words=("ferry",), reject_words=("scam",))
    low = {"toxicity": 0.01}
    assert decide(low, policy.for_text("ferry scam")).status == CommentStatus.REJECTED
    held = decide(low, policy.for_text("the ferry"))
    assert held.status == CommentStatus.HELD and "always-hold word 'ferry'" in held.reason
    assert decide(low, policy.for_text("the boat")).status == CommentStatus.APPROVED


def test_pre_moderation_holds_what_post_moderation_rejects() -> None:
    abusive = {"toxicity": 0.97, "hate": 0.1}
    assert decide(abusive, POST).status == CommentStatus.REJECTED
    assert decide(abusive, PRE).status == CommentStatus.HELD
    assert decide({"toxicity": 0.1}, PRE).status == CommentStatus.APPROVED


def test_per_score_thresholds() -> None:
    policy = Policy(0.5, 0.9, labels={"hate": LabelThreshold(approve_below=0.2, reject_at=0.6)})
    assert decide({"toxicity": 0.1, "hate": 0.3}, policy).status == CommentStatus.HELD
    rejected = decide({"toxicity": 0.1, "hate": 0.65}, policy)
    assert rejected.status == CommentStatus.REJECTED and rejected.reason.startswith("hate 0.65")
    # Without an override only toxicity rejects; hate alone sends it to a human.
    assert decide({"toxicity": 0.1, "hate": 0.95}, POST).status == CommentStatus.HELD


def test_margin_is_smallest_near_a_threshold() -> None:
    assert margin({"toxicity": 0.51}, POST) < margin({"toxicity": 0.7}, POST)


def test_webhook_signatures_verify_and_expire() -> None:
    body = b'{"event":"comment.decided"}'
    now = int(time.time())
    header = sign("whsec_x", now, body)
    assert verify("whsec_x", header, body)
    assert not verify("whsec_y", header, body)
    assert not verify("whsec_x", header, body + b" ")
    assert not verify("whsec_x", sign("whsec_x", now - 3600, body), body)


def test_a_site_may_hold_comments_that_look_like_html() -> None:
    low = {"toxicity": 0.01}
    holding = Policy(0.5, 0.9, hold_markup=True)
    held = decide(low, holding.for_text("see <b>this</b>"))
    assert held.status == CommentStatus.HELD and "markup" in held.reason
    assert decide(low, holding.for_text("I <3 this")).status == CommentStatus.APPROVED
    assert decide(low, POST.for_text("see <b>this</b>")).status == CommentStatus.APPROVED


def test_the_signature_is_the_documented_hmac_over_timestamp_and_body() -> None:
    """Computed here from the README's words, not with the project's own sign(): HMAC-SHA256
    of "<t>.<raw body>" with the secret, hex, in "t=<unix>,v1=<hex>"."""
    body = b'{"event":"comment.decided","comment":{"id":"c1"}}'
    now = int(time.time())
    header = sign("whsec_test", now, body)
    fields = dict(part.split("=", 1) for part in header.split(","))
    assert fields["t"] == str(now)
    expected = hmac.new(b"whsec_test", f"{now}.".encode() + body, hashlib.sha256).hexdigest()
    assert fields["v1"] == expected
    # The timestamp is signed too: the same body at another time has another signature.
    assert sign("whsec_test", now + 1, body) != header
