"""Comments in the store: submit, read, claim for scoring, record decisions.

Plain keyword-only functions over a session; the HTTP handlers and Celery tasks stay thin.
"""

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

import orjson
from sqlalchemy import (
    Table,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from service.db import utcnow
from service.errors import CommentNotFound, IdempotencyConflict, InvalidComment
from service.policy import Decision, Policy
from service.sites import site_policy
from service.tables import AuditEvent, Comment, CommentStatus, Site, new_id

# Keys the service makes for Coral's comments (their identity, hashed): a site's own
# submissions may not use them, or a key holder could take a Coral comment's place.
CORAL_IDEMPOTENCY_PREFIX = "coral:"


@dataclass(frozen=True)
class NewComment:
    article_id: str
    author_name: str
    body: str
    idempotency_key: str | None = None
    author_id: str | None = None


def submit_comment(*, session: Session, site: Site, new: NewComment) -> tuple[Comment, bool]:
    """Store one pending comment; return it and whether it was created now (a batch of one).

    The same idempotency key with the same content returns the comment already stored; with
    different content it is a client bug, reported as a conflict rather than silently merged.
    """
    outcome = submit_comments(session=session, items=[(site.id, new)])[0]
    if isinstance(outcome, IdempotencyConflict):
        raise outcome
    comment = session.get(Comment, outcome.id)
    assert comment is not None
    return comment, outcome.created


@dataclass(frozen=True)
class Submitted:
    id: str
    status: str
    created: bool


def submit_comments(
    *, session: Session, items: Sequence[tuple[str, NewComment]]
) -> list[Submitted | IdempotencyConflict]:
    """Store many (site id, comment) pairs in one INSERT; one outcome per item, in order.

    The API's batcher calls this to pay one round trip and one commit for every comment that
    arrived while the previous batch was being written. Idempotency works as in
    submit_comment: an existing key with the same content returns the stored comment, with
    other content a conflict; two items with one key in the same batch store one comment.
    """
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {
            "id": new_id(),
            "site_id": site_id,
            "article_id": new.article_id,
            "author_name": new.author_name,
            "author_id": new.author_id,
            "body": new.body,
            "idempotency_key": new.idempotency_key,
            "status": CommentStatus.PENDING.value,
            "attempts": 0,
            # Distinct, increasing stamps keep the article feed's order the arrival order.
            "created_at": now + timedelta(microseconds=offset),
        }
        for offset, (site_id, new) in enumerate(items)
    ]
    # Rows go in key order so that two batches in flight with the same keys take their locks
    # in the same order (otherwise each can wait on the other: a deadlock, seen in tests).
    in_key_order = sorted(rows, key=lambda row: (row["site_id"], row["idempotency_key"] or ""))
    if session.get_bind().dialect.name == "postgresql":
        inserted = _insert_as_arrays(session, in_key_order)
    else:
        inserted = _insert_many(session, in_key_order)
    outcomes: list[Submitted | IdempotencyConflict] = []
    for row, (site_id, new) in zip(rows, items, strict=True):
        if row["id"] in inserted:
            outcomes.append(Submitted(id=row["id"], status=CommentStatus.PENDING, created=True))
            continue
        # Only a reused idempotency key can have kept the row out.
        assert new.idempotency_key is not None
        existing = _by_idempotency_key(session=session, site_id=site_id, key=new.idempotency_key)
        assert existing is not None
        try:
            same = _same_or_conflict(existing, new)
        except IdempotencyConflict as conflict:
            outcomes.append(conflict)
            continue
        outcomes.append(Submitted(id=same.id, status=same.status, created=False))
    return outcomes


