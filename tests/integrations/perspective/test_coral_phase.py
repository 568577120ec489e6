"""Coral Talk's external moderation phase on the real store, Redis and the shipped model:
signed calls decided in the request and stored like any comment of the site."""

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from service.cli import app as cli
from service.comments import NewComment, submit_comment
from service.config import get_settings
from service.db import session_scope, utcnow
from service.integrations.coral.phase import coral_answer
from service.integrations.coral.routes import forget_coral_sites
from service.integrations.coral.signing import SIGNATURE_HEADER, rotate_coral_secret, sign
from service.integrations.scoring import live_model
from service.policy import decision_rule
from service.sites import forget_cached_sites, site_policy
from service.tables import AuditEvent, Comment, CoralSigningSecret, Site
from tests.conftest import make_moderator
from tests.integrations.perspective.conftest import SiteUnderTest

ABUSIVE = "You are a stupid worthless idiot, shut up."
BENIGN = "Thanks for the careful reporting on the bridge repairs."


def phase(
    body: str,
    *,
    action: str = "NEW",
    author: str = "user-7",
    story: str = "story-1",
    parent: str | None = None,
) -> bytes:
    """The body as Coral builds it: JSON.stringify(request, null, 2)."""
    document = {
        "action": action,
        "comment": {"body": body, "parentID": parent},
        "author": {"id": author, "role": "COMMENTER"},
        "story": {"id": story, "url": f"https://news.example/{story}"},
        "site": {"id": "coral-site-1"},
        "tenantID": "tenant-1",
        "tenantDomain": "comments.news.example",
    }
    return json.dumps(document, indent=2, ensure_ascii=False).encode()


def secret_for(site: SiteUnderTest, keep_previous: timedelta = timedelta(0)) -> str:
    with session_scope() as session:
        row = session.get(Site, site.id)
        assert row is not None
        return rotate_coral_secret(
            session=session, site=row, actor="test", keep_previous=keep_previous
        )


def call(client: TestClient, site: SiteUnderTest, body: bytes, *secrets: str) -> Any:
    return client.post(
        f"/v1/integrations/coral/{site.name}",
        content=body,
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secrets)},
    )


def expected_answer(site_id: str, text: str) -> dict[str, Any] | None:
    """What Coral should be told: the status the workers would give the text under the site's
    policy (decision_rule: scores, word lists, and the language and known-word rules from
    the model's own reading of it), worked out apart from the Coral path."""
    with session_scope() as session:
        row = session.get(Site, site_id)
        assert row is not None
        policy = site_policy(row)
    [status] = decision_rule(live_model(), policy)([text])
    return coral_answer(status)


def stored(site_id: str) -> list[Comment]:
    with session_scope() as session:
        rows = list(session.scalars(select(Comment).where(Comment.site_id == site_id)))
        session.expunge_all()
        return rows


def test_a_comment_is_decided_in_the_request_and_stored_with_its_audit_event(
    client: TestClient, site: SiteUnderTest
) -> None:
    secret = secret_for(site)
    for text in (ABUSIVE, BENIGN):
        response = call(client, site, phase(text, story=f"story-{len(text)}"), secret)
        assert response.status_code == 200
        assert response.json() == expected_answer(site.id, text)
    assert expected_answer(site.id, ABUSIVE) != expected_answer(site.id, BENIGN)
    model = live_model()
    comments = {c.body: c for c in stored(site.id)}
    assert set(comments) == {ABUSIVE, BENIGN}
    abusive = comments[ABUSIVE]
    assert (abusive.article_id, abusive.author_id) == (f"story-{len(ABUSIVE)}", "user-7")
    assert abusive.scores == model.score([ABUSIVE])[0]
    assert abusive.model_version == model.version
    assert abusive.claim_token is None and abusive.decided_at is not None
    with session_scope() as session:
        events = list(
            session.scalars(select(AuditEvent).where(AuditEvent.comment_id == abusive.id))
        )
        assert [(e.actor, e.from_status, e.to_status) for e in events] == [
            (f"model:{model.version}", "pending", abusive.status)
        ]


# Scores alone would publish both (they are low); the model cannot read either.
UNREAD = {
    "in German": "Vielen Dank für den sorgfältigen Bericht über die Reparatur der Brücke.",
    "no word the model knows": "Zorblax quindle frumpish vexorian blintzwerk snorp.",
}


