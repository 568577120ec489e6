"""The benchmark's phases, in order, on one stack; results as one JSON-able dict."""

import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench import profile, store
from bench.stack import ROOT, Process, Stack, cpu_seconds
from bench.texts import comment_bodies


@dataclass(frozen=True)
class Plan:
    name: str
    rates: list[int]
    rate_seconds: float
    repeats: int
    saturation_seconds: float
    saturation_connections: int
    backlog: int
    scales: list[int]
    classifier_rounds: int
    parts_count: int
    round_parts_rounds: int = 10
    # Open-loop runs may use many connections, as many readers would; an overloaded server
    # shows it in latency and errors.
    open_connections: int = 128
    decision_timeout: float = 60.0
    # Between phases, how long the workers may take to work off leftover nudges.
    settle_timeout: float = 8.0
    # How long after its schedule ends a load run waits for late answers.
    grace_seconds: float = 10.0


FULL = Plan(
    name="full",
    rates=[100, 500, 1000],
    rate_seconds=5,
    repeats=2,
    saturation_seconds=5,
    # Closed loop below the API's pool size (10 + 20 overflow): beyond it, sessions that hold a
    # connection across threadpool hops stall the process (see docs/performance.md), and the
    # figure would measure that stall instead of the throughput.
    saturation_connections=24,
    backlog=50_000,
    scales=[1, 2],
    classifier_rounds=40,
    parts_count=1000,
    settle_timeout=5,
    grace_seconds=6,
    decision_timeout=30,
)
QUICK = Plan(
    name="quick",
    rates=[500, 1000],
    rate_seconds=3,
    repeats=1,
    saturation_seconds=3,
    saturation_connections=24,
    backlog=5_000,
    scales=[1, 2],
    classifier_rounds=10,
    parts_count=300,
    round_parts_rounds=4,
    decision_timeout=15,
    settle_timeout=3,
    grace_seconds=3,
)
# The harness at the smallest scale that still produces every figure (tests/bench).
TINY = Plan(
    name="tiny",
    rates=[50],
    rate_seconds=4,
    repeats=1,
    saturation_seconds=1,
    saturation_connections=8,
    backlog=200,
    scales=[1, 2],
    classifier_rounds=3,
    parts_count=30,
    round_parts_rounds=2,
    open_connections=16,
    decision_timeout=30,
    settle_timeout=5,
    grace_seconds=5,
)
PLANS = {plan.name: plan for plan in (FULL, QUICK, TINY)}


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def _python_json(
    module: str, args: list[str], payload: dict[str, Any], env: dict[str, str], timeout: float
) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def _summary(values: list[float | None]) -> dict[str, float | None]:
    """Median and spread of repeated measurements."""
    present = [value for value in values if value is not None and math.isfinite(value)]
    if not present:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {
        "median": statistics.median(present),
        "min": min(present),
        "max": max(present),
        "n": len(present),
    }


def _system_processes(names: tuple[str, ...]) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name"]):
        if process.info["name"] and process.info["name"].startswith(names):
            found.append(process)
    return found


