"""A reader's rights over their comments (GDPR): export them, erase them.

Erasure keeps the row and its audit trail but removes the text and every trace of the author,
and records who asked, so the log can show that it happened without keeping what was erased.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, or_, select, update
from sqlalchemy.orm import Session

from service.comments import decode_cursor, encode_cursor
from service.db import Base, utcnow
from service.errors import InvalidComment
from service.integrations.text import plain_comment
from service.tables import (
    AnalyzedText,
    AuditEvent,
    Comment,
    CommentStatus,
    ShadowScore,
    Site,
    SuggestionFeedback,
    WebhookDelivery,
)


@dataclass(frozen=True)
class Author:
    """A reader as the site knows them: its own id for them, or the display name."""

    author_id: str | None = None
    author_name: str | None = None

    def __post_init__(self) -> None:
        if (self.author_id is None) == (self.author_name is None):
            raise InvalidComment(
                "author_required",
                "give exactly one of author_id and author_name",
                field="author_id",
            )


def _authored_by(site: Site, author: Author):  # type: ignore[no-untyped-def]
    if author.author_id is not None:
        return (Comment.site_id == site.id) & (Comment.author_id == author.author_id)
    return (Comment.site_id == site.id) & (Comment.author_name == author.author_name)


def export_comments(
    *, session: Session, site: Site, author: Author, limit: int, cursor: str | None = None
) -> tuple[Sequence[Comment], str | None]:
    """One page of the author's comments, oldest first, and the cursor of the next page (a
    prolific reader's export is not one unbounded answer)."""
    query = select(Comment).where(
        _authored_by(site, author), Comment.status != CommentStatus.ERASED
    )
    if cursor is not None:
        created_at, comment_id = decode_cursor(cursor)
        query = query.where(
            or_(
                Comment.created_at > created_at,
                and_(Comment.created_at == created_at, Comment.id > comment_id),
            )
        )
    page = session.scalars(query.order_by(Comment.created_at, Comment.id).limit(limit + 1)).all()
    if len(page) > limit:
        return page[:limit], encode_cursor(page[limit - 1])
    return page, None


# --- copies of a comment's text outside its row ----------------------------------------------
# Erasure has to reach every copy of a reader's text or name, not only the comment's row. A
# table that keeps one (a webhook's payload; later training labels, shadow scores, feedback)
# is one entry in TEXT_COPIES: which of its rows belong to the erased comments, and either the
# values that replace the text or, with no values, that the rows are deleted.


@dataclass(frozen=True)
class TextCopy:
    table: type[Base]
    rows_of: Callable[[Sequence[str]], ColumnElement[bool]]  # rows of these comment ids
    scrubbed: Mapping[str, Any] = field(default_factory=dict)  # empty: delete the rows


def _shadow_scores_of(comment_ids: Sequence[str]) -> ColumnElement[bool]:
    return ShadowScore.comment_id.in_(comment_ids)


def _deliveries_of(comment_ids: Sequence[str]) -> ColumnElement[bool]:
    events = select(AuditEvent.id).where(AuditEvent.comment_id.in_(comment_ids))
    return WebhookDelivery.audit_event_id.in_(events)


TEXT_COPIES: tuple[TextCopy, ...] = (
    # The payload carried the body and author; a delivery not yet sent is never sent now.
    TextCopy(
        WebhookDelivery,
        _deliveries_of,
        {
            "payload": {"erased": True},
            "status": case(
                (WebhookDelivery.status == "pending", "dropped"), else_=WebhookDelivery.status
            ),
            "last_error": case(
                (WebhookDelivery.status == "pending", "the comment was erased"),
                else_=WebhookDelivery.last_error,
            ),
        },
    ),
    # No text, but what a candidate model made of the reader's text, kept only to judge that
    # model on it: an erased comment is no longer ours to judge models on. Deleted.
    TextCopy(ShadowScore, _shadow_scores_of),
)


def _erase_copies(*, session: Session, comment_ids: Sequence[str]) -> None:
    if not comment_ids:
        return
    for copy in TEXT_COPIES:
        where = copy.rows_of(comment_ids)
        statement = (
            update(copy.table).where(where).values(dict(copy.scrubbed))
            if copy.scrubbed
            else delete(copy.table).where(where)
        )
        session.execute(statement, execution_options={"synchronize_session": False})


# Tables that keep a site's texts with no link to a comment: Perspective's analysed texts (kept
# when a site asks) and suggestscore feedback (Coral sends one per moderator decision, with the
# comment's text). Perspective's wire format names no author, so the only way to find a reader's
# copies is the text itself: rows of the same site with exactly an erased comment's text go.
SAME_TEXT_COPIES = (AnalyzedText, SuggestionFeedback)
# Texts per statement: an IN list this long is hashed by PostgreSQL, so each statement is one
# pass over the site's rows, and a prolific author's erasure is a few statements, not one each.
_TEXTS_PER_STATEMENT = 500


def _erase_same_text_copies(*, session: Session, site: Site, texts: Sequence[str]) -> None:
    # Both spellings: the copies keep a text as plain_comment made it (HTML to text), the
    # comment's row keeps it as written.
    distinct = sorted({form for text in texts for form in (text, plain_comment(text)) if form})
    for start in range(0, len(distinct), _TEXTS_PER_STATEMENT):
        chunk = distinct[start : start + _TEXTS_PER_STATEMENT]
        for table in SAME_TEXT_COPIES:
            session.execute(
                delete(table).where(table.site_id == site.id, table.text.in_(chunk)),
                execution_options={"synchronize_session": False},
            )


def erase_comments(*, session: Session, site: Site, author: Author) -> int:
    """Erase every comment of the author on this site; return how many were erased."""
    now = utcnow()
    # Locked as read (PostgreSQL; SQLite has one writer at a time anyway): a comment that a
    # scoring round holds is waited for and erased in the state the round left it in, rather
    # than skipped and published after the author asked for erasure.
    targets = session.execute(
        select(Comment.id, Comment.status, Comment.body)
        .where(_authored_by(site, author), Comment.status != CommentStatus.ERASED)
        .with_for_update()
    ).all()
    erased: list[str] = []
    erased_texts: list[str] = []
    for comment_id, status, body in targets:
        # Conditional on the status read above, so that the audit event's "from" is true.
        result = session.execute(
            update(Comment)
            .where(Comment.id == comment_id, Comment.status == status)
            .values(
                status=CommentStatus.ERASED,
                body="",
                author_name="",
                author_id=None,
                idempotency_key=None,
                claim_token=None,
                lease_expires_at=None,
                decided_at=now,
            ),
            execution_options={"synchronize_session": False},
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            continue
        session.add(
            AuditEvent(
                comment_id=comment_id,
                actor=f"site:{site.name}",
                from_status=status,
                to_status=CommentStatus.ERASED,
                reason="erased at the author's request",
                scores=None,
                created_at=now,
            )
        )
        erased.append(comment_id)
        erased_texts.append(body)
    _erase_copies(session=session, comment_ids=erased)
    _erase_same_text_copies(session=session, site=site, texts=erased_texts)
    session.flush()
    return len(erased)
