"""The per-site policy that turns classifier scores (and word lists) into a decision."""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property, lru_cache
from typing import NamedTuple

from service.comment_text import holds_markup
from service.tables import CommentStatus
from service.word_lists import WrittenText, compile_word_list

PRIMARY_SCORE = "toxicity"


class Mode(StrEnum):
    # Publish what scores low, hold the uncertain, reject the clearly abusive.
    POST = "post"
    # Hold everything not clearly fine: nothing is rejected on scores alone, a human sees it.
    PRE = "pre"


@dataclass(frozen=True)
class LabelThreshold:
    """One score's thresholds; reject_at None means this score alone never rejects."""

    approve_below: float
    reject_at: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.approve_below <= 1.0:
            raise ValueError("approve_below must be between 0 and 1")
        if self.reject_at is not None and not self.approve_below <= self.reject_at <= 1.0:
            raise ValueError("thresholds must satisfy 0 <= approve_below <= reject_at <= 1")


@dataclass(frozen=True)
class WordHit:
    word: str
    status: CommentStatus  # HELD or REJECTED
    # Set for a rule that is not a listed word (the site holds comments with markup).
    reason: str | None = None


@dataclass(frozen=True)
class Policy:
    approve_below: float
    reject_at: float
    mode: Mode = Mode.POST
    # Per-score overrides of the site-wide thresholds, e.g. {"hate": LabelThreshold(0.3, 0.8)}.
    labels: Mapping[str, LabelThreshold] = field(default_factory=dict)
    hold_words: tuple[str, ...] = ()
    reject_words: tuple[str, ...] = ()
    # Hold for a human what a browser would read as HTML (it is shown as text either way).
    hold_markup: bool = False
    # The word-list rule this comment triggers; set by for_text() when a comment is claimed,
    # because decide() sees only the scores.
    word_hit: WordHit | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.approve_below <= self.reject_at <= 1.0:
            raise ValueError("thresholds must satisfy 0 <= approve_below <= reject_at <= 1")

    def threshold(self, label: str) -> LabelThreshold:
        known = self._thresholds.get(label)
        if known is None:
            known = self._thresholds[label] = self._threshold(label)
        return known

    def _threshold(self, label: str) -> LabelThreshold:
        if label in self.labels:
            return self.labels[label]
        # Out of the box only toxicity rejects; the other scores send a comment to a human.
        reject_at = self.reject_at if label == PRIMARY_SCORE else None
        return _site_wide(self.approve_below, reject_at)

    # decide() runs for every comment a worker scores; what depends only on the policy is
    # worked out once per policy object (these caches are not fields: not compared, not
    # copied by replace()).
    @cached_property
    def _thresholds(self) -> dict[str, LabelThreshold]:
        return {}

    @cached_property
    def approved(self) -> "Decision":
        return Decision(
            CommentStatus.APPROVED, f"all scores < approve threshold {self.approve_below:.2f}"
        )

    def for_text(self, text: str) -> "Policy":
        """This policy bound to one comment's word-list match (reject words win over hold)."""
        hit = None
        if self.reject_words or self.hold_words:
            # Read once for both lists; each list is compiled once (service.word_lists).
            written = WrittenText(text)
            if word := compile_word_list(self.reject_words).first_in(written):
                hit = WordHit(word, CommentStatus.REJECTED)
            elif word := compile_word_list(self.hold_words).first_in(written):
                hit = WordHit(word, CommentStatus.HELD)
        if hit is None and self.hold_markup and holds_markup(text):
            hit = WordHit(
                "", CommentStatus.HELD, reason="holds markup; the site holds such comments"
            )
        if hit == self.word_hit:
            return self  # the common case: no listed word; spares a copy per comment
        return replace(self, word_hit=hit)


@lru_cache(maxsize=256)
def _site_wide(approve_below: float, reject_at: float | None) -> LabelThreshold:
    # decide() asks for every score of every comment; built once per distinct pair.
    return LabelThreshold(approve_below=approve_below, reject_at=reject_at)


# A tuple, not a frozen dataclass: one is built for every comment a worker scores, and a
# frozen dataclass costs about three times as much to build.
class Decision(NamedTuple):
    status: CommentStatus
    reason: str


def decide(scores: Mapping[str, float], policy: Policy) -> Decision:
    """Word lists first, then reject on a clear score, approve only when every score is low.

    Every label counts toward holding: a comment low on toxicity but high on, say, hate is
    exactly the case a human should look at.
    """
    if policy.word_hit is not None:
        hit = policy.word_hit
        verb = "always-reject" if hit.status == CommentStatus.REJECTED else "always-hold"
        return Decision(hit.status, hit.reason or f"{verb} word {hit.word!r}")
    rejects = policy.mode == Mode.POST
    # The score furthest over its approve threshold: (excess, label, value), ties by label.
    worst: tuple[float, str, float] | None = None
    for label, value in scores.items():
        limit = policy.threshold(label)
        if rejects and limit.reject_at is not None and value >= limit.reject_at:
            return Decision(
                CommentStatus.REJECTED,
                f"{label} {value:.2f} >= reject threshold {limit.reject_at:.2f}",
            )
        if value >= limit.approve_below:
            over = (value - limit.approve_below, label, value)
            if worst is None or over > worst:
                worst = over
    if worst is None:
        return policy.approved
    _, label, value = worst
    limit = policy.threshold(label)
    if policy.mode == Mode.PRE:
        return Decision(
            CommentStatus.HELD,
            f"{label} {value:.2f} >= approve threshold {limit.approve_below:.2f} (pre-moderation)",
        )
    upper = f"reject {limit.reject_at:.2f}" if limit.reject_at is not None else "no reject"
    return Decision(
        CommentStatus.HELD,
        f"{label} {value:.2f} between approve {limit.approve_below:.2f} and {upper} thresholds",
    )


def margin(scores: Mapping[str, float], policy: Policy) -> float:
    """How far the comment is from flipping: the distance of the nearest score to a threshold.

    Small means the model was unsure; the review queue shows those first.
    """
    distances = []
    for label, value in scores.items():
        limit = policy.threshold(label)
        distances.append(abs(value - limit.approve_below))
        if limit.reject_at is not None:
            distances.append(abs(value - limit.reject_at))
    return min(distances, default=1.0)
