"""Nothing lost, nothing decided twice: 2,000 comments while workers are SIGKILLed, Redis
restarts empty, the API is SIGKILLed the moment after a 202 and PostgreSQL restarts as after a
crash (real processes, real Redis and PostgreSQL servers of the test's own, so restarting them
touches no other test run)."""

import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from service.migrate import upgrade
from tests.faults.harness import ChaosPlan, run_chaos
from tests.faults.infra import PrivatePostgres, PrivateRedis


def test_comments_survive_worker_api_and_postgres_kills_and_an_empty_redis_restart(
    tmp_path: Path,
) -> None:
    redis = PrivateRedis(tmp_path / "redis")
    postgres = PrivatePostgres()
    redis.start()
    postgres.start()
    try:
        name = f"chaos_{uuid.uuid4().hex[:8]}"
        admin = create_engine(postgres.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = postgres.admin_url.rsplit("/", 1)[0] + f"/{name}"
        upgrade(url)
        plan = ChaosPlan(
            comments=2000,
            rate=100.0,
            workers=2,
            kill_every=4.0,
            redis_restart_at=0.5,
            api_kill_at=0.3,
            postgres_restart_at=0.7,
        )
        report = run_chaos(
            plan,
            database_url=url,
            redis=redis,
            workdir=tmp_path,
            restart_postgres=postgres.restart,
        )
    finally:
        redis.kill()
        postgres.stop()
    print(report)
    assert report.worker_kills >= 3
    assert report.redis_restarts == 1
    assert report.api_kills == 1 and report.postgres_restarts == 1
    assert report.accepted_before_api_kill > 0
    assert report.stored_of_those == report.accepted_before_api_kill
    assert report.accepted == report.stored == plan.comments
    assert report.lost == 0
    assert report.still_pending == 0
    assert report.decided == plan.comments
    assert report.duplicated_decisions == 0
