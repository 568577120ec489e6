"""The per-site policy that turns classifier scores into a decision."""

from collections.abc import Mapping
from dataclasses import dataclass

from service.models import CommentStatus

PRIMARY_SCORE = "toxicity"


@dataclass(frozen=True)
class Policy:
    approve_below: float
    reject_at: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.approve_below <= self.reject_at <= 1.0:
            raise ValueError("thresholds must satisfy 0 <= approve_below <= reject_at <= 1")


@dataclass(frozen=True)
class Decision:
    status: CommentStatus
    reason: str


def decide(scores: Mapping[str, float], policy: Policy) -> Decision:
    """Reject on a clear toxicity score, approve only when every score is low, else hold.

    Every label counts toward holding: a comment low on toxicity but high on, say, hate is
    exactly the case a human should look at.
    """
    toxicity = scores[PRIMARY_SCORE]
    if toxicity >= policy.reject_at:
        return Decision(
            CommentStatus.REJECTED,
            f"{PRIMARY_SCORE} {toxicity:.2f} >= reject threshold {policy.reject_at:.2f}",
        )
    label, highest = max(scores.items(), key=lambda item: item[1])
    if highest < policy.approve_below:
        return Decision(
            CommentStatus.APPROVED,
            f"all scores < approve threshold {policy.approve_below:.2f}",
        )
    return Decision(
        CommentStatus.HELD,
        f"{label} {highest:.2f} between approve {policy.approve_below:.2f} "
        f"and reject {policy.reject_at:.2f} thresholds",
    )
