"""Scoring rounds that hold their comments by row locks (PostgreSQL), and what a round that
never finishes leaves behind: its record, which the sweep turns into an attempt per comment."""

import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from service.authors import Author, erase_comments
from service.comments import ScoredDecision
from service.db import session_scope
from service.policy import Decision
from service.scoring_rounds import open_round, release_abandoned_rounds
from service.tables import AuditEvent, Comment, CommentStatus, ScoringRound, Site
from tests.conftest import store_pending
from workers.scoring import MAX_ATTEMPTS, score_round


class WorkerDied(BaseException):
    """Stands for the process dying mid-round: nothing in the round may catch it."""


def _approve_all(ids: Sequence[str]) -> list[ScoredDecision]:
    return [
        ScoredDecision(i, Decision(CommentStatus.APPROVED, "fine"), {"toxicity": 0.1}) for i in ids
    ]


def _attempts(sessions: sessionmaker[Session]) -> list[int]:
    with session_scope(sessions) as session:
        return sorted(session.scalars(select(Comment.attempts)))


def _records(sessions: sessionmaker[Session]) -> int:
    with session_scope(sessions) as session:
        return session.scalar(select(func.count()).select_from(ScoringRound)) or 0


def test_rounds_open_at_once_take_different_comments(
    pg_env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    ids = store_pending(sessions, 5)
    with open_round(sessions=sessions, batch_size=3, lease_seconds=60) as first:
        with open_round(sessions=sessions, batch_size=10, lease_seconds=60) as second:
            taken = [c.id for c in first.comments], [c.id for c in second.comments]
            assert len(taken[0]) == 3 and len(taken[1]) == 2
            assert set(taken[0]) | set(taken[1]) == set(ids)
            assert second.record("model:t", "t", _approve_all(taken[1])) == 2
        assert first.record("model:t", "t", _approve_all(taken[0])) == 3
    with session_scope(sessions) as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 5
    assert _records(sessions) == 0, "a finished round leaves no record"
    # Taking a comment writes nothing into it: no token, no lease, no attempt counted.
    assert _attempts(sessions) == [0] * 5


def test_a_live_round_is_not_taken_for_dead(
    pg_env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    store_pending(sessions, 2)
    with open_round(sessions=sessions, batch_size=10, lease_seconds=60) as live:
        assert _records(sessions) == 1
        released: list[int] = []
        # The sweep runs in another process in production; another thread is enough here.
        sweep = threading.Thread(target=lambda: released.append(_release(sessions)), name="sweep")
        sweep.start()
        sweep.join(timeout=30)
        assert released == [0]
        assert live.record("model:t", "t", _approve_all([c.id for c in live.comments])) == 2
    assert _records(sessions) == 0
    assert _attempts(sessions) == [0, 0]


def _release(sessions: sessionmaker[Session]) -> int:
    with session_scope(sessions) as session:
        return release_abandoned_rounds(session=session)


def test_a_round_that_dies_frees_its_comments_at_once(
    pg_env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    ids = store_pending(sessions, 3)
    with (
        pytest.raises(WorkerDied),
        open_round(sessions=sessions, batch_size=10, lease_seconds=60) as dying,
    ):
        assert len(dying.comments) == 3
        raise WorkerDied
    assert _records(sessions) == 1, "the dead round's record outlives it"
    # The locks went with its transaction: the next round takes them, no lease to wait for.
    with open_round(sessions=sessions, batch_size=10, lease_seconds=60) as again:
        assert sorted(c.id for c in again.comments) == sorted(ids)
        assert again.record("model:t", "t", _approve_all(ids)) == 3
    # Decided meanwhile: the sweep drops the dead record and counts nothing.
    assert _release(sessions) == 0
    assert _records(sessions) == 0
    assert _attempts(sessions) == [0, 0, 0]


def test_a_comment_that_kills_every_round_goes_to_a_human(
    pg_env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    (poison,) = store_pending(sessions, 1)

    class Deadly:
        version = "deadly"
        languages = ("en",)

        def assess(self, texts: Sequence[str]) -> list[Any]:
            raise WorkerDied

    def one_round() -> None:
        score_round(sessions=sessions, load_scorer=Deadly, batch_size=10, lease_seconds=60)

    # Two deaths before a sweep count twice; then three more, one sweep each.
    for deaths_before_sweep in (2, 1, 1, 1):
        for _ in range(deaths_before_sweep):
            with pytest.raises(WorkerDied):
                one_round()
        assert _release(sessions) == 1
    assert _attempts(sessions) == [MAX_ATTEMPTS]
    one_round()  # no scorer is asked any more: the comment is held for a person
    with session_scope(sessions) as session:
        comment = session.get(Comment, poison)
        assert comment is not None
        assert comment.status == CommentStatus.HELD
        assert comment.decision_reason == "scoring failed repeatedly; needs a human"
        assert comment.attempts == MAX_ATTEMPTS


def test_a_round_that_hangs_past_its_lease_is_ended_by_the_store(
    pg_env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    ids = store_pending(sessions, 2)
    with (
        pytest.raises(DBAPIError, match="idle-in-transaction timeout"),
        open_round(sessions=sessions, batch_size=10, lease_seconds=0.2) as hung,
    ):
        time.sleep(1.0)  # a worker stuck mid-round, longer than its lease
        with open_round(sessions=sessions, batch_size=10, lease_seconds=60) as other:
            assert sorted(c.id for c in other.comments) == sorted(ids), "still locked"
            assert other.record("model:t", "t", _approve_all(ids)) == 2
        hung.record("model:t", "t", _approve_all(ids))  # its session is gone
    with session_scope(sessions) as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 2


def test_erasure_waits_for_a_round_and_erases_what_it_decided(
    pg_env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    (comment_id,) = store_pending(sessions, 1)
    with session_scope(sessions) as session:
        comment = session.get(Comment, comment_id)
        assert comment is not None
        site = session.get(Site, comment.site_id)
        assert site is not None
    erased: list[int] = []

    def erase() -> None:
        with session_scope(sessions) as session:
            reader = Author(author_name="R")
            erased.append(erase_comments(session=session, site=site, author=reader))

    with open_round(sessions=sessions, batch_size=10, lease_seconds=60) as held:
        asking = threading.Thread(target=erase, name="erasure")
        asking.start()
        asking.join(timeout=0.5)
        assert asking.is_alive(), "the erasure did not wait for the round holding the comment"
        assert held.record("model:t", "t", _approve_all([comment_id])) == 1
    asking.join(timeout=30)
    assert erased == [1]
    with session_scope(sessions) as session:
        comment = session.get(Comment, comment_id)
        assert comment is not None
        assert (comment.status, comment.body) == (CommentStatus.ERASED, "")
        steps = session.execute(
            select(AuditEvent.from_status, AuditEvent.to_status)
            .where(AuditEvent.comment_id == comment_id)
            .order_by(AuditEvent.id)
        ).all()
    assert [tuple(step) for step in steps] == [("pending", "approved"), ("approved", "erased")]


def test_a_round_records_only_inside_its_block_and_only_what_it_took(
    pg_env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    (taken, other) = store_pending(sessions, 2)
    with open_round(sessions=sessions, batch_size=1, lease_seconds=60) as held:
        assert [c.id for c in held.comments] == [taken]
        with pytest.raises(ValueError):
            held.record("model:t", "t", _approve_all([other]))
    with pytest.raises(RuntimeError):
        held.record("model:t", "t", _approve_all([taken]))
