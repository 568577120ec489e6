"""A site with the largest word list the policy allows does not delay another site's comment:
a real worker process on real PostgreSQL and Redis."""

import time

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.comments import NewComment, submit_comments
from service.db import session_scope
from service.policy import Policy
from service.queue import enqueue_scoring
from service.tables import Comment, CommentStatus, Site
from tests.conftest import Process, make_site
from tests.service.test_word_lists import BODIES, _thousand_entries


def _submit(sessions: sessionmaker[Session], items: list[tuple[Site, str]]) -> list[str]:
    with session_scope(sessions) as session:
        outcomes = submit_comments(
            session=session,
            items=[
                (site.id, NewComment(article_id="a", author_name="R", body=body))
                for site, body in items
            ],
        )
    enqueue_scoring()
    return [outcome.id for outcome in outcomes]  # type: ignore[union-attr]


def _seconds_to_decide(sessions: sessionmaker[Session], comment_id: str) -> float:
    """created_at to decided_at, both stamped by the store's clients, once decided."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with sessions() as session:
            comment = session.scalar(select(Comment).where(Comment.id == comment_id))
            assert comment is not None
            if comment.status != CommentStatus.PENDING:
                assert comment.decided_at is not None
                return (comment.decided_at - comment.created_at).total_seconds()
        time.sleep(0.05)
    raise AssertionError("the comment was never decided")


def test_a_thousand_word_list_does_not_delay_another_sites_comment(
    pg_env: dict[str, str], worker_process: Process, sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        listed, _ = make_site(
            session,
            policy=Policy(approve_below=0.5, reject_at=0.9, reject_words=_thousand_entries()),
        )
        other, _ = make_site(session)
        session.expunge_all()
    plain = "Thanks for the careful reporting on the harbour."
    # Baseline, in this run: the other site's comment alone (after one warm-up round).
    _seconds_to_decide(sessions, _submit(sessions, [(other, plain)])[0])
    alone = min(
        _seconds_to_decide(sessions, _submit(sessions, [(other, plain)])[0]) for _ in range(3)
    )
    # Five 5,000-character bodies of stretched words against the 1,000-word list (before the
    # compiled lists: ~4.4 s of worker time each), then the other site's comment.
    adversarial = [(listed, BODIES["stretched words"])] * 5
    ids = _submit(sessions, [*adversarial, (other, plain)])
    behind = _seconds_to_decide(sessions, ids[-1])
    print(f"\nalone {alone:.3f} s, behind the list {behind:.3f} s")
    assert behind < 10 * alone + 2.0, f"waited {behind:.2f} s behind the list (alone {alone:.2f} s)"
    with sessions() as session:
        statuses = set(session.scalars(select(Comment.status).where(Comment.id.in_(ids[:-1]))))
    assert statuses <= {CommentStatus.APPROVED, CommentStatus.HELD, CommentStatus.REJECTED}
