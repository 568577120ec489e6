"""``python -m bench.learning_loop``: the learning loop of issue 16, timed in one run.

1. A scratch PostgreSQL database (bench.stack.Stack: created, migrated with `moderation
   migrate` so the shipped model is live, one site, dropped at the end).
2. N decided comments for that site, made up here, stored through the real store functions:
   ``submit_comments`` (as the API stores them), ``claim_pending`` + ``record_decisions`` (as a
   worker holds them for review) and ``apply_action`` (as a moderator decides them), in
   batches of BATCH.
3. ``train_from_decisions`` (what `moderation model train --from-decisions` calls) on the base
   data plus those decisions, and as the baseline, in the same run with the same settings,
   ``run_training`` (what `moderation train` calls) on the base data alone. Each runs in a
   fresh process of its own, so its peak RSS is its own.
4. The candidate (registered by the training) through the quality gate and promote
   (``compare.gated_promote``), then the switch: one real worker (`moderation worker`), a
   comment submitted every 0.1 s, seconds from the promote's commit to the first decision
   recorded with the new model version; then a rollback and the same back to the shipped
   version; repeated.

Prints a table and writes it as JSON to bench-results/ (git-ignored). ``--quick`` trains on a
small file written here instead of the shared data, with fewer decisions: a smoke run.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import random
import resource
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.run import log
from bench.stack import ROOT, Stack
from bench.texts import TOPICS

BATCH = 500
ACTOR = "cli:bench-learning-loop"
MODERATOR = "bench-moderator"
# Submissions during a switch: one each this often.
SUBMIT_EVERY = 0.1
SWITCH_TIMEOUT = 90.0
# Made up for this benchmark: a slur local to the made-up site, which no shared data set has.
LOCAL_SLUR = "grindleworm"

# Share of the decisions, by (action, reason). Spam is left out of the labels (labels.py).
MIX: tuple[tuple[str, str | None, float], ...] = (
    ("approve", None, 0.55),
    ("reject", "abuse or harassment", 0.22),
    ("reject", "hate speech", 0.07),
    ("reject", "threat", 0.05),
    ("reject", "spam or advertising", 0.08),
    ("reject", "off topic", 0.03),
)

# The load generator's topics, and a few more: the decisions should not all name the same eight.
_TOPICS = (
    *TOPICS,
    "the market square",
    "the parking charges",
    "the swimming pool",
    "the housing plan",
)
_NAMES = ("Alex", "Sam", "Jo", "Robin", "Kim", "Chris", "Pat", "Lee", "Morgan", "Dana")
_CIVIL = (
    "Thanks for the careful reporting on {topic}.",
    "I went to the meeting about {topic} and found it useful.",
    "I disagree with the council on {topic}, but this piece explains both sides.",
    "Could the paper follow up on {topic} next month?",
    "My neighbours and I have waited years for {topic}; glad it is moving.",
    "{name} makes a fair point about {topic}, the figures do not add up.",
    "The consultation on {topic} closed before most of us heard of it.",
)
_ABUSE = (
    "{name}, you {slur}, nobody wants your opinion on {topic}.",
    "Only a {slur} like {name} would write this about {topic}.",
    "Typical {slur} nonsense on {topic}, get lost {name}.",
    "{name} is a lying {slur} and everyone on {topic} knows it.",
    "Shut up about {topic}, you pathetic idiot {name}.",
)
_HATE = (
    "People like {name}'s lot should be banned from {topic}, they ruin everything.",
    "Those foreigners are vermin and should stay away from {topic}.",
    "{name}'s kind are all the same, filthy and useless, keep them off {topic}.",
)
_THREAT = (
    "Say that again about {topic} and I will come round and hurt you, {name}.",
    "{name}, watch your back after the meeting on {topic}.",
    "Someone should break {name}'s legs over {topic}.",
)
_SPAM = (
    "Cheap loans today! Visit our site for {topic} deals, code {number}.",
    "Earn money from home while reading about {topic}, click here {number}.",
)
_OFF_TOPIC = ("Does anyone know a good plumber near the station? Asking for {name}.",)
TEMPLATES: dict[str | None, tuple[str, ...]] = {
    None: _CIVIL,
    "abuse or harassment": _ABUSE,
    "hate speech": _HATE,
    "threat": _THREAT,
    "spam or advertising": _SPAM,
    "off topic": _OFF_TOPIC,
}


@dataclass(frozen=True)
class Planned:
    body: str
    action: str
    reason: str | None


def planned_decisions(count: int, *, seed: int = 16) -> list[Planned]:
    """``count`` comments and what the moderator decides, in MIX's shares; texts vary by a
    number so that few are exact repeats (a real site's comments rarely are)."""
    rng = random.Random(seed)
    kinds = [(action, reason) for action, reason, _ in MIX]
    weights = [share for _, _, share in MIX]
    out = []
    for index in range(count):
        action, reason = rng.choices(kinds, weights)[0]
        text = rng.choice(TEMPLATES[reason]).format(
            topic=rng.choice(_TOPICS), name=rng.choice(_NAMES), slur=LOCAL_SLUR, number=index
        )
        out.append(Planned(f"{text} (#{index})", action, reason))
    return out


# --- the stack's settings in this process -----------------------------------------------------


def use_stack(stack: Stack) -> None:
    """Point this process (and the training processes it starts) at the run's store and
    broker, as the tests' pg_env does."""
    from service import db, queue
    from service.config import get_settings

    os.environ.pop("BROKER_URL", None)
    os.environ.update(stack.env)
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    db.get_session_factory.cache_clear()
    queue._producer = None
    queue._flags = None


# --- 2. decisions -----------------------------------------------------------------------------


def store_decisions(*, site_id: str, count: int) -> dict[str, Any]:
    from service.comments import (
        NewComment,
        ScoredDecision,
        Submitted,
        claim_pending,
        record_decisions,
        submit_comments,
    )
    from service.db import get_session_factory, session_scope
    from service.moderation.accounts import create_moderator, reviewer_for
    from service.moderation.review import Action, apply_action
    from service.policy import Decision
    from service.tables import CommentStatus

    sessions = get_session_factory()
    plan = planned_decisions(count)
    with session_scope(sessions) as session:
        moderator = create_moderator(
            session=session,
            username=MODERATOR,
            password=uuid.uuid4().hex,
            site_ids=[site_id],
        )
        reviewer = reviewer_for(session=session, moderator=moderator)
    started = time.perf_counter()
    for start in range(0, count, BATCH):
        chunk = plan[start : start + BATCH]
        with session_scope(sessions) as session:
            outcomes = submit_comments(
                session=session,
                items=[
                    (
                        site_id,
                        NewComment(
                            article_id=f"article-{(start + n) % 50}",
                            author_name=f"Reader {(start + n) % 997}",
                            body=p.body,
                        ),
                    )
                    for n, p in enumerate(chunk)
                ],
            )
        ids = [o.id for o in outcomes if isinstance(o, Submitted)]
        if len(ids) != len(chunk):
            raise RuntimeError("a submission was refused")
        with session_scope(sessions) as session:
            claim = claim_pending(session=session, batch_size=len(ids), lease_seconds=300)
            record_decisions(
                session=session,
                token=claim.token,
                actor="model:bench",
                model_version="bench-seed",
                decisions=[
                    ScoredDecision(
                        c.id, Decision(CommentStatus.HELD, "bench: held for review"), None
                    )
                    for c in claim.comments
                ],
            )
        with session_scope(sessions) as session:
            for comment_id, planned in zip(ids, chunk, strict=True):
                apply_action(
                    session=session,
                    reviewer=reviewer,
                    comment_id=comment_id,
                    action=Action(planned.action),
                    reason=planned.reason,
                )
    seconds = time.perf_counter() - started
    mix = Counter(p.reason or p.action for p in plan)
    return {"count": count, "seconds": seconds, "per_second": count / seconds, "mix": dict(mix)}


# --- 3. training, each in a process of its own ------------------------------------------------


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _train_child(kind: str, options: dict[str, Any], results: Any) -> None:
    try:
        started = time.perf_counter()
        if kind == "baseline":
            from classifiers.training_run import run_training

            run_training(
                data_dir=Path(options["data_dir"]),
                inputs=[Path(p) for p in options["inputs"]],
                out=Path(options["out"]),
                version="bench-baseline",
            )
            extra: dict[str, Any] = {}
        else:
            from service.db import get_session_factory
            from service.model_registry.training import train_from_decisions

            trained = train_from_decisions(
                sessions=get_session_factory(),
                actor=ACTOR,
                out_dir=Path(options["out_dir"]),
                site=options["site"],
                data_dir=Path(options["data_dir"]),
                inputs=[Path(p) for p in options["inputs"]],
            )
            extra = {
                "version": trained.version,
                "parent_version": trained.parent_version,
                "base_rows": trained.base_rows,
                "labels": trained.summary.as_card(),
            }
        seconds = time.perf_counter() - started
        results.put({"seconds": seconds, "peak_rss_mb": _peak_rss_mb(), **extra})
    except BaseException as exc:
        results.put({"error": f"{type(exc).__name__}: {exc}"})
        raise


def train_in_child(kind: str, options: dict[str, Any]) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: its own peak RSS
    results = context.Queue()
    child = context.Process(target=_train_child, args=(kind, options, results))
    child.start()
    outcome: dict[str, Any] = results.get()
    child.join()
    if "error" in outcome:
        raise RuntimeError(f"{kind} training failed: {outcome['error']}")
    return outcome


def word_vectors_default() -> bool:
    from classifiers.word_vectors import encoder_available

    return encoder_available()


def write_fixture(folder: Path) -> Path:
    """A small labelled file for --quick: civil and toxic sentences, every attribute with both
    classes (a one-class attribute cannot be fitted)."""
    path = folder / "quick-base.csv"
    header = ["text", "toxicity", "severe_toxicity", "identity_attack", "insult", "profanity"]
    header.append("threat")
    rows: list[list[object]] = []
    for n, topic in enumerate(_TOPICS):
        for template in _CIVIL:
            rows.append([template.format(topic=topic, name=_NAMES[n % 10]), 0, 0, 0, 0, 0, 0])
        rows.append([f"You stupid idiot, nobody cares about {topic}.", 1, 0, 0, 1, 0, 0])
        rows.append(
            [f"What a worthless moron, this piece on {topic} is garbage.", 1, 0, 0, 1, 0, 0]
        )
        rows.append([f"This shit about {topic} is fucking useless.", 1, 0, 0, 0, 1, 0])
        rows.append(
            [f"People of that religion are animals, ban them from {topic}.", 1, 1, 1, 0, 0, 0]
        )
        rows.append([f"I will find you and kill you over {topic}.", 1, 1, 0, 0, 0, 1])
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# --- 4. gate, promote and the switch ----------------------------------------------------------


class SteadyTraffic:
    """A comment submitted and the workers nudged, as the API does, every SUBMIT_EVERY
    seconds in a thread of its own, for as long as the switches are measured: a worker
    checks the live version when it scores a round and its last check is model_check_seconds
    old, so with no traffic the first comment after a change would find a stale check and
    switch at once, which flatters the figure."""

    def __init__(self, site_id: str) -> None:
        self.site_id = site_id
        self.submitted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="steady-traffic", daemon=True)
        self.error: BaseException | None = None

    def __enter__(self) -> SteadyTraffic:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        from service.comments import NewComment, submit_comments
        from service.db import get_session_factory, session_scope
        from service.queue import enqueue_scoring

        sessions = get_session_factory()
        try:
            while not self._stop.is_set():
                tick = time.monotonic()
                self.submitted += 1
                with session_scope(sessions) as session:
                    submit_comments(
                        session=session,
                        items=[
                            (
                                self.site_id,
                                NewComment(
                                    article_id="switch",
                                    author_name="Switch probe",
                                    body="Thanks for the update on the bridge repairs, "
                                    f"probe {self.submitted}.",
                                ),
                            )
                        ],
                    )
                enqueue_scoring()
                self._stop.wait(max(0.0, SUBMIT_EVERY - (time.monotonic() - tick)))
        except BaseException as exc:
            self.error = exc
            raise


