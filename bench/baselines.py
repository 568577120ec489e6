"""Ceilings measured in a clean process of their own: ``python -m bench.baselines WHAT < args``.

- ``classifier``: ``load_default_model().score(batch_of_256)`` in a loop, the ceiling for scoring;
- ``redis``: Redis's own round trip (a PING loop from Python, and ``redis-benchmark``);
- ``parts``: the pieces of one submission, each alone in one thread: the site lookup, the
  insert + commit, the Celery nudge (needs the run's DATABASE_URL, REDIS_URL and queue);
- ``round_parts``: the steps of one scoring round (claim, score, record, announce), timed.
"""

import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any


def _spread(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": statistics.median(ordered),
        "min": ordered[0],
        "max": ordered[-1],
    }


def _timed(call: Callable[[], object], count: int) -> dict[str, float]:
    """Per-call milliseconds over `count` calls: p50, p99 and mean."""
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    samples.sort()
    return {
        "p50_ms": samples[len(samples) // 2] * 1000,
        "p99_ms": samples[int(len(samples) * 0.99)] * 1000,
        "mean_ms": sum(samples) / len(samples) * 1000,
        "per_second": len(samples) / sum(samples),
    }


def classifier(args: dict[str, Any]) -> dict[str, Any]:
    from bench.texts import comment_bodies
    from classifiers import load_default_model

    batch_size = int(args.get("batch_size", 256))
    rounds = int(args.get("rounds", 20))
    started = time.perf_counter()
    model = load_default_model()
    load_seconds = time.perf_counter() - started
    bodies = comment_bodies(batch_size * rounds, seed=11)
    model.score(bodies[:batch_size])  # warm caches
    rates = []
    for index in range(rounds):
        batch = bodies[index * batch_size : (index + 1) * batch_size]
        started = time.perf_counter()
        model.score(batch)
        rates.append(batch_size / (time.perf_counter() - started))
    one = _timed(lambda: model.score(bodies[:1]), 200)
    return {
        "single_comment_ms": one["p50_ms"],
        "batch_size": batch_size,
        "rounds": rounds,
        "model_version": model.version,
        "model_load_seconds": load_seconds,
        "comments_per_second": _spread(rates),
        "batch_ms": 1000 * batch_size / statistics.median(rates),
    }


def redis_round_trip(args: dict[str, Any]) -> dict[str, Any]:
    import redis

    url = args["redis_url"]
    count = int(args.get("count", 5000))
    client = redis.Redis.from_url(url)
    client.ping()
    result: dict[str, Any] = {"python_ping": _timed(client.ping, count)}
    tool = shutil.which("redis-benchmark")
    if tool:
        output = subprocess.run(
            [
                *(tool, "-h", "127.0.0.1", "-p", "6379", "-n", str(count * 4)),
                *("-t", "ping,lpush", "-q", "--csv"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        rates = {}
        for line in output.splitlines()[1:]:
            fields = [field.strip('"') for field in line.split(",")]
            if len(fields) >= 2:
                rates[fields[0]] = float(fields[1])
        result["redis_benchmark_requests_per_second"] = rates
    return result


def parts(args: dict[str, Any]) -> dict[str, Any]:
    """Each piece of a submission alone, in one thread, in the API's own code."""
    from service.comments import NewComment, submit_comment
    from service.db import get_session_factory
    from service.queue import enqueue_scoring
    from service.ratelimit import check_client, check_site
    from service.sites import get_site_by_key

    count = int(args.get("count", 1000))
    sessions = get_session_factory()
    key = args["site_key"]
    with sessions() as session:
        site = get_site_by_key(session=session, key=key)
        assert site is not None

    def lookup() -> None:
        with sessions() as session:
            get_site_by_key(session=session, key=key)

    counter = iter(range(10**9))

    def insert() -> None:
        index = next(counter)
        with sessions() as session:
            submit_comment(
                session=session,
                site=site,
                new=NewComment(
                    article_id="parts",
                    author_name="Reader",
                    body=f"Thanks for the careful reporting #{index}.",
                    idempotency_key=f"parts-{index}",
                ),
            )
            session.commit()

    def rate_limits() -> None:
        check_client("127.0.0.1")
        check_site(site.id)

    for _ in range(50):  # warm the pool and the statement caches
        lookup()
        insert()
    enqueue_scoring()
    return {
        "site_lookup": _timed(lookup, count),
        "insert_commit": _timed(insert, count),
        "rate_limit_checks": _timed(rate_limits, count),
        "celery_nudge": _timed(enqueue_scoring, count),
    }


def round_parts(args: dict[str, Any]) -> dict[str, Any]:
    """One scoring round's steps, each timed, in the worker's own functions (no Celery):
    take 256 (on PostgreSQL: lock them and commit the round's record), score them, record the
    decisions and commit, announce them. Needs `rounds` x 256 pending comments of the run's
    site in the store (the caller inserts them)."""
    from classifiers import load_default_model
    from service.db import get_session_factory
    from service.scoring_rounds import open_round
    from workers.scoring import _decide_all, announce_round

    sessions = get_session_factory()
    model = load_default_model()
    batch_size = int(args.get("batch_size", 256))
    steps: dict[str, list[float]] = {"claim": [], "score": [], "record": [], "announce": []}
    for _ in range(int(args.get("rounds", 10))):
        started = time.perf_counter()
        with open_round(sessions=sessions, batch_size=batch_size, lease_seconds=60) as held:
            claimed = time.perf_counter()
            if not held.comments:
                break
            decisions = _decide_all(
                held.comments, model.assess([c.body for c in held.comments]), model.languages
            )
            scored = time.perf_counter()
            held.record(f"model:{model.version}", model.version, decisions)
        recorded = time.perf_counter()
        announce_round(sessions=sessions, comments=held.comments, decisions=decisions)
        announced = time.perf_counter()
        steps["claim"].append(claimed - started)
        steps["score"].append(scored - claimed)
        steps["record"].append(recorded - scored)
        steps["announce"].append(announced - recorded)
    return {
        "batch_size": batch_size,
        "rounds": len(steps["claim"]),
        "median_ms": {
            name: statistics.median(values) * 1000 for name, values in steps.items() if values
        },
        "first_last_ms": {
            name: [values[0] * 1000, values[-1] * 1000] for name, values in steps.items() if values
        },
    }


def main() -> None:
    what = sys.argv[1]
    args = json.loads(sys.stdin.read() or "{}")
    handlers = {
        "classifier": classifier,
        "redis": redis_round_trip,
        "parts": parts,
        "round_parts": round_parts,
    }
    sys.stdout.write(json.dumps(handlers[what](args)) + "\n")


if __name__ == "__main__":
    main()
