"""``python -m bench.shadow``: what a shadow model costs the drain. One worker process drains
the same backlog with no shadow and with one, alternately, in one run on one stack; prints
comments decided per second each way and the ratio, and writes them to bench-results/.

A shadow scores every comment a second time after its round is committed (workers.scoring.
shadow_round), so it is expected to cost up to half the drain rate where scoring is the
bottleneck, less where the store is. The shadow here is the shipped model saved under another
version string: the same work as a real candidate of the same architecture.
"""

import argparse
import json
import math
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import store
from bench.run import log
from bench.stack import ROOT, Process, Stack
from bench.texts import comment_bodies

SHADOW_VERSION = "bench-shadow"
# Longer than MODERATION_MODEL_CHECK_SECONDS (2 s): a worker has seen a shadow change by then.
FOLLOW_SECONDS = 3.0


def _shadow_copy(folder: Path) -> Path:
    from classifiers.persist import DEFAULT_MODEL_PATH, load_model, save_model

    model = load_model(DEFAULT_MODEL_PATH)
    model.version = SHADOW_VERSION
    return save_model(
        model,
        folder / f"{SHADOW_VERSION}.skops",
        card={**(model.card or {}), "version": SHADOW_VERSION},
    )


def _settings(stack: Stack) -> Any:
    from service.config import Settings

    return Settings(REDIS_URL=stack.redis_url, scoring_queue=stack.queue)


def _nudge(stack: Stack, count: int) -> None:
    from service.queue import SCORE_PENDING_TASK, make_celery

    celery = make_celery(_settings(stack))
    with celery.producer_or_acquire() as producer:
        for _ in range(count):
            celery.send_task(SCORE_PENDING_TASK, producer=producer)


def _shadow_rows(connection: Any, article_id: str) -> tuple[int, float | None]:
    row = connection.execute(
        "SELECT count(*), extract(epoch FROM max(s.created_at)) FROM shadow_scores AS s"
        " JOIN comments AS c ON c.id = s.comment_id WHERE c.article_id = %s",
        (article_id,),
    ).fetchone()
    return int(row[0]), None if row[1] is None else float(row[1])


def _probe(stack: Stack, connection: Any, label: str, *, shadowed: bool) -> None:
    """One comment through the worker, to be sure it follows the shadow state about to be
    timed (and has the shadow's model loaded, not loading it on the clock)."""
    store.insert_backlog(
        database_url=stack.database_url,
        site_id=stack.site_id,
        article_id=label,
        bodies=["A probe before the timed drain."],
        count=1,
        analyze=False,
    )
    _nudge(stack, 1)
    store.wait_decided(connection, label, timeout=60)
    deadline = time.monotonic() + 30
    while shadowed and _shadow_rows(connection, label)[0] == 0:
        if time.monotonic() > deadline:
            raise RuntimeError("the worker wrote no shadow scores for the probe")
        time.sleep(0.1)


def _drain(
    stack: Stack, connection: Any, label: str, bodies: list[str], comments: int, *, shadowed: bool
) -> dict[str, Any]:
    store.insert_backlog(
        database_url=stack.database_url,
        site_id=stack.site_id,
        article_id=label,
        bodies=bodies,
        count=comments,
    )
    # One nudge per batch, as bench.run's drain sends them.
    nudges = math.ceil(comments / _settings(stack).batch_size)
    started_at = time.time()
    _nudge(stack, nudges)
    done, _ = store.wait_decided(connection, label, timeout=max(120.0, comments / 50), poll=0.25)
    if not done:
        raise RuntimeError(f"{label}: not every comment was decided")
    last = store.last_decided_at(connection, label)
    assert last is not None
    seconds = last - started_at
    result: dict[str, Any] = {
        "comments": comments,
        "seconds": seconds,
        "decided_per_second": comments / seconds,
    }
    if shadowed:
        # The last round's shadow scores land after its decisions: the shadow's whole cost
        # is the drain until then.
        deadline = time.monotonic() + 60
        while (rows := _shadow_rows(connection, label))[0] < comments:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{label}: only {rows[0]} of {comments} shadow scores")
            time.sleep(0.25)
        assert rows[1] is not None
        result["shadow_scored_per_second"] = comments / (rows[1] - started_at)
    # Nudges left over would start the next phase's drain before its clock.
    wait_left = time.monotonic() + 10
    while stack.queue_length() and time.monotonic() < wait_left:
        time.sleep(0.1)
    stack.purge_queue()
    return result


def run(*, comments: int, repeats: int, redis_db: int, out_dir: Path) -> dict[str, Any]:
    bodies = comment_bodies(4000)
    results: dict[str, Any] = {"comments_per_drain": comments, "repeats": repeats, "runs": []}
    with Stack(
        redis_db=redis_db, keep_logs=out_dir / f"logs-shadow-{datetime.now():%H%M%S}"
    ) as stack:
        path = _shadow_copy(stack.workdir)
        stack._moderation_cli("model", "register", str(path))
        worker: Process = stack.start_worker(0)
        connection = store.connect(stack.database_url)
        try:
            # Alternated (off, on, on, off, ...): the shared machine's speed drifts within
            # minutes, and each state then sees early and late machine alike.
            order = [(False, True) if n % 2 == 0 else (True, False) for n in range(repeats)]
            shadowed_now = False
            for index, pair in enumerate(order):
                for shadowed in pair:
                    if shadowed != shadowed_now:
                        args = ("shadow", SHADOW_VERSION) if shadowed else ("shadow", "--stop")
                        stack._moderation_cli("model", *args)
                        shadowed_now = shadowed
                        time.sleep(FOLLOW_SECONDS)
                    label = f"drain-{index}-{'shadow' if shadowed else 'plain'}"
                    _probe(stack, connection, f"{label}-probe", shadowed=shadowed)
                    log(f"{label}: {comments} pending comments, one worker")
                    outcome = _drain(stack, connection, label, bodies, comments, shadowed=shadowed)
                    log(f"{label}: {outcome['decided_per_second']:.0f} decided/s")
                    results["runs"].append({"shadow": shadowed, **outcome})
        finally:
            connection.close()
            stack.stop(worker)
    plain = [r["decided_per_second"] for r in results["runs"] if not r["shadow"]]
    shadow = [r["decided_per_second"] for r in results["runs"] if r["shadow"]]
    with_scores = [r["shadow_scored_per_second"] for r in results["runs"] if r["shadow"]]
    results["no_shadow_per_second"] = statistics.median(plain)
    results["shadow_per_second"] = statistics.median(shadow)
    results["shadow_complete_per_second"] = statistics.median(with_scores)
    results["ratio"] = results["shadow_per_second"] / results["no_shadow_per_second"]
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.shadow", description=__doc__)
    # Long enough that a drain takes seconds, not one: the clock's ends are a round apart.
    parser.add_argument("--comments", type=int, default=20_000, help="backlog of each drain")
    parser.add_argument("--repeats", type=int, default=2, help="drains each way")
    parser.add_argument("--redis-db", type=int, default=13, help="Redis DB for this run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    results = run(
        comments=args.comments, repeats=args.repeats, redis_db=args.redis_db, out_dir=args.out
    )
    path = args.out / f"shadow-{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"drain, one worker, {args.comments} comments x {args.repeats} each way (median):")
    print(f"  no shadow    {results['no_shadow_per_second']:7.0f} comments/s decided")
    print(
        f"  with shadow  {results['shadow_per_second']:7.0f} comments/s decided"
        f" ({results['shadow_complete_per_second']:.0f}/s counting until the shadow scores"
        " are written)"
    )
    print(f"  ratio        {results['ratio']:7.2f} (with / without)")
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
