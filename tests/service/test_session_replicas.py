"""Two API processes given one MODERATION_SESSION_SECRET (as compose gives every replica) accept
each other's moderator sessions. Each runs with its own data folder, as on two hosts."""

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from service.db import session_scope
from tests.conftest import Process, free_port, make_moderator, moderation, start_process, wait_until

PASSWORD = "correct horse battery"


@pytest.fixture
def start_api(pg_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., str]]:
    started: list[Process] = []

    def start(name: str, **env: str) -> str:
        port = free_port()
        folder = tmp_path / name
        folder.mkdir()
        process = start_process(
            moderation("serve", "--port", str(port)),
            {**pg_env, "MODERATION_DATA_DIR": str(folder), **env},
            tmp_path / f"{name}.log",
        )
        started.append(process)
        base = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            try:
                return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, timeout=60, what=f"API {name}", process=process)
        return base

    yield start
    for process in started:
        process.stop()


def _sign_in(base: str, username: str) -> httpx.Cookies:
    with httpx.Client(base_url=base) as client:
        page = client.get("/moderate/login")
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        done = client.post(
            "/moderate/login",
            data={"username": username, "password": PASSWORD, "csrf": csrf, "next": "/moderate"},
        )
        assert done.status_code == 303, done.text
        return client.cookies


def _signed_in_on(base: str, cookies: httpx.Cookies, username: str) -> bool:
    page = httpx.get(f"{base}/moderate", cookies=cookies, follow_redirects=False)
    return page.status_code == 200 and username in page.text


def test_a_session_made_on_one_replica_is_accepted_by_another(
    start_api: Callable[..., str],
) -> None:
    with session_scope() as session:
        username, _ = make_moderator(session, admin=True, password=PASSWORD)
    secret = {"MODERATION_SESSION_SECRET": "one-secret-for-the-whole-deployment-" + "x" * 20}
    first = start_api("first", **secret)
    second = start_api("second", **secret)
    cookies = _sign_in(first, username)
    assert _signed_in_on(first, cookies, username)
    assert _signed_in_on(second, cookies, username)
    # Without the shared secret each process signs with its own (what compose now forbids):
    # the same cookie is refused, which is what this test would see if sharing broke.
    alone = start_api("alone")
    assert not _signed_in_on(alone, cookies, username)
