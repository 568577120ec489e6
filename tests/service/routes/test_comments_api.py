"""The public API in-process, on the real PostgreSQL store and the real Redis broker."""

from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from service.app import create_app
from service.db import session_scope
from tests.conftest import make_site
from tests.factories import submission


@pytest.fixture
def client(pg_env: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def site_key(client: TestClient) -> str:
    with session_scope() as session:
        _, key = make_site(session, name="daily-news", allowed_origins=["https://news.example"])
    return key


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_submit_answers_202_pending_and_nudges_the_broker(
    client: TestClient, site_key: str, pg_env: dict[str, str]
) -> None:
    response = client.post("/v1/comments", json=submission(), headers=auth(site_key))
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending"
    assert response.headers["location"] == f"/v1/comments/{body['id']}"
    # The nudge is a real message on the real Redis queue.
    queue = pg_env["MODERATION_SCORING_QUEUE"]
    assert redis.Redis.from_url(pg_env["REDIS_URL"]).llen(queue) == 1

    state = client.get(f"/v1/comments/{body['id']}", headers=auth(site_key)).json()
    assert state["status"] == "pending"
    assert state["scores"] is None and state["decided_at"] is None


def test_idempotency_key_gives_one_comment(client: TestClient, site_key: str) -> None:
    payload = submission(idempotency_key="form-123")
    first = client.post("/v1/comments", json=payload, headers=auth(site_key))
    second = client.post("/v1/comments", json=payload, headers=auth(site_key))
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    changed = client.post(
        "/v1/comments", json={**payload, "body": "Something else"}, headers=auth(site_key)
    )
    assert changed.status_code == 409
    assert changed.json()["error"]["code"] == "idempotency_key_reused"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_credentials"),
        ({"Authorization": "Basic abc"}, "missing_credentials"),
        ({"Authorization": "Bearer cm_not-a-real-key"}, "invalid_credentials"),
    ],
)
def test_missing_or_unknown_key_is_401(
    client: TestClient, site_key: str, headers: dict[str, str], code: str
) -> None:
    response = client.post("/v1/comments", json=submission(), headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert response.headers["www-authenticate"] == "Bearer"
    created = client.post("/v1/comments", json=submission(), headers=auth(site_key)).json()
    assert client.get(f"/v1/comments/{created['id']}", headers=headers).status_code == 401


def test_another_sites_comment_is_404(client: TestClient, site_key: str) -> None:
    with session_scope() as session:
        _, other_key = make_site(session, name="other-paper")
    created = client.post("/v1/comments", json=submission(), headers=auth(site_key)).json()
    response = client.get(f"/v1/comments/{created['id']}", headers=auth(other_key))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "comment_not_found"


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"body": ""}, "body", "empty"),
        ({"body": "   "}, "body", "empty"),
        ({"body": "x" * 5001}, "body", "too_long"),
        ({"body": "ok\x00"}, "body", "control_characters"),
        ({"body": "i\u200bdiot"}, "body", "invisible_characters"),
        ({"author_name": ""}, "author_name", "empty"),
        ({"author_name": "n" * 101}, "author_name", "too_long"),
        ({"article_id": "a" * 201}, "article_id", "too_long"),
    ],
)
def test_bad_comment_is_422_with_a_reason(
    client: TestClient, site_key: str, overrides: dict[str, object], field: str, code: str
) -> None:
    response = client.post("/v1/comments", json=submission(**overrides), headers=auth(site_key))
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert error["message"]


def test_body_at_the_limit_is_accepted(client: TestClient, site_key: str) -> None:
    response = client.post("/v1/comments", json=submission(body="y" * 5000), headers=auth(site_key))
    assert response.status_code == 202


@pytest.mark.parametrize(
    "payload",
    [
        {"article_id": 1, "author_name": "A", "body": "b"},
        {"article_id": "a", "author_name": "A", "body": ["b"]},
        {"article_id": "a", "author_name": "A"},
        {"article_id": "a", "author_name": "A", "body": "b", "extra": True},
        [1, 2, 3],
    ],
)
def test_wrong_shapes_are_422(client: TestClient, site_key: str, payload: object) -> None:
    response = client.post("/v1/comments", json=payload, headers=auth(site_key))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["details"]


def test_invalid_json_and_utf8_are_400(client: TestClient, site_key: str) -> None:
    headers = {**auth(site_key), "Content-Type": "application/json"}
    for raw in (b'{"body": ', b'{"article_id":"a","author_name":"A","body":"\xff\xfe"}'):
        response = client.post("/v1/comments", content=raw, headers=headers)
        assert response.status_code == 400, raw
        assert response.json()["error"]["code"] == "invalid_json"


def test_wrong_content_type_is_415(client: TestClient, site_key: str) -> None:
    response = client.post(
        "/v1/comments",
        content="article_id=a&author_name=A&body=b",
        headers={**auth(site_key), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_oversized_request_is_413_and_stores_nothing(client: TestClient, site_key: str) -> None:
    huge = submission(body="z" * 70_000)
    response = client.post("/v1/comments", json=huge, headers=auth(site_key))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    page = client.get("/v1/articles/article-1/comments", params={"site": "daily-news"}).json()
    assert page == {"comments": [], "next_cursor": None}


def test_article_feed_needs_a_known_site_and_sets_cors_for_allowed_origins(
    client: TestClient, site_key: str
) -> None:
    assert client.get("/v1/articles/a/comments", params={"site": "nope"}).status_code == 404
    missing = client.get("/v1/articles/a/comments")
    assert missing.status_code == 422
    allowed = client.get(
        "/v1/articles/a/comments",
        params={"site": "daily-news"},
        headers={"Origin": "https://news.example"},
    )
    assert allowed.headers["access-control-allow-origin"] == "https://news.example"
    other = client.get(
        "/v1/articles/a/comments",
        params={"site": "daily-news"},
        headers={"Origin": "https://evil.example"},
    )
    assert "access-control-allow-origin" not in other.headers
    bad_cursor = client.get(
        "/v1/articles/a/comments", params={"site": "daily-news", "cursor": "!!!"}
    )
    assert bad_cursor.status_code == 422
    assert bad_cursor.json()["error"]["code"] == "invalid_cursor"


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "checks": {}}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["checks"]["store"] == "ok" and body["checks"]["broker"] == "ok"
    # No worker runs in this test: the API takes comments, but says nobody decides them.
    assert body["status"] == "degraded" and body["workers_alive"] == 0


def test_text_that_looks_like_markup_is_stored_as_written(
    client: TestClient, site_key: str
) -> None:
    """Plain text that looks like HTML is a comment like any other (issue 15 item 16)."""
    for body in ("if x<y and y>z", "The <i> tag is broken", "<b>bold</b> claims"):
        response = client.post("/v1/comments", json=submission(body=body), headers=auth(site_key))
        assert response.status_code == 202, response.text
