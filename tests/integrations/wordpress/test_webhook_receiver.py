"""The plugin's webhook endpoint on a real WordPress, signed with the service's own `sign`:
a good signature moves the comment, a forged, stale or missing one is refused with 401, and a
delivery older than what was already applied does not undo it."""

import json
import time
import uuid
from typing import Any

import httpx

from service.moderation.webhooks import SIGNATURE_HEADER, sign
from tests.integrations.wordpress.conftest import WordPress

SECRET = "whsec-test-" + uuid.uuid4().hex


def _configure(wordpress: WordPress) -> None:
    # No service is needed to receive: the secret is all the endpoint checks.
    wordpress.php(
        "configure",
        {"service_url": "http://127.0.0.1:9", "site_key": "cm_unused", "webhook_secret": SECRET},
    )


def _held_comment(wordpress: WordPress) -> tuple[int, str]:
    service_id = str(uuid.uuid4())
    made = wordpress.php(
        "insert",
        {
            "comment": {
                "comment_post_ID": wordpress.post_id,
                "comment_author": "Sam",
                "comment_author_email": "sam@example.test",
                "comment_content": f"Held until a moderator looks ({service_id[:8]}).",
                "comment_approved": 0,
            },
            "meta": {"id": service_id, "status": "held", "reason": "toxicity 0.61 held"},
        },
    )
    return int(made["id"]), service_id


def _delivery(service_id: str, status: str, at: str, actor: str = "moderator:ann") -> bytes:
    document: dict[str, Any] = {
        "event": "comment.held" if status == "held" else "comment.decided",
        "delivery_id": str(uuid.uuid4()),
        "site": "gazette",
        "comment": {
            "id": service_id,
            "article_id": "1",
            "author_name": "Sam",
            "body": "…",
            "status": status,
            "from_status": "held",
            "reason": "fine after all",
            "actor": actor,
            "scores": None,
            "at": at,
        },
    }
    return json.dumps(document, separators=(",", ":")).encode()


def _post(wordpress: WordPress, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers[SIGNATURE_HEADER] = signature
    return httpx.post(wordpress.webhook_url, content=body, headers=headers, timeout=30)


def test_only_a_fresh_signature_made_with_the_secret_moves_a_comment(
    wordpress: WordPress,
) -> None:
    _configure(wordpress)
    comment_id, service_id = _held_comment(wordpress)
    body = _delivery(service_id, "approved", "2026-12-02T10:00:00.000001+00:00")
    now = int(time.time())

    refused = {
        "no signature": None,
        "another secret": sign("not-the-secret", now, body),
        "a signature of another body": sign(SECRET, now, body + b" "),
        "an old timestamp": sign(SECRET, now - 3600, body),
        "a timestamp from the future": sign(SECRET, now + 3600, body),
        "garbage": "t=soon,v1=zz",
    }
    for what, signature in refused.items():
        answer = _post(wordpress, body, signature)
        assert answer.status_code == 401, what
        assert answer.json()["code"] == "invalid_signature", what
        assert wordpress.comment(comment_id)["approved"] == "0", what

    answer = _post(wordpress, body, sign(SECRET, now, body))
    assert answer.status_code == 200, answer.text
    moved = wordpress.comment(comment_id)
    assert moved["approved"] == "1"
    assert moved["meta"]["status"] == "approved"
    assert moved["meta"]["reason"] == "moderator:ann: fine after all"

    # A hold announced earlier but delivered late does not pull it back into the queue.
    late = _delivery(service_id, "held", "2026-12-02T09:59:00+00:00", actor="model:test")
    assert _post(wordpress, late, sign(SECRET, now, late)).status_code == 200
    assert wordpress.comment(comment_id)["approved"] == "1"

    # A WordPress moderator approved it after the model held it; the hold's own delivery, late,
    # carries the time of that hold: a comment never goes back to held once decided.
    hold_time = "2026-12-02T09:00:00+00:00"
    approved_here = wordpress.php(
        "insert",
        {
            "comment": {
                "comment_post_ID": wordpress.post_id,
                "comment_author": "Kai",
                "comment_content": "Approved in WordPress before the hold was announced.",
                "comment_approved": 1,
            },
            "meta": {"id": str(uuid.uuid4()), "status": "approved", "event_at": "1796202000"},
        },
    )
    late = _delivery(approved_here["meta"]["id"], "held", hold_time, actor="model:test")
    assert _post(wordpress, late, sign(SECRET, now, late)).json()["outcome"] == "stale"
    assert wordpress.comment(approved_here["id"])["approved"] == "1"

    # A comment this site does not have (yet): 404, so the service retries the delivery.
    stranger = _delivery(str(uuid.uuid4()), "approved", "2026-12-02T10:00:00+00:00")
    answer = _post(wordpress, stranger, sign(SECRET, now, stranger))
    assert answer.status_code == 404
    assert answer.json()["code"] == "unknown_comment"


def test_a_rejection_goes_to_the_spam_or_the_trash_as_set(wordpress: WordPress) -> None:
    for setting, expected in (("spam", "spam"), ("trash", "trash")):
        wordpress.php(
            "configure",
            {
                "service_url": "http://127.0.0.1:9",
                "site_key": "cm_unused",
                "webhook_secret": SECRET,
                "rejected_to": setting,
            },
        )
        comment_id, service_id = _held_comment(wordpress)
        body = _delivery(service_id, "rejected", "2026-12-02T10:00:00+00:00")
        answer = _post(wordpress, body, sign(SECRET, int(time.time()), body))
        assert answer.status_code == 200, answer.text
        assert wordpress.comment(comment_id)["approved"] == expected
