"""The store going away (PostgreSQL restart, seen through a proxy that cuts every connection)
and a classifier that cannot load: clear answers, no lost comment, nothing published unscored."""

import re
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

        def retries() -> list[str]:
            return re.findall(r"score_pending\[[^\]]+\] retry: Retry in (\d+)s", retried.output())

        wait_until(lambda: len(retries()) >= 2, timeout=60, what="retries", process=worker)
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
