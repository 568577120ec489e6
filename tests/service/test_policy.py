import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.policy import Policy, decide
from service.tables import CommentStatus

POLICY = Policy(approve_below=0.5, reject_at=0.9)
score = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def test_low_scores_approve() -> None:
    assert decide({"toxicity": 0.1, "hate": 0.2}, POLICY).status == CommentStatus.APPROVED


def test_high_toxicity_rejects_and_says_why() -> None:
    decision = decide({"toxicity": 0.95, "hate": 0.1}, POLICY)
    assert decision.status == CommentStatus.REJECTED
    assert "toxicity 0.95" in decision.reason


def test_a_high_secondary_score_holds_even_with_low_toxicity() -> None:
    decision = decide({"toxicity": 0.2, "hate": 0.7}, POLICY)
    assert decision.status == CommentStatus.HELD
    assert decision.reason.startswith("hate 0.70")


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError):
        Policy(approve_below=0.9, reject_at=0.5)


@given(toxicity=score, hate=score)
def test_decision_matches_thresholds(toxicity: float, hate: float) -> None:
    status = decide({"toxicity": toxicity, "hate": hate}, POLICY).status
    if toxicity >= POLICY.reject_at:
        assert status == CommentStatus.REJECTED
    elif max(toxicity, hate) < POLICY.approve_below:
        assert status == CommentStatus.APPROVED
    else:
        assert status == CommentStatus.HELD


@given(low=score, high=score, toxicity=score)
def test_stricter_reject_threshold_never_rejects_more(
    low: float, high: float, toxicity: float
) -> None:
    lenient = Policy(approve_below=0.0, reject_at=max(low, high))
    strict = Policy(approve_below=0.0, reject_at=min(low, high))
    if decide({"toxicity": toxicity}, lenient).status == CommentStatus.REJECTED:
        assert decide({"toxicity": toxicity}, strict).status == CommentStatus.REJECTED
