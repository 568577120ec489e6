"""Hold thresholds for one site from its own decisions and a target (`moderation site tune`).

The target is the share of civil comments the policy may keep from being published on their
scores (held for a human, or rejected). What counts as civil and toxic:

- civil: the moderator decision in force approved or restored it, or the model published it
  and no moderator decision on it stands (none made, or undone);
- toxic: the moderator decision in force rejected it or took it down for a toxic reason;
- neither (left out): held or rejected by the model and not reviewed yet (or the review
  undone), rejected or taken down for spam, off topic, misinformation or personal
  information, erased comments.

A decision is read as training reads it (service.model_registry.labels: moderator_decisions
and decision_is_toxic), so the two never disagree on what a moderator said.

Published comments nobody took down count as civil because moderators only ever see what was
held (or, to take it down, what they looked for): counting only what they approved would
measure the held share among comments that were held, which is close to 100% whatever the
thresholds, and a 2% target would then raise the thresholds until almost nothing is held.

How several scores make one decision: a comment is held when any score reaches its approve
threshold, so one target cannot be split among attributes without guessing. Instead every
hold threshold is multiplied by one factor k, which keeps the site's own proportions (a
profanity threshold of 0.9 stays more lenient than toxicity at 0.5). A comment is then held
on the tuned scores exactly when max over attributes of score / threshold >= k, so k is the
(1 - target) quantile of that ratio among civil comments: one sort. Reject thresholds never
move; a tuned hold threshold is capped at its attribute's reject threshold, and civil comments
that reach a reject threshold are counted against the target first (no k can publish them).

Every figure in the report is measured by running service.policy.decide() with the current
and the tuned policy over the stored scores (no word lists, no language rule: those hold on
top of this), so it is what a worker would decide. Intervals are Wilson score intervals
(95%): they stay inside [0, 1] and behave at shares near 0, where a 2% target lives. The
tuned share is measured on the comments k was chosen from, so it is a little optimistic.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.db import utcnow
from service.model_registry.labels import decision_is_toxic, moderator_decisions
from service.moderation.errors import TuningRefused
from service.moderation.site_admin import PolicyUpdate, update_policy
from service.policy import ATTRIBUTES, LabelThreshold, Policy, canonical_scores, decide
from service.sites import site_policy
from service.tables import Comment, CommentStatus, Site

# Below this many moderator approvals the top tail of civil scores, which is where the
# threshold moves, is known from a handful of comments: the factor would follow them.
MIN_APPROVED_DECISIONS = 50
# Two-sided 95%: the normal quantile at 0.975.
Z_95 = 1.959963984540054
# Stored thresholds are rounded up to this many decimals: readable in `site policy`, and
# rounding up only ever holds fewer comments, so the target still holds.
THRESHOLD_DECIMALS = 3
# A cut placed just above a civil comment's ratio must not hold that comment through float
# rounding of ratio * threshold; 1e-9 relative is far above a double's error, far below 0.001.
_ABOVE = 1e-9


class Verdict(StrEnum):
    CIVIL = "civil"
    TOXIC = "toxic"


class KnownComment(NamedTuple):
    scores: dict[str, float]
    verdict: Verdict | None  # None: nobody has decided it yet
    by_moderator: bool


@dataclass(frozen=True)
class DecisionData:
    """A site's scored comments in the window, with what is known of each."""

    comments: list[KnownComment]
    # Every comment submitted in the window (pending, unscored and erased ones too): the volume.
    submitted: int
    unscored: int
    window_start: datetime | None  # None: the site has no comments in the window
    window_end: datetime

    @property
    def days(self) -> float:
        """The window's length in days; at least one, so that a site one hour old does not
        report a day's volume 24 times its comments."""
        if self.window_start is None:
            return 1.0
        return max((self.window_end - self.window_start) / timedelta(days=1), 1.0)


