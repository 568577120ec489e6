"""Webhooks: a site hears when a comment enters the review queue and when one is decided.

Deliveries are rows (one per audit event, so announcing twice is harmless), created in the
transaction that decided or right after it, and sent by a Celery task that retries with
backoff. Each request is signed: `Moderation-Signature: t=<unix time>,v1=<hex>` where hex is
HMAC-SHA256(secret, "<t>.<raw body>"), so a site can check origin and freshness.
"""

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Sequence
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.config import get_settings
from service.db import session_scope, utcnow
from service.moderation.settings import get_moderation_settings
from service.moderation.webhook_targets import TargetNotAllowed, pin
from service.policy import scores_with_aliases
from service.queue import DELIVER_WEBHOOK_TASK
from service.tables import AuditEvent, Comment, CommentStatus, Site, WebhookDelivery

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Moderation-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, *, tolerance_seconds: int = 300) -> bool:
    """What a receiving site does; here for tests and as the reference implementation."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs(time.time() - timestamp) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


def event_name(to_status: str) -> str:
    return "comment.held" if to_status == CommentStatus.HELD else "comment.decided"


def queue_webhooks(*, session: Session, audit_event_ids: Sequence[int]) -> list[str]:
    """Delivery rows for these events of sites that have a webhook; returns their ids."""
    if not audit_event_ids:
        return []
    already = set(
        session.scalars(
            select(WebhookDelivery.audit_event_id).where(
                WebhookDelivery.audit_event_id.in_(audit_event_ids)
            )
        )
    )
    rows = session.execute(
        select(AuditEvent, Comment, Site)
        .join(Comment, Comment.id == AuditEvent.comment_id)
        .join(Site, Site.id == Comment.site_id)
        .where(AuditEvent.id.in_(audit_event_ids), Site.webhook_url.is_not(None))
    )
    ids = []
    for event, comment, site in rows:
        if event.id in already:
            continue
        delivery = WebhookDelivery(
            site_id=site.id,
            audit_event_id=event.id,
            event=event_name(event.to_status),
            url=site.webhook_url,
            payload={
                "site": site.name,
                "comment": {
                    "id": comment.id,
                    "article_id": comment.article_id,
                    "author_name": comment.author_name,
                    "body": comment.body,
                    "status": event.to_status,
                    "from_status": event.from_status,
                    "reason": event.reason,
                    "actor": event.actor,
                    "scores": scores_with_aliases(event.scores) if event.scores else None,
                    "language": comment.language,
                    "at": event.created_at.isoformat(),
                },
            },
        )
        session.add(delivery)
        session.flush()
        ids.append(delivery.id)
    return ids


def send_deliveries(delivery_ids: Sequence[str]) -> None:
    """Hand deliveries to the workers; only after the rows are committed."""
    if not delivery_ids:
        return
    # The API's producer (reset between tests by the fixtures); never the task bodies.
    from service.queue import _producer_app

    try:
        app = _producer_app()
        queue = get_settings().webhook_queue
        for delivery_id in delivery_ids:
            app.send_task(DELIVER_WEBHOOK_TASK, args=[delivery_id], retry=False, queue=queue)
    except Exception:  # the broker's failures come in many types; a decision stands anyway
        log.warning("could not queue %d webhook deliveries", len(delivery_ids), exc_info=True)


def announce_decisions(*, sessions: sessionmaker[Session], comment_ids: Sequence[str]) -> None:
    """The scoring worker's hook: announce the model's fresh decisions to sites' webhooks."""
    if not comment_ids:
        return
    try:
        with session_scope(sessions) as session:
            event_ids = list(
                session.scalars(
                    select(AuditEvent.id)
                    .join(Comment, Comment.id == AuditEvent.comment_id)
                    .join(Site, Site.id == Comment.site_id)
                    .where(
                        AuditEvent.comment_id.in_(list(comment_ids)),
                        AuditEvent.from_status == CommentStatus.PENDING,
                        Site.webhook_url.is_not(None),
                    )
                )
            )
            delivery_ids = queue_webhooks(session=session, audit_event_ids=event_ids)
    except Exception:  # announcing is secondary; the decisions are already recorded
        log.warning("could not queue webhooks for decided comments", exc_info=True)
        return
    send_deliveries(delivery_ids)


