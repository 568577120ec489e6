"""Nothing lost, nothing decided twice: 2,000 comments while workers are SIGKILLed and Redis
restarts empty (real processes, real Redis server, real PostgreSQL)."""

from pathlib import Path

from tests.faults.harness import ChaosPlan, run_chaos
from tests.faults.infra import PrivateRedis


def test_comments_survive_worker_kills_and_an_empty_redis_restart(
    pg_url: str, tmp_path: Path
) -> None:
    redis = PrivateRedis(tmp_path / "redis")
    redis.start()
    try:
        plan = ChaosPlan(comments=2000, rate=100.0, workers=2, kill_every=4.0, redis_restart_at=0.5)
        report = run_chaos(plan, database_url=pg_url, redis=redis, workdir=tmp_path)
    finally:
        redis.kill()
    print(report)
    assert report.worker_kills >= 3
    assert report.redis_restarts == 1
    assert report.accepted == report.stored == plan.comments
    assert report.lost == 0
    assert report.still_pending == 0
    assert report.decided == plan.comments
    assert report.duplicated_decisions == 0