def _insert_many(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """SQLite: an executemany, which SQLAlchemy compiles once and batches itself."""
    table = cast(Table, Comment.__table__)
    statement = (
        sqlite.insert(table)
        .on_conflict_do_nothing(index_elements=["site_id", "idempotency_key"])
        .returning(table.c.id)
    )
    return set(session.scalars(statement, rows))


# One statement whatever the batch size: each column travels as one array parameter, in
# binary (%b; psycopg's text format for lists is written in Python and cost ~15x the CPU).
# Building and compiling a VALUES list of 256 rows was a fifth of the API's CPU per comment
# (profiled); this is fixed SQL with ten parameters.
_INSERT_COLUMNS = (
    ("id", "varchar"),
    ("site_id", "varchar"),
    ("article_id", "varchar"),
    ("author_name", "varchar"),
    ("author_id", "varchar"),
    ("body", "text"),
    ("idempotency_key", "varchar"),
    ("status", "varchar"),
    ("attempts", "integer"),
    ("created_at", "timestamptz"),
)
_INSERT_AS_ARRAYS = (
    f"INSERT INTO comments ({', '.join(name for name, _ in _INSERT_COLUMNS)}) "
    f"SELECT * FROM unnest({', '.join(f'%({name})b::{kind}[]' for name, kind in _INSERT_COLUMNS)})"
    " ON CONFLICT (site_id, idempotency_key) DO NOTHING RETURNING id"
)


def _insert_as_arrays(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """PostgreSQL: all rows in one INSERT … SELECT FROM unnest(arrays), in the rows' order."""
    columns = {name: [row[name] for row in rows] for name, _ in _INSERT_COLUMNS}
    result = session.connection().exec_driver_sql(_INSERT_AS_ARRAYS, columns)
    return {row[0] for row in result}


def _by_idempotency_key(*, session: Session, site_id: str, key: str) -> Comment | None:
    return session.scalar(
        select(Comment).where(Comment.site_id == site_id, Comment.idempotency_key == key)
    )


def _same_or_conflict(existing: Comment, new: NewComment) -> Comment:
    same = (existing.article_id, existing.author_name, existing.body) == (
        new.article_id,
        new.author_name,
        new.body,
    )
    if not same:
        raise IdempotencyConflict(
            "this idempotency_key was already used for a different comment",
            field="idempotency_key",
        )
    return existing


def get_comment(*, session: Session, site_id: str, comment_id: str) -> Comment:
    """A site sees only its own comments; anything else is 'not found', never 'forbidden'."""
    try:
        uuid.UUID(comment_id)
    except ValueError:
        raise CommentNotFound("no such comment") from None
    comment = session.get(Comment, comment_id)
    if comment is None or comment.site_id != site_id:
        raise CommentNotFound("no such comment")
    return comment


# --- the article page ----------------------------------------------------------------------


def encode_cursor(comment: Comment) -> str:
    raw = orjson.dumps([comment.created_at.isoformat(), comment.id])
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, comment_id = orjson.loads(raw)
        return datetime.fromisoformat(created_at), str(comment_id)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise InvalidComment(
            "invalid_cursor", "cursor is not one this API gave out", field="cursor"
        ) from None


def list_published(
    *, session: Session, site_id: str, article_id: str, limit: int, cursor: str | None
) -> tuple[list[Comment], str | None]:
    """Approved comments of one article, newest first, and the cursor of the next page."""
    query = select(Comment).where(
        Comment.site_id == site_id,
        Comment.article_id == article_id,
        Comment.status == CommentStatus.APPROVED,
    )
    if cursor is not None:
        created_at, comment_id = decode_cursor(cursor)
        if created_at.tzinfo is None:
            raise InvalidComment(
                "invalid_cursor", "cursor is not one this API gave out", field="cursor"
            )
        query = query.where(
            or_(
                Comment.created_at < created_at,
                and_(Comment.created_at == created_at, Comment.id < comment_id),
            )
        )
    rows = list(
        session.scalars(
            query.order_by(Comment.created_at.desc(), Comment.id.desc()).limit(limit + 1)
        )
    )
    if len(rows) > limit:
        return rows[:limit], encode_cursor(rows[limit - 1])
    return rows, None


# --- scoring -------------------------------------------------------------------------------


# Claimed comments and their decisions are tuples, not frozen dataclasses: a worker builds
# one of each for every comment it scores, and a frozen dataclass costs ~3x as much to build.
class ClaimedComment(NamedTuple):
    id: str
    body: str
    # This round and the earlier ones that took the comment without finishing it (on SQLite,
    # where a claim counts itself: every round that has taken it).
    attempts: int
    policy: Policy
    # The comment's site has a webhook: its decision is to be announced.
    announce: bool = False


@dataclass(frozen=True)
class Claim:
    token: str
    comments: list[ClaimedComment]


def _claimable(now: datetime):  # type: ignore[no-untyped-def]
    return and_(
        Comment.status == CommentStatus.PENDING,
        or_(Comment.lease_expires_at.is_(None), Comment.lease_expires_at < now),
    )


def claim_pending(*, session: Session, batch_size: int, lease_seconds: float) -> Claim:
    """Take up to batch_size pending comments for this worker until the lease ends.

    On PostgreSQL, SKIP LOCKED lets several workers claim side by side without waiting on
    each other; SQLite has one writer at a time, so the plain update is already exclusive.
    """
    now = utcnow()
    token = str(uuid.uuid4())
    # A materialised CTE, not "id IN (subquery)": PostgreSQL may re-run a locking subquery
    # inside the update's plan and claim more than batch_size rows.
    candidates = (
        select(Comment.id)
        .where(_claimable(now))
        .order_by(Comment.created_at)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
        .cte("candidates")
        .prefix_with("MATERIALIZED")
    )
    # Run as a Core statement on the session's connection: the ORM's bulk-update layer cost
    # a third of a claim's CPU and nothing here needs it (no objects are loaded).
    claimed = (
        session.connection()
        .execute(
            update(Comment)
            .where(Comment.id == candidates.c.id, _claimable(now))
            .values(
                claim_token=token,
                lease_expires_at=now + timedelta(seconds=lease_seconds),
                attempts=Comment.attempts + 1,
            )
            .returning(Comment.id, Comment.body, Comment.attempts, Comment.site_id)
        )
        .all()
    )
    return Claim(token=token, comments=claimed_comments(session=session, rows=claimed))


# Built once, as Core: loading Site objects through the ORM cost a scoring round ~0.5 ms of
# CPU more (measured), for what is a read of one or two rows.
_SITES = cast(Table, Site.__table__)
_SITES_BY_ID = select(_SITES).where(_SITES.c.id.in_(bindparam("ids", expanding=True)))


def claimed_comments(*, session: Session, rows: Sequence[Any]) -> list[ClaimedComment]:
    """Claimed rows (id, body, attempts, site_id, in that order) with their sites' policies."""
    if not rows:
        return []
    sites = {
        site.id: (site_policy(site), site.webhook_url is not None)
        for site in session.connection().execute(
            _SITES_BY_ID, {"ids": list({row.site_id for row in rows})}
        )
    }
    claimed = []
    for comment_id, body, attempts, site_id in rows:
        policy, announce = sites[site_id]
        claimed.append(
            # The policy is bound to the comment's text: word lists are matched here, scores
            # later.
            ClaimedComment(comment_id, body, attempts, policy.for_text(body), announce)
        )
    return claimed


class ScoredDecision(NamedTuple):
    comment_id: str
    decision: Decision
    scores: dict[str, float] | None
    language: str | None = None


def record_decisions(
    *,
    session: Session,
    token: str | None,
    actor: str,
    model_version: str | None,
    decisions: Sequence[ScoredDecision],
    round_id: int | None = None,
) -> int:
    """Write each decision only if this claim still holds the comment; return how many landed.

    The conditional update is what makes a redelivered message, or a worker whose lease ran
    out, harmless: the second writer finds the comment no longer pending under its token.
    Every decision that lands gets its audit event in the same transaction. On PostgreSQL a
    batch is one statement, never one per comment.

    token None (PostgreSQL only) means this session's transaction holds the comments locked
    (service.scoring_rounds); the round's record, round_id, is deleted in the same statement.
    """
    if not decisions:
        return 0
    now = utcnow()
    if session.get_bind().dialect.name == "postgresql":
        return _write_decisions_at_once(
            session=session,
            token=token,
            actor=actor,
            model_version=model_version,
            decisions=decisions,
            now=now,
            round_id=round_id,
        )
    if token is None:
        raise ValueError("SQLite holds claims by token only")
    written = _write_decisions_in_turn(
        session=session, token=token, model_version=model_version, decisions=decisions, now=now
    )
    landed = [item for item in decisions if item.comment_id in written]
    if landed:
        session.execute(
            insert(AuditEvent),
            [
                {
                    "comment_id": item.comment_id,
                    "actor": actor,
                    "from_status": CommentStatus.PENDING.value,
                    "to_status": item.decision.status.value,
                    "reason": item.decision.reason,
                    "scores": item.scores,
                    "created_at": now,
                }
                for item in landed
            ],
        )
    return len(landed)


# The decisions travel as one JSON document (orjson writes it in C; five arrays cost the
# worker ~3 us per comment in psycopg's Python dumpers), joined to the comments by primary
# key. The claim token, where there is one, is in each row, not a constant: as a constant
# PostgreSQL estimated one matching comment, scanned the whole table and compared every row
# with every decision (30-40 ms per 256 at 25,000 comments, growing with the table). A null
# token is a round that holds its comments by row locks (the PostgreSQL path today): no token
# to check, and its record goes in the same statement. The audit events are inserted from
# the rows the update returned, in the same statement.
_WRITE_DECISIONS = """
WITH decided AS (
    SELECT * FROM json_to_recordset(%(decisions)s::json)
        AS d(id varchar, status varchar, reason varchar, scores json, language varchar,
             token varchar)
), written AS (
    UPDATE comments AS c
    SET status = decided.status, decision_reason = decided.reason,
        scores = decided.scores, language = decided.language,
        model_version = %(model_version)s,
        decided_at = %(now)s, claim_token = NULL, lease_expires_at = NULL
    FROM decided
    WHERE c.id = decided.id AND c.status = 'pending'
        AND (decided.token IS NULL OR c.claim_token = decided.token)
    RETURNING c.id, decided.status, decided.reason, decided.scores
), finished AS (
    DELETE FROM scoring_rounds WHERE id = %(round_id)s
), audited AS (
    INSERT INTO audit_events (comment_id, actor, from_status, to_status, reason, scores,
                              created_at)
    SELECT id, %(actor)s, 'pending', status, reason, scores, %(now)s FROM written
    RETURNING 1
)
SELECT count(*) FROM audited
"""


def _write_decisions_at_once(
    *,
    session: Session,
    token: str | None,
    actor: str,
    model_version: str | None,
    decisions: Sequence[ScoredDecision],
    now: datetime,
    round_id: int | None,
) -> int:
    """One statement for the batch's decisions and their audit events; how many landed."""
    document = orjson.dumps(
        [
            {
                "id": item.comment_id,
                "status": item.decision.status,
                "reason": item.decision.reason,
                "scores": item.scores,
                "language": item.language,
                "token": token,
            }
            for item in decisions
        ]
    ).decode()
    result = session.connection().exec_driver_sql(
        _WRITE_DECISIONS,
        {
            "decisions": document,
            "round_id": round_id,
            "actor": actor,
            "model_version": model_version,
            "now": now,
        },
    )
    return int(result.scalar_one())


def _write_decisions_in_turn(
    *,
    session: Session,
    token: str,
    model_version: str | None,
    decisions: Sequence[ScoredDecision],
    now: datetime,
) -> set[str]:
    """SQLite has no UPDATE … FROM (VALUES …) with named columns: take over the comments
    this claim still holds under a fresh token, then write them in one executemany."""
    writing = str(uuid.uuid4())
    held = set(
        session.scalars(
            update(Comment)
            .where(
                Comment.id.in_([item.comment_id for item in decisions]),
                Comment.status == CommentStatus.PENDING,
                Comment.claim_token == token,
            )
            .values(claim_token=writing)
            .returning(Comment.id),
            execution_options={"synchronize_session": False},
        )
    )
    if not held:
        return held
    table = cast(Table, Comment.__table__)
    session.connection().execute(
        table.update()
        .where(table.c.id == bindparam("comment_id"), table.c.claim_token == writing)
        .values(
            status=bindparam("new_status"),
            decision_reason=bindparam("reason"),
            scores=bindparam("new_scores", type_=Comment.scores.type),
            language=bindparam("language"),
            model_version=model_version,
            decided_at=now,
            claim_token=None,
            lease_expires_at=None,
        ),
        [
            {
                "comment_id": item.comment_id,
                "new_status": item.decision.status.value,
                "reason": item.decision.reason,
                "new_scores": item.scores,
                "language": item.language,
            }
            for item in decisions
            if item.comment_id in held
        ],
    )
    return held


def count_stale_pending(*, session: Session, older_than: timedelta) -> int:
    """Pending comments nobody is working on that should have been decided by now."""
    now = utcnow()
    return (
        session.scalar(
            select(func.count())
            .select_from(Comment)
            .where(_claimable(now), Comment.created_at < now - older_than)
        )
        or 0
    )
