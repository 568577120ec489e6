"""Draining a backlog with several scoring rounds in flight, on PostgreSQL with the real model."""

import threading
import time
from collections import Counter

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from classifiers import ToxicityModel, load_default_model
from service.db import session_scope
from service.queue import enqueue_scoring
from service.tables import AuditEvent, Comment, CommentStatus
from tests.conftest import TEST_QUEUE, store_pending
from workers.scoring import RoundPacer, drain


def _paced_drain(
    sessions: sessionmaker[Session],
    model: ToxicityModel,
    pacer: RoundPacer,
    linger_seconds: float = 0.0,
) -> int:
    """One nudge's task, as the Celery worker runs it with the nudge flag in Redis."""
    return drain(
        sessions=sessions,
        load_scorer=lambda: model,
        batch_size=50,
        lease_seconds=60,
        pacer=pacer,
        linger_seconds=linger_seconds,
    )


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
        return _paced_drain(sessions, model, pacer)

    store_pending(sessions, 3)
    called = time.monotonic()
    assert nudged() == 3
    store_pending(sessions, 2)  # stored just after the round: its nudge arrives at once
    assert nudged() == 2
    assert turns[0] - called < 0.5, "the first nudge waited for no one"
    assert turns[1] - turns[0] >= 1.0, "the second round started before its turn"


def test_a_steady_stream_is_taken_by_one_lingering_task(
    pg_env: dict[str, str], sessions: sessionmaker[Session], redis_url: str
) -> None:
    """A site posting every 20 ms, each comment followed by the API's nudge; the worker's
    paced rounds (every 50 ms) find a few each. Lingering, one task takes the stream, so
    the API sends no nudge while it runs; and nothing is left pending without one."""
    model = load_default_model()
    broker = redis.Redis.from_url(redis_url)
    pacer = RoundPacer(0.05)
    comments = 30

    def site() -> None:
        for _ in range(comments):
            store_pending(sessions, 1)
            enqueue_scoring()  # what the API does after each commit
            time.sleep(0.02)

    def task() -> int:  # what the Celery worker does with a nudge
        return _paced_drain(sessions, model, pacer, linger_seconds=5.0)

    posting = threading.Thread(target=site, name="site")
    posting.start()
    tasks = decided = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if broker.rpop(TEST_QUEUE) is not None:
            tasks += 1
            decided += task()
        elif not posting.is_alive():
            break
        else:
            time.sleep(0.005)
    posting.join()
    assert decided == comments, "a comment was left pending with no nudge on its way"
    # Without lingering each round ends its task and the next comment nudges again: ~12 here.
    assert tasks <= 3, f"{tasks} nudges for one steady stream"


def test_a_lingering_task_lets_go_of_the_nudge_flag_as_it_ends(
    pg_env: dict[str, str], sessions: sessionmaker[Session], redis_url: str
) -> None:
    model = load_default_model()
    broker = redis.Redis.from_url(redis_url)
    store_pending(sessions, 3)
    assert _paced_drain(sessions, model, RoundPacer(0.01), linger_seconds=5.0) == 3
    # The rounds after the first held the flag; the last one cleared it, so the next comment
    # sends its own nudge instead of waiting for the sweep.
    store_pending(sessions, 1)
    enqueue_scoring()
    assert broker.llen(TEST_QUEUE) == 1
