"""The store going away (PostgreSQL restart, seen through a proxy that cuts every connection)
and a classifier that cannot load: clear answers, no lost comment, nothing published unscored."""

import itertools
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from service.db import session_scope
from tests.conftest import free_port, make_site, moderation, start_process, wait_until
from tests.faults.infra import TcpProxy
from tests.integration.test_full_path import FINAL


def _via_proxy(url: str, proxy: TcpProxy) -> str:
    return (
        make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    )


def test_store_outage_gives_503_then_recovers_without_restarts(
    pg_env: dict[str, str], tmp_path: Path
) -> None:
    proxy = TcpProxy(target_port=make_url(pg_env["DATABASE_URL"]).port or 5432)
    proxy.start()
    env = {**pg_env, "DATABASE_URL": _via_proxy(pg_env["DATABASE_URL"], proxy)}
    with session_scope() as session:
        _, key = make_site(session, name="outage-news")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {key}"}
    api = start_process(moderation("serve", "--port", str(port)), env, tmp_path / "api.log")
    worker = None
    try:
        wait_until(lambda: _status(f"{base}/healthz") == 200, timeout=60, what="API", process=api)

        def post(i: int) -> httpx.Response:
            body = {"article_id": "o", "author_name": "R", "body": f"Fair report, thanks #{i}"}
            return httpx.post(f"{base}/v1/comments", json=body, headers=headers, timeout=15)

        before = [post(i) for i in range(5)]
        assert [r.status_code for r in before] == [202] * 5

        proxy.cut()
        during = [post(100 + i) for i in range(5)]
        assert {r.status_code for r in during} == {503}, [r.text for r in during]
        assert all(r.headers["retry-after"] for r in during)
        assert {r.json()["error"]["code"] for r in during} == {"store_unavailable"}
        assert _status(f"{base}/readyz") == 503
        assert _status(f"{base}/healthz") == 200

        # A worker that starts while the store is down retries with backoff, then scores: the
        # nudges of the five comments stored before the outage reach it while the store is
        # still down, and each try is retried later (Celery logs the countdown).
        worker = start_process(moderation("worker"), env, tmp_path / "worker.log")
        retried = worker  # narrowed for the closure
        wait_until(
            lambda: _waited_longer_than_a_first_retry(_retries(retried.output())),
            timeout=90,
            what="a retry that waits longer than a first retry may",
            process=worker,
        )
        _assert_backoff(_retries(worker.output()))
        assert "OperationalError" in worker.output()
        proxy.restore()
        wait_until(lambda: post(200).status_code == 202, timeout=30, what="API recovery")
        after = [post(300 + i) for i in range(5)]
        assert [r.status_code for r in after] == [202] * 5

        ids = [r.json()["id"] for r in before + after]

        def decided() -> bool:
            states = [
                httpx.get(f"{base}/v1/comments/{i}", headers=headers).json()["status"] for i in ids
            ]
            return all(s in FINAL for s in states)

        wait_until(decided, timeout=120, what="decisions after the outage", process=worker)
        assert api.popen.poll() is None, "the API must recover without a restart"
    finally:
        api.stop()
        if worker is not None:
            worker.stop()
        proxy.cut()


# Celery's line for each retry: "[<time>: INFO/MainProcess] Task ...score_pending[<id>] retry:
# Retry in <n>s: OperationalError(...)". A retried task keeps its id, so a task's lines in
# order are its first retry, its second, ...
_RETRY_LINE = re.compile(
    r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}):[^\]]*\].*?"
    r"score_pending\[([^\]]+)\] retry: Retry in (\d+)s",
    re.MULTILINE,
)
# workers.tasks.STORE_RETRY: the k-th retry (k from 0) waits a whole number of seconds drawn
# from 0 to min(30, 1 * 2**k) (Celery's full jitter), so it is the ceiling that grows, and no
# single wait need be longer than the one before it.
_BACKOFF_FACTOR, _BACKOFF_MAX = 1, 30


@dataclass(frozen=True)
class _Retry:
    logged_at: datetime
    countdown: int


def _retries(log: str) -> dict[str, list[_Retry]]:
    """Each task's retries, in order, from the worker's log."""
    by_task: dict[str, list[_Retry]] = defaultdict(list)
    for logged_at, task_id, countdown in _RETRY_LINE.findall(log):
        stamp = datetime.strptime(logged_at, "%Y-%m-%d %H:%M:%S,%f")
        by_task[task_id].append(_Retry(stamp, int(countdown)))
    return by_task


def _ceiling(k: int) -> int:
    return min(_BACKOFF_MAX, _BACKOFF_FACTOR * 2**k)


def _waited_longer_than_a_first_retry(by_task: dict[str, list[_Retry]]) -> bool:
    """Some retry waited longer than a first retry may: the wait grew. A fixed delay of a
    second or less never gets here; with the backoff each later retry does with odds of 1/3,
    3/5, 7/9 ..., so this comes within a few retries."""
    return any(r.countdown > _ceiling(0) for retries in by_task.values() for r in retries)


def _assert_backoff(by_task: dict[str, list[_Retry]]) -> None:
    """Every retry waits within its own exponential ceiling (a fixed delay, or one not counted
    from the attempts, breaks it), and the next attempt came no sooner than that wait (its
    retry line later by at least the countdown; the clock only makes the gap longer)."""
    assert by_task, "no retry was logged"
    for task_id, retries in by_task.items():
        for k, retry in enumerate(retries):
            assert 0 <= retry.countdown <= _ceiling(k), (task_id, k, retries)
        for before, after in itertools.pairwise(retries):
            gap = (after.logged_at - before.logged_at).total_seconds()
            assert gap >= before.countdown - 0.25, (task_id, before, after)


def _status(url: str) -> int:
    try:
        return httpx.get(url, timeout=10).status_code
    except httpx.HTTPError:
        return 0


def test_an_unreadable_model_holds_every_comment_and_counts_it(
    pg_env: dict[str, str], api_server: str, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.skops"
    broken.write_bytes(b"this is not a model file")
    metrics_port = free_port()
    env = {
        **pg_env,
        "MODERATION_MODEL_PATH": str(broken),
        "MODERATION_WORKER_METRICS_PORT": str(metrics_port),
    }
    with session_scope() as session:
        _, key = make_site(session, name="broken-model")
    headers = {"Authorization": f"Bearer {key}"}
    worker = start_process(moderation("worker"), env, tmp_path / "worker.log")
    try:
        wait_until(lambda: " ready." in worker.output(), timeout=90, what="worker", process=worker)
        ids = []
        for i in range(6):
            response = httpx.post(
                f"{api_server}/v1/comments",
                json={"article_id": "m", "author_name": "R", "body": f"Nice one {i}"},
                headers=headers,
            )
            ids.append(response.json()["id"])

        def states() -> list[dict]:
            return [httpx.get(f"{api_server}/v1/comments/{i}", headers=headers).json() for i in ids]

        wait_until(
            lambda: all(s["status"] in FINAL for s in states()), timeout=60, what="decisions"
        )
        for state in states():
            assert state["status"] == "held"
            assert "classifier failed" in state["reason"]
            assert state["scores"] is None
        page = httpx.get(f"{api_server}/v1/articles/m/comments", params={"site": "broken-model"})
        assert page.json()["comments"] == []
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        failures = [
            line
            for line in metrics.splitlines()
            if line.startswith("moderation_scoring_failures_total ")
        ]
        assert failures and float(failures[0].split()[1]) >= 6
    finally:
        worker.stop()
