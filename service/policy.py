"""The per-site policy that turns classifier scores (and word lists) into a decision."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property, lru_cache
from typing import Any, NamedTuple, Protocol

from service.comment_text import holds_markup
from service.tables import CommentStatus
from service.word_lists import WrittenText, compile_word_list

PRIMARY_SCORE = "toxicity"

# The classifier's attributes (classifiers.LABELS, Perspective API's production set), named
# here so that the API process need not import the classifier to validate a policy; a test
# keeps the two equal.
ATTRIBUTES: tuple[str, ...] = (
    "toxicity",
    "severe_toxicity",
    "identity_attack",
    "insult",
    "profanity",
    "threat",
)
# Old names still accepted for one release: stored scores and site policies say "hate".
ATTRIBUTE_ALIASES: dict[str, str] = {"hate": "identity_attack"}


def canonical_attribute(name: str) -> str:
    return ATTRIBUTE_ALIASES.get(name, name)


def canonical_scores(scores: Mapping[str, float]) -> dict[str, float]:
    """Stored scores under today's names (a comment scored before the rename has "hate")."""
    return {canonical_attribute(k): v for k, v in scores.items()}


def scores_with_aliases(scores: Mapping[str, float]) -> dict[str, float]:
    """Scores as the API answers them: today's names plus the old aliases (deprecated), so a
    client reading scores["hate"] keeps working for one release."""
    out = canonical_scores(scores)
    for alias, name in ATTRIBUTE_ALIASES.items():
        if name in out:
            out[alias] = out[name]
    return out


class Mode(StrEnum):
    # Publish what scores low, hold the uncertain, reject the clearly abusive.
    POST = "post"
    # Hold everything not clearly fine: nothing is rejected on scores alone, a human sees it.
    PRE = "pre"


class LanguageAction(StrEnum):
    """What a site does with a comment in a language the model is not trusted for."""

    HOLD = "hold"
    PUBLISH = "publish"
    REJECT = "reject"


# The language the model reads when its card says nothing else.
MODEL_LANGUAGES: tuple[str, ...] = ("en",)
UNDETERMINED_LANGUAGE = "und"


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


# The default policy of a new site (existing sites keep what they stored). Only the severe
# signals reject; toxicity and insult send a comment to a human; profanity alone holds only
# when it is strong and never rejects (a site may choose otherwise). The figures come from the
# calibration split and the functional suite (docs/classifier.md, "Default policy").
DEFAULT_THRESHOLDS: Mapping[str, LabelThreshold] = {
    "toxicity": LabelThreshold(approve_below=0.5, reject_at=None),
    "severe_toxicity": LabelThreshold(approve_below=0.5, reject_at=0.6),
    "identity_attack": LabelThreshold(approve_below=0.5, reject_at=0.8),
    "insult": LabelThreshold(approve_below=0.5, reject_at=None),
    "profanity": LabelThreshold(approve_below=0.9, reject_at=None),
    "threat": LabelThreshold(approve_below=0.5, reject_at=0.8),
}


@dataclass(frozen=True)
class WordHit:
    word: str
    status: CommentStatus  # HELD or REJECTED
    # Set for a rule that is not a listed word (the site holds comments with markup).
    reason: str | None = None


class Reading(NamedTuple):
    """What the model could read of a comment, beside its scores."""

    language: str  # ISO 639-1, or "und" when it could not tell
    known_words: int  # words the model saw in training
    words: int


