"""Workers score with the store's live version and switch to a promoted (or rolled back) one
within 5 s, without a restart; the decisions they write carry the new version. Real model
files, real PostgreSQL: nothing here is a fake."""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from service.db import session_scope
from service.integrations.scoring import live_model as api_live_model
from service.model_registry import store
from service.model_registry.live import forget_live_model
from service.tables import Comment, ModelChange, ModelVersion
from tests.conftest import store_pending
from workers import tasks
from workers.scoring import score_round

SWITCH_WITHIN_SECONDS = 5.0


@pytest.fixture
def worker_scorer(registry: str) -> Iterator[None]:
    forget_live_model()
    yield
    forget_live_model()


def _version_seen_within(expected: str, seconds: float) -> float:
    """Seconds until load_scorer hands out ``expected``; fails after ``seconds``."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if tasks.load_scorer().version == expected:
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"load_scorer still gives {tasks.load_scorer().version}, not {expected}")


def test_a_promote_and_a_rollback_reach_load_scorer_within_5_s(
    worker_scorer: None,
    shipped_version: str,
    model_copies: dict[str, Path],
    sessions: sessionmaker[Session],
) -> None:
    with session_scope() as session:
        store.register_version(
            session=session, path=model_copies["registry-test-b"], created_by="test"
        )
    assert tasks.load_scorer().version == shipped_version

    with session_scope() as session:
        store.promote(session=session, version="registry-test-b", actor="test")
    took = _version_seen_within("registry-test-b", SWITCH_WITHIN_SECONDS)
    print(f"promote reached load_scorer in {took:.2f} s")
    # The API's in-request scoring (Perspective, Coral) holds the same live model.
    assert api_live_model().version == "registry-test-b"

    ids = store_pending(sessions, 3)
    result = score_round(
        sessions=sessions, load_scorer=tasks.load_scorer, batch_size=10, lease_seconds=60
    )
    assert result.decided == 3
    with session_scope() as session:
        recorded = session.scalars(select(Comment.model_version).where(Comment.id.in_(ids))).all()
    assert recorded == ["registry-test-b"] * 3

    with session_scope() as session:
        store.rollback(session=session, actor="test")
    took = _version_seen_within(shipped_version, SWITCH_WITHIN_SECONDS)
    print(f"rollback reached load_scorer in {took:.2f} s")


def test_without_a_live_version_the_packaged_model_scores(
    worker_scorer: None, shipped_version: str
) -> None:
    with session_scope() as session:
        session.execute(delete(ModelChange))
        session.execute(delete(ModelVersion))
    assert tasks.load_scorer().version == shipped_version


def test_a_version_that_fails_to_load_leaves_the_current_one_scoring(
    worker_scorer: None, shipped_version: str, model_copies: dict[str, Path]
) -> None:
    with session_scope() as session:
        store.register_version(
            session=session, path=model_copies["registry-test-b"], created_by="test"
        )
        # The stored bytes no longer match their checksum (a damaged row).
        session.execute(
            update(ModelVersion)
            .where(ModelVersion.version == "registry-test-b")
            .values(sha256="0" * 64)
        )
    assert tasks.load_scorer().version == shipped_version
    with session_scope() as session:
        store.promote(session=session, version="registry-test-b", actor="test")
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        assert tasks.load_scorer().version == shipped_version
        time.sleep(0.2)
