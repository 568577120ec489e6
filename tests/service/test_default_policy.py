"""The default policy of a new site, language routing, and the old "hate" name."""

import pytest

from service.policy import (
    ATTRIBUTES,
    DEFAULT_THRESHOLDS,
    LanguageAction,
    Policy,
    Reading,
    canonical_scores,
    decide,
    default_policy,
    scores_with_aliases,
)
from service.tables import CommentStatus

DEFAULT = default_policy(approve_below=0.5, reject_at=0.9)
CIVIL = dict.fromkeys(ATTRIBUTES, 0.05)
ENGLISH = Reading(language="en", known_words=5, words=5)


def scored(**high: float) -> dict[str, float]:
    return CIVIL | high


def test_the_attribute_names_match_the_classifier() -> None:
    from classifiers import LABELS

    assert ATTRIBUTES == LABELS
    assert set(DEFAULT_THRESHOLDS) == set(ATTRIBUTES)


@pytest.mark.parametrize("attribute", ["severe_toxicity", "threat", "identity_attack"])
def test_only_the_severe_signals_reject(attribute: str) -> None:
    reject_at = DEFAULT_THRESHOLDS[attribute].reject_at
    assert reject_at is not None
    decision = decide(scored(**{attribute: reject_at}), DEFAULT, ENGLISH)
    assert decision.status == CommentStatus.REJECTED
    assert decision.reason.startswith(attribute)


@pytest.mark.parametrize("attribute", ["toxicity", "insult", "profanity"])
def test_toxicity_insult_and_profanity_never_reject_by_default(attribute: str) -> None:
    decision = decide(scored(**{attribute: 1.0}), DEFAULT, ENGLISH)
    assert decision.status == CommentStatus.HELD, decision


def test_mild_profanity_alone_is_published() -> None:
    limit = DEFAULT_THRESHOLDS["profanity"].approve_below
    assert decide(scored(profanity=limit - 0.01), DEFAULT, ENGLISH).status == (
        CommentStatus.APPROVED
    )


def test_a_site_may_choose_to_reject_profanity() -> None:
    from service.policy import LabelThreshold

    strict = Policy(0.5, 0.9, labels={"profanity": LabelThreshold(0.3, 0.6)})
    assert decide(scored(profanity=0.7), strict, ENGLISH).status == CommentStatus.REJECTED


def test_existing_sites_keep_their_stored_policy() -> None:
    # A site stored before per-score defaults: toxicity rejects, everything else holds.
    stored = Policy(approve_below=0.5, reject_at=0.9)
    assert decide(scored(toxicity=0.95), stored, ENGLISH).status == CommentStatus.REJECTED
    assert decide(scored(threat=0.99), stored, ENGLISH).status == CommentStatus.HELD


def test_another_language_is_held_with_a_reason_a_moderator_reads() -> None:
    decision = decide(CIVIL, DEFAULT, Reading("ru", 0, 3))
    assert decision.status == CommentStatus.HELD
    assert decision.reason == "written in ru; the model reads en"


@pytest.mark.parametrize(
    ("action", "status"),
    [
        (LanguageAction.PUBLISH, CommentStatus.APPROVED),
        (LanguageAction.REJECT, CommentStatus.REJECTED),
        (LanguageAction.HOLD, CommentStatus.HELD),
    ],
)
def test_a_site_chooses_what_other_languages_get(
    action: LanguageAction, status: CommentStatus
) -> None:
    policy = Policy(0.5, 0.9, other_languages=action)
    assert decide(CIVIL, policy, Reading("de", 4, 4)).status == status


def test_a_site_may_trust_the_model_for_more_languages() -> None:
    policy = Policy(0.5, 0.9, languages=("en", "de"))
    assert decide(CIVIL, policy, Reading("de", 4, 4)).status == CommentStatus.APPROVED
    held = decide(CIVIL, policy, Reading("fr", 4, 4))
    assert held.reason == "written in fr; the model reads en, de"


def test_an_undetermined_language_is_read_by_the_model() -> None:
    assert decide(CIVIL, DEFAULT, Reading("und", 2, 2)).status == CommentStatus.APPROVED


def test_a_comment_with_no_word_the_model_knows_is_never_published() -> None:
    decision = decide(CIVIL, DEFAULT, Reading("und", known_words=0, words=3))
    assert decision.status == CommentStatus.HELD
    assert "no word the model knows" in decision.reason


def test_word_lists_still_win_over_language() -> None:
    policy = Policy(0.5, 0.9, reject_words=("scam",)).for_text("großer scam hier")
    assert decide(CIVIL, policy, Reading("de", 0, 3)).status == CommentStatus.REJECTED


def test_hate_is_read_as_identity_attack() -> None:
    from service.policy import LabelThreshold

    old = Policy(0.5, 0.9, labels={"hate": LabelThreshold(0.2, 0.6)})
    assert "identity_attack" in old.labels
    assert decide(scored(identity_attack=0.65), old).status == CommentStatus.REJECTED
    assert canonical_scores({"hate": 0.3, "toxicity": 0.1}) == {
        "identity_attack": 0.3,
        "toxicity": 0.1,
    }
    out = scores_with_aliases({"identity_attack": 0.4})
    assert out == {"identity_attack": 0.4, "hate": 0.4}