def deliver(*, sessions: sessionmaker[Session], delivery_id: str) -> bool:
    """Send one delivery. True when done (delivered, given up, or nothing to do);
    False when it failed and should be retried."""
    settings = get_moderation_settings()
    with session_scope(sessions) as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.status != "pending":
            return True
        site = session.get(Site, delivery.site_id)
        if site is None or not site.webhook_url or not site.webhook_secret:
            return _drop(delivery, "the site has no webhook now")
        # Only to the URL the delivery was made for, and only while the site still has it:
        # a URL set later never receives what was decided before it.
        if delivery.url != site.webhook_url:
            return _drop(delivery, "the site's webhook changed after this delivery was made")
        if _comment_erased(session, delivery):
            return _drop(delivery, "the comment was erased")
        url, secret = delivery.url, site.webhook_secret
        document = {"event": delivery.event, "delivery_id": delivery.id, **delivery.payload}
        delivery.attempts += 1
        attempts = delivery.attempts
    body = json.dumps(document, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "comment-moderation-webhook/1",
        "Moderation-Event": document["event"],
        "Moderation-Delivery": delivery_id,
        SIGNATURE_HEADER: sign(secret, int(time.time()), body),
    }
    error: str | None = None
    try:
        error = _post(url, body, headers, timeout=settings.webhook_timeout_seconds)
    except TargetNotAllowed as exc:
        # Checked when it was set; a name that resolves elsewhere now is refused for good.
        with session_scope(sessions) as session:
            delivery = session.get(WebhookDelivery, delivery_id)
            assert delivery is not None
            delivery.status = "failed"
            delivery.last_error = exc.message[:300]
        log.warning("webhook %s refused: %s", delivery_id, exc.message)
        return True
    except (httpx.HTTPError, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    with session_scope(sessions) as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        assert delivery is not None
        if error is None:
            delivery.status = "delivered"
            delivery.delivered_at = utcnow()
            delivery.last_error = None
            return True
        delivery.last_error = error
        if attempts >= settings.webhook_max_attempts:
            delivery.status = "failed"
            log.warning("webhook %s gave up after %d attempts: %s", delivery_id, attempts, error)
            return True
    return False


def _post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> str | None:
    """POST to the address checked just now (service.moderation.webhook_targets); None when
    the site answered 2xx, else what went wrong. A redirect is an answer, never followed."""
    target = pin(url)
    with httpx.Client(trust_env=False, follow_redirects=False, timeout=timeout) as client:
        response = client.post(
            target.url,
            content=body,
            headers={**headers, "Host": target.host_header},
            # TLS is checked against the name the site gave, not the address.
            extensions={"sni_hostname": target.host},
        )
    return None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"


def _drop(delivery: WebhookDelivery, why: str) -> bool:
    delivery.status = "dropped"
    delivery.last_error = why
    return True


def _comment_erased(session: Session, delivery: WebhookDelivery) -> bool:
    status = session.scalar(
        select(Comment.status)
        .join(AuditEvent, AuditEvent.comment_id == Comment.id)
        .where(AuditEvent.id == delivery.audit_event_id)
    )
    return status is None or status == CommentStatus.ERASED


def retry_delay(attempt: int) -> int:
    """Exponential backoff, capped below the Redis visibility timeout (300 s), where a longer
    countdown would make the broker redeliver the waiting message."""
    return int(min(2 * 2**attempt, 240))


# Longer than every retry countdown added up (see retry_delay), so a delivery still pending
# after this has lost its retry message (broker restarted empty) rather than waiting for it.
ORPHANED_AFTER = timedelta(minutes=30)


def find_orphaned_deliveries(*, session: Session, limit: int = 500) -> list[str]:
    """Pending deliveries whose retry message was lost, oldest first."""
    return list(
        session.scalars(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == "pending",
                WebhookDelivery.created_at < utcnow() - ORPHANED_AFTER,
            )
            .order_by(WebhookDelivery.created_at)
            .limit(limit)
        )
    )
