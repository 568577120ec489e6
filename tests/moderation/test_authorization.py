"""Every moderator and admin endpoint against every kind of caller, on real PostgreSQL.

Callers: nobody, a site key, a moderator of another site, the site's moderator, an admin.
"""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from service.app import create_app
from service.db import session_scope
from service.tables import AuditEvent, Comment, CommentStatus
from tests.conftest import make_moderator, make_site

CALLERS = ("nobody", "site_key", "other_moderator", "moderator", "admin")


@dataclass
class World:
    client: TestClient
    site_name: str
    comment_ids: dict[str, str]  # status -> a comment of site A in that status
    credentials: dict[str, str | None]


def _comment(session: Session, site_id: str, status: CommentStatus) -> str:
    comment = Comment(
        site_id=site_id,
        article_id="harbour-ferry",
        author_name="Reader",
        body="The ferry plan is daft.",
        status=status,
        scores={"toxicity": 0.6, "hate": 0.05, "insult": 0.4, "profanity": 0.01},
        model_version="test",
        decision_reason="toxicity 0.60 between approve 0.50 and reject 0.90 thresholds",
    )
    session.add(comment)
    session.commit()
    return comment.id


@pytest.fixture
def world(pg_env: dict[str, str], sessions: sessionmaker[Session]) -> World:
    with sessions() as session:
        site_a, key_a = make_site(session)
        site_b, _ = make_site(session)
        ids = {
            status.value: _comment(session, site_a.id, status)
            for status in (
                CommentStatus.HELD,
                CommentStatus.APPROVED,
                CommentStatus.REMOVED,
            )
        }
        _, other = make_moderator(session, sites=[site_b])
        _, own = make_moderator(session, sites=[site_a])
        _, admin = make_moderator(session, admin=True)
        site_name = site_a.name
    return World(
        client=TestClient(create_app()),
        site_name=site_name,
        comment_ids=ids,
        credentials={
            "nobody": None,
            "site_key": key_a,
            "other_moderator": other,
            "moderator": own,
            "admin": admin,
        },
    )


@dataclass(frozen=True)
class Endpoint:
    name: str
    call: Callable[[World, dict[str, str]], int]
    # expected status per caller
    expect: dict[str, int]


MODERATOR_SCOPED = {
    "nobody": 401,
    "site_key": 403,
    "other_moderator": 403,
    "moderator": 200,
    "admin": 200,
}
MODERATOR_ANY_SITE = {**MODERATOR_SCOPED, "other_moderator": 200}
# A comment of a site the caller does not moderate is not found, exactly as a missing one.
MODERATOR_OF_THE_COMMENT = {**MODERATOR_SCOPED, "other_moderator": 404}
# Likewise a site the caller does not moderate, named in a filter, is no site at all.
MODERATOR_OF_THE_SITE = MODERATOR_OF_THE_COMMENT
ADMIN_ONLY = {
    "nobody": 401,
    "site_key": 403,
    "other_moderator": 403,
    "moderator": 403,
    "admin": 200,
}


def _get(path: str) -> Callable[[World, dict[str, str]], int]:
    def call(w: World, headers: dict[str, str]) -> int:
        return w.client.get(
            path.format(site=w.site_name, **w.comment_ids), headers=headers
        ).status_code

    return call


def _send(method: str, path: str, body: object) -> Callable[[World, dict[str, str]], int]:
    def call(w: World, headers: dict[str, str]) -> int:
        payload = body(w) if callable(body) else body
        return w.client.request(
            method, path.format(site=w.site_name, **w.comment_ids), json=payload, headers=headers
        ).status_code

    return call


