"""Webhooks on real parts: a worker decides a comment, a local receiver gets a signed POST,
a failing receiver is retried with backoff, and a delivery whose retry was lost is re-sent."""

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import select

from service.db import session_scope, utcnow
from service.moderation.site_admin import set_webhook
from service.moderation.webhooks import SIGNATURE_HEADER, find_orphaned_deliveries, verify
from service.tables import AuditEvent, Comment, WebhookDelivery
from tests.conftest import Process, make_site, wait_until


class Receiver:
    """A site's webhook endpoint: records what arrives; fails the first `fail_first` calls."""

    def __init__(self, fail_first: int = 0) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.fail_first > 0:
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
    api_server: str, worker_process: Process, receiver: Receiver
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
