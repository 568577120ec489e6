"""Fixtures that start real things: a PostgreSQL database, Redis, API and worker processes.

Tests that need PostgreSQL or Redis fail (never skip) when those are not answering;
`make test` starts them first (scripts/ensure-services.sh).
"""

import asyncio
import gc
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from service import db, heartbeat, queue
from service.comments import NewComment, Submitted, submit_comments
from service.config import get_settings
from service.db import session_scope
from service.integrations.coral.routes import forget_coral_sites
from service.migrate import upgrade
from service.moderation.settings import get_moderation_settings
from service.policy import Policy
from service.ratelimit import reset_limits_cache
from service.sites import create_site, forget_cached_sites
from service.tables import Site

# The model registry's fixtures (re-saved copies of the shipped model, a planted-bias one, a
# registry reset to the shipped model): its own tests and the admin UI's use them.
pytest_plugins = ("tests.model_registry.fixtures",)

PG_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
# Several test runs may share one Redis (developers, helpers, CI): each uses its own queue.
TEST_QUEUE = f"scoring-test-{uuid.uuid4().hex[:8]}"
ROOT = Path(__file__).resolve().parent.parent

# Environment variables that would point a child process somewhere else.
_SERVICE_ENV = ("DATABASE_URL", "REDIS_URL", "BROKER_URL")


def reset_caches() -> None:
    get_settings.cache_clear()
    forget_cached_sites()
    forget_coral_sites()
    db.get_engine.cache_clear()
    db.get_session_factory.cache_clear()
    queue._producer = None
    queue._flags = None
    reset_limits_cache()
    get_moderation_settings.cache_clear()
    heartbeat.forget_client()


# --- real PostgreSQL and Redis ---------------------------------------------------------------


