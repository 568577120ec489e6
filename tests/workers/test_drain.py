"""Draining a backlog with several scoring rounds in flight, on PostgreSQL with the real model."""

import threading
import time
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from classifiers import ToxicityModel, load_default_model
from service.db import session_scope
from service.models import AuditEvent, Comment, CommentStatus
from tests.conftest import store_pending
from workers.scoring import RoundPacer, drain


def test_rounds_in_flight_decide_a_backlog_once_each(
    pg_env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    ids = store_pending(sessions, 700)
    model = load_default_model()
    scoring_threads: Counter[str] = Counter()

    def scorer() -> ToxicityModel:
        scoring_threads[threading.current_thread().name] += 1
        return model

    decided = drain(
        sessions=sessions, load_scorer=scorer, batch_size=50, lease_seconds=60, rounds_in_flight=3
    )

    assert decided == 700
    assert len(scoring_threads) > 1, "the rounds ran one after another"
    with session_scope(sessions) as session:
        per_comment = Counter(
            dict(
                session.execute(
                    select(AuditEvent.comment_id, func.count()).group_by(AuditEvent.comment_id)
                ).all()
            )
        )
        pending = session.scalar(
            select(func.count()).where(Comment.status == CommentStatus.PENDING)
        )
    assert set(per_comment) == set(ids)
    assert set(per_comment.values()) == {1}, "a comment was decided twice"
    assert pending == 0


def test_a_trickle_costs_one_round(pg_env: dict[str, str], sessions: sessionmaker[Session]) -> None:
    store_pending(sessions, 3)
    model = load_default_model()
    rounds: list[str] = []

    def scorer() -> ToxicityModel:
        rounds.append(threading.current_thread().name)
        return model

    decided = drain(
        sessions=sessions, load_scorer=scorer, batch_size=50, lease_seconds=60, rounds_in_flight=3
    )
    assert decided == 3
    assert len(rounds) == 1, "a short claim must not start more rounds"


def test_nudges_in_quick_succession_wait_for_the_rounds_turn(
    pg_env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    model = load_default_model()
    turns: list[float] = []

    class Recorded(RoundPacer):
        def wait_turn(self) -> None:
            super().wait_turn()
            turns.append(time.monotonic())

    pacer = Recorded(1.0)

    def nudged() -> int:
        return drain(
            sessions=sessions,
            load_scorer=lambda: model,
            batch_size=50,
            lease_seconds=60,
            pacer=pacer,
        )

    store_pending(sessions, 3)
    called = time.monotonic()
    assert nudged() == 3
    store_pending(sessions, 2)  # stored just after the round: its nudge arrives at once
    assert nudged() == 2
    assert turns[0] - called < 0.5, "the first nudge waited for no one"
    assert turns[1] - turns[0] >= 1.0, "the second round started before its turn"
