"""Webhooks on real parts: a worker decides a comment, a local receiver gets a signed POST,
a failing receiver is retried with backoff, and a delivery whose retry was lost is re-sent."""

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session, sessionmaker

from service.authors import Author, erase_comments
from service.db import session_scope, utcnow
from service.moderation.site_admin import set_webhook
from service.moderation.webhooks import (
    SIGNATURE_HEADER,
    deliver,
    find_orphaned_deliveries,
    queue_webhooks,
    verify,
)
from service.tables import AuditEvent, Comment, Site, WebhookDelivery
from tests.conftest import Process, make_site, wait_until


class Receiver:
    """A site's webhook endpoint: records what arrives; fails the first `fail_first` calls."""

    def __init__(self, fail_first: int = 0, redirect_to: str | None = None) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if redirect_to is not None:
                    self.send_response(302)
                    self.send_header("Location", redirect_to)
                elif receiver.fail_first > 0:
                    receiver.fail_first -= 1
                    self.send_response(503)
                else:
                    receiver.received.append((dict(self.headers), body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/moderation"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver(fail_first=1)
    yield hook
    hook.server.shutdown()


def test_a_decision_reaches_the_site_signed_after_a_retry(
    api_server: str, worker_process: Process, webhook_worker_process: Process, receiver: Receiver
) -> None:
    with session_scope() as session:
        site, key = make_site(session, name="hooked")
        secret = set_webhook(session=session, site=site, actor="admin:test", url=receiver.url)
    assert secret
    response = httpx.post(
        f"{api_server}/v1/comments",
        json={"article_id": "w", "author_name": "Ann", "body": "Helpful article, thank you."},
        headers={"Authorization": f"Bearer {key}"},
    )
    comment_id = response.json()["id"]
    wait_until(lambda: len(receiver.received) == 1, timeout=60, what="the webhook")
    headers, body = receiver.received[0]
    # The documented HMAC, computed here rather than with the project's own sign().
    signed = dict(part.split("=", 1) for part in headers[SIGNATURE_HEADER].split(","))
    assert abs(time.time() - int(signed["t"])) < 300
    expected = hmac.new(secret.encode(), signed["t"].encode() + b"." + body, hashlib.sha256)
    assert signed["v1"] == expected.hexdigest()
    assert verify(secret, headers[SIGNATURE_HEADER], body)
    assert not verify("another-secret", headers[SIGNATURE_HEADER], body)
    document = json.loads(body)
    assert document["event"] in {"comment.decided", "comment.held"}
    assert comment_id in body.decode()

    def delivered() -> WebhookDelivery | None:
        # The worker records the delivery after the receiver has answered: wait for that.
        with session_scope() as session:
            delivery = session.scalars(select(WebhookDelivery)).one()
            return delivery if delivery.status == "delivered" else None

    wait_until(lambda: delivered() is not None, timeout=30, what="the delivery to be recorded")
    delivery = delivered()
    assert delivery is not None
    assert delivery.attempts == 2, "the first POST failed (503) and was retried"


def test_a_delivery_whose_retry_was_lost_is_found_by_the_sweep(pg_env: dict[str, str]) -> None:
    with session_scope() as session:
        site, _ = make_site(session, name="lost-hook")
        comments = [
            Comment(site_id=site.id, article_id="a", author_name="A", body=f"b{i}")
            for i in range(2)
        ]
        session.add_all(comments)
        session.flush()
        events = [
            AuditEvent(comment_id=c.id, actor="model:t", from_status="pending", to_status="held")
            for c in comments
        ]
        session.add_all(events)
        session.flush()
        old, fresh = (
            WebhookDelivery(
                site_id=site.id,
                audit_event_id=event.id,
                event="comment.held",
                payload={},
                created_at=utcnow() - age,
            )
            for event, age in zip(events, (timedelta(hours=1), timedelta(minutes=1)), strict=True)
        )
        session.add_all([old, fresh])
        session.flush()
        assert find_orphaned_deliveries(session=session) == [old.id]


def _decided_with_delivery(session: Session, site: Site, *, author: str, body: str) -> str:
    """A held comment of `author` with its audit event and webhook delivery; the delivery id."""
    comment = Comment(
        site_id=site.id,
        article_id="a",
        author_name=author,
        author_id=f"id-{author}",
        body=body,
        status="held",
    )
    session.add(comment)
    session.flush()
    event = AuditEvent(
        comment_id=comment.id, actor="model:t", from_status="pending", to_status="held"
    )
    session.add(event)
    session.flush()
    (delivery_id,) = queue_webhooks(session=session, audit_event_ids=[event.id])
    session.commit()
    return delivery_id


def test_erasure_scrubs_deliveries_and_a_pending_one_is_never_sent(
    pg_env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    hook = Receiver()
    try:
        with sessions() as session:
            site, _ = make_site(session)
            set_webhook(session=session, site=site, actor="admin:test", url=hook.url)
            session.commit()
            sent = _decided_with_delivery(session, site, author="Ann Reader", body="First words.")
            assert deliver(sessions=sessions, delivery_id=sent)
            pending = _decided_with_delivery(
                session, site, author="Ann Reader", body="Secret words."
            )
            erase_comments(session=session, site=site, author=Author(author_id="id-Ann Reader"))
            session.commit()
        assert deliver(sessions=sessions, delivery_id=pending)
        assert len(hook.received) == 1, "only the delivery made before the erasure was sent"
        with sessions() as session:
            rows = {d.id: d for d in session.scalars(select(WebhookDelivery))}
        assert rows[sent].status == "delivered"
        assert rows[pending].status == "dropped"
        for delivery in rows.values():
            stored = json.dumps(delivery.payload)
            assert "words" not in stored and "Ann Reader" not in stored
    finally:
        hook.server.shutdown()


def test_a_delivery_goes_only_to_the_url_it_was_made_for(
    pg_env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    first, later = Receiver(), Receiver()
    try:
        with sessions() as session:
            site, _ = make_site(session)
            set_webhook(session=session, site=site, actor="admin:test", url=first.url)
            session.commit()
            delivery_id = _decided_with_delivery(session, site, author="Bo", body="Fine piece.")
            set_webhook(session=session, site=site, actor="admin:test", url=later.url)
            session.commit()
        assert deliver(sessions=sessions, delivery_id=delivery_id)
        assert later.received == [], "a URL set after the decision never receives it"
        with sessions() as session:
            delivery = session.get(WebhookDelivery, delivery_id)
            assert delivery is not None and delivery.status == "dropped"
            assert delivery.url == first.url
    finally:
        first.server.shutdown()
        later.server.shutdown()


def test_a_store_error_does_not_carry_a_comments_text_into_the_logs(
    pg_env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    """Logged errors are out of erasure's reach; the store's errors must not quote values."""
    with sessions() as session:
        site, _ = make_site(session)
        session.add(
            Comment(
                site_id=site.id, article_id="x" * 300, author_name="Ann Reader", body="Secret words"
            )
        )
        with pytest.raises(DataError) as caught:
            session.flush()
    assert "Secret words" not in str(caught.value) and "Ann Reader" not in str(caught.value)


def test_the_webhook_sweep_task_resends_an_orphaned_delivery(
    pg_env: dict[str, str], webhook_worker_process: Process, sessions: sessionmaker[Session]
) -> None:
    """The beat task itself (its body, in this process) finds a delivery whose retry message
    was lost and sends it through the real broker to the webhook worker."""
    from workers.tasks import sweep_webhooks

    hook = Receiver()
    try:
        with sessions() as session:
            site, _ = make_site(session)
            set_webhook(session=session, site=site, actor="t", url=hook.url)
            session.commit()
            delivery_id = _decided_with_delivery(session, site, author="Ann", body="Fine.")
            delivery = session.get(WebhookDelivery, delivery_id)
            assert delivery is not None
            delivery.created_at = utcnow() - timedelta(hours=1)
            session.commit()
        assert sweep_webhooks() == 1
        wait_until(lambda: len(hook.received) == 1, timeout=60, what="the re-sent delivery")

        def status() -> str | None:
            with sessions() as session:
                delivery = session.get(WebhookDelivery, delivery_id)
                return delivery.status if delivery is not None else None

        # The worker records the delivery after the receiver has answered: wait for that.
        wait_until(lambda: status() == "delivered", timeout=30, what="the delivery recorded")
        assert sweep_webhooks() == 0, "nothing is orphaned any more"
    finally:
        hook.server.shutdown()
