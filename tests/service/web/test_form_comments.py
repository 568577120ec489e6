"""The browser form endpoint: only a site's allowed origins, no key, and every refusal —
including a rate limit — still carries the CORS header so the reader's page can explain it."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.db import session_scope
from service.ratelimit import reset_limits_cache
from tests.addresses import Readers
from tests.conftest import make_site, reset_caches
from tests.factories import submission

ORIGIN = "https://paper.example"
# Form counters outlive a test in the shared Redis: this run's own readers keep runs apart.
READERS = Readers()


@pytest.fixture
def client(pg_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("MODERATION_FORM_RATE_LIMIT_PER_CLIENT", "3/minute")
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
    reader = READERS.address(1, 1)
    accepted = form(client, ORIGIN, reader)
    assert accepted.status_code == 202
    assert accepted.headers["access-control-allow-origin"] == ORIGIN
    status = client.get(
        f"/v1/sites/paper/form-comments/{accepted.json()['id']}", headers={"Origin": ORIGIN}
    )
    assert status.json()["status"] == "awaiting_moderation"


def test_other_origins_are_refused(client: TestClient) -> None:
    refused = form(client, "https://evil.example", READERS.address(2, 1))
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers


def test_refusals_keep_the_cors_header(client: TestClient) -> None:
    reader = READERS.address(3, 1)
    invalid = form(client, ORIGIN, reader, body="i\u200bdiot")
    assert invalid.status_code == 422
    assert invalid.headers["access-control-allow-origin"] == ORIGIN
    codes = [form(client, ORIGIN, reader).status_code for _ in range(4)]
    assert codes.count(429) >= 1
    limited = form(client, ORIGIN, reader)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert limited.headers["access-control-allow-origin"] == ORIGIN
    assert int(limited.headers["retry-after"]) >= 1


@pytest.fixture
def form_limited(pg_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("MODERATION_RATE_LIMIT_PER_SITE", "8/minute")
    monkeypatch.setenv("MODERATION_RATE_LIMIT_PER_CLIENT", "50/minute")
    monkeypatch.setenv("MODERATION_FORM_RATE_LIMIT_PER_SITE", "6/minute")
    monkeypatch.setenv("MODERATION_FORM_RATE_LIMIT_PER_CLIENT", "2/minute")
    monkeypatch.setenv("MODERATION_TRUSTED_PROXIES", '["testclient"]')
    reset_caches()
    with TestClient(create_app()) as test_client:
        yield test_client


def test_readers_flooding_the_form_do_not_lock_the_sites_server_out(
    form_limited: TestClient,
) -> None:
    with session_scope() as session:
        _, key = make_site(session, name="paper", allowed_origins=[ORIGIN])
    # Readers from many addresses use up the form's bucket for the site...
    codes = [form(form_limited, ORIGIN, READERS.address(4, n)).status_code for n in range(10)]
    assert codes[:6] == [202] * 6 and set(codes[6:]) == {429}
    # ...and the site's own server, submitting with its key, is not limited by them.
    server = form_limited.post(
        "/v1/comments",
        json=submission(),
        headers={"Authorization": f"Bearer {key}", "X-Forwarded-For": READERS.address(5, 1)},
    )
    assert server.status_code == 202


def test_the_form_limits_one_reader_far_below_the_api(form_limited: TestClient) -> None:
    with session_scope() as session:
        _, key = make_site(session, name="paper", allowed_origins=[ORIGIN])
    reader = READERS.address(6, 1)
    assert [form(form_limited, ORIGIN, reader).status_code for _ in range(3)] == [202, 202, 429]
    # The same address through the keyed API is counted apart (its own, looser limit).
    api = form_limited.post(
        "/v1/comments",
        json=submission(),
        headers={"Authorization": f"Bearer {key}", "X-Forwarded-For": reader},
    )
    assert api.status_code == 202


def test_ipv6_readers_are_counted_by_their_64(form_limited: TestClient) -> None:
    with session_scope() as session:
        make_site(session, name="paper", allowed_origins=[ORIGIN])
    network = READERS.network(7, 1)
    same_64 = [f"{network}::{n:x}" for n in (1, 0xBEEF, 0xFFFF)]
    assert [form(form_limited, ORIGIN, a).status_code for a in same_64] == [202, 202, 429]
    assert form(form_limited, ORIGIN, READERS.address(8, 1)).status_code == 202
