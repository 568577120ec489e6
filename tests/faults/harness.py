"""A chaos run: submit comments while killing workers, restarting Redis empty and (optionally)
restarting PostgreSQL; then check that every accepted comment was decided exactly once.

Used by the CI fault test at 2,000 comments, and runnable at a larger scale before a release:

    .venv/bin/python -m tests.faults.harness --comments 10000 --restart-postgres
"""

import argparse
import json
import os
import random
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from service.policy import Policy
from service.sites import create_site
from service.tables import FINAL_STATUSES, AuditEvent, Comment, CommentStatus
from tests.conftest import PG_ADMIN_URL, Process, free_port, moderation, start_process, wait_until
from tests.factories import abusive_comments, benign_comments
from tests.faults.infra import PrivateRedis


@dataclass
class ChaosPlan:
    comments: int = 2000
    rate: float = 100.0  # submissions per second offered by the site
    workers: int = 2
    kill_every: float = 4.0  # seconds between SIGKILLs of a worker
    redis_restart_at: float | None = 0.5  # fraction of the submission period
    postgres_restart_at: float | None = None
    # Fraction of the submission period at which the API is SIGKILLed the moment after it
    # answered a 202 (then started again on the same port).
    api_kill_at: float | None = None
    drain_timeout: float = 300.0


@dataclass
class ChaosReport:
    submitted: int = 0
    accepted: int = 0
    stored: int = 0
    decided: int = 0
    lost: int = 0
    duplicated_decisions: int = 0
    still_pending: int = 0
    retried_submissions: int = 0
    worker_kills: int = 0
    redis_restarts: int = 0
    postgres_restarts: int = 0
    api_kills: int = 0
    # Comments whose 202 came just before the API was killed, and how many of them are stored.
    accepted_before_api_kill: int = 0
    stored_of_those: int = 0
    submit_seconds: float = 0.0
    time_to_drain_seconds: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)


class Submitter(threading.Thread):
    """A site sending comments at a fixed rate, retrying 5xx and network errors with the
    same idempotency key, as a careful site would."""

    def __init__(self, base: str, key: str, plan: ChaosPlan) -> None:
        super().__init__(daemon=True)
        self.base, self.key, self.plan = base, key, plan
        self.accepted: dict[int, str] = {}
        self.just_accepted = threading.Event()
        self.retries = 0
        self.failures: list[str] = []

    def run(self) -> None:
        benign, abusive = benign_comments(), abusive_comments()
        rng = random.Random(11)
        start = time.monotonic()
        with httpx.Client(
            base_url=self.base, headers={"Authorization": f"Bearer {self.key}"}, timeout=10
        ) as client:
            for i in range(self.plan.comments):
                delay = start + i / self.plan.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                text = next(abusive) if rng.random() < 0.3 else next(benign)
                payload = {
                    "article_id": f"chaos-{i % 5}",
                    "author_name": f"Reader {i}",
                    "body": f"{text} #{i}",
                    "idempotency_key": f"chaos-{i}",
                }
                self._submit(client, i, payload)

    def _submit(self, client: httpx.Client, i: int, payload: dict[str, str]) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                response = client.post("/v1/comments", json=payload)
            except httpx.HTTPError:
                response = None
            if response is not None and response.status_code == 202:
                self.accepted[i] = response.json()["id"]
                self.just_accepted.set()
                return
            if response is not None and response.status_code < 500:
                self.failures.append(f"#{i}: {response.status_code} {response.text[:200]}")
                return
            self.retries += 1
            time.sleep(0.2)
        self.failures.append(f"#{i}: gave up after retrying for 120 s")