@dataclass
class Runner:
    plan: Plan
    stack: Stack
    out_dir: Path
    profile: bool = False
    bodies: list[str] = field(default_factory=lambda: comment_bodies(4000))
    results: dict[str, Any] = field(default_factory=dict)

    # --- helpers -------------------------------------------------------------------------

    def child_env(self) -> dict[str, str]:
        return self.stack._child_env()

    def load(
        self,
        *,
        port: int,
        path: str,
        label: str,
        mode: str,
        rate: float = 0.0,
        seconds: float,
        connections: int,
    ) -> dict[str, Any]:
        spec = {
            "port": port,
            "path": path,
            "headers": {"Authorization": f"Bearer {self.stack.site_key}"},
            "mode": mode,
            "rate": rate,
            "duration_seconds": seconds,
            "connections": connections,
            "bodies": self.bodies,
            "label": label,
            "max_requests": int(max(rate, 1) * seconds) + 200_000 * (mode == "closed"),
            "deadline_seconds": seconds + self.plan.grace_seconds,
        }
        timeout = seconds + self.plan.grace_seconds + 30
        return _python_json("bench.loadgen", [], spec, os.environ.copy(), timeout=timeout)

    def settle(self, workers: list[Process]) -> dict[str, Any]:
        """Let the workers work off the nudges left in Redis, so phases do not overlap."""
        started = time.perf_counter()
        left = self.stack.queue_length()
        while left and time.perf_counter() - started < self.plan.settle_timeout:
            time.sleep(0.1)
            left = self.stack.queue_length()
        purged = 0
        if left:
            purged = left
            self.stack.purge_queue()
        time.sleep(0.2)
        return {"seconds": time.perf_counter() - started, "purged_nudges": purged}

    def cpu_snapshot(self, groups: dict[str, list[Process]]) -> dict[str, dict[int, float]]:
        snapshot = {
            name: cpu_seconds([p for process in group for p in process.tree()])
            for name, group in groups.items()
        }
        snapshot["postgres(all)"] = cpu_seconds(_system_processes(("postgres",)))
        snapshot["redis(all)"] = cpu_seconds(_system_processes(("redis-server",)))
        return snapshot

    @staticmethod
    def cpu_per_comment(
        before: dict[str, dict[int, float]], after: dict[str, dict[int, float]], comments: int
    ) -> dict[str, float]:
        # Per process: one that ended (a restarted API, a closed PostgreSQL backend) would
        # otherwise subtract its whole history; one that started during the run counts whole.
        return {
            name: sum(used - before[name].get(pid, 0.0) for pid, used in after[name].items())
            * 1000
            / max(comments, 1)
            for name in before
        }

    # --- phases --------------------------------------------------------------------------

    def classifier_alone(self, rounds: int) -> dict[str, Any]:
        """The ceiling for scoring, in a process of its own while nothing else runs."""
        return _python_json(
            "bench.baselines", ["classifier"], {"rounds": max(rounds, 2)}, self.child_env(), 300
        )

    def baselines(self) -> None:
        log("baseline: classifier alone, batches of 256")
        env = self.child_env()
        self.results["classifier"] = self.classifier_alone(self.plan.classifier_rounds)
        log("baseline: Redis round trip")
        self.results["redis"] = _python_json(
            "bench.baselines", ["redis"], {"redis_url": self.stack.redis_url}, env, 120
        )
        log("parts of one submission, each alone in one thread")
        self.results["parts"] = _python_json(
            "bench.baselines",
            ["parts"],
            {"site_key": self.stack.site_key, "count": self.plan.parts_count},
            env,
            300,
        )
        self.stack.purge_queue()
        log("steps of one scoring round, each timed, in the worker's functions")
        rounds = self.plan.round_parts_rounds
        store.insert_backlog(
            database_url=self.stack.database_url,
            site_id=self.stack.site_id,
            article_id="round-parts",
            bodies=self.bodies,
            count=rounds * 256,
        )
        self.results["round_parts"] = _python_json(
            "bench.baselines", ["round_parts"], {"rounds": rounds}, env, 300
        )

    def bare(self, scale: int) -> dict[str, Any]:
        process, port = self.stack.start_bare(scale)
        try:
            saturation = []
            for repeat in range(self.plan.repeats):
                log(f"bare x{scale}: saturation, run {repeat + 1}")
                saturation.append(
                    self.load(
                        port=port,
                        path="/v1/comments",
                        label=f"bare-x{scale}-sat-{repeat}",
                        mode="closed",
                        seconds=self.plan.saturation_seconds,
                        connections=self.plan.saturation_connections,
                    )
                )
            log(f"bare x{scale}: saturation of the same endpoint as a sync (threadpool) handler")
            sync = self.load(
                port=port,
                path="/v1/comments-sync",
                label=f"bare-x{scale}-sync",
                mode="closed",
                seconds=self.plan.saturation_seconds,
                connections=self.plan.saturation_connections,
            )
            rates = {}
            for rate in self.plan.rates:
                log(f"bare x{scale}: {rate}/s offered")
                rates[str(rate)] = self.load(
                    port=port,
                    path="/v1/comments",
                    label=f"bare-x{scale}-r{rate}",
                    mode="open",
                    rate=rate,
                    seconds=self.plan.rate_seconds,
                    connections=self.plan.open_connections,
                )
        finally:
            self.stack.stop(process)
        return {"saturation": saturation, "saturation_sync_handler": sync, "rates": rates}

    def ingest_and_decide(
        self,
        *,
        scale: int,
        label: str,
        port: int,
        mode: str,
        rate: float,
        seconds: float,
        connections: int,
        api: Process,
        workers: list[Process],
    ) -> dict[str, Any]:
        connection = store.connect(self.stack.database_url)
        groups = {"api": [api], "workers": workers}
        before = self.cpu_snapshot(groups)
        load = self.load(
            port=port,
            path="/v1/comments",
            label=label,
            mode=mode,
            rate=rate,
            seconds=seconds,
            connections=connections,
        )
        nudges_after_load = self.stack.queue_length()
        decided_all, waited = store.wait_decided(
            connection, label, timeout=self.plan.decision_timeout
        )
        after = self.cpu_snapshot(groups)
        decision = store.decision_latency(connection, label)
        decision["all_decided"] = decided_all
        decision["waited_after_load_seconds"] = waited
        decision["statuses"] = store.status_counts(connection, label)
        connection.close()
        settle = self.settle(workers)
        return {
            "load": load,
            "decision": decision,
            "nudges_queued_after_load": nudges_after_load,
            "settle": settle,
            "cpu_ms_per_comment": self.cpu_per_comment(before, after, load["ok"]),
        }

    def serving(self, scale: int, workers: list[Process]) -> dict[str, Any]:
        api, port = self.stack.start_api(scale)
        out: dict[str, Any] = {"rates": {}, "saturation": [], "api_restarts": []}
        common = {"scale": scale, "port": port, "api": api, "workers": workers}

        def checked(label: str, result: dict[str, Any]) -> dict[str, Any]:
            # An overloaded API can stay stuck after the load stops (threads waiting on the
            # pool for its 30 s timeout): restart it so the next figure measures capacity,
            # not the aftermath, and count the restarts as a finding of their own.
            load = result["load"]
            if load["ok"] < load["sent"]:
                failed = load["sent"] - load["ok"]
                log(f"service x{scale}: {failed} requests failed; restarting the API")
                # A stuck uvicorn waits for its stuck requests; no need to wait with it.
                self.stack.stop(common["api"], timeout=3)
                common["api"], common["port"] = self.stack.start_api(scale)
                out["api_restarts"].append(label)
            return result

        try:
            log(f"service x{scale}: warm-up")
            self.ingest_and_decide(
                label=f"x{scale}-warmup",
                mode="open",
                rate=100,
                seconds=2,
                connections=self.plan.open_connections,
                **common,
            )
            for rate in self.plan.rates:
                runs = []
                for repeat in range(self.plan.repeats):
                    log(f"service x{scale}: {rate}/s offered, run {repeat + 1}")
                    runs.append(
                        checked(
                            f"{rate}/s run {repeat + 1}",
                            self.ingest_and_decide(
                                label=f"x{scale}-r{rate}-{repeat}",
                                mode="open",
                                rate=rate,
                                seconds=self.plan.rate_seconds,
                                connections=self.plan.open_connections,
                                **common,
                            ),
                        )
                    )
                out["rates"][str(rate)] = runs
            for repeat in range(self.plan.repeats):
                log(f"service x{scale}: saturation, run {repeat + 1}")
                recording = None
                if self.profile and scale == 1 and repeat == 0:
                    recording = profile.record(
                        common["api"].popen.pid,
                        self.out_dir / "profile-api.raw",
                        self.plan.saturation_seconds,
                    )
                out["saturation"].append(
                    checked(
                        f"saturation run {repeat + 1}",
                        self.ingest_and_decide(
                            label=f"x{scale}-sat-{repeat}",
                            mode="closed",
                            rate=0.0,
                            seconds=self.plan.saturation_seconds,
                            connections=self.plan.saturation_connections,
                            **common,
                        ),
                    )
                )
                if recording is not None and recording.finish(timeout=30):
                    self.results.setdefault("profiles", {})["api_saturation"] = profile.summarise(
                        recording.output
                    )
            if self.profile and scale == 1:
                log(f"service x{scale}: profiling the worker at 500/s offered")
                recording = profile.record(
                    workers[0].popen.pid,
                    self.out_dir / "profile-worker-500.raw",
                    self.plan.rate_seconds,
                )
                out["profiled_500"] = self.ingest_and_decide(
                    label=f"x{scale}-profiled-500",
                    mode="open",
                    rate=500,
                    seconds=self.plan.rate_seconds,
                    connections=self.plan.open_connections,
                    **common,
                )
                if recording.finish(timeout=30):
                    self.results.setdefault("profiles", {})["worker_at_500"] = profile.summarise(
                        recording.output
                    )
        finally:
            self.stack.stop(common["api"])
        return out

    def drain(self, scale: int, workers: list[Process]) -> dict[str, Any]:
        from service.config import Settings
        from service.queue import SCORE_PENDING_TASK, make_celery

        label = f"x{scale}-backlog"
        self.stack.purge_queue()
        # The machine's speed drifts by up to 2x within minutes here (shared host): the
        # drain is compared with the classifier measured just before and just after it, on
        # the same machine state, as well as with the run's opening figure. Measured before
        # the backlog is stored: in the seconds it takes, beat's sweep would start the drain.
        classifier_before = self.classifier_alone(rounds=self.plan.classifier_rounds // 2)
        log(f"backlog x{scale}: inserting {self.plan.backlog} pending comments")
        insert_seconds = store.insert_backlog(
            database_url=self.stack.database_url,
            site_id=self.stack.site_id,
            article_id=label,
            bodies=self.bodies,
            count=self.plan.backlog,
        )
        settings = Settings(REDIS_URL=self.stack.redis_url, scoring_queue=self.stack.queue)
        celery = make_celery(settings)
        # One nudge per batch, as if the API had coalesced its nudges: enough that no worker
        # waits for a message while comments are pending (drain() stops after 50 rounds).
        nudges = math.ceil(self.plan.backlog / settings.batch_size)
        connection = store.connect(self.stack.database_url)
        groups = {"workers": workers}
        recording = None
        if self.profile and scale == 1:
            recording = profile.record(workers[0].popen.pid, self.out_dir / "profile-drain.raw", 30)
        log(f"backlog x{scale}: {nudges} nudges sent; timing until none is pending")
        # Anything decided before the nudges (the sweep came first) would flatter the rate.
        pending_at_start = store.pending_count(connection, label)
        before = self.cpu_snapshot(groups)
        started = time.perf_counter()
        started_at = time.time()
        with celery.producer_or_acquire() as producer:
            for _ in range(nudges):
                celery.send_task(SCORE_PENDING_TASK, producer=producer)
        # Polled slowly: counting a large backlog is real work for PostgreSQL, which the
        # workers share. The drain ends at the last decision's own timestamp, not at the poll
        # that saw it.
        done, _ = store.wait_decided(
            connection, label, timeout=max(120.0, self.plan.backlog / 200), poll=0.5
        )
        last = store.last_decided_at(connection, label)
        seconds = last - started_at if done and last else time.perf_counter() - started
        after = self.cpu_snapshot(groups)
        if recording is not None:
            recording.stop_early()
            if recording.finish(timeout=10):
                self.results.setdefault("profiles", {})["worker_drain"] = profile.summarise(
                    recording.output
                )
        decided = pending_at_start - store.pending_count(connection, label)
        rounds = store.decision_latency(connection, label)["scoring_rounds"]
        connection.close()
        settle = self.settle(workers)
        classifier_after = self.classifier_alone(rounds=self.plan.classifier_rounds // 2)
        return {
            "comments": self.plan.backlog,
            "pending_at_start": pending_at_start,
            "insert_seconds": insert_seconds,
            "nudges": nudges,
            "all_decided": done,
            "seconds": seconds,
            "decided_per_second": decided / seconds,
            "scoring_rounds": rounds,
            "cpu_ms_per_comment": self.cpu_per_comment(before, after, decided),
            "settle": settle,
            "classifier_around": [
                classifier_before["comments_per_second"]["median"],
                classifier_after["comments_per_second"]["median"],
            ],
        }

    def run(self) -> dict[str, Any]:
        self.results["plan"] = asdict(self.plan)
        self.results["machine"] = {
            "cpus": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "load_average_at_start": os.getloadavg(),
            "python": sys.version.split()[0],
        }
        self.results["started_at"] = datetime.now(UTC).isoformat()
        started = time.perf_counter()
        self.baselines()
        beat = self.stack.start_beat()
        self.results["scales"] = {}
        for scale in self.plan.scales:
            bare = self.bare(scale)
            log(f"starting {scale} worker process(es)")
            workers = [self.stack.start_worker(index) for index in range(scale)]
            try:
                serving = self.serving(scale, workers)
                drain = self.drain(scale, workers)
            finally:
                for worker in workers:
                    self.stack.stop(worker)
            self.results["scales"][str(scale)] = {
                "bare": bare,
                "service": serving,
                "drain": drain,
            }
        self.stack.stop(beat)
        self.results["load_average_at_end"] = os.getloadavg()
        self.results["seconds"] = time.perf_counter() - started
        return self.results


def execute(
    plan: Plan,
    *,
    out_dir: Path,
    profile_processes: bool = False,
    redis_db: int = 12,
    on_stack: Callable[[Stack], None] | None = None,
) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    with Stack(redis_db=redis_db, keep_logs=out_dir / f"logs-{stamp}") as stack:
        if on_stack is not None:
            on_stack(stack)
        runner = Runner(plan=plan, stack=stack, out_dir=out_dir, profile=profile_processes)
        return runner.run()
