"""Undo of a moderator's own last decision and the listed phrase marked where it is written
(moderator API, real PostgreSQL; the pages are in tests/browser/test_phone_layout.py)."""

import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from service.app import create_app
from service.db import utcnow
from service.moderation.word_marks import phrase_spans
from service.tables import AuditEvent, Comment, CommentStatus
from tests.conftest import make_moderator, make_site

HOLD_REASON = "always-hold word 'ferry scam'"


def _held(session: Session, site_id: str, body: str, reason: str = HOLD_REASON) -> str:
    comment = Comment(
        site_id=site_id,
        article_id="harbour-ferry",
        author_name="Reader",
        body=body,
        status=CommentStatus.HELD,
        scores={"toxicity": 0.6},
        model_version="test",
        decision_reason=reason,
    )
    session.add(comment)
    session.flush()
    session.add(
        AuditEvent(
            comment_id=comment.id,
            actor="model:test",
            from_status="pending",
            to_status="held",
            reason=reason,
        )
    )
    session.commit()
    return comment.id


@pytest.fixture
def moderated(
    pg_env: dict[str, str], sessions: sessionmaker[Session]
) -> tuple[TestClient, dict[str, str], dict[str, str], str, sessionmaker[Session]]:
    with sessions() as session:
        site, _ = make_site(session)
        site.hold_words = ["ferry scam"]
        session.commit()
        comment_id = _held(session, site.id, "That ferry   SCAM again. Ferry-scamming, not.")
        _, own = make_moderator(session, sites=[site])
        _, other = make_moderator(session, sites=[site])
    client = TestClient(create_app())
    return (
        client,
        {"Authorization": f"Bearer {own}"},
        {"Authorization": f"Bearer {other}"},
        comment_id,
        sessions,
    )


def test_a_moderator_undoes_their_own_last_decision(moderated: tuple) -> None:
    client, own, other, comment_id, _ = moderated
    assert client.post(f"/v1/moderation/comments/{comment_id}/approve", headers=own).is_success
    # Another moderator cannot undo it, and neither can its author once someone moved it.
    refused = client.post(f"/v1/moderation/comments/{comment_id}/undo", headers=other)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "invalid_transition"
    undone = client.post(f"/v1/moderation/comments/{comment_id}/undo", headers=own)
    assert undone.status_code == 200, undone.text
    assert undone.json()["status"] == "held"
    shown = client.get(f"/v1/moderation/comments/{comment_id}", headers=own).json()
    assert shown["comment"]["status"] == "held"
    assert shown["comment"]["reason"] == HOLD_REASON  # the hold's reason, as before
    actions = [(e["from_status"], e["to_status"], e["reason"]) for e in shown["audit"]]
    assert actions[:2] == [("approved", "held", "undo"), ("held", "approved", "approve")]
    # Undoing the undo is a redo: the same moderator's last decision again.
    again = client.post(f"/v1/moderation/comments/{comment_id}/undo", headers=own)
    assert again.json()["status"] == "approved"
    assert client.post(f"/v1/moderation/comments/{comment_id}/remove", headers=other,
                       json={"reason": "off topic"}).is_success  # fmt: skip
    late = client.post(f"/v1/moderation/comments/{comment_id}/undo", headers=own)
    assert late.status_code == 409


def test_an_old_decision_cannot_be_undone(moderated: tuple) -> None:
    client, own, _, comment_id, sessions = moderated
    assert client.post(f"/v1/moderation/comments/{comment_id}/approve", headers=own).is_success
    with sessions() as session:
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.comment_id == comment_id)
            .values(created_at=utcnow() - timedelta(minutes=16))
        )
        session.commit()
    late = client.post(f"/v1/moderation/comments/{comment_id}/undo", headers=own)
    assert late.status_code == 409 and "15 minutes" in late.json()["error"]["message"]


def test_the_listed_phrase_is_marked_as_written(moderated: tuple) -> None:
    client, own, _, comment_id, _ = moderated
    item = client.get(f"/v1/moderation/comments/{comment_id}", headers=own).json()["comment"]
    words = [h["text"] for h in item["highlights"] if h["kind"] == "word"]
    assert words == ["ferry   SCAM"]  # not the "Ferry-scamming" that is another word


def test_phrase_spans_fold_case_and_accents_and_keep_whole_words() -> None:
    text = "Café DAFT, daftly daft-ish; Ferry\u00a0scam!"
    assert [text[a:b] for a, b in phrase_spans(text, "cafe")] == ["Café"]
    assert [text[a:b] for a, b in phrase_spans(text, "daft")] == ["DAFT", "daft"]
    assert [text[a:b] for a, b in phrase_spans(text, "ferry scam")] == ["Ferry\u00a0scam"]
    assert phrase_spans(text, "") == [] and phrase_spans("", "daft") == []


def test_phrase_spans_take_linear_time_on_a_hostile_body() -> None:
    """A body of near-matches ("ferry ferry ferry ...") against a long phrase beside a plain
    body of the same length: same order of time, not the phrase's length times more."""
    phrase = " ".join(["ferry"] * 40 + ["scam"])
    hostile = ("ferry " * 1000)[:5000]
    plain = ("lorem " * 1000)[:5000]

    def timed(body: str) -> float:
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            phrase_spans(body, phrase)
            best = min(best, time.perf_counter() - start)
        return best

    ratio = timed(hostile) / timed(plain)
    print(f"hostile/plain time for phrase_spans: {ratio:.1f}")
    assert ratio < 20