def _first_decided_with(version: str, after: datetime) -> datetime | None:
    from sqlalchemy import func, select

    from service.db import get_session_factory
    from service.tables import Comment

    with get_session_factory()() as session:
        return session.scalar(
            select(func.min(Comment.decided_at)).where(
                Comment.article_id == "switch",
                Comment.model_version == version,
                Comment.decided_at >= after,
            )
        )


def wait_switch(traffic: SteadyTraffic, *, version: str, committed_at: float) -> float:
    """Seconds from ``committed_at`` (the change's commit, epoch) to the first decision
    recorded with ``version``."""
    after = datetime.fromtimestamp(committed_at, UTC)
    deadline = time.monotonic() + SWITCH_TIMEOUT
    while time.monotonic() < deadline:
        if traffic.error is not None:
            raise RuntimeError("the submissions stopped") from traffic.error
        found = _first_decided_with(version, after)
        if found is not None:
            return found.timestamp() - committed_at
        time.sleep(0.05)
    raise TimeoutError(f"no decision with {version} within {SWITCH_TIMEOUT:.0f}s")


def gated_promote_timed(version: str, cycle: int) -> dict[str, Any]:
    from service.db import get_session_factory, session_scope
    from service.model_registry.compare import GateRefused, gated_promote

    sessions = get_session_factory()
    started = time.perf_counter()
    forced: list[str] = []
    try:
        with session_scope(sessions) as session:
            _, result = gated_promote(
                session=session, version=version, actor=ACTOR, reason=f"bench cycle {cycle}"
            )
    except GateRefused as refused:
        # The figures are the switch's; a candidate the gate refuses is promoted anyway, and
        # the report says so.
        forced = refused.result.regressions
        started = time.perf_counter()
        with session_scope(sessions) as session:
            _, result = gated_promote(
                session=session,
                version=version,
                actor=ACTOR,
                reason="bench: forced to time the switch",
                force=True,
            )
    committed_at = time.time()
    return {
        "gate_and_promote_seconds": time.perf_counter() - started,
        "committed_at": committed_at,
        "from_version": result.live_version,
        "gate_regressions": forced,
    }