def run_chaos(
    plan: ChaosPlan,
    *,
    database_url: str,
    redis: PrivateRedis,
    workdir: Path,
    restart_postgres: Callable[[], None] | None = None,
) -> ChaosReport:
    queue = f"chaos-{uuid.uuid4().hex[:8]}"
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis.url,
        "MODERATION_DATA_DIR": str(workdir),
        "MODERATION_SCORING_QUEUE": queue,
        "MODERATION_CLAIM_LEASE_SECONDS": "3",
        "MODERATION_SWEEP_INTERVAL_SECONDS": "1",
        "MODERATION_SWEEP_MIN_AGE_SECONDS": "2",
        "MODERATION_RATE_LIMIT_PER_SITE": "100000/second",
        "MODERATION_RATE_LIMIT_PER_CLIENT": "100000/second",
        "MODERATION_LOG_LEVEL": "warning",
    }
    engine = create_engine(database_url, pool_pre_ping=True)  # survives a PostgreSQL restart
    site_name = f"chaos-{uuid.uuid4().hex[:6]}"
    with Session(engine) as session, session.begin():
        site, key = create_site(session=session, name=site_name, policy=Policy(0.5, 0.9))
        site_id = site.id
    report = ChaosReport()
    port = free_port()
    api_generation = 1

    def start_api() -> Process:
        log = workdir / f"api-{api_generation}.log"
        return start_process(moderation("serve", "--port", str(port)), env, log)

    api = start_api()
    beat = start_process(moderation("beat"), env, workdir / "beat.log")
    workers: list[Process] = []
    generation = 0

    def start_worker(slot: int) -> Process:
        nonlocal generation
        generation += 1
        log = workdir / f"worker-{slot}-{generation}.log"
        return start_process(moderation("worker"), env, log)

    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: _answers(base), timeout=60, what="chaos API", process=api)
        workers = [start_worker(slot) for slot in range(plan.workers)]
        submitter = Submitter(base, key, plan)
        period = plan.comments / plan.rate
        started = time.monotonic()
        submitter.start()
        next_kill = started + plan.kill_every
        redis_at = (
            None if plan.redis_restart_at is None else started + plan.redis_restart_at * period
        )
        pg_at = (
            None
            if plan.postgres_restart_at is None
            else started + plan.postgres_restart_at * period
        )
        api_kill_at = _at(started, period, plan.api_kill_at)
        accepted_before_kill: set[str] = set()
        victim = 0
        while submitter.is_alive():
            now = time.monotonic()
            if now >= next_kill:
                slot = victim % len(workers)
                os.kill(workers[slot].popen.pid, signal.SIGKILL)
                workers[slot].popen.wait()
                workers[slot] = start_worker(slot)
                report.worker_kills += 1
                victim += 1
                next_kill = now + plan.kill_every
            if redis_at is not None and now >= redis_at:
                redis.restart_empty()
                report.redis_restarts += 1
                redis_at = None
            if api_kill_at is not None and now >= api_kill_at:
                submitter.just_accepted.clear()
                if submitter.just_accepted.wait(timeout=10):
                    # The moment after a 202: whatever the API answered must already be stored.
                    os.kill(api.popen.pid, signal.SIGKILL)
                    accepted_before_kill = set(submitter.accepted.values())
                    api.popen.wait()
                    report.api_kills += 1
                    api_generation += 1
                    api = start_api()
                    wait_until(lambda: _answers(base), timeout=60, what="API again", process=api)
                api_kill_at = None
            if pg_at is not None and now >= pg_at and restart_postgres is not None:
                restart_postgres()
                report.postgres_restarts += 1
                pg_at = None
            time.sleep(0.05)
        report.submit_seconds = round(time.monotonic() - started, 2)
        assert not submitter.failures, submitter.failures[:5]

        drain_started = time.monotonic()
        deadline = drain_started + plan.drain_timeout
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                pending = connection.scalar(
                    select(func.count())
                    .select_from(Comment)
                    .where(Comment.site_id == site_id, Comment.status == CommentStatus.PENDING)
                )
            if pending == 0:
                break
            time.sleep(0.5)
        report.time_to_drain_seconds = round(time.monotonic() - drain_started, 2)

        accepted_ids = set(submitter.accepted.values())
        with engine.connect() as connection:
            stored = dict(
                connection.execute(
                    select(Comment.id, Comment.status).where(Comment.site_id == site_id)
                ).all()
            )
            model_events = Counter(
                dict(
                    connection.execute(
                        select(AuditEvent.comment_id, func.count())
                        .join(Comment, Comment.id == AuditEvent.comment_id)
                        .where(Comment.site_id == site_id, AuditEvent.actor.like("model:%"))
                        .group_by(AuditEvent.comment_id)
                    ).all()
                )
            )
        report.submitted = plan.comments
        report.accepted = len(accepted_ids)
        report.stored = len(stored)
        report.lost = len(accepted_ids - set(stored))
        report.decided = sum(1 for s in stored.values() if s in FINAL_STATUSES)
        report.still_pending = sum(1 for s in stored.values() if s == CommentStatus.PENDING)
        report.duplicated_decisions = sum(1 for n in model_events.values() if n > 1)
        report.retried_submissions = submitter.retries
        report.accepted_before_api_kill = len(accepted_before_kill)
        report.stored_of_those = len(accepted_before_kill & set(stored))
        report.statuses = dict(Counter(stored.values()))
        missing_audit = [cid for cid in stored if model_events.get(cid, 0) == 0]
        assert not missing_audit, f"{len(missing_audit)} decided comments have no model event"
        return report
    finally:
        for process in [api, beat, *workers]:
            process.stop()
        engine.dispose()


def _at(started: float, period: float, fraction: float | None) -> float | None:
    return None if fraction is None else started + fraction * period


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def restart_machine_postgres() -> None:
    """Restart this machine's PostgreSQL cluster (needs root; for the long run only)."""
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--comments", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill-every", type=float, default=5.0)
    parser.add_argument("--restart-postgres", action="store_true")
    parser.add_argument("--kill-api", action="store_true")
    args = parser.parse_args()
    plan = ChaosPlan(
        comments=args.comments,
        rate=args.rate,
        workers=args.workers,
        kill_every=args.kill_every,
        postgres_restart_at=0.7 if args.restart_postgres else None,
        api_kill_at=0.3 if args.kill_api else None,
        drain_timeout=600,
    )
    from service.migrate import upgrade

    name = f"moderation_chaos_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    with tempfile.TemporaryDirectory() as tmp:
        redis = PrivateRedis(Path(tmp) / "redis")
        redis.start()
        try:
            report = run_chaos(
                plan,
                database_url=url,
                redis=redis,
                workdir=Path(tmp),
                restart_postgres=restart_machine_postgres if args.restart_postgres else None,
            )
        finally:
            redis.kill()
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(json.dumps(asdict(report), indent=2))
    ok = report.lost == 0 and report.duplicated_decisions == 0 and report.still_pending == 0
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