@pytest.fixture(autouse=True)
def _unfreeze_after_test() -> Iterator[None]:
    """Each app started in a test freezes the heap (service.app's lifespan); undone after the
    test so that one test's leftovers stay collectable."""
    yield
    gc.unfreeze()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test run."""
    name = f"moderation_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.fail(f"PostgreSQL is needed at {PG_ADMIN_URL} and is not usable: {exc}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is needed at {TEST_REDIS_URL} and is not answering: {exc}")
    client.delete(TEST_QUEUE)
    return TEST_REDIS_URL


def service_env(pg_url: str, redis_url: str, data_dir: Path) -> dict[str, str]:
    """The settings of the service processes a test starts (and of the test process)."""
    return {
        "DATABASE_URL": pg_url,
        "REDIS_URL": redis_url,
        "MODERATION_DATA_DIR": str(data_dir),
        "MODERATION_SCORING_QUEUE": TEST_QUEUE,
        # Tests submit fast from one address; the rate-limit tests set their own limits.
        "MODERATION_RATE_LIMIT_PER_SITE": "100000/second",
        "MODERATION_RATE_LIMIT_PER_CLIENT": "100000/second",
        # Every test client signs in from "testclient"; the throttle tests set their own.
        "MODERATION_LOGIN_ATTEMPTS_PER_CLIENT": "100000/second",
        # The tests' webhook receivers listen on loopback; the SSRF tests clear this.
        "MODERATION_WEBHOOK_ALLOWED_PRIVATE_NETWORKS": '["127.0.0.1/32"]',
    }


@pytest.fixture
def pg_env(
    pg_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[dict[str, str]]:
    """This process's settings point at the test PostgreSQL and Redis; tables start empty."""
    env = service_env(pg_url, redis_url, tmp_path)
    monkeypatch.delenv("BROKER_URL", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    reset_caches()
    with db.get_engine().begin() as connection:
        connection.execute(text("TRUNCATE scoring_rounds, audit_events, comments, sites CASCADE"))
    redis.Redis.from_url(redis_url).delete(TEST_QUEUE)
    # Heartbeats of an earlier test's worker would count as alive for this one.
    for role in heartbeat.ROLES:
        redis.Redis.from_url(redis_url).delete(f"moderation:heartbeats:{TEST_QUEUE}:{role}")
    queue.clear_nudge_flag()  # a flag left by the previous test would swallow this one's nudge
    yield env
    db.get_engine().dispose()
    reset_caches()


@pytest.fixture
def sqlite_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A migrated SQLite store in a temporary folder, the embedded default."""
    for key in _SERVICE_ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MODERATION_DATA_DIR", str(tmp_path))
    reset_caches()
    upgrade()
    yield tmp_path
    db.get_engine().dispose()
    reset_caches()


@pytest.fixture
def sessions() -> sessionmaker[Session]:
    return db.get_session_factory()


def store_pending(sessions: sessionmaker[Session], count: int) -> list[str]:
    """`count` pending comments of a new site, stored as the API stores them; their ids."""
    with session_scope(sessions) as session:
        site, _ = make_site(session)
        outcomes = submit_comments(
            session=session,
            items=[
                (site.id, NewComment(article_id="a", author_name="R", body=f"Point {n} stands."))
                for n in range(count)
            ],
        )
    return [outcome.id for outcome in outcomes if isinstance(outcome, Submitted)]


def make_site(session: Session, **overrides: object) -> tuple[Site, str]:
    fields: dict[str, object] = {
        "name": f"site-{uuid.uuid4().hex[:8]}",
        "policy": Policy(approve_below=0.5, reject_at=0.9),
        "allowed_origins": [],
    }
    fields.update(overrides)
    site, key = create_site(session=session, **fields)  # type: ignore[arg-type]
    session.commit()
    return site, key


# --- real processes --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def start_process(args: list[str], env: dict[str, str], log: Path) -> Process:
    full_env = {k: v for k, v in os.environ.items() if k not in _SERVICE_ENV}
    full_env.update(env)
    full_env["PYTHONUNBUFFERED"] = "1"
    handle = log.open("wb")
    popen = subprocess.Popen(
        args,
        cwd=ROOT,
        env=full_env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return Process(popen=popen, log=log)


def wait_until(
    check: Callable[[], bool], *, timeout: float, what: str, process: Process | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if process is not None and process.popen.poll() is not None:
            raise AssertionError(f"{what}: process exited early:\n{process.output()[-4000:]}")
        time.sleep(0.1)
    tail = process.output()[-4000:] if process else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{tail}")


def moderation(*args: str) -> list[str]:
    return [sys.executable, "-m", "service.cli", *args]


def start_api(env: dict[str, str], log: Path, port: int) -> Process:
    """An API process on this port, answering /healthz (also for tests that stop and start it)."""
    process = start_process(moderation("serve", "--port", str(port)), env, log)
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(healthy, timeout=60, what="the API to answer", process=process)
    except BaseException:
        process.stop()
        raise
    return process


@pytest.fixture
def api_server(pg_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    port = free_port()
    process = start_api(pg_env, tmp_path / "api.log", port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()


def start_worker(env: dict[str, str], log: Path) -> Process:
    """The scoring worker of a test stack."""
    process = start_process(moderation("worker"), env, log)
    try:
        wait_until(
            lambda: " ready." in process.output(), timeout=90, what="the worker", process=process
        )
    except BaseException:
        process.stop()
        raise
    return process


@pytest.fixture
def worker_process(pg_env: dict[str, str], tmp_path: Path) -> Iterator[Process]:
    process = start_worker(pg_env, tmp_path / "worker.log")
    try:
        yield process
    finally:
        process.stop()


def start_webhook_worker(env: dict[str, str], log: Path) -> Process:
    """The worker that sends webhook deliveries (its own queue, so a slow site's endpoint
    never delays scoring)."""
    process = start_process(moderation("webhook-worker"), env, log)
    try:
        wait_until(
            lambda: " ready." in process.output(),
            timeout=90,
            what="the webhook worker",
            process=process,
        )
    except BaseException:
        process.stop()
        raise
    return process


@pytest.fixture
def webhook_worker_process(pg_env: dict[str, str], tmp_path: Path) -> Iterator[Process]:
    process = start_webhook_worker(pg_env, tmp_path / "webhooks.log")
    try:
        yield process
    finally:
        process.stop()


# --- moderation: moderators, a real browser, artifacts -------------------------------------


def make_moderator(
    session: Session,
    *,
    sites: list[Site] | None = None,
    admin: bool = False,
    password: str = "correct horse battery",
) -> tuple[str, str]:
    """A moderator (or admin) with an API token; returns (username, token)."""
    from service.moderation.accounts import create_moderator, create_token
    from service.tables import ModeratorRole

    username = f"mod-{uuid.uuid4().hex[:8]}"
    moderator = create_moderator(
        session=session,
        username=username,
        password=password,
        role=ModeratorRole.ADMIN if admin else ModeratorRole.MODERATOR,
        site_ids=[site.id for site in sites or []],
    )
    _, token = create_token(session=session, moderator_id=moderator.id, name="test")
    session.commit()
    return username, token


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """The machine's Chromium, headless, driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
            )
        except Exception as exc:
            pytest.fail(f"Chromium is needed at /usr/bin/chromium and did not start: {exc}")
        yield browser
        browser.close()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """A folder for this test's screenshots, kept after the run (test-artifacts/ is ignored)."""
    folder = ARTIFACTS / request.node.name.replace("/", "_").replace("[", "-").rstrip("]")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


T = TypeVar("T")


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: Playwright's sync API, used by the browser tests,
    leaves an event loop set in the main thread, where asyncio.run would refuse to start."""
    with ThreadPoolExecutor(max_workers=1) as runner:
        return runner.submit(asyncio.run, coroutine).result()