def gate_baseline(path: Path) -> dict[str, Any]:
    """The baseline model through the same gate, registered as a candidate and not promoted:
    whether the candidate's regressions, if any, come from the decisions or from training
    itself (this machine's fit against the shipped one)."""
    from service.db import get_session_factory, session_scope
    from service.model_registry.compare import gate
    from service.model_registry.store import register_version
    from service.tables import ModelStatus

    with session_scope(get_session_factory()) as session:
        row = register_version(
            session=session, path=path, created_by=ACTOR, status=ModelStatus.CANDIDATE
        )
        started = time.perf_counter()
        result = gate(session=session, version=row.version)
        seconds = time.perf_counter() - started
    return {"version": row.version, "gate_seconds": seconds, "regressions": result.regressions}


def rollback_timed(cycle: int) -> dict[str, Any]:
    from service.db import get_session_factory, session_scope
    from service.model_registry.store import rollback

    started = time.perf_counter()
    with session_scope(get_session_factory()) as session:
        change = rollback(session=session, actor=ACTOR, reason=f"bench cycle {cycle}")
        to_version = change.to_version
    return {
        "rollback_seconds": time.perf_counter() - started,
        "committed_at": time.time(),
        "to_version": to_version,
    }


def live_version_now() -> str:
    from service.db import get_session_factory
    from service.model_registry.store import live_version

    with get_session_factory()() as session:
        live = live_version(session=session)
        assert live is not None, "migrate registers the shipped model as live"
        return live.version