def load_decision_data(
    *, session: Session, site: Site, since: datetime | None = None, now: datetime | None = None
) -> DecisionData:
    """Three queries, whatever the number of comments: the site's moderator decisions in
    force, every scored comment of the site in the window, and the window's volume."""
    now = now or utcnow()
    in_window = [Comment.site_id == site.id]
    if since is not None:
        in_window.append(Comment.created_at >= since)
    # A comment of the window is decided after it was created, so its decision in force is
    # among those made since `since`. Spam and the like are left out of the map: such a
    # comment is rejected or taken down, so its status leaves it undecided too.
    moderated: dict[str, bool] = {}
    for decision in moderator_decisions(session=session, site=site, since=since):
        toxic = decision_is_toxic(decision)
        if toxic is not None:
            moderated[decision.comment_id] = toxic
    rows = session.execute(
        select(Comment.id, Comment.status, Comment.scores).where(
            *in_window, Comment.status.not_in([CommentStatus.ERASED, CommentStatus.PENDING])
        )
    )
    comments: list[KnownComment] = []
    unscored = 0
    for comment_id, status, scores in rows:
        if not scores:
            unscored += 1  # held because scoring failed: nothing to tune on
            continue
        verdict = _verdict(status, moderated.get(comment_id))
        comments.append(KnownComment(canonical_scores(scores), *verdict))
    submitted, first = session.execute(
        select(func.count(), func.min(Comment.created_at)).where(*in_window)
    ).one()
    return DecisionData(
        comments=comments,
        submitted=int(submitted),
        unscored=unscored,
        window_start=since if since is not None else first,
        window_end=now,
    )


def _verdict(status: str, moderator_toxic: bool | None) -> tuple[Verdict | None, bool]:
    if moderator_toxic is not None:
        return (Verdict.TOXIC if moderator_toxic else Verdict.CIVIL), True
    if status == CommentStatus.APPROVED:
        return Verdict.CIVIL, False
    return None, False


# --- the figures ------------------------------------------------------------------------------


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a binomial share."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    # At 0 (n) successes the lower (upper) end is exactly 0 (1); float error leaves ~1e-17.
    low = 0.0 if successes == 0 else max(0.0, centre - spread)
    high = 1.0 if successes == trials else min(1.0, centre + spread)
    return low, high


@dataclass(frozen=True)
class Share:
    count: int
    total: int

    @property
    def value(self) -> float:
        return self.count / self.total if self.total else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.count, self.total)


@dataclass(frozen=True)
class PerDay:
    """Comments held per day: the held share of scored comments (Wilson) times the window's
    volume per day. The interval is the share's; it assumes the volume stays as it was."""

    share: Share
    submitted_per_day: float

    @property
    def value(self) -> float:
        return self.share.value * self.submitted_per_day

    @property
    def interval(self) -> tuple[float, float]:
        low, high = self.share.interval
        return low * self.submitted_per_day, high * self.submitted_per_day


@dataclass(frozen=True)
class TunedThreshold:
    attribute: str
    current: float
    tuned: float
    reject_at: float | None


@dataclass(frozen=True)
class TuningReport:
    max_civil_held: float
    factor: float
    thresholds: list[TunedThreshold]
    # What --apply stores as the site's label_thresholds (every attribute named).
    label_thresholds: dict[str, dict[str, float | None]]
    civil: int
    civil_by_moderators: int
    toxic: int
    undecided: int
    unscored: int
    window_start: datetime | None
    window_days: float
    # Civil comments not published on their scores (held or rejected), now and tuned.
    civil_held_now: Share
    civil_held: Share
    # Toxic comments not published (held or rejected), now and tuned.
    caught_now: Share
    caught: Share
    held_per_day_now: PerDay
    held_per_day: PerDay


def tunable_attributes(policy: Policy) -> list[str]:
    """The attributes whose approve threshold holds something: a band below the reject
    threshold (or no reject threshold at all). A zero threshold holds every comment and has
    nothing to scale."""
    tunable = []
    for attribute in ATTRIBUTES:
        limit = policy.threshold(attribute)
        if limit.approve_below > 0 and (
            limit.reject_at is None or limit.approve_below < limit.reject_at
        ):
            tunable.append(attribute)
    return tunable


