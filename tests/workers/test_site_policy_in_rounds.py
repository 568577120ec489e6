"""A site's own policy (word lists, per-score thresholds, mode) reaches the decisions a scoring
round makes, on both stores, with the real model."""

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from classifiers import load_default_model
from service.comments import NewComment, submit_comments
from service.db import session_scope
from service.policy import LabelThreshold, Mode, Policy
from service.tables import Comment, CommentStatus
from tests.conftest import make_site
from workers.scoring import score_round


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> sessionmaker[Session]:
    request.getfixturevalue("sqlite_env" if request.param == "sqlite" else "pg_env")
    return request.getfixturevalue("sessions")


def test_each_sites_policy_decides_its_own_comments(store: sessionmaker[Session]) -> None:
    text = "Thanks for covering the ferry scam at the harbour."
    with session_scope(store) as session:
        listed, _ = make_site(
            session, policy=Policy(approve_below=0.5, reject_at=0.9, hold_words=("ferry scam",))
        )
        # Nothing scores below 0 on toxicity: this site approves nothing by itself.
        strict, _ = make_site(
            session,
            policy=Policy(
                approve_below=0.5,
                reject_at=0.9,
                mode=Mode.PRE,
                labels={"toxicity": LabelThreshold(approve_below=0.0)},
            ),
        )
        plain, _ = make_site(session)
        submit_comments(
            session=session,
            items=[
                (site.id, NewComment(article_id="a", author_name="R", body=text))
                for site in (listed, strict, plain)
            ],
        )
    model = load_default_model()
    result = score_round(sessions=store, load_scorer=lambda: model, batch_size=10, lease_seconds=60)
    assert result.decided == 3
    with session_scope(store) as session:
        decided = {
            site_id: (status, reason)
            for site_id, status, reason in session.execute(
                select(Comment.site_id, Comment.status, Comment.decision_reason)
            )
        }
    assert decided[listed.id] == (CommentStatus.HELD, "always-hold word 'ferry scam'")
    assert decided[strict.id][0] == CommentStatus.HELD
    assert decided[strict.id][1].endswith("(pre-moderation)")
    assert decided[plain.id][0] == CommentStatus.APPROVED