ENDPOINTS = [
    Endpoint("me", _get("/v1/moderation/me"), MODERATOR_ANY_SITE),
    Endpoint("queue", _get("/v1/moderation/queue"), MODERATOR_ANY_SITE),
    Endpoint("queue of the site", _get("/v1/moderation/queue?site={site}"), MODERATOR_OF_THE_SITE),
    Endpoint("reasons", _get("/v1/moderation/reasons"), MODERATOR_ANY_SITE),
    Endpoint("comment", _get("/v1/moderation/comments/{held}"), MODERATOR_OF_THE_COMMENT),
    Endpoint(
        "approve",
        _send("POST", "/v1/moderation/comments/{held}/approve", {}),
        MODERATOR_OF_THE_COMMENT,
    ),
    Endpoint(
        "reject",
        _send("POST", "/v1/moderation/comments/{held}/reject", {"reason": "spam or advertising"}),
        MODERATOR_OF_THE_COMMENT,
    ),
    Endpoint(
        "take down",
        _send("POST", "/v1/moderation/comments/{approved}/remove", {"reason": "threat"}),
        MODERATOR_OF_THE_COMMENT,
    ),
    Endpoint(
        "restore",
        _send("POST", "/v1/moderation/comments/{removed}/restore", {}),
        MODERATOR_OF_THE_COMMENT,
    ),
    Endpoint(
        "bulk",
        _send(
            "POST",
            "/v1/moderation/bulk",
            lambda w: {"action": "approve", "comment_ids": [w.comment_ids["held"]]},
        ),
        {**MODERATOR_SCOPED, "other_moderator": 200},
    ),
    Endpoint("audit", _get("/v1/moderation/audit"), MODERATOR_ANY_SITE),
    Endpoint("audit of the site", _get("/v1/moderation/audit?site={site}"), MODERATOR_OF_THE_SITE),
    Endpoint(
        "audit of a comment",
        _get("/v1/moderation/audit?comment_id={held}"),
        MODERATOR_OF_THE_COMMENT,
    ),
    Endpoint("tokens", _get("/v1/moderation/tokens"), MODERATOR_ANY_SITE),
    Endpoint(
        "new token",
        _send("POST", "/v1/moderation/tokens", {"name": "bot"}),
        {**MODERATOR_ANY_SITE, "other_moderator": 201, "moderator": 201, "admin": 201},
    ),
    Endpoint("sites", _get("/v1/admin/sites"), ADMIN_ONLY),
    Endpoint("policy", _get("/v1/admin/sites/{site}/policy"), ADMIN_ONLY),
    Endpoint(
        "change policy",
        _send("PATCH", "/v1/admin/sites/{site}/policy", {"hold_words": ["daft"]}),
        ADMIN_ONLY,
    ),
    Endpoint("site changes", _get("/v1/admin/sites/{site}/changes"), ADMIN_ONLY),
    Endpoint("rotate key", _send("POST", "/v1/admin/sites/{site}/key", None), ADMIN_ONLY),
    Endpoint(
        "webhook",
        _send("PUT", "/v1/admin/sites/{site}/webhook", {"url": "https://news.example/hook"}),
        ADMIN_ONLY,
    ),
    Endpoint("moderators", _get("/v1/admin/moderators"), ADMIN_ONLY),
    Endpoint(
        "add moderator",
        _send(
            "POST",
            "/v1/admin/moderators",
            lambda w: {"username": f"new-{w.comment_ids['held'][:8]}", "password": "longenough"},
        ),
        {**ADMIN_ONLY, "admin": 201},
    ),
]


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_authorisation_matrix(world: World, endpoint: Endpoint, caller: str) -> None:
    credential = world.credentials[caller]
    headers = {"Authorization": f"Bearer {credential}"} if credential else {}
    assert endpoint.call(world, headers) == endpoint.expect[caller]


