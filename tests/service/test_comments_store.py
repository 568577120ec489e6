"""The store's functions, on both SQLite (embedded) and PostgreSQL (production)."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from service.comments import (
    NewComment,
    ScoredDecision,
    claim_pending,
    count_stale_pending,
    get_comment,
    list_published,
    record_decisions,
    submit_comment,
)
from service.db import session_scope
from service.errors import CommentNotFound, IdempotencyConflict
from service.policy import Decision
from service.tables import AuditEvent, Comment, CommentStatus
from tests.conftest import make_site


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> sessionmaker[Session]:
    request.getfixturevalue("sqlite_env" if request.param == "sqlite" else "pg_env")
    return request.getfixturevalue("sessions")


def new(body: str = "A fine piece.", key: str | None = None, article: str = "a1") -> NewComment:
    return NewComment(article_id=article, author_name="Ann", body=body, idempotency_key=key)


def test_same_idempotency_key_returns_the_same_comment(store: sessionmaker[Session]) -> None:
    with session_scope(store) as session:
        site, _ = make_site(session)
        first, created_first = submit_comment(session=session, site=site, new=new(key="k1"))
        second, created_second = submit_comment(session=session, site=site, new=new(key="k1"))
        assert (created_first, created_second) == (True, False)
        assert first.id == second.id
        assert session.scalar(select(func.count()).select_from(Comment)) == 1


def test_reused_idempotency_key_with_other_content_conflicts(store: sessionmaker[Session]) -> None:
    with session_scope(store) as session:
        site, _ = make_site(session)
        submit_comment(session=session, site=site, new=new(key="k1"))
        with pytest.raises(IdempotencyConflict):
            submit_comment(session=session, site=site, new=new(body="Other text", key="k1"))


def test_a_site_cannot_read_another_sites_comment(store: sessionmaker[Session]) -> None:
    with session_scope(store) as session:
        mine, _ = make_site(session)
        theirs, _ = make_site(session)
        comment, _ = submit_comment(session=session, site=mine, new=new())
        assert get_comment(session=session, site_id=mine.id, comment_id=comment.id).id == comment.id
        with pytest.raises(CommentNotFound):
            get_comment(session=session, site_id=theirs.id, comment_id=comment.id)
        with pytest.raises(CommentNotFound):
            get_comment(session=session, site_id=mine.id, comment_id="not-a-uuid")


def test_claim_decide_once_and_audit(store: sessionmaker[Session]) -> None:
    with session_scope(store) as session:
        site, _ = make_site(session)
        ids = [submit_comment(session=session, site=site, new=new(f"c{i}"))[0].id for i in range(5)]
    with session_scope(store) as session:
        first = claim_pending(session=session, batch_size=3, lease_seconds=60)
    with session_scope(store) as session:
        second = claim_pending(session=session, batch_size=10, lease_seconds=60)
    assert len(first.comments) == 3 and len(second.comments) == 2
    assert {c.id for c in first.comments} | {c.id for c in second.comments} == set(ids)

    decisions = [
        ScoredDecision(c.id, Decision(CommentStatus.APPROVED, "low"), {"toxicity": 0.1})
        for c in first.comments
    ]
    with session_scope(store) as session:
        assert (
            record_decisions(
                session=session,
                token=first.token,
                actor="model:t",
                model_version="t",
                decisions=decisions,
            )
            == 3
        )
    # A redelivered message, or a stale claim, decides nothing a second time.
    with session_scope(store) as session:
        assert (
            record_decisions(
                session=session,
                token=first.token,
                actor="model:t",
                model_version="t",
                decisions=decisions,
            )
            == 0
        )
        assert (
            record_decisions(
                session=session,
                token=second.token,
                actor="model:t",
                model_version="t",
                decisions=decisions,
            )
            == 0
        )
    with session_scope(store) as session:
        events = session.scalars(select(AuditEvent)).all()
        assert len(events) == 3
        assert {e.comment_id for e in events} == {c.id for c in first.comments}
        assert all(e.from_status == "pending" and e.to_status == "approved" for e in events)


def test_expired_lease_can_be_claimed_again(store: sessionmaker[Session]) -> None:
    with session_scope(store) as session:
        site, _ = make_site(session)
        submit_comment(session=session, site=site, new=new())
    with session_scope(store) as session:
        dead = claim_pending(session=session, batch_size=10, lease_seconds=-1)
    with session_scope(store) as session:
        assert count_stale_pending(session=session, older_than=timedelta(seconds=-5)) == 1
        again = claim_pending(session=session, batch_size=10, lease_seconds=60)
    assert [c.id for c in again.comments] == [c.id for c in dead.comments]
    assert again.comments[0].attempts == 2
    decision = [ScoredDecision(again.comments[0].id, Decision(CommentStatus.HELD, "x"), None)]
    with session_scope(store) as session:
        # The worker whose lease ran out finishes late: its write is refused.
        assert (
            record_decisions(
                session=session, token=dead.token, actor="m", model_version=None, decisions=decision
            )
            == 0
        )
        assert (
            record_decisions(
                session=session,
                token=again.token,
                actor="m",
                model_version=None,
                decisions=decision,
            )
            == 1
        )


def test_published_pages_newest_first_each_once(store: sessionmaker[Session]) -> None:
    with session_scope(store) as session:
        site, _ = make_site(session)
        for i in range(25):
            submit_comment(session=session, site=site, new=new(f"c{i}"))
        submit_comment(session=session, site=site, new=new("other article", article="a2"))
        held = submit_comment(session=session, site=site, new=new("held one"))[0]
    with session_scope(store) as session:
        claim = claim_pending(session=session, batch_size=100, lease_seconds=60)
        record_decisions(
            session=session,
            token=claim.token,
            actor="m",
            model_version=None,
            decisions=[
                ScoredDecision(
                    c.id,
                    Decision(CommentStatus.HELD if c.id == held.id else CommentStatus.APPROVED, ""),
                    None,
                )
                for c in claim.comments
            ],
        )
    seen: list[str] = []
    cursor = None
    with session_scope(store) as session:
        while True:
            page, cursor = list_published(
                session=session, site_id=site.id, article_id="a1", limit=10, cursor=cursor
            )
            seen += [c.body for c in page]
            if cursor is None:
                break
    assert seen == [f"c{i}" for i in reversed(range(25))]


def test_a_batch_stores_each_comment_once_and_resolves_keys(store: sessionmaker[Session]) -> None:
    from service.comments import Submitted, submit_comments

    with session_scope(store) as session:
        site, _ = make_site(session)
        earlier, _ = submit_comment(session=session, site=site, new=new("kept", key="old"))
    items = [
        (site.id, new("first")),
        (site.id, new("twice", key="k")),
        (site.id, new("twice", key="k")),  # the same request resent within one batch
        (site.id, new("kept", key="old")),  # already stored before the batch
        (site.id, new("changed", key="old")),  # same key, other content
        (site.id, new("last")),
    ]
    with session_scope(store) as session:
        outcomes = submit_comments(session=session, items=items)
    first, twice, again, kept, changed, last = outcomes
    assert isinstance(first, Submitted) and first.created
    assert isinstance(twice, Submitted) and twice.created
    assert isinstance(again, Submitted) and not again.created and again.id == twice.id
    assert isinstance(kept, Submitted) and not kept.created and kept.id == earlier.id
    assert isinstance(changed, IdempotencyConflict)
    assert isinstance(last, Submitted) and last.created
    with session_scope(store) as session:
        bodies = sorted(session.scalars(select(Comment.body)))
        assert bodies == ["first", "kept", "last", "twice"]
        page, _ = list_published(
            session=session, site_id=site.id, article_id="a1", limit=10, cursor=None
        )
        assert page == []  # all pending: nothing published before a decision