def switch_cycles(
    stack: Stack, *, candidate: str, repeats: int, check_seconds: float, cycle_seed: int = 5
) -> list[dict[str, Any]]:
    shipped = live_version_now()
    worker = stack.start_worker(0)
    try:
        with SteadyTraffic(stack.site_id) as traffic:
            # The worker has the shipped model loaded before anything is timed.
            wait_switch(traffic, version=shipped, committed_at=time.time())
            rng = random.Random(cycle_seed)
            cycles = []
            for cycle in range(repeats):
                # Changes at random moments, not in step with the worker's checks.
                time.sleep(rng.uniform(0, check_seconds))
                promoted = gated_promote_timed(candidate, cycle)
                promoted["switch_seconds"] = wait_switch(
                    traffic, version=candidate, committed_at=promoted["committed_at"]
                )
                log(
                    f"cycle {cycle}: gate+promote {promoted['gate_and_promote_seconds']:.1f}s, "
                    f"worker switched in {promoted['switch_seconds']:.2f}s"
                )
                time.sleep(rng.uniform(0, check_seconds))
                back = rollback_timed(cycle)
                back["switch_seconds"] = wait_switch(
                    traffic, version=shipped, committed_at=back["committed_at"]
                )
                log(
                    f"cycle {cycle}: rollback, worker switched back in "
                    f"{back['switch_seconds']:.2f}s"
                )
                cycles.append({"promote": promoted, "rollback": back})
        return cycles
    finally:
        stack.stop(worker)


