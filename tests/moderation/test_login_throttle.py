"""Moderator sign-in is throttled per username and per client address, counted in the real
Redis (shared by API replicas) or in memory for the trial, with a clear 429 and Retry-After."""

import uuid

import pytest
import redis
from fastapi.testclient import TestClient
from limits import parse
from limits.storage import RedisStorage
from sqlalchemy.orm import Session, sessionmaker

from service.app import create_app
from service.config import get_settings
from tests.addresses import Readers
from tests.conftest import make_moderator, reset_caches

PASSWORD = "correct horse battery"
# Counters outlive a test in the shared Redis (15 minutes): this run's own readers keep runs
# apart (tests/addresses.py).
READERS = Readers()


def _sign_in(
    client: TestClient, username: str, password: str, address: str
) -> tuple[int, str, str]:
    """(status, Retry-After, page) of one sign-in from `address`."""
    form = client.get("/moderate/login")
    csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
    response = client.post(
        "/moderate/login",
        data={"username": username, "password": password, "csrf": csrf},
        headers={"X-Forwarded-For": address},
        follow_redirects=False,
    )
    return response.status_code, response.headers.get("Retry-After", ""), response.text


@pytest.fixture
def throttled(pg_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("MODERATION_LOGIN_FAILURES_PER_USERNAME", "5 per 15 minutes")
    monkeypatch.setenv("MODERATION_LOGIN_ATTEMPTS_PER_CLIENT", "8 per 15 minutes")
    monkeypatch.setenv("MODERATION_TRUSTED_PROXIES", '["testclient"]')
    reset_caches()
    return TestClient(create_app())


def test_wrong_passwords_then_even_the_right_one_is_refused_for_a_while(
    throttled: TestClient, sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        username, _ = make_moderator(session, password=PASSWORD)
    # A different address per try: the per-username count is what stops this guesser.
    outcomes = [
        _sign_in(throttled, username, f"wrong {n}", READERS.address(1, n))[0] for n in range(5)
    ]
    assert outcomes == [401] * 5
    status, retry_after, page = _sign_in(throttled, username, PASSWORD, READERS.address(1, 99))
    assert status == 429, "the right password after the limit of failures must wait too"
    assert 0 < int(retry_after) <= 900
    assert "Too many sign-in attempts; try again in 15 minutes." in page
    # Counted in Redis, where every API replica sees the same count.
    key = (
        f"{RedisStorage.PREFIX}:{parse('5 per 15 minutes').key_for('login', 'username', username)}"
    )
    assert int(redis.Redis.from_url(pg_redis_url()).get(key) or 0) == 5


def pg_redis_url() -> str:
    url = get_settings().redis_url
    assert url
    return url


def test_a_success_clears_the_usernames_failures(
    throttled: TestClient, sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        username, _ = make_moderator(session, password=PASSWORD)
    for round_ in range(3):
        for n in range(4):
            assert (
                _sign_in(throttled, username, "wrong", READERS.address(3, round_ * 10 + n))[0]
                == 401
            )
        assert (
            _sign_in(throttled, username, PASSWORD, READERS.address(3, round_ * 10 + 9))[0] == 303
        )


def test_one_address_trying_many_usernames_is_refused(
    throttled: TestClient, sessions: sessionmaker[Session]
) -> None:
    address = READERS.address(4, 1)
    nobody = f"nobody-{uuid.uuid4().hex[:8]}"
    codes = [_sign_in(throttled, f"{nobody}-{n}", "guess", address)[0] for n in range(8)]
    assert codes == [401] * 8
    status, retry_after, _ = _sign_in(throttled, f"{nobody}-else", "guess", address)
    assert status == 429 and int(retry_after) > 0
    # Another address is not affected.
    assert _sign_in(throttled, f"{nobody}-else", "guess", READERS.address(4, 2))[0] == 401


def test_the_trial_counts_in_memory(sqlite_env: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODERATION_LOGIN_FAILURES_PER_USERNAME", "3 per 15 minutes")
    reset_caches()
    from service.db import session_scope

    with session_scope() as session:
        username, _ = make_moderator(session, password=PASSWORD)
    client = TestClient(create_app())
    assert [_sign_in(client, username, "wrong", "x")[0] for _ in range(3)] == [401] * 3
    assert _sign_in(client, username, PASSWORD, "x")[0] == 429