@dataclass(frozen=True)
class Policy:
    approve_below: float
    reject_at: float
    mode: Mode = Mode.POST
    # Per-score overrides of the site-wide thresholds, e.g. {"threat": LabelThreshold(0.3, 0.8)}.
    labels: Mapping[str, LabelThreshold] = field(default_factory=dict)
    hold_words: tuple[str, ...] = ()
    reject_words: tuple[str, ...] = ()
    # Languages the model is trusted for on this site; empty means the model card's.
    languages: tuple[str, ...] = ()
    other_languages: LanguageAction = LanguageAction.HOLD
    # Hold for a human what a browser would read as HTML (it is shown as text either way).
    hold_markup: bool = False
    # The word-list rule this comment triggers; set by for_text() when a comment is claimed,
    # because decide() sees only the scores.
    word_hit: WordHit | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.approve_below <= self.reject_at <= 1.0:
            raise ValueError("thresholds must satisfy 0 <= approve_below <= reject_at <= 1")
        if any(label in ATTRIBUTE_ALIASES for label in self.labels):
            canonical = {canonical_attribute(k): v for k, v in self.labels.items()}
            object.__setattr__(self, "labels", canonical)

    def threshold(self, label: str) -> LabelThreshold:
        known = self._thresholds.get(label)
        if known is None:
            known = self._thresholds[label] = self._threshold(label)
        return known

    def _threshold(self, label: str) -> LabelThreshold:
        label = canonical_attribute(label)
        if label in self.labels:
            return self.labels[label]
        # A site's own thresholds apply to the scores it names; any other score holds at the
        # site-wide approve threshold and only toxicity rejects (the policy before there were
        # per-score defaults, which sites created then keep).
        reject_at = self.reject_at if label == PRIMARY_SCORE else None
        return _site_wide(self.approve_below, reject_at)

    def trusts(self, language: str, model_languages: Sequence[str]) -> bool:
        return language == UNDETERMINED_LANGUAGE or language in (self.languages or model_languages)

    # decide() runs for every comment a worker scores; what depends only on the policy is
    # worked out once per policy object (these caches are not fields: not compared, not
    # copied by replace()).
    @cached_property
    def _thresholds(self) -> dict[str, LabelThreshold]:
        return {}

    @cached_property
    def approved(self) -> "Decision":
        if self.labels:
            return Decision(CommentStatus.APPROVED, "all scores below their approve thresholds")
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


def default_policy(approve_below: float, reject_at: float) -> Policy:
    """A new site's policy: the per-score defaults above, the site-wide pair for any score
    they do not name."""
    return Policy(approve_below=approve_below, reject_at=reject_at, labels=DEFAULT_THRESHOLDS)


@lru_cache(maxsize=256)
def _site_wide(approve_below: float, reject_at: float | None) -> LabelThreshold:
    # decide() asks for every score of every comment; built once per distinct pair.
    return LabelThreshold(approve_below=approve_below, reject_at=reject_at)


# A tuple, not a frozen dataclass: one is built for every comment a worker scores, and a
# frozen dataclass costs about three times as much to build.
class Decision(NamedTuple):
    status: CommentStatus
    reason: str


_LANGUAGE_STATUS = {
    LanguageAction.HOLD: CommentStatus.HELD,
    LanguageAction.PUBLISH: CommentStatus.APPROVED,
    LanguageAction.REJECT: CommentStatus.REJECTED,
}


def decide(
    scores: Mapping[str, float],
    policy: Policy,
    reading: Reading | None = None,
    model_languages: Sequence[str] = MODEL_LANGUAGES,
) -> Decision:
    """Word lists first; then what the model cannot read (another language, or no word it
    knows: never published on scores it cannot give); then reject on a clear score, approve
    only when every score is low.

    Every label counts toward holding: a comment low on toxicity but high on, say,
    identity_attack is exactly the case a human should look at.
    """
    if policy.word_hit is not None:
        hit = policy.word_hit
        verb = "always-reject" if hit.status == CommentStatus.REJECTED else "always-hold"
        return Decision(hit.status, hit.reason or f"{verb} word {hit.word!r}")
    if reading is not None:
        if not policy.trusts(reading.language, model_languages):
            reads = ", ".join(policy.languages or model_languages)
            return Decision(
                _LANGUAGE_STATUS[policy.other_languages],
                f"written in {reading.language}; the model reads {reads}",
            )
        if reading.known_words == 0:
            return Decision(CommentStatus.HELD, "no word the model knows; needs a human")
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


class Assessing(Protocol):
    """What decision_rule needs of a model (classifiers.ToxicityModel is one)."""

    languages: tuple[str, ...]

    def assess(self, texts: Sequence[str]) -> Sequence[Any]: ...


def decision_rule(
    model: Assessing, policy: Policy, *, read: bool = True
) -> Callable[[Sequence[str]], list[str]]:
    """Comments -> the status each would get from this model under this policy, as the worker
    decides it (word lists included): what the evaluation and the functional suite measure.
    ``read=False`` leaves out the language and known-word rules (the worker before them)."""

    def rule(texts: Sequence[str]) -> list[str]:
        out = []
        for text, a in zip(texts, model.assess(texts), strict=True):
            reading = Reading(a.language[0], a.known_words, a.words) if read else None
            out.append(decide(a.scores, policy.for_text(text), reading, model.languages).status)
        return [str(status) for status in out]

    return rule


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