# --- the run ------------------------------------------------------------------------------------


def _load() -> dict[str, Any]:
    one, five, fifteen = os.getloadavg()
    return {"load_1m": one, "load_5m": five, "load_15m": fifteen, "cpus": os.cpu_count()}


def run(
    *, decisions: int, data_dir: Path, quick: bool, repeats: int, redis_db: int, out_dir: Path
) -> dict[str, Any]:
    from service.config import get_settings

    results: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "decisions": decisions,
        "word_vectors": word_vectors_default(),
        "load_at_start": _load(),
    }
    stamp = f"{datetime.now():%Y%m%d-%H%M%S}"
    with Stack(redis_db=redis_db, keep_logs=out_dir / f"logs-learning-{stamp}") as stack:
        use_stack(stack)
        results["model_check_seconds"] = get_settings().model_check_seconds
        results["shipped_version"] = live_version_now()
        if quick:
            inputs = [str(write_fixture(stack.workdir))]
            base_dir = stack.workdir / "no-shared-data"  # absent: train reads the file alone
        else:
            if not data_dir.is_dir():
                raise SystemExit(f"no shared data at {data_dir} (--data-dir, or --quick)")
            inputs, base_dir = [], data_dir
        results["base"] = {"data_dir": None if quick else str(data_dir), "inputs": inputs}

        log(f"storing {decisions} decided comments")
        results["store"] = store_decisions(site_id=stack.site_id, count=decisions)
        log(f"stored in {results['store']['seconds']:.1f}s")

        log("training on the base data alone (baseline, `moderation train`)")
        results["load_before_baseline"] = _load()
        results["baseline"] = train_in_child(
            "baseline",
            {"data_dir": str(base_dir), "inputs": inputs, "out": str(stack.workdir / "b.skops")},
        )
        results["load_after_baseline"] = _load()
        log(f"baseline trained in {results['baseline']['seconds']:.0f}s")

        log("training on the base data plus the decisions (`model train --from-decisions`)")
        results["load_before_from_decisions"] = _load()
        from service.db import get_session_factory
        from service.tables import Site

        with get_session_factory()() as session:
            site = session.get(Site, stack.site_id)
            assert site is not None
            site_name = site.name
        results["from_decisions"] = train_in_child(
            "from_decisions",
            {
                "data_dir": str(base_dir),
                "inputs": inputs,
                "out_dir": str(stack.workdir),
                "site": site_name,
            },
        )
        results["load_after_from_decisions"] = _load()
        log(f"from decisions trained in {results['from_decisions']['seconds']:.0f}s")
        results["training_ratio"] = (
            results["from_decisions"]["seconds"] / results["baseline"]["seconds"]
        )

        results["baseline_gate"] = gate_baseline(stack.workdir / "b.skops")
        log(f"baseline vs live: {len(results['baseline_gate']['regressions'])} regression(s)")
        results["load_before_switch"] = _load()
        results["cycles"] = switch_cycles(
            stack,
            candidate=results["from_decisions"]["version"],
            repeats=repeats,
            check_seconds=results["model_check_seconds"],
        )
    results["load_at_end"] = _load()
    promotes = [c["promote"] for c in results["cycles"]]
    rollbacks = [c["rollback"] for c in results["cycles"]]
    results["median"] = {
        "gate_and_promote_seconds": statistics.median(
            p["gate_and_promote_seconds"] for p in promotes
        ),
        "promote_switch_seconds": statistics.median(p["switch_seconds"] for p in promotes),
        "rollback_switch_seconds": statistics.median(r["switch_seconds"] for r in rollbacks),
    }
    return results


