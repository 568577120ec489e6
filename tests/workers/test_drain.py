"""Draining a backlog with several scoring rounds in flight, on PostgreSQL with the real model."""

import threading
from collections import Counter
from collections.abc import Sequence

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from classifiers import ToxicityModel, load_default_model
from classifiers.model import Assessment
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


class FakeClock:
    """The pacer's clock and sleep: time passes only when the test or the pacer says so."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_nudges_in_quick_succession_wait_for_the_rounds_turn(
    pg_env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    model = load_default_model()
    clock = FakeClock()
    pacer = RoundPacer(1.0, clock=clock, sleep=clock.sleep)

    store_pending(sessions, 3)
    assert _paced_drain(sessions, model, pacer) == 3
    assert clock.slept == [], "the first nudge waited for no one"
    clock.now += 0.25  # the round took a quarter of a second
    store_pending(sessions, 2)  # stored just after the round: its nudge arrives at once
    assert _paced_drain(sessions, model, pacer) == 2
    assert clock.slept == [0.75], "the second round did not wait for the rest of its turn"


def _stream(
    sessions: sessionmaker[Session], model: ToxicityModel, broker: redis.Redis, linger: float
) -> tuple[int, int]:
    """A site that posts its next comment (and the API's nudge) while each round is scoring,
    so every round finds exactly one new comment however fast or slow the machine is. Returns
    (Celery tasks run, comments decided)."""
    comments = 30
    posted = [1]

    class PostingWhileScoring:
        version = model.version
        languages = model.languages

        def assess(self, texts: Sequence[str]) -> list[Assessment]:
            if posted[0] < comments:
                store_pending(sessions, 1)
                enqueue_scoring()  # what the API does after each commit
                posted[0] += 1
            return model.assess(texts)

    scorer = PostingWhileScoring()
    store_pending(sessions, 1)
    enqueue_scoring()
    tasks = decided = 0
    while broker.rpop(TEST_QUEUE) is not None:  # what the Celery worker does with nudges
        tasks += 1
        decided += drain(
            sessions=sessions,
            load_scorer=lambda: scorer,
            batch_size=50,
            lease_seconds=60,
            pacer=RoundPacer(0.01),
            # Long enough never to end the linger on this machine; the stream's end ends it.
            linger_seconds=linger,
        )
    assert posted[0] == comments
    return tasks, decided


def test_a_steady_stream_is_taken_by_one_lingering_task(
    pg_env: dict[str, str], sessions: sessionmaker[Session], redis_url: str
) -> None:
    """Lingering, one task takes the stream, so the API sends (almost) no nudge while it
    runs; and nothing is left pending without one."""
    model = load_default_model()
    broker = redis.Redis.from_url(redis_url)
    tasks, decided = _stream(sessions, model, broker, linger=120.0)
    assert decided == 30, "a comment was left pending with no nudge on its way"
    # The first round clears the flag, so the comment posted during it nudges (a second task
    # that finds nothing); the lingering rounds hold the flag (a round over its 1 s expiry,
    # on a starved machine, would let one more through).
    assert tasks <= 5, f"{tasks} nudges for one steady stream"
    # Without lingering every round ends its task and the next comment nudges again.
    tasks_without, decided_without = _stream(sessions, model, broker, linger=0.0)
    assert decided_without == 30
    assert tasks_without == 30


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