def test_a_site_key_is_refused_with_its_own_code(world: World) -> None:
    response = world.client.get(
        "/v1/moderation/queue",
        headers={"Authorization": f"Bearer {world.credentials['site_key']}"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "site_key_not_allowed"


def test_a_revoked_or_unknown_token_is_401(world: World) -> None:
    client = world.client
    headers = {"Authorization": f"Bearer {world.credentials['moderator']}"}
    made = client.post("/v1/moderation/tokens", json={"name": "short-lived"}, headers=headers)
    token = made.json()["token"]
    assert (
        client.get("/v1/moderation/me", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )
    client.delete(f"/v1/moderation/tokens/{made.json()['id']}", headers=headers)
    assert (
        client.get("/v1/moderation/me", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )
    assert (
        client.get("/v1/moderation/me", headers={"Authorization": "Bearer mt_nope"}).status_code
        == 401
    )


def test_a_session_needs_the_csrf_token_to_change_anything(
    pg_env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        site, _ = make_site(session)
        username, _ = make_moderator(session, sites=[site], password="correct horse battery")
        held = _comment(session, site.id, CommentStatus.HELD)
    client = TestClient(create_app())
    login = client.get("/moderate/login")
    csrf = login.text.split('name="csrf" value="')[1].split('"')[0]
    signed_in = client.post(
        "/moderate/login",
        data={"username": username, "password": "correct horse battery", "csrf": csrf},
    )
    assert signed_in.status_code == 200 and "Review queue" in signed_in.text
    page_csrf = signed_in.text.split('name="csrf-token" content="')[1].split('"')[0]
    assert client.get("/v1/moderation/me").status_code == 200
    no_token = client.post(f"/v1/moderation/comments/{held}/approve", json={})
    assert no_token.status_code == 403 and no_token.json()["error"]["code"] == "csrf_failed"
    wrong = client.post(
        f"/v1/moderation/comments/{held}/approve", json={}, headers={"X-CSRF-Token": "x"}
    )
    assert wrong.status_code == 403
    ok = client.post(
        f"/v1/moderation/comments/{held}/approve", json={}, headers={"X-CSRF-Token": page_csrf}
    )
    assert ok.status_code == 200


def test_a_wrong_password_does_not_sign_in(
    pg_env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        username, _ = make_moderator(session)
    client = TestClient(create_app())
    csrf = client.get("/moderate/login").text.split('name="csrf" value="')[1].split('"')[0]
    response = client.post(
        "/moderate/login", data={"username": username, "password": "wrong password", "csrf": csrf}
    )
    assert response.status_code == 401
    assert client.get("/v1/moderation/me").status_code == 401
    assert client.get("/moderate", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    "path",
    [
        "/v1/moderation/queue",
        "/v1/moderation/queue?status=approved",
        "/v1/moderation/queue?status=removed",
        "/v1/moderation/queue?order=oldest",
        "/v1/moderation/audit",
        "/v1/moderation/audit?actor=model",
    ],
)
def test_lists_hold_only_the_callers_sites(world: World, path: str) -> None:
    """Status codes alone do not show a leak: what comes back must not hold another site's
    comments, while the site's own moderator does see them (issue 15 item 18)."""
    with session_scope() as session:
        for comment_id in world.comment_ids.values():
            session.add(
                AuditEvent(
                    comment_id=comment_id, actor="model:t", from_status="pending", to_status="held"
                )
            )
    seen = {}
    for caller in ("other_moderator", "moderator", "admin"):
        response = world.client.get(
            path, headers={"Authorization": f"Bearer {world.credentials[caller]}"}
        )
        assert response.status_code == 200
        body = response.json()
        rows = body.get("items", body.get("events", []))
        seen[caller] = {row.get("comment_id", row.get("id")) for row in rows}
    site_a = set(world.comment_ids.values())
    assert seen["other_moderator"].isdisjoint(site_a), "another site's comments leaked"
    assert seen["moderator"] & site_a, "the site's moderator should see its comments"
    assert seen["admin"] & site_a


@pytest.mark.parametrize(
    "path",
    [
        "/v1/moderation/queue?site={site}",
        "/v1/moderation/queue?site={site}&status=approved",
        "/v1/moderation/audit?site={site}",
    ],
)
def test_another_moderators_site_is_answered_as_a_missing_one(world: World, path: str) -> None:
    """A moderator cannot tell which site names exist: another moderator's site and a name
    that no site has get the same answer, as another site's comment does (issue 15 item 10)."""
    headers = {"Authorization": f"Bearer {world.credentials['other_moderator']}"}
    missing = f"no-site-{uuid.uuid4().hex[:8]}"
    existing = world.client.get(path.format(site=world.site_name), headers=headers)
    absent = world.client.get(path.format(site=missing), headers=headers)
    assert existing.status_code == absent.status_code == 404
    assert existing.json() == _named(absent.json(), missing, world.site_name)
    assert existing.json()["error"]["code"] == "site_not_found"


@pytest.mark.parametrize("page", ["/moderate", "/moderate/comments", "/moderate/audit"])
def test_the_pages_answer_another_moderators_site_as_a_missing_one(
    pg_env: dict[str, str], sessions: sessionmaker[Session], page: str
) -> None:
    with sessions() as session:
        theirs, _ = make_site(session)
        mine, _ = make_site(session)
        username, _ = make_moderator(session, sites=[mine], password="correct horse battery")
    client = TestClient(create_app())
    csrf = client.get("/moderate/login").text.split('name="csrf" value="')[1].split('"')[0]
    client.post(
        "/moderate/login",
        data={"username": username, "password": "correct horse battery", "csrf": csrf},
    )
    missing = f"no-site-{uuid.uuid4().hex[:8]}"
    existing = client.get(page, params={"site": theirs.name})
    absent = client.get(page, params={"site": missing})
    assert existing.status_code == absent.status_code == 404
    assert existing.text == absent.text.replace(missing, theirs.name)
    assert client.get(page, params={"site": mine.name}).status_code == 200


def _named(answer: dict, name: str, instead: str) -> dict:
    """The answer with one site name put in place of another."""
    return json.loads(json.dumps(answer).replace(name, instead))
