"""Two API processes given one MODERATION_SESSION_SECRET (as compose gives every replica) accept
each other's moderator sessions. Each runs with its own data folder, as on two hosts."""

import logging
import multiprocessing
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.db import session_scope
from service.moderation.settings import session_secret
from tests.conftest import (
    Process,
    free_port,
    make_moderator,
    moderation,
    reset_caches,
    start_process,
    wait_until,
)

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
    start_api: Callable[..., str], tmp_path: Path
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
    # Each says why, once: the one without the secret names the file it signs with.
    assert (tmp_path / "alone.log").read_text().count(NO_SECRET) == 1
    assert str(tmp_path / "alone" / "session-secret") in (tmp_path / "alone.log").read_text()
    assert NO_SECRET not in (tmp_path / "first.log").read_text()


NO_SECRET = "MODERATION_SESSION_SECRET is not set"


def test_a_generated_secret_is_named_once_in_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Outside compose the secret is made in the data folder, as the trial means it to be;
    an operator running replicas without MODERATION_SESSION_SECRET learns why sessions differ
    from the log, once (session_secret() runs on every CSRF check)."""
    monkeypatch.delenv("MODERATION_SESSION_SECRET", raising=False)
    monkeypatch.setenv("MODERATION_DATA_DIR", str(tmp_path))
    reset_caches()
    try:
        with caplog.at_level(logging.WARNING, logger="service.moderation.settings"):
            secrets = {session_secret() for _ in range(3)}
            reset_caches()  # a second app in one process reads the same file: no new line
            secrets.add(session_secret())
        monkeypatch.setenv("MODERATION_SESSION_SECRET", "x" * 40)
        reset_caches()
        with caplog.at_level(logging.WARNING, logger="service.moderation.settings"):
            assert session_secret() == "x" * 40
    finally:
        reset_caches()
    assert len(secrets) == 1
    said = [r.getMessage() for r in caplog.records if NO_SECRET in r.getMessage()]
    assert len(said) == 1, said
    assert f"just created in {tmp_path / 'session-secret'}" in said[0]
    assert "give every replica the same MODERATION_SESSION_SECRET" in said[0]


def _secret_in_a_fresh_process(data_dir: str, start: Any, out: Any) -> None:
    os.environ["MODERATION_DATA_DIR"] = data_dir
    os.environ.pop("MODERATION_SESSION_SECRET", None)
    reset_caches()
    start.wait()
    out.put(session_secret())


def test_api_processes_starting_together_agree_on_one_generated_secret(tmp_path: Path) -> None:
    """`moderation serve --workers N` starts N processes that each make the app, and so ask for
    the secret, at the same moment: none may sign with an empty or a secret of its own."""
    context = multiprocessing.get_context("fork")
    for attempt in range(15):
        data_dir = tmp_path / f"data-{attempt}"
        start, out = context.Event(), context.Queue()
        workers = [
            context.Process(target=_secret_in_a_fresh_process, args=(str(data_dir), start, out))
            for _ in range(6)
        ]
        for worker in workers:
            worker.start()
        start.set()
        got = [out.get(timeout=30) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
        assert all(got) and len(set(got)) == 1, f"attempt {attempt}: {got}"
        assert (data_dir / "session-secret").read_text().strip() == got[0]