@pytest.mark.parametrize("kind", UNREAD)
def test_a_comment_the_model_cannot_read_is_decided_by_the_sites_language_rule(
    client: TestClient, site: SiteUnderTest, kind: str
) -> None:
    secret = secret_for(site)
    response = call(client, site, phase(UNREAD[kind]), secret)
    assert response.status_code == 200
    # A new site holds them; Coral's moderators are not told they were detected toxic.
    assert response.json() == {"status": "SYSTEM_WITHHELD"}
    assert [c.status for c in stored(site.id)] == ["held"]


def test_a_held_comment_is_withheld_flagged_and_waits_in_the_moderators_queue(
    client: TestClient, site: SiteUnderTest
) -> None:
    with session_scope() as session:
        row = session.get(Site, site.id)
        assert row is not None
        row.hold_words = ["ferry"]
        _, token = make_moderator(session, sites=[row])
    secret = secret_for(site)
    response = call(client, site, phase("When does the ferry leave on Sunday?"), secret)
    assert response.json() == {
        "status": "SYSTEM_WITHHELD",
        "actions": [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}],
    }
    queue = client.get(
        "/v1/moderation/queue",
        params={"site": site.name},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert [item["body"] for item in queue["items"]] == ["When does the ferry leave on Sunday?"]


def test_the_same_comment_again_is_the_same_comment(
    client: TestClient, site: SiteUnderTest
) -> None:
    secret = secret_for(site)
    first = call(client, site, phase(ABUSIVE), secret)
    again = call(client, site, phase(ABUSIVE), secret)
    unchanged_edit = call(client, site, phase(ABUSIVE, action="EDIT"), secret)
    assert first.json() == again.json() == unchanged_edit.json()
    assert len(stored(site.id)) == 1
    # An edit that changes the text is what Coral publishes now: a comment of its own.
    call(client, site, phase(BENIGN, action="EDIT"), secret)
    assert sorted(c.body for c in stored(site.id)) == sorted([ABUSIVE, BENIGN])
    # The same words by another author, or on another story, are another comment.
    call(client, site, phase(BENIGN, author="user-8"), secret)
    call(client, site, phase(BENIGN, story="story-2"), secret)
    assert len(stored(site.id)) == 4


def test_unsigned_badly_signed_or_unknown_site_calls_are_refused_and_store_nothing(
    client: TestClient, site: SiteUnderTest
) -> None:
    secret = secret_for(site)
    body = phase(BENIGN)
    assert call(client, site, body, "ssec_not-the-secret-000000").status_code == 401
    unsigned = client.post(f"/v1/integrations/coral/{site.name}", content=body)
    assert unsigned.status_code == 401
    assert unsigned.json()["error"]["code"] == "invalid_signature"
    tampered = client.post(
        f"/v1/integrations/coral/{site.name}",
        content=body.replace(b"Thanks", b"Thank"),
        headers={SIGNATURE_HEADER: sign(body, [secret])},
    )
    assert tampered.status_code == 401
    other = client.post(
        "/v1/integrations/coral/no-such-site",
        content=body,
        headers={SIGNATURE_HEADER: sign(body, [secret])},
    )
    assert other.status_code == 401
    assert stored(site.id) == []


def test_a_rotation_keeps_the_previous_secret_for_the_overlap_only(
    client: TestClient, site: SiteUnderTest
) -> None:
    old = secret_for(site)
    new = secret_for(site, keep_previous=timedelta(hours=1))
    assert old != new
    assert call(client, site, phase("one", story="s1"), old).status_code == 200
    assert call(client, site, phase("two", story="s2"), new).status_code == 200
    # Coral signs with both during its own overlap; either is enough.
    assert call(client, site, phase("three", story="s3"), old, new).status_code == 200
    with session_scope() as session:
        session.execute(
            update(CoralSigningSecret)
            .where(CoralSigningSecret.expires_at.is_not(None))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    forget_coral_sites()  # changed behind the API's back: drop its cached secrets
    assert call(client, site, phase("four", story="s4"), old).status_code == 401
    assert call(client, site, phase("five", story="s5"), new).status_code == 200
    newest = secret_for(site)  # no overlap: the previous stops at once
    assert call(client, site, phase("six", story="s6"), new).status_code == 401
    assert call(client, site, phase("seven", story="s7"), newest).status_code == 200


def test_over_the_quota_the_comment_is_stored_for_the_workers_and_coral_gets_no_opinion(
    client: TestClient, site: SiteUnderTest
) -> None:
    secret = secret_for(site)
    with session_scope() as session:
        row = session.get(Site, site.id)
        assert row is not None
        row.analyze_rate_limit = "1/minute"
    forget_cached_sites()
    assert call(client, site, phase(BENIGN), secret).status_code == 200
    late = call(client, site, phase(ABUSIVE), secret)
    assert late.status_code == 204 and late.content == b""
    statuses = sorted((c.body, c.status) for c in stored(site.id))
    assert (ABUSIVE, "pending") in statuses


def test_a_body_over_the_sites_limit_is_premoderated_in_coral_and_not_stored(
    client: TestClient, site: SiteUnderTest
) -> None:
    """The API refuses a body over max_body_chars; Coral cannot tell its reader, and takes an
    error or a 204 as no opinion (it would publish), so it is told to pre-moderate it."""
    secret = secret_for(site)
    limit = get_settings().max_body_chars
    longest = ("Fair report. " * limit)[:limit]
    assert call(client, site, phase(longest), secret).json() == expected_answer(site.id, longest)
    for length in (limit + 1, 61_000):
        body = ("Fair report. " * length)[:length]
        response = call(client, site, phase(body, story=f"long-{length}"), secret)
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "PREMOD"}
    # Counted as the API counts: the text, once HTML is reduced to it.
    markup = "<p>" + longest + "</p>" * 100
    assert call(client, site, phase(markup, story="html"), secret).status_code == 200
    assert [len(c.body) for c in stored(site.id)] == [limit, limit]


@pytest.mark.parametrize(
    "body",
    [b"not json", b'{"action": "NEW"}', json.dumps({"action": "DELETE"}).encode()],
)
def test_bad_bodies_are_4xx_with_a_reason(
    client: TestClient, site: SiteUnderTest, body: bytes
) -> None:
    secret = secret_for(site)
    response = call(client, site, body, secret)
    assert response.status_code in (400, 422)
    assert response.json()["error"]["code"] in ("invalid_json", "invalid_request")
    assert stored(site.id) == []


@pytest.mark.parametrize("text", ["   ", "<p> </p><br>"])
def test_a_comment_with_no_text_is_premoderated_in_coral_and_not_stored(
    client: TestClient, site: SiteUnderTest, text: str
) -> None:
    """The API refuses an empty body; Coral would publish on that refusal, so it is told to
    pre-moderate the comment instead."""
    response = call(client, site, phase(text), secret_for(site))
    assert (response.status_code, response.json()) == (200, {"status": "PREMOD"})
    assert stored(site.id) == []


def test_a_request_over_the_size_limit_is_premoderated_in_coral(
    client: TestClient, site: SiteUnderTest
) -> None:
    """Refused before any route reads it (64 KiB), so unsigned as far as anyone knows: told to
    pre-moderate, which holds the comment in Coral and tells a forger nothing."""
    limit = get_settings().max_request_bytes
    body = phase("Fair report. " * (limit // 12))
    assert len(body) > limit
    response = call(client, site, body, secret_for(site))
    assert (response.status_code, response.json()) == (200, {"status": "PREMOD"})
    assert stored(site.id) == []
    # Elsewhere the same refusal is the API's own 413.
    other = client.post("/v1/comments", content=body, headers={"Content-Type": "application/json"})
    assert other.status_code == 413


def test_the_cli_makes_a_secret_and_keeps_the_previous_for_the_overlap(
    client: TestClient, site: SiteUnderTest
) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["site", "coral-secret", site.name])
    assert first.exit_code == 0, first.output
    old = first.output.split("coral signing secret: ")[1].split()[0]
    second = runner.invoke(cli, ["site", "coral-secret", site.name, "--keep-previous", "10m"])
    assert second.exit_code == 0 and "stays valid for 10m" in second.output
    new = second.output.split("coral signing secret: ")[1].split()[0]
    assert call(client, site, phase("a", story="x1"), old).status_code == 200
    assert call(client, site, phase("b", story="x2"), new).status_code == 200
    with session_scope() as session:
        rows = list(session.scalars(select(CoralSigningSecret)))
        left = {r.secret: r.expires_at for r in rows}
        assert left[new] is None
        remaining = left[old]
        assert remaining is not None
        assert timedelta(minutes=9) < remaining - utcnow() <= timedelta(minutes=10)
    bad = runner.invoke(cli, ["site", "coral-secret", site.name, "--keep-previous", "soon"])
    assert bad.exit_code != 0
    unknown = runner.invoke(cli, ["site", "coral-secret", "no-such-site"])
    assert unknown.exit_code == 1 and "no site named" in unknown.output


def test_an_admin_makes_a_secret_through_the_api_and_the_page(
    client: TestClient, site: SiteUnderTest
) -> None:
    with session_scope() as session:
        admin, token = make_moderator(session, admin=True, password="correct horse battery")
    made = client.post(
        f"/v1/admin/sites/{site.name}/coral-secret",
        json={"keep_previous_seconds": 0},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert made.status_code == 200, made.text
    assert call(client, site, phase("c", story="y1"), made.json()["secret"]).status_code == 200
    login = client.get("/moderate/login")
    csrf = login.text.split('name="csrf" value="')[1].split('"')[0]
    client.post(
        "/moderate/login",
        data={"username": admin, "password": "correct horse battery", "csrf": csrf},
    )
    page = client.get(f"/moderate/sites/{site.name}")
    assert f"/v1/integrations/coral/{site.name}" in page.text
    page_csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    shown = client.post(
        f"/moderate/sites/{site.name}/coral-secret",
        data={"csrf": page_csrf, "keep_previous": "1h"},
    )
    secret = shown.text.split('<code id="coral-secret">')[1].split("<")[0]
    assert call(client, site, phase("d", story="y2"), secret).status_code == 200
    # Shown once: the page does not show it again.
    assert secret not in client.get(f"/moderate/sites/{site.name}").text
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(CoralSigningSecret)) == 2


def test_one_batch_stores_a_repeated_comment_once_and_answers_both_alike(
    client: TestClient, site: SiteUnderTest
) -> None:
    from service.integrations.coral.batching import decide_and_record
    from service.integrations.coral.phase import coral_comment
    from service.integrations.coral.schemas import ExternalModerationRequest

    with session_scope() as session:
        row = session.get(Site, site.id)
        assert row is not None
        session.expunge(row)
    same = coral_comment(ExternalModerationRequest.model_validate_json(phase(ABUSIVE)))
    other = coral_comment(ExternalModerationRequest.model_validate_json(phase(BENIGN)))
    verdicts = decide_and_record([(row, same), (row, other), (row, same)])
    assert [v.created for v in verdicts] == [True, True, False]
    assert verdicts[0].comment_id == verdicts[2].comment_id
    assert verdicts[0].status == verdicts[2].status == stored_status(verdicts[0].comment_id)
    assert len(stored(site.id)) == 2


def test_a_site_cannot_take_a_coral_key_and_a_key_taken_earlier_fails_only_its_comment(
    client: TestClient, site: SiteUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    from service.integrations.coral.batching import decide_and_record
    from service.integrations.coral.phase import UNSTORED, coral_comment
    from service.integrations.coral.schemas import ExternalModerationRequest

    secret = secret_for(site)
    taken = coral_comment(ExternalModerationRequest.model_validate_json(phase(ABUSIVE)))
    assert taken.idempotency_key is not None
    squat = {"article_id": "a", "author_name": "A", "body": "Mine now."}
    refused = client.post(
        "/v1/comments",
        json={**squat, "idempotency_key": taken.idempotency_key},
        headers={"Authorization": f"Bearer {site.key}"},
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "reserved"
    # A key a site stored before the prefix was reserved: its comment says something else.
    with session_scope() as session:
        row = session.get(Site, site.id)
        assert row is not None
        submit_comment(
            session=session,
            site=row,
            new=NewComment(**squat, idempotency_key=taken.idempotency_key),
        )
        session.expunge(row)
    other = coral_comment(ExternalModerationRequest.model_validate_json(phase(BENIGN)))
    verdicts = decide_and_record([(row, taken), (row, other)])
    assert verdicts[0] == UNSTORED
    assert verdicts[1].created and verdicts[1].comment_id is not None
    assert verdicts[1].status == stored_status(verdicts[1].comment_id) != "pending"
    # Over HTTP, decided in the request or (over the quota) left to the workers: Coral is
    # told to pre-moderate it, not a 409 that it would take as no opinion.
    assert call(client, site, phase(ABUSIVE), secret).json() == {"status": "PREMOD"}
    with session_scope() as session:
        session.execute(
            update(Site).where(Site.id == site.id).values(analyze_rate_limit="1/minute")
        )
    forget_cached_sites()
    forget_coral_sites()
    call(client, site, phase(BENIGN, story="uses-the-quota"), secret)
    late = call(client, site, phase(ABUSIVE), secret)
    assert (late.status_code, late.json()) == (200, {"status": "PREMOD"})
    assert "over its scoring quota" in caplog.text
    assert sorted(c.body for c in stored(site.id)) == sorted(["Mine now.", BENIGN, BENIGN])


def stored_status(comment_id: str) -> str:
    with session_scope() as session:
        comment = session.get(Comment, comment_id)
        assert comment is not None
        return comment.status