def summary(results: dict[str, Any]) -> str:
    store, base, mine = results["store"], results["baseline"], results["from_decisions"]
    labels = mine["labels"]
    median = results["median"]
    kinds = ", ".join(f"{k} {v}" for k, v in labels["by_kind"].items())
    left_out = ", ".join(f"{k} {v}" for k, v in labels["left_out"].items()) or "none"
    lines = [
        f"learning loop, {results['decisions']} decisions"
        f"{' (--quick: small written base)' if results['quick'] else ''};"
        f" word vectors {'on' if results['word_vectors'] else 'off (encoder not installed)'}",
        f"  store decisions        {store['seconds']:8.1f} s  ({store['per_second']:.0f}/s)",
        f"  train, base alone      {base['seconds']:8.1f} s  peak RSS {base['peak_rss_mb']:.0f} MB",
        f"  train --from-decisions {mine['seconds']:8.1f} s  peak RSS {mine['peak_rss_mb']:.0f} MB"
        f"  (x{results['training_ratio']:.2f} the baseline; {mine['base_rows']} base rows)",
        f"  labels                 toxic {labels['toxicity']['toxic']}, civil"
        f" {labels['toxicity']['civil']} ({kinds}; left out: {left_out})",
    ]
    lines.append(
        f"  gate, baseline vs live {results['baseline_gate']['gate_seconds']:8.2f} s,"
        f" {len(results['baseline_gate']['regressions'])} regression(s) (not promoted)"
    )
    for index, cycle in enumerate(results["cycles"]):
        promote, back = cycle["promote"], cycle["rollback"]
        forced = (
            f", forced past {len(promote['gate_regressions'])} gate regression(s)"
            if promote["gate_regressions"]
            else ", passed the gate"
        )
        lines.append(
            f"  cycle {index}: gate+promote {promote['gate_and_promote_seconds']:.2f} s{forced};"
            f" switch {promote['switch_seconds']:.2f} s; rollback switch"
            f" {back['switch_seconds']:.2f} s"
        )
    lines += [
        f"  median gate+promote    {median['gate_and_promote_seconds']:8.2f} s",
        f"  median worker switch   {median['promote_switch_seconds']:8.2f} s after promote,"
        f" {median['rollback_switch_seconds']:.2f} s after rollback"
        f" (MODERATION_MODEL_CHECK_SECONDS={results['model_check_seconds']:g}, target <= 5 s)",
        "  load (1/5/15 min)      "
        + "; ".join(
            f"{name.removeprefix('load_')} "
            f"{v['load_1m']:.2f}/{v['load_5m']:.2f}/{v['load_15m']:.2f}"
            for name, v in results.items()
            if name.startswith("load_")
        )
        + f" on {results['load_at_start']['cpus']} CPUs",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.learning_loop", description=__doc__)
    parser.add_argument("--decisions", type=int, help="decided comments (10000; --quick 600)")
    parser.add_argument("--data-dir", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--quick", action="store_true", help="small written base, a smoke run")
    parser.add_argument("--repeats", type=int, default=5, help="promote/rollback cycles")
    parser.add_argument("--redis-db", type=int, default=14, help="Redis DB for this run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results")
    args = parser.parse_args(argv)
    decisions = args.decisions or (600 if args.quick else 10_000)
    args.out.mkdir(parents=True, exist_ok=True)
    results = run(
        decisions=decisions,
        data_dir=args.data_dir,
        quick=args.quick,
        repeats=args.repeats,
        redis_db=args.redis_db,
        out_dir=args.out,
    )
    text = summary(results)
    results["summary"] = text
    path = args.out / f"learning-loop-{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(text)
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