def _check_target(max_civil_held: float) -> None:
    if not 0 < max_civil_held < 1:  # also refuses NaN
        raise TuningRefused(
            f"--max-civil-held is a share between 0 and 1 (0.02 for 2%), not {max_civil_held:g}",
            field="max_civil_held",
        )


def tune_hold_thresholds(
    *, policy: Policy, data: DecisionData, max_civil_held: float
) -> TuningReport:
    """The lowest hold thresholds (all scaled by one factor) that keep at most max_civil_held
    of the civil comments from being published, and what they would do."""
    _check_target(max_civil_held)
    civil = [c for c in data.comments if c.verdict == Verdict.CIVIL]
    by_moderators = sum(1 for c in civil if c.by_moderator)
    if by_moderators < MIN_APPROVED_DECISIONS:
        raise TuningRefused(
            f"only {by_moderators} comments approved by moderators in this window; "
            f"tuning needs at least {MIN_APPROVED_DECISIONS}",
            field="site",
        )
    tuned = tunable_attributes(policy)
    if not tuned:
        raise TuningRefused("this policy holds on no score: there is no hold threshold to tune")
    # A whole number of comments, rounded down so that the target holds; the 1e-9 undoes the
    # product's float error (0.29 * 100 is 28.999999999999996, and 29 comments are allowed).
    allowed = math.floor(max_civil_held * len(civil) + 1e-9)
    stuck, ratios = _civil_ratios(policy, tuned, civil)
    if stuck > allowed:
        raise TuningRefused(
            f"{stuck} of {len(civil)} civil comments ({stuck / len(civil):.1%}) reach a reject "
            f"threshold or a score that is not tuned; no hold threshold brings that under "
            f"{max_civil_held:.1%}",
            field="max_civil_held",
        )
    factor = _factor(sorted(ratios), allowed - stuck)
    labels = _tuned_labels(policy, tuned, factor)
    tuned_policy = replace(
        policy,
        labels={
            label: LabelThreshold(limits["approve_below"] or 0.0, limits["reject_at"])
            for label, limits in labels.items()
        },
    )
    return _report(policy, tuned_policy, tuned, labels, factor, max_civil_held, data, len(civil))


def _civil_ratios(
    policy: Policy, tuned: Sequence[str], civil: Sequence[KnownComment]
) -> tuple[int, list[float]]:
    """How many civil comments no factor can publish (a reject threshold, or an untuned
    score at its approve threshold), and for the others max(score / hold threshold)."""
    hold = {a: policy.threshold(a).approve_below for a in tuned}
    stuck = 0
    ratios = []
    for comment in civil:
        ratio = 0.0
        fixed = False
        for attribute, value in comment.scores.items():
            limit = policy.threshold(attribute)
            if limit.reject_at is not None and value >= limit.reject_at:
                fixed = True  # a tuned threshold is capped at reject_at: held or rejected
                break
            if attribute in hold:
                ratio = max(ratio, value / hold[attribute])
            elif value >= limit.approve_below:
                fixed = True
                break
        if fixed:
            stuck += 1
        else:
            ratios.append(ratio)
    return stuck, ratios


def _factor(ratios: Sequence[float], may_hold: int) -> float:
    """The smallest factor that holds at most may_hold of these (ascending) ratios: just
    above the highest ratio that must stay published."""
    if may_hold >= len(ratios):
        return ratios[0] if ratios else 1.0
    boundary = ratios[len(ratios) - may_hold - 1]
    return boundary * (1 + _ABOVE) + _ABOVE


def _round_up(value: float) -> float:
    scale = 10**THRESHOLD_DECIMALS
    return math.ceil(value * scale) / scale


