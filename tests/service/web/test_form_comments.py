"""The browser form endpoint: only a site's allowed origins, no key, and every refusal —
including a rate limit — still carries the CORS header so the reader's page can explain it."""

import random
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.db import session_scope
from service.ratelimit import reset_limits_cache
from tests.conftest import make_site, reset_caches

ORIGIN = "https://paper.example"


@pytest.fixture
def client(pg_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("MODERATION_RATE_LIMIT_PER_CLIENT", "3/minute")
    monkeypatch.setenv("MODERATION_TRUSTED_PROXIES", '["testclient"]')
    reset_caches()
    reset_limits_cache()
    with session_scope() as session:
        make_site(session, name="paper", allowed_origins=[ORIGIN])
    with TestClient(create_app()) as test_client:
        yield test_client
    reset_limits_cache()


def form(client: TestClient, origin: str, reader: str, body: str = "Well argued piece."):  # type: ignore[no-untyped-def]
    return client.post(
        "/v1/sites/paper/form-comments",
        json={"article_id": "story", "author_name": "Reader", "body": body},
        headers={"Origin": origin, "X-Forwarded-For": reader},
    )


def test_allowed_origin_posts_and_reads_its_status(client: TestClient) -> None:
    reader = f"10.9.{random.randrange(250)}.1"
    accepted = form(client, ORIGIN, reader)
    assert accepted.status_code == 202
    assert accepted.headers["access-control-allow-origin"] == ORIGIN
    status = client.get(
        f"/v1/sites/paper/form-comments/{accepted.json()['id']}", headers={"Origin": ORIGIN}
    )
    assert status.json()["status"] == "awaiting_moderation"


def test_other_origins_are_refused(client: TestClient) -> None:
    refused = form(client, "https://evil.example", f"10.8.{random.randrange(250)}.1")
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers


def test_refusals_keep_the_cors_header(client: TestClient) -> None:
    reader = f"10.7.{random.randrange(250)}.1"
    invalid = form(client, ORIGIN, reader, body="<b>bold</b>")
    assert invalid.status_code == 422
    assert invalid.headers["access-control-allow-origin"] == ORIGIN
    codes = [form(client, ORIGIN, reader).status_code for _ in range(4)]
    assert codes.count(429) >= 1
    limited = form(client, ORIGIN, reader)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert limited.headers["access-control-allow-origin"] == ORIGIN
    assert int(limited.headers["retry-after"]) >= 1
