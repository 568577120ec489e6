"""Coral's external moderation phase as plain functions: decide a comment with the site's
policy and the live model, store it as a normal comment of the site with its decision and
audit event (so it reaches the moderator queue and the learning loop), and answer Coral."""

import hashlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from service.comments import (
    CORAL_IDEMPOTENCY_PREFIX,
    NewComment,
    ScoredDecision,
    record_decisions,
    submit_comments,
)
from service.errors import IdempotencyConflict
from service.integrations.coral.schemas import PREMOD_ANSWER, ExternalModerationRequest
from service.integrations.scoring import model_languages
from service.integrations.text import html_to_text, looks_like_html, plain_comment
from service.policy import Decision, Reading, decide
from service.sites import site_policy
from service.tables import Comment, CommentStatus, Site

if TYPE_CHECKING:
    from classifiers import ToxicityModel

log = logging.getLogger(__name__)


def coral_comment(request: ExternalModerationRequest) -> NewComment:
    """The comment as stored: article = story id, author = Coral's author id.

    Coral sends no comment id, so the comment's identity is what it says: tenant, story,
    author, parent and text. A repeated call (Coral retrying, or an EDIT that left the text
    as it was) is the same comment; an EDIT that changes the text is stored as a comment of
    its own, so a moderator sees what was actually published last."""
    body = request.comment.body
    text = plain_comment(html_to_text(body) if looks_like_html(body) else body)
    identity = "\n".join(
        [
            request.tenant_key,
            request.story.id,
            request.author.id,
            request.comment.parent_id or "",
            text,
        ]
    )
    author = plain_comment(request.author.id).replace("\n", " ")[:100] or "coral"
    return NewComment(
        article_id=request.story.id.strip()[:200],
        author_name=author,
        author_id=request.author.id.strip()[:200],
        body=text,
        idempotency_key=CORAL_IDEMPOTENCY_PREFIX + hashlib.sha256(identity.encode()).hexdigest(),
    )


# A verdict's status when the comment was not stored, so nothing here will ever decide it.
NOT_STORED = "not_stored"


@dataclass(frozen=True)
class StoredVerdict:
    comment_id: str | None  # None: NOT_STORED
    status: str
    created: bool
    # Held because the model cannot read it (another language, no word it knows), not for
    # what its scores say: Coral is not told it was detected toxic.
    unread: bool = False


UNSTORED = StoredVerdict(comment_id=None, status=NOT_STORED, created=False)


@dataclass(frozen=True)
class DecidedComment:
    site: Site
    new: NewComment
    decision: Decision
    scores: dict[str, float]
    language: str | None = None
    unread: bool = False


def decide_coral_comments(
    *, model: "ToxicityModel", comments: Sequence[tuple[Site, NewComment]]
) -> list[DecidedComment]:
    """The decisions the workers would make: one batch through the model, then each site's
    policy with its word lists and language routing."""
    assessed = model.assess([new.body for _, new in comments])
    languages = model_languages(model)
    decided = []
    for (site, new), a in zip(comments, assessed, strict=True):
        reading = Reading(a.language.code, a.known_words, a.words)
        policy = site_policy(site).for_text(new.body)
        decision = decide(a.scores, policy, reading, languages)
        # Held, where the scores alone would have published it: held for the reading.
        unread = (
            decision.status == CommentStatus.HELD
            and decide(a.scores, policy, None, languages).status == CommentStatus.APPROVED
        )
        decided.append(DecidedComment(site, new, decision, a.scores, a.language.code, unread))
    return decided


def record_decided_comments(
    *, session: Session, decided: Sequence[DecidedComment], model_version: str
) -> list[StoredVerdict]:
    """Store the comments and their decisions in one transaction, through the same functions
    as the API's submissions and the workers' decisions (one audit event each, actor
    model:<version>). A comment already stored under its identity is left as it is and its
    status returned; one whose key holds another comment is not stored (UNSTORED), and the
    rest of the batch is."""
    outcomes = submit_comments(session=session, items=[(d.site.id, d.new) for d in decided])
    verdicts: list[StoredVerdict] = []
    fresh: list[ScoredDecision] = []
    for item, outcome in zip(decided, outcomes, strict=True):
        if isinstance(outcome, IdempotencyConflict):
            # Its key holds other content: a site stored it through the API before Coral's
            # keys were reserved. That comment cannot be stored; the batch's others are.
            log.warning("a Coral comment's key is taken by another comment; not stored")
            verdicts.append(UNSTORED)
            continue
        if outcome.created:
            fresh.append(ScoredDecision(outcome.id, item.decision, item.scores, item.language))
            verdicts.append(
                StoredVerdict(outcome.id, item.decision.status.value, True, unread=item.unread)
            )
        else:
            verdicts.append(StoredVerdict(outcome.id, str(outcome.status), False))
    if fresh:
        # The comments were never visible as pending (nothing is committed yet, no worker was
        # nudged); the claim token makes them this call's to decide, as a scoring round's.
        token = str(uuid.uuid4())
        session.execute(
            update(Comment)
            .where(Comment.id.in_([d.comment_id for d in fresh]))
            .values(claim_token=token),
            execution_options={"synchronize_session": False},
        )
        record_decisions(
            session=session,
            token=token,
            actor=f"model:{model_version}",
            model_version=model_version,
            decisions=fresh,
        )
    # A repeat of a comment stored earlier in this same batch answers with its decision.
    decided_now = {v.comment_id: v for v in verdicts if v.created}
    return [
        v
        if v.created or v.comment_id not in decided_now
        else replace(decided_now[v.comment_id], created=False)
        for v in verdicts
    ]


# Our status -> what Coral is told. Held comments are withheld, so that they wait in Coral's
# own queue too, and flagged as toxic unless held only because the model cannot read them
# (Coral's moderators would read "detected toxic" on a comment in Polish). A pending one (not
# decided yet) gets no opinion (204): a worker decides it and a moderator here sees it if
# held. One not stored is pre-moderated in Coral: no one here will ever decide it, and Coral
# publishes what has no opinion (204, and any error too). No FLAG: nothing was detected.
def coral_answer(status: str, *, unread: bool = False) -> dict[str, Any] | None:
    if status == NOT_STORED:
        return dict(PREMOD_ANSWER)
    if status == CommentStatus.APPROVED:
        return {"status": "APPROVED"}
    if status in (CommentStatus.REJECTED, CommentStatus.REMOVED):
        return {"status": "REJECTED"}
    if status == CommentStatus.HELD and unread:
        return {"status": "SYSTEM_WITHHELD"}
    if status == CommentStatus.HELD:
        return {
            "status": "SYSTEM_WITHHELD",
            "actions": [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}],
        }
    return None
