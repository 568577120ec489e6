"""The review queue and a moderator's decisions. Every transition is a conditional update (only
from the state it expects) with its audit event in the same transaction."""

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.db import utcnow
from service.errors import CommentNotFound, SiteNotFound
from service.moderation.accounts import Reviewer
from service.moderation.errors import InvalidTransition, ReasonRequired
from service.moderation.settings import get_moderation_settings
from service.moderation.word_marks import phrase_spans
from service.policy import canonical_attribute, canonical_scores, margin
from service.sites import get_site_by_name, site_policy
from service.tables import AuditEvent, Comment, CommentStatus, Site

if TYPE_CHECKING:
    from classifiers import ToxicityModel

log = logging.getLogger(__name__)

# Reasons a moderator picks from; free text is allowed too.
REJECT_REASONS = (
    "abuse or harassment",
    "hate speech",
    "threat",
    "spam or advertising",
    "off topic",
    "personal information",
    "misinformation",
)


class Action(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    REMOVE = "remove"  # take down a published comment
    RESTORE = "restore"  # publish again what was taken down or rejected
    UNDO = "undo"  # put back the reviewer's own last decision on a comment (see undo_target)


# action -> (the states it may start from, the state it ends in)
TRANSITIONS: dict[Action, tuple[frozenset[CommentStatus], CommentStatus]] = {
    Action.APPROVE: (frozenset({CommentStatus.HELD}), CommentStatus.APPROVED),
    Action.REJECT: (frozenset({CommentStatus.HELD}), CommentStatus.REJECTED),
    Action.REMOVE: (frozenset({CommentStatus.APPROVED}), CommentStatus.REMOVED),
    Action.RESTORE: (
        frozenset({CommentStatus.REMOVED, CommentStatus.REJECTED}),
        CommentStatus.APPROVED,
    ),
}
# Taking something down or rejecting it must say why; the site and the audit log need it.
NEEDS_REASON = frozenset({Action.REJECT, Action.REMOVE})
# How long a moderator may undo their own decision: long enough to notice a slip of the key,
# short enough that an undo does not unpublish what readers have long seen.
UNDO_SECONDS = 15 * 60


@dataclass(frozen=True)
class Highlight:
    """A span of the body that pushed the score up, and how much (calibrated logit); or, of
    kind "word", a phrase on the site's hold or reject list."""

    start: int
    end: int
    weight: float
    kind: str = "model"


@dataclass(frozen=True)
class Segment:
    text: str
    weight: float | None  # None: not highlighted
    kind: str = "model"


@dataclass
class QueueItem:
    comment: Comment
    site_name: str
    margin: float
    top_label: str | None
    # The comment's scores under today's attribute names.
    scores: dict[str, float] = field(default_factory=dict)
    highlights: list[Highlight] = field(default_factory=list)
    # The hold- or reject-list entry that decided the comment, if one did.
    listed_word: str | None = None

    @property
    def segments(self) -> list[Segment]:
        """The body cut into plain and highlighted pieces, for templates to render as text."""
        body = self.comment.body
        pieces: list[Segment] = []
        at = 0
        # A listed phrase wins over the model's marks inside it.
        for mark in sorted(self.highlights, key=lambda h: (h.start, h.kind != "word")):
            if mark.start < at:
                continue
            if mark.start > at:
                pieces.append(Segment(body[at : mark.start], None))
            pieces.append(Segment(body[mark.start : mark.end], mark.weight, mark.kind))
            at = mark.end
        if at < len(body):
            pieces.append(Segment(body[at:], None))
        return pieces


@dataclass(frozen=True)
class QueuePage:
    items: list[QueueItem]
    total: int
    offset: int
    limit: int


def _get_reviewable(*, session: Session, reviewer: Reviewer, comment_id: str) -> Comment:
    try:
        uuid.UUID(comment_id)
    except ValueError:
        raise CommentNotFound("no such comment") from None
    comment = session.get(Comment, comment_id)
    # Another site's comment is "not found", as none would be: a 403 would tell a moderator
    # of one site that the id exists elsewhere.
    if comment is None or not reviewer.can_review(comment.site_id):
        raise CommentNotFound("no such comment")
    return comment


def reviewable_site(*, session: Session, reviewer: Reviewer, name: str) -> Site:
    """The named site, if the reviewer moderates it. Another site is "not found", as a name no
    site has would be: a 403 would tell a moderator of one site which other sites exist."""
    site = get_site_by_name(session=session, name=name)
    if site is None or not reviewer.can_review(site.id):
        raise SiteNotFound(f"no site named {name!r}")
    return site


def _require_reviewable_site(reviewer: Reviewer, site_id: str) -> None:
    # Not found rather than forbidden, for the reason reviewable_site gives.
    if not reviewer.can_review(site_id):
        raise SiteNotFound("no such site")


def get_comment_for_review(*, session: Session, reviewer: Reviewer, comment_id: str) -> QueueItem:
    comment = _get_reviewable(session=session, reviewer=reviewer, comment_id=comment_id)
    site = session.get(Site, comment.site_id)
    assert site is not None
    return _item(comment, site, explain=True)


def list_queue(
    *,
    session: Session,
    reviewer: Reviewer,
    site_id: str | None = None,
    article_id: str | None = None,
    label: str | None = None,
    min_score: float | None = None,
    max_score: float | None = None,
    order: str = "uncertain",
    status: CommentStatus = CommentStatus.HELD,
    offset: int = 0,
    limit: int = 50,
    explain: bool = True,
) -> QueuePage:
    """Held comments the reviewer may see, filtered, most uncertain (or oldest) first.

    Uncertainty depends on each site's thresholds, so ranking is done here over the oldest
    `queue_window` matches rather than in SQL; a queue longer than that is worked oldest-first.
    """
    if site_id is not None:
        _require_reviewable_site(reviewer, site_id)
    query = select(Comment, Site).join(Site, Site.id == Comment.site_id)
    query = query.where(Comment.status == status)
    if reviewer.site_ids is not None:
        query = query.where(Comment.site_id.in_(reviewer.site_ids))
    if site_id is not None:
        query = query.where(Comment.site_id == site_id)
    if article_id:
        query = query.where(Comment.article_id == article_id)
    newest_first = status != CommentStatus.HELD
    query = query.order_by(
        Comment.created_at.desc() if newest_first else Comment.created_at, Comment.id
    ).limit(get_moderation_settings().queue_window)
    items = []
    label = canonical_attribute(label) if label else None
    for comment, site in session.execute(query):
        scores = canonical_scores(comment.scores or {})
        if min_score is not None or max_score is not None:
            value = scores.get(label) if label else max(scores.values(), default=None)
            if value is None:
                continue
            if min_score is not None and value < min_score:
                continue
            if max_score is not None and value > max_score:
                continue
        items.append(_item(comment, site, explain=False))
    if order == "uncertain" and status == CommentStatus.HELD:
        items.sort(key=lambda item: (item.margin, item.comment.created_at))
    page = items[offset : offset + limit]
    if explain:
        for item in page:
            item.highlights = _marks(item)
    return QueuePage(items=page, total=len(items), offset=offset, limit=limit)


def _item(comment: Comment, site: Site, *, explain: bool) -> QueueItem:
    scores = canonical_scores(comment.scores or {})
    policy = site_policy(site)
    # The score furthest over its own approve threshold is the one that held the comment
    # (decide() reports the same one), not simply the highest: profanity near 1.0 says less.
    top_label = (
        max(scores, key=lambda k: scores[k] - policy.threshold(k).approve_below) if scores else None
    )
    item = QueueItem(
        comment=comment,
        site_name=site.name,
        # Unscored comments (held because scoring failed) are as unsure as it gets.
        margin=margin(scores, policy) if scores else 0.0,
        top_label=top_label,
        scores=scores,
    )
    if (comment.decision_reason or "").startswith(("always-hold word", "always-reject word")):
        hit = policy.for_text(comment.body).word_hit
        item.listed_word = hit.word if hit else None
    if explain:
        item.highlights = _marks(item)
    return item


def _marks(item: QueueItem) -> list[Highlight]:
    words = [
        Highlight(start=start, end=end, weight=0.0, kind="word")
        for start, end in phrase_spans(item.comment.body, item.listed_word or "")
    ]
    return words + _highlights(item.comment.body, item.top_label)


def _explainer() -> "ToxicityModel":
    # The model the workers score with, the same copy the API's in-request scoring uses (one
    # model in memory per API process).
    from service.integrations.scoring import live_model

    return live_model()


def _highlights(body: str, label: str | None) -> list[Highlight]:
    """The words a person would mark (the classifier's span model), each with how much it
    pushed the leading score; when the span model marks nothing, the words that drove the
    score most (the linear model's own explanation).

    Only clearly positive contributions are marked in the fallback: every word nudges a linear
    model a little, and highlighting "the" would teach moderators to ignore the marks.
    """
    if label is None:
        return []
    try:
        model = _explainer()
        contributions = model.explain(body, label=label, top_k=50)
        spans = model.toxic_spans(body)
    except Exception:  # an explanation is a help, never a reason to fail the queue
        log.warning("could not explain a comment", exc_info=True)
        return []
    if spans:
        return [
            Highlight(
                start=start,
                end=end,
                weight=round(
                    sum(c.weight for c in contributions if start <= c.start and c.end <= end), 3
                ),
            )
            for start, end in spans
        ]
    strongest = max((c.weight for c in contributions[:8]), default=0.0)
    floor = max(0.75, strongest * 0.3)
    return [
        Highlight(start=c.start, end=c.end, weight=round(c.weight, 3))
        for c in contributions[:8]
        if c.weight >= floor
    ]


# --- decisions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    comment_id: str
    from_status: str
    to_status: str
    audit_event_id: int
    site_id: str


def apply_action(
    *,
    session: Session,
    reviewer: Reviewer,
    comment_id: str,
    action: Action,
    reason: str | None = None,
) -> Transition:
    """Move one comment as the action says, or raise InvalidTransition if it moved meanwhile."""
    reason = " ".join((reason or "").split())[:280] or None
    if action in NEEDS_REASON and not reason:
        raise ReasonRequired(f"say why you {action.value} this comment", field="reason")
    comment = _get_reviewable(session=session, reviewer=reviewer, comment_id=comment_id)
    now = utcnow()
    decision_reason = f"{reviewer.actor}: {reason or action.value}"[:300]
    if action == Action.UNDO:
        target = undo_target(session=session, reviewer=reviewer, comment=comment, now=now)
        allowed_from, to_status = target.allowed_from, target.to_status
        decision_reason = target.decision_reason or decision_reason
    else:
        allowed_from, to_status = TRANSITIONS[action]
    from_status = comment.status
    result = session.execute(
        update(Comment)
        .where(Comment.id == comment.id, Comment.status.in_(allowed_from))
        .values(
            status=to_status,
            decided_at=now,
            decision_reason=decision_reason,
        ),
        execution_options={"synchronize_session": False},
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(comment)
        raise InvalidTransition(
            f"cannot {action.value} a comment that is {comment.status}", field="status"
        )
    event = AuditEvent(
        comment_id=comment.id,
        actor=reviewer.actor,
        from_status=from_status,
        to_status=to_status,
        reason=reason or action.value,
        scores=None,
        created_at=now,
    )
    session.add(event)
    session.flush()
    session.refresh(comment)
    return Transition(
        comment_id=comment.id,
        from_status=from_status,
        to_status=to_status,
        audit_event_id=event.id,
        site_id=comment.site_id,
    )


@dataclass(frozen=True)
class UndoTarget:
    allowed_from: frozenset[CommentStatus]
    to_status: CommentStatus
    # The comment's reason as it was before the decision undone ("always-hold word 'x'").
    decision_reason: str | None


def undo_target(
    *, session: Session, reviewer: Reviewer, comment: Comment, now: datetime
) -> UndoTarget:
    """Where an undo takes a comment: back from its latest transition, only if that was this
    reviewer's and only within UNDO_SECONDS; anything since (another moderator, a restore)
    makes it InvalidTransition."""
    latest = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.comment_id == comment.id)
        .order_by(AuditEvent.id.desc())
        .limit(2)
    ).all()
    last = latest[0] if latest else None
    before = latest[1] if len(latest) > 1 else None
    if last is None or last.actor != reviewer.actor or last.to_status != comment.status:
        raise InvalidTransition("only your own last decision on a comment can be undone")
    if (now - last.created_at).total_seconds() > UNDO_SECONDS:
        raise InvalidTransition(
            f"a decision can be undone for {UNDO_SECONDS // 60} minutes; this one is older"
        )
    reason = None
    if before is not None:
        moderated = before.actor.startswith("moderator:")
        reason = f"{before.actor}: {before.reason}" if moderated else before.reason
    return UndoTarget(
        allowed_from=frozenset({CommentStatus(comment.status)}),
        to_status=CommentStatus(last.from_status),
        decision_reason=reason,
    )


