"""Submission rate limits, counted in the real Redis, per site and per client address."""

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.db import session_scope
from service.ratelimit import reset_limits_cache
from tests.addresses import Readers
from tests.conftest import make_site
from tests.factories import submission


@pytest.fixture
def limited_client(pg_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("MODERATION_RATE_LIMIT_PER_SITE", "20/minute")
    monkeypatch.setenv("MODERATION_RATE_LIMIT_PER_CLIENT", "15/minute")
    # The test client's peer name; trusting it lets each test pick its readers' addresses.
    monkeypatch.setenv("MODERATION_TRUSTED_PROXIES", '["testclient"]')
    from tests.conftest import reset_caches

    reset_caches()
    reset_limits_cache()
    with TestClient(create_app()) as client:
        yield client
    reset_limits_cache()


@pytest.fixture
def redis_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The keys of each Redis call the batched limiter makes, one entry per call."""
    from service.ratelimit import BatchedWindowCounter

    calls: list[list[str]] = []
    run = BatchedWindowCounter._run

    async def counted(self: BatchedWindowCounter, keys: list[str], args: list[int]) -> list[int]:
        calls.append(keys)
        return await run(self, keys, args)

    monkeypatch.setattr(BatchedWindowCounter, "_run", counted)
    return calls


# Counters live in the shared Redis for a minute, keyed by client address: this module's own
# readers for this run (tests/addresses.py), so two runs within a minute never share a counter.
READERS = Readers()


def post(client: TestClient, key: str, ip: str, i: int) -> int:
    response = client.post(
        "/v1/comments",
        json=submission(body=f"A thoughtful note {i}"),
        headers={"Authorization": f"Bearer {key}", "X-Forwarded-For": ip},
    )
    if response.status_code == 429:
        assert int(response.headers["retry-after"]) >= 1
        assert response.json()["error"]["code"] == "rate_limited"
    return response.status_code


def test_one_sites_flood_is_429_and_another_site_is_unaffected(limited_client: TestClient) -> None:
    with session_scope() as session:
        _, flooder = make_site(session, name="flooder")
        _, quiet = make_site(session, name="quiet")
    # Spread over many client addresses so only the per-site limit applies.
    codes = [post(limited_client, flooder, READERS.address(0, i), i) for i in range(40)]
    assert codes.count(202) == 20 and codes.count(429) == 20
    assert codes[:20] == [202] * 20
    quiet_codes = [post(limited_client, quiet, READERS.address(1, i), i) for i in range(10)]
    assert quiet_codes == [202] * 10
    page = limited_client.get("/v1/articles/article-1/comments", params={"site": "flooder"})
    assert page.status_code == 200  # reading is never limited by a site's flood


def test_one_client_address_is_limited_across_sites(limited_client: TestClient) -> None:
    with session_scope() as session:
        _, first = make_site(session, name="paper-a")
        _, second = make_site(session, name="paper-b")
    codes = [
        post(limited_client, first if i % 2 else second, READERS.address(2, 9), i)
        for i in range(20)
    ]
    assert codes.count(202) == 15 and codes.count(429) == 5
    assert post(limited_client, first, READERS.address(2, 10), 99) == 202


def test_a_reader_over_the_client_limit_does_not_use_up_the_sites_quota(
    limited_client: TestClient, redis_calls: list[list[str]]
) -> None:
    with session_scope() as session:
        _, key = make_site(session, name="one-loud-reader")
    loud = [post(limited_client, key, READERS.address(5, 1), i) for i in range(30)]
    assert loud.count(202) == 15 and loud[15:] == [429] * 15
    # The 15 refused by the client limit were not counted for the site: 5 more fit in its 20.
    others = [post(limited_client, key, READERS.address(5, 100 + i), i) for i in range(6)]
    assert others == [202] * 5 + [429]
    # Both limits of a submission in one Redis call (the first one, for a key this process
    # did not know yet, checks the client before asking the store about the key).
    assert len(redis_calls) == 36 + 1


def test_refused_submissions_store_nothing(limited_client: TestClient) -> None:
    with session_scope() as session:
        site, key = make_site(session, name="counted")
    for i in range(30):
        post(limited_client, key, READERS.address(3, i), i)
    from sqlalchemy import func, select

    from service.tables import Comment

    with session_scope() as session:
        stored = session.scalar(
            select(func.count()).select_from(Comment).where(Comment.site_id == site.id)
        )
    assert stored == 20


def test_limits_fail_open_when_redis_is_unreachable(
    pg_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import free_port, reset_caches

    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setenv("MODERATION_RATE_LIMIT_PER_SITE", "1/minute")
    reset_caches()
    reset_limits_cache()
    try:
        with TestClient(create_app()) as client:
            with session_scope() as session:
                _, key = make_site(session, name="no-redis")
            codes = [post(client, key, READERS.address(4, 1), i) for i in range(3)]
        # Accepted and stored; the beat sweep will score them once Redis is back.
        assert codes == [202, 202, 202]
    finally:
        reset_limits_cache()


def test_checks_in_one_batch_count_exactly_and_share_the_threadpool_paths_keys(
    pg_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, redis_calls: list[list[str]]
) -> None:
    """Concurrent checks go to Redis together; each still gets its own place in the window."""
    import asyncio

    from service.ratelimit import RateLimited, acheck_site, check_site
    from tests.conftest import reset_caches, run_async

    monkeypatch.setenv("MODERATION_RATE_LIMIT_PER_SITE", "40/minute")
    reset_caches()
    reset_limits_cache()
    site_id = f"batched-{uuid.uuid4().hex}"
    for _ in range(5):
        check_site(site_id)  # the threadpool handlers' path (the `limits` library)

    async def flood() -> list[bool]:
        async def one() -> bool:
            try:
                await acheck_site(site_id)
            except RateLimited as refused:
                assert refused.retry_after >= 1
                return False
            return True

        first = await asyncio.gather(*(one() for _ in range(30)))
        second = await asyncio.gather(*(one() for _ in range(10)))
        return [*first, *second]

    try:
        allowed = run_async(flood())
    finally:
        reset_limits_cache()
    # 5 counted by the other path, then 35 more fit in the window of 40.
    assert allowed.count(True) == 35
    assert allowed[:30] == [True] * 30
    assert allowed[30:] == [True] * 5 + [False] * 5
    assert len(redis_calls) < 10, "concurrent checks were not batched"


def test_one_readers_refusal_in_a_shared_batch_leaves_the_others_and_the_site_count_alone(
    pg_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, redis_calls: list[list[str]]
) -> None:
    """Concurrent submissions share one Redis call; the refusal is per request, not per call."""
    import asyncio

    import redis
    from limits import parse

    from service.ratelimit import (
        RateLimited,
        acheck_submission,
        redis_key,
    )
    from tests.conftest import reset_caches, run_async

    monkeypatch.setenv("MODERATION_RATE_LIMIT_PER_CLIENT", "1/minute")
    monkeypatch.setenv("MODERATION_RATE_LIMIT_PER_SITE", "100/minute")
    reset_caches()
    reset_limits_cache()
    site_id = f"shared-{uuid.uuid4().hex}"
    loud = READERS.address(6, 1)

    async def burst() -> list[bool]:
        async def one(reader: str) -> bool:
            try:
                await acheck_submission(reader, site_id)
            except RateLimited:
                return False
            return True

        readers = [loud, loud, loud, *(READERS.address(6, 10 + i) for i in range(5))]
        return await asyncio.gather(*(one(reader) for reader in readers))

    try:
        allowed = run_async(burst())
    finally:
        reset_limits_cache()
    assert allowed == [True, False, False, True, True, True, True, True]
    assert len(redis_calls) == 1, "the burst was not one call"
    site_key = redis_key(parse("100/minute"), "site", site_id)
    counted_for_site = redis.Redis.from_url(pg_env["REDIS_URL"]).get(site_key)
    assert counted_for_site == b"6", "the loud reader's refused submissions used the site's quota"
