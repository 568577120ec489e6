"""A scorer that raises while scoring a batch holds the whole batch for a human, through the
Celery task a worker runs (only a failed model load was tested before)."""

from collections.abc import Sequence

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from classifiers.language import LanguageGuess
from classifiers.model import Assessment
from service.db import session_scope
from service.metrics import SCORING_FAILURES
from service.tables import AuditEvent, Comment, CommentStatus
from tests.conftest import store_pending
from workers import tasks


class ExplodingScorer:
    """Loads fine, then fails on the batch, as a model hitting a bad input or memory would."""

    version = "exploding-1"
    languages = ("en",)

    def __init__(self) -> None:
        self.batches: list[int] = []

    def assess(self, texts: Sequence[str]) -> list[Assessment]:
        self.batches.append(len(texts))
        raise RuntimeError("the model fell over mid-batch")


class ShortScorer(ExplodingScorer):
    """Answers for fewer comments than it was given: must not publish the rest."""

    def assess(self, texts: Sequence[str]) -> list[Assessment]:
        self.batches.append(len(texts))
        plain = Assessment({"toxicity": 0.01}, LanguageGuess("en", 0.99), 3, 3)
        return [plain] * (len(texts) - 1)


@pytest.mark.parametrize("scorer_class", [ExplodingScorer, ShortScorer])
def test_a_batch_whose_scoring_raises_is_held_with_the_reason(
    scorer_class: type[ExplodingScorer],
    pg_env: dict[str, str],
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scorer = scorer_class()
    # The model the task loads (workers.tasks.load_scorer) is this one.
    monkeypatch.setattr(tasks, "load_scorer", lambda: scorer)
    ids = store_pending(sessions, 5)
    failures_before = SCORING_FAILURES._value.get()

    assert tasks.score_pending() == 5  # the task a nudge runs, in this process

    assert scorer.batches == [5], "the scorer was not asked to score the batch"
    with session_scope(sessions) as session:
        comments = session.scalars(select(Comment).where(Comment.id.in_(ids))).all()
        events = session.scalars(select(AuditEvent).where(AuditEvent.comment_id.in_(ids))).all()
    assert {c.status for c in comments} == {CommentStatus.HELD}
    assert {c.decision_reason for c in comments} == {
        "the classifier failed (RuntimeError); needs a human"
    }
    assert all(c.scores is None for c in comments)
    assert {(e.actor, e.from_status, e.to_status) for e in events} == {
        ("model:exploding-1", "pending", "held")
    }
    assert len(events) == 5
    assert SCORING_FAILURES._value.get() - failures_before == 5