@dataclass(frozen=True)
class BulkOutcome:
    done: list[Transition]
    failed: dict[str, str]  # comment id -> error code


def apply_bulk(
    *,
    session: Session,
    reviewer: Reviewer,
    comment_ids: Sequence[str],
    action: Action,
    reason: str | None = None,
) -> BulkOutcome:
    """Each comment on its own savepoint: one that moved meanwhile does not undo the others."""
    if action in NEEDS_REASON and not " ".join((reason or "").split()):
        raise ReasonRequired(f"say why you {action.value} these comments", field="reason")
    done: list[Transition] = []
    failed: dict[str, str] = {}
    for comment_id in dict.fromkeys(comment_ids):
        try:
            with session.begin_nested():
                done.append(
                    apply_action(
                        session=session,
                        reviewer=reviewer,
                        comment_id=comment_id,
                        action=action,
                        reason=reason,
                    )
                )
        except (InvalidTransition, CommentNotFound) as exc:
            failed[comment_id] = exc.code
    return BulkOutcome(done=done, failed=failed)


# --- audit log -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    site_name: str
    article_id: str
    body: str  # the comment's text as it is now ("" once erased)


def list_audit(
    *,
    session: Session,
    reviewer: Reviewer,
    comment_id: str | None = None,
    site_id: str | None = None,
    actor: str | None = None,
    to_status: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditRow]:
    """Audit events the reviewer may see, newest first; filter by comment, site, actor, state.

    An actor filter of "model" or "moderator" matches every model version or moderator.
    """
    if comment_id is not None:
        _get_reviewable(session=session, reviewer=reviewer, comment_id=comment_id)
    if site_id is not None:
        _require_reviewable_site(reviewer, site_id)
    query = (
        select(AuditEvent, Site.name, Comment.article_id, Comment.body)
        .join(Comment, Comment.id == AuditEvent.comment_id)
        .join(Site, Site.id == Comment.site_id)
    )
    if reviewer.site_ids is not None:
        query = query.where(Comment.site_id.in_(reviewer.site_ids))
    if comment_id is not None:
        query = query.where(AuditEvent.comment_id == comment_id)
    if site_id is not None:
        query = query.where(Comment.site_id == site_id)
    if actor:
        if actor in ("model", "moderator"):
            query = query.where(AuditEvent.actor.startswith(f"{actor}:"))
        else:
            query = query.where(AuditEvent.actor == actor)
    if to_status:
        query = query.where(AuditEvent.to_status == to_status)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    query = query.order_by(AuditEvent.id.desc()).limit(limit)
    return [
        AuditRow(event=event, site_name=name, article_id=article, body=body)
        for event, name, article, body in session.execute(query)
    ]