def _tuned_labels(
    policy: Policy, tuned: Sequence[str], factor: float
) -> dict[str, dict[str, float | None]]:
    # Every attribute is written out: one the site left to the site-wide threshold gets its
    # own entry with the same reject threshold, so scaling it leaves the site-wide pair alone.
    labels: dict[str, dict[str, float | None]] = {
        label: {"approve_below": limit.approve_below, "reject_at": limit.reject_at}
        for label, limit in policy.labels.items()
    }
    for attribute in ATTRIBUTES:
        limit = policy.threshold(attribute)
        approve = limit.approve_below
        if attribute in tuned:
            cap = 1.0 if limit.reject_at is None else limit.reject_at
            approve = min(_round_up(approve * factor), cap)
        labels[attribute] = {"approve_below": approve, "reject_at": limit.reject_at}
    return labels


def _report(
    policy: Policy,
    tuned_policy: Policy,
    tuned: Sequence[str],
    labels: dict[str, dict[str, float | None]],
    factor: float,
    max_civil_held: float,
    data: DecisionData,
    civil_total: int,
) -> TuningReport:
    civil_now = civil_then = toxic = caught_now = caught_then = undecided = by_moderators = 0
    held_now = held_then = 0
    for comment in data.comments:
        now = decide(comment.scores, policy).status
        then = decide(comment.scores, tuned_policy).status
        held_now += now == CommentStatus.HELD
        held_then += then == CommentStatus.HELD
        if comment.verdict == Verdict.CIVIL:
            civil_now += now != CommentStatus.APPROVED
            civil_then += then != CommentStatus.APPROVED
            by_moderators += comment.by_moderator
        elif comment.verdict == Verdict.TOXIC:
            toxic += 1
            caught_now += now != CommentStatus.APPROVED
            caught_then += then != CommentStatus.APPROVED
        else:
            undecided += 1
    scored = len(data.comments)
    per_day = data.submitted / data.days
    return TuningReport(
        max_civil_held=max_civil_held,
        factor=factor,
        thresholds=[
            TunedThreshold(
                attribute=attribute,
                current=policy.threshold(attribute).approve_below,
                tuned=float(labels[attribute]["approve_below"] or 0.0),
                reject_at=policy.threshold(attribute).reject_at,
            )
            for attribute in tuned
        ],
        label_thresholds=labels,
        civil=civil_total,
        civil_by_moderators=by_moderators,
        toxic=toxic,
        undecided=undecided,
        unscored=data.unscored,
        window_start=data.window_start,
        window_days=data.days,
        civil_held_now=Share(civil_now, civil_total),
        civil_held=Share(civil_then, civil_total),
        caught_now=Share(caught_now, toxic),
        caught=Share(caught_then, toxic),
        held_per_day_now=PerDay(Share(held_now, scored), per_day),
        held_per_day=PerDay(Share(held_then, scored), per_day),
    )


# --- the site ---------------------------------------------------------------------------------


def tune_site(
    *,
    session: Session,
    site: Site,
    max_civil_held: float,
    since: datetime | None = None,
    now: datetime | None = None,
) -> TuningReport:
    """The report for a site's stored policy and decisions; changes nothing."""
    _check_target(max_civil_held)  # before reading every comment of the site
    data = load_decision_data(session=session, site=site, since=since, now=now)
    return tune_hold_thresholds(policy=site_policy(site), data=data, max_civil_held=max_civil_held)


def apply_tuning(
    *, session: Session, site: Site, report: TuningReport, actor: str, since: datetime | None
) -> Site:
    """Store the tuned hold thresholds as the site's per-score thresholds, audited as a site
    change ("tune") that says what they were worked out from. Reject thresholds and the
    site-wide pair are written back as they were."""
    basis: dict[str, Any] = {
        "max_civil_held": report.max_civil_held,
        "since": since.isoformat() if since else None,
        "factor": round(report.factor, 6),
        "civil": report.civil,
        "civil_by_moderators": report.civil_by_moderators,
        "toxic": report.toxic,
        "civil_held": round(report.civil_held.value, 6),
    }
    return update_policy(
        session=session,
        site=site,
        actor=actor,
        update=PolicyUpdate(label_thresholds=report.label_thresholds),
        action="tune",
        basis=basis,
    )
