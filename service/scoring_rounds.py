"""How a scoring round holds the comments it scores, until their decisions are written.

PostgreSQL: the round's transaction locks the pending rows it takes (`FOR NO KEY UPDATE SKIP
LOCKED`) and keeps them locked while the batch is scored and decided, so other rounds skip
them and taking a comment writes nothing into it. A claim that wrote a token and a lease
into each row was a whole new row version per comment before the decision wrote another,
the larger part of the database's work in a backlog. What must survive a worker killed
mid-batch is one small `scoring_rounds` row with the round's comment ids, committed before
scoring and deleted with the decisions: the sweep counts an attempt for the comments of a
round left behind, so a comment that kills every worker that scores it still reaches a human.
A killed round's locks go with its connection, so its comments are free again at once.

SQLite (the one-process trial): one writer at a time and no row locks, so a round claims with
a lease written into the rows (service.comments.claim_pending) and decides under its token.
"""

import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager

import orjson
from sqlalchemy.orm import Session, sessionmaker

from service.comments import (
    ClaimedComment,
    ScoredDecision,
    claim_pending,
    claimed_comments,
    record_decisions,
)
from service.db import session_scope, utcnow

# (actor, model_version, decisions) -> how many decisions landed
Writer = Callable[[str, str | None, Sequence[ScoredDecision]], int]


class OpenRound:
    """The comments a round took, and record() for their decisions, inside the round's block:
    on PostgreSQL the decisions are written in the transaction that holds the comments, so a
    record() after the block would hold nothing."""

    def __init__(self, comments: list[ClaimedComment], write: Writer) -> None:
        self.comments = comments
        self._write = write
        self._open = True

    def record(
        self, actor: str, model_version: str | None, decisions: Sequence[ScoredDecision]
    ) -> int:
        """Write the decisions; how many landed."""
        if not self._open:
            raise RuntimeError("a round's decisions are recorded inside its block")
        taken = {comment.id for comment in self.comments}
        if any(item.comment_id not in taken for item in decisions):
            raise ValueError("a decision for a comment this round did not take")
        return self._write(actor, model_version, decisions)

    def close(self) -> None:
        self._open = False


@contextmanager
def open_round(
    *, sessions: sessionmaker[Session], batch_size: int, lease_seconds: float
) -> Iterator[OpenRound]:
    """Take up to batch_size pending comments; `record` writes their decisions.

    On PostgreSQL the decisions are committed when the block ends without an error; on
    SQLite record() commits them itself. A round that ends with an error, or without
    recording, has failed: its comments are taken again by a later round, and the failure
    counts as an attempt for each of them.
    """
    with session_scope(sessions) as session:
        if session.get_bind().dialect.name == "postgresql":
            locked = _locked_round(
                session=session,
                sessions=sessions,
                batch_size=batch_size,
                lease_seconds=lease_seconds,
            )
            with closing(locked):
                yield locked
            return
        claim = claim_pending(session=session, batch_size=batch_size, lease_seconds=lease_seconds)

    def write(actor: str, model_version: str | None, decisions: Sequence[ScoredDecision]) -> int:
        with session_scope(sessions) as session:
            return record_decisions(
                session=session,
                token=claim.token,
                actor=actor,
                model_version=model_version,
                decisions=decisions,
            )

    leased = OpenRound(claim.comments, write)
    with closing(leased):
        yield leased


# The round's advisory lock is taken by the same statement, before any row is returned: while
# the round's record exists, a live round holds that lock, which is how the sweep tells it
# from a dead one. The lease becomes the longest the round's transaction may sit idle: a
# worker that hangs (rather than dies) has its session ended by PostgreSQL, which frees the
# comments as a death would. The lease condition keeps rows claimed the other way (SQLite's
# way, or a worker of an older version during an upgrade) out until their lease ends.
_LOCK_PENDING = """
WITH round_lock AS MATERIALIZED (
    SELECT pg_advisory_xact_lock(%(round_id)s),
           set_config('idle_in_transaction_session_timeout', %(idle_ms)s, true)
)
SELECT c.id, c.body, c.attempts + 1 AS attempts, c.site_id
FROM comments AS c, round_lock
WHERE c.status = 'pending' AND (c.lease_expires_at IS NULL OR c.lease_expires_at < %(now)s)
ORDER BY c.created_at
LIMIT %(limit)s
FOR NO KEY UPDATE OF c SKIP LOCKED
"""

_RECORD_ROUND = (
    "INSERT INTO scoring_rounds (id, comment_ids, started_at) VALUES (%(id)s, %(ids)s, %(now)s)"
)


def _locked_round(
    *, session: Session, sessions: sessionmaker[Session], batch_size: int, lease_seconds: float
) -> OpenRound:
    round_id = secrets.randbits(63)
    now = utcnow()
    rows = (
        session.connection()
        .exec_driver_sql(
            _LOCK_PENDING,
            {
                "round_id": round_id,
                "idle_ms": str(max(1, round(lease_seconds * 1000))),
                "now": now,
                "limit": batch_size,
            },
        )
        .all()
    )
    if rows:
        # Committed on a connection of its own while this transaction keeps the locks: it
        # must outlive this transaction if the worker dies.
        ids = orjson.dumps([row.id for row in rows]).decode()
        with session_scope(sessions) as other:
            other.connection().exec_driver_sql(
                _RECORD_ROUND, {"id": round_id, "ids": ids, "now": now}
            )

    def write(actor: str, model_version: str | None, decisions: Sequence[ScoredDecision]) -> int:
        return record_decisions(
            session=session,
            token=None,
            actor=actor,
            model_version=model_version,
            decisions=decisions,
            round_id=round_id,
        )

    return OpenRound(claimed_comments(session=session, rows=rows), write)


# A round's record whose advisory lock can be taken belongs to a transaction that has ended
# without deciding: its worker died or lost the database. Deleting the record and counting
# the attempt happen together, so two sweeps never count one dead round twice; a comment in
# several dead rounds gets one attempt for each. The update waits for a comment that a newer
# round holds (a round's length, well under a second), at most lock_timeout.
_RELEASE_ABANDONED = """
WITH abandoned AS (
    DELETE FROM scoring_rounds WHERE pg_try_advisory_xact_lock(id) RETURNING comment_ids
), held AS (
    SELECT id, count(*) AS rounds
    FROM abandoned, json_array_elements_text(comment_ids) AS id
    GROUP BY id
)
UPDATE comments SET attempts = attempts + held.rounds
FROM held
WHERE comments.id = held.id AND comments.status = 'pending'
RETURNING comments.id
"""


def release_abandoned_rounds(*, session: Session) -> int:
    """Count an attempt for each comment of a round that never finished; how many counted."""
    if session.get_bind().dialect.name != "postgresql":
        return 0  # SQLite's leases count their attempts when the comment is claimed
    connection = session.connection()
    connection.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
    return len(connection.exec_driver_sql(_RELEASE_ABANDONED).all())
