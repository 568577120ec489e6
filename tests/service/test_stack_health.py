"""/readyz, `moderation status` and the backlog gauges tell whether comments are being decided.

Before: a trial whose worker had died answered /readyz "ok" and nothing showed the backlog."""

import subprocess
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from service.app import create_app
from service.db import session_scope, utcnow
from service.heartbeat import record_heartbeat
from service.tables import Comment
from tests.conftest import ROOT, store_pending


def _age(sessions: sessionmaker[Session], ids: list[str], seconds: float) -> None:
    with session_scope(sessions) as session:
        session.execute(
            update(Comment)
            .where(Comment.id.in_(ids))
            .values(created_at=utcnow() - timedelta(seconds=seconds))
        )


@pytest.mark.parametrize("store", ["pg_env", "sqlite_env"])
def test_readyz_is_degraded_without_a_live_worker_and_reports_the_backlog(
    store: str, request: pytest.FixtureRequest
) -> None:
    request.getfixturevalue(store)
    from service.db import get_session_factory

    sessions = get_session_factory()
    ids = store_pending(sessions, 3)
    _age(sessions, ids[:1], 120)
    with TestClient(create_app()) as client:
        body = client.get("/readyz").json()
        assert body["status"] == "degraded"
        assert body["checks"]["workers"].startswith("no worker alive")
        assert body["workers_alive"] == 0
        assert body["pending_comments"] == 3
        assert 119 <= body["oldest_pending_seconds"] < 400

        record_heartbeat(role="worker", name="test-host:1")
        body = client.get("/readyz").json()
        assert body["status"] == "ok" and body["checks"]["workers"] == "ok"
        assert body["workers_alive"] == 1

        metrics = client.get("/metrics").text
    site_lines = [line for line in metrics.splitlines() if line.startswith("moderation_pending")]
    assert len(site_lines) == 1 and site_lines[0].endswith(" 3.0"), site_lines
    oldest = next(
        line for line in metrics.splitlines() if line.startswith("moderation_oldest_pending")
    )
    assert 119 <= float(oldest.rsplit(" ", 1)[1]) < 400
    assert 'moderation_processes_alive{role="worker"} 1.0' in metrics


def test_a_heartbeat_older_than_the_window_does_not_count(sqlite_env: object) -> None:
    from service.heartbeat import alive_count

    record_heartbeat(role="worker", name="old:1")
    assert alive_count(role="worker", within_seconds=30) == 1
    from service.tables import ProcessHeartbeat

    with session_scope() as session:
        session.execute(update(ProcessHeartbeat).values(seen_at=utcnow() - timedelta(seconds=31)))
    assert alive_count(role="worker", within_seconds=30) == 0
    assert alive_count(role="beat", within_seconds=30) == 0


def _status(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "moderation"), "status", *args],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_status_command_says_whether_workers_and_beat_are_alive(
    pg_env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    store_pending(sessions, 2)
    down = _status(pg_env)
    assert down.returncode == 1
    assert "workers  0 alive" in down.stdout and "pending  2 comments" in down.stdout
    assert "no worker is alive" in down.stderr and "Traceback" not in down.stderr
    assert _status(pg_env, "--role", "beat").returncode == 1

    record_heartbeat(role="worker")
    record_heartbeat(role="beat")
    # Each command takes seconds to start on a loaded machine; the window is widened so that
    # the heartbeats above are still "alive" for all of them.
    pg_env = {**pg_env, "MODERATION_ALIVE_WITHIN_SECONDS": "3600"}
    up = _status(pg_env)
    assert up.returncode == 0, up.stderr
    assert "workers  1 alive" in up.stdout
    assert _status(pg_env, "--role", "beat").returncode == 0
