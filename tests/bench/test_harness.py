"""The end-to-end benchmark's machinery, at the smallest scale that still yields every figure.

No assertion here is about speed (timings on a shared 2-core machine are too noisy for that):
only that the harness started the real stack, measured every figure, and cleaned up.
"""

import json
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text

from bench import __main__ as bench_main
from bench.stack import PG_ADMIN_URL, Stack

# Not the benchmark's own Redis DB (12) nor the tests' (9): a run may be going on beside us.
BENCH_TEST_REDIS_DB = 11


def _databases() -> set[str]:
    engine = create_engine(PG_ADMIN_URL)
    with engine.connect() as connection:
        names = connection.execute(text("SELECT datname FROM pg_database")).scalars().all()
    engine.dispose()
    return {name for name in names if name.startswith("moderation_bench_")}


@pytest.mark.integration
def test_the_tiny_plan_produces_every_figure_and_leaves_nothing_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=2).ping()
        before = _databases()
    except Exception as exc:
        pytest.fail(f"the benchmark needs PostgreSQL and Redis on 127.0.0.1: {exc}")
    stacks: list[Stack] = []
    real_enter = Stack.__enter__

    def remember(self: Stack) -> Stack:
        stacks.append(self)
        return real_enter(self)

    monkeypatch.setattr(Stack, "__enter__", remember)

    code = bench_main.main(
        ["--plan", "tiny", "--out", str(tmp_path), "--redis-db", str(BENCH_TEST_REDIS_DB)]
    )

    assert code == 0
    printed = capsys.readouterr().out
    [path] = tmp_path.glob("e2e-tiny-*.json")
    results = json.loads(path.read_text())
    figures = {figure["name"]: figure for figure in results["figures"]}
    missing = [name for name, figure in figures.items() if figure["value"] is None]
    assert not missing, f"figures without a value: {missing}"
    for name in figures:
        assert name in printed
    expected = [
        "classifier alone, batch of 256 (ceiling for scoring)",
        "Redis PING round trip from Python, p50",
        "gain of 2 API + 2 worker processes over 1 + 1: ingest at saturation",
        "gain of 2 API + 2 worker processes over 1 + 1: backlog drain",
    ]
    for scale in ("x1", "x2"):
        expected += [
            f"{scale} bare FastAPI endpoint, saturation (ceiling for HTTP)",
            f"{scale} ingest at 50/s offered: sustained",
            f"{scale} ingest at 50/s: latency p99 (from scheduled send)",
            f"{scale} decision at 50/s: 202 -> decided p95",
            f"{scale} ingest at saturation (8 connections)",
            f"{scale} backlog drain (200 pending)",
        ]
    for name in expected:
        assert name in figures, name
    for scale in ("1", "2"):
        run = results["scales"][scale]
        [rate_run] = run["service"]["rates"]["50"]
        assert rate_run["load"]["ok"] == 200, rate_run["load"]
        assert rate_run["decision"]["decided"] == 200, rate_run["decision"]
        assert run["drain"]["all_decided"]
    ratios = [figures[name]["ratio"] for name in figures if figures[name]["ceiling"]]
    assert ratios and all(ratio is not None for ratio in ratios)

    # The run's database and queue are gone; nothing is left running.
    [stack] = stacks
    assert _databases() <= before
    assert not redis.Redis.from_url(stack.redis_url).exists(stack.queue)
    assert not stack.processes
    assert not stack.workdir.exists()
