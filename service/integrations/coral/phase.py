"""Coral's external moderation phase as plain functions: decide a comment with the site's
policy and the live model, store it as a normal comment of the site with its decision and
audit event (so it reaches the moderator queue and the learning loop), and answer Coral."""

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from service.comments import (
    NewComment,
    ScoredDecision,
    Submitted,
    record_decisions,
    submit_comments,
)
from service.integrations.coral.schemas import ExternalModerationRequest
from service.integrations.text import html_to_text, looks_like_html, plain_comment
from service.policy import Decision, decide
from service.sites import site_policy
from service.tables import Comment, CommentStatus, Site

IDEMPOTENCY_PREFIX = "coral:"


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
        idempotency_key=IDEMPOTENCY_PREFIX + hashlib.sha256(identity.encode()).hexdigest(),
    )


@dataclass(frozen=True)
class StoredVerdict:
    comment_id: str
    status: str
    created: bool


def decide_coral_comment(*, site: Site, body: str, scores: dict[str, float]) -> Decision:
    """The decision the workers would make: the site's policy, its word lists, the scores."""
    return decide(scores, site_policy(site).for_text(body))


def record_decided_comment(
    *,
    session: Session,
    site: Site,
    new: NewComment,
    decision: Decision,
    scores: dict[str, float],
    model_version: str,
) -> StoredVerdict:
    """Store the comment and its decision in one transaction, through the same functions as
    the API's submissions and the workers' decisions (one audit event, actor model:<version>).
    A comment already stored under its identity is left as it is and its status returned."""
    outcome = submit_comments(session=session, items=[(site.id, new)])[0]
    if not isinstance(outcome, Submitted):  # cannot differ: the key covers the content
        raise outcome
    if not outcome.created:
        return StoredVerdict(outcome.id, str(outcome.status), created=False)
    # The comment was never visible as pending (nothing is committed yet, no worker was
    # nudged); the claim token makes it this call's to decide, as a scoring round's would.
    token = str(uuid.uuid4())
    session.execute(
        update(Comment).where(Comment.id == outcome.id).values(claim_token=token),
        execution_options={"synchronize_session": False},
    )
    record_decisions(
        session=session,
        token=token,
        actor=f"model:{model_version}",
        model_version=model_version,
        decisions=[ScoredDecision(outcome.id, decision, scores)],
    )
    return StoredVerdict(outcome.id, decision.status.value, created=True)


def store_undecided(*, session: Session, site: Site, new: NewComment) -> StoredVerdict:
    """Store the comment pending, for the workers (the model failed here, or the site is over
    its quota for in-request scoring)."""
    outcome = submit_comments(session=session, items=[(site.id, new)])[0]
    if not isinstance(outcome, Submitted):
        raise outcome
    return StoredVerdict(outcome.id, str(outcome.status), created=outcome.created)


# Our status -> what Coral is told. Held comments are withheld and flagged, so that they wait
# in Coral's own queue too; a pending one (not decided yet) gets no opinion (204).
def coral_answer(status: str) -> dict[str, Any] | None:
    if status == CommentStatus.APPROVED:
        return {"status": "APPROVED"}
    if status in (CommentStatus.REJECTED, CommentStatus.REMOVED):
        return {"status": "REJECTED"}
    if status == CommentStatus.HELD:
        return {
            "status": "SYSTEM_WITHHELD",
            "actions": [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}],
        }
    return None
