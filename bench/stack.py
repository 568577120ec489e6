"""The real stack for one benchmark run: a fresh database, its own Redis DB and queue, and the
API, worker and beat processes started exactly as ops starts them (``moderation serve`` etc.).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import redis
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# Variables that would point a child somewhere else than this run's store and broker.
_SERVICE_ENV = ("DATABASE_URL", "REDIS_URL", "BROKER_URL")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tree(self) -> list[psutil.Process]:
        """The process and its children (uvicorn's workers, a prefork pool)."""
        try:
            parent = psutil.Process(self.popen.pid)
            return [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self, timeout: float = 20) -> None:
        if self.popen.poll() is None:
            # Its own session: the signal reaches uvicorn's and Celery's children too.
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()


def cpu_seconds(processes: list[psutil.Process]) -> dict[int, float]:
    """CPU seconds used so far, per process id (a delta is taken over the ids seen twice)."""
    used: dict[int, float] = {}
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        used[process.pid] = times.user + times.system
    return used


@dataclass
class Stack:
    """One run's store, broker and processes. Use as a context manager; everything is removed."""

    redis_db: int = 12
    label: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    keep_logs: Path | None = None
    processes: list[Process] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.database = f"moderation_bench_{self.label}"
        self.database_url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{self.database}"
        self.redis_url = f"redis://127.0.0.1:6379/{self.redis_db}"
        self.queue = f"scoring-bench-{self.label}"
        self.workdir = Path(tempfile.mkdtemp(prefix=f"bench-{self.label}-"))
        self.site_key = ""
        self.site_id = ""

    @property
    def env(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "MODERATION_SCORING_QUEUE": self.queue,
            "MODERATION_DATA_DIR": str(self.workdir),
            # The limits are a policy, not a capacity: set far above what is offered, so the
            # limiter still runs (its Redis round trips are part of the path) but never refuses.
            "MODERATION_RATE_LIMIT_PER_SITE": "10000000/second",
            "MODERATION_RATE_LIMIT_PER_CLIENT": "10000000/second",
            "MODERATION_ANALYZE_RATE_LIMIT": "10000000/second",
        }

    # --- store and broker ------------------------------------------------------------------

    def __enter__(self) -> "Stack":
        try:
            redis.Redis.from_url(self.redis_url, socket_connect_timeout=2).ping()
        except redis.RedisError as exc:
            raise RuntimeError(f"Redis is needed at {self.redis_url}: {exc}") from exc
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.database}"'))
        admin.dispose()
        self._moderation_cli("migrate")
        output = self._moderation_cli("site", "add", f"bench-{self.label}")
        self.site_key = next(
            line.split(":", 1)[1].strip() for line in output.splitlines() if line.startswith("key:")
        )
        engine = create_engine(self.database_url)
        with engine.connect() as connection:
            self.site_id = connection.execute(text("SELECT id FROM sites")).scalar_one()
        engine.dispose()
        return self

    def __exit__(self, *_: object) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()
        client = redis.Redis.from_url(self.redis_url)
        client.delete(self.queue)
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
        admin.dispose()
        if self.keep_logs is not None:
            self.keep_logs.mkdir(parents=True, exist_ok=True)
            for log in self.workdir.glob("*.log"):
                shutil.copy(log, self.keep_logs / log.name)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _child_env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _SERVICE_ENV}
        env.update(self.env)
        env["PYTHONUNBUFFERED"] = "1"
        env.update(extra or {})
        return env

    def _moderation_cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "service.cli", *args],
            cwd=ROOT,
            env=self._child_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"moderation {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def queue_length(self) -> int:
        return int(redis.Redis.from_url(self.redis_url).llen(self.queue))

    def purge_queue(self) -> None:
        redis.Redis.from_url(self.redis_url).delete(self.queue)

    # --- processes -------------------------------------------------------------------------

    def start(self, name: str, args: list[str], extra_env: dict[str, str] | None = None) -> Process:
        log = self.workdir / f"{name}.log"
        popen = subprocess.Popen(
            args,
            cwd=ROOT,
            env=self._child_env(extra_env),
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process = Process(name=name, popen=popen, log=log)
        self.processes.append(process)
        return process

    def stop(self, process: Process, timeout: float = 20) -> None:
        process.stop(timeout)
        self.processes.remove(process)

    def _wait_http(self, process: Process, port: int, processes: int) -> None:
        def healthy() -> bool:
            if not process.alive():
                raise RuntimeError(f"{process.name} exited:\n{process.output()[-3000:]}")
            try:
                ok = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False
            # With --workers N, answer only once every worker process is up.
            return ok and (processes == 1 or len(process.tree()) > processes)

        wait_until(healthy, timeout=90, what=f"{process.name} to answer")

    def start_api(self, processes: int) -> tuple[Process, int]:
        port = free_port()
        process = self.start(
            f"api-x{processes}",
            [
                *(sys.executable, "-m", "service.cli", "serve"),
                *("--port", str(port), "--workers", str(processes)),
            ],
        )
        self._wait_http(process, port, processes)
        self._first_requests(port, processes)
        return process, port

    def _first_requests(self, port: int, processes: int) -> None:
        """A few submissions one at a time before any load, so the load figures leave out
        start-up costs (first connections, the site cache). An earlier API failed some of its
        first concurrent requests with 500 while building the rate limiter; no longer seen
        (200 concurrent submissions to a cold API, 2026-11-25: all 202)."""
        headers = {"Authorization": f"Bearer {self.site_key}"}
        for index in range(4 * processes):
            # A new connection each time, so each of uvicorn's processes likely gets one.
            httpx.post(
                f"http://127.0.0.1:{port}/v1/comments",
                headers=headers,
                json={"article_id": "startup", "author_name": "Ops", "body": f"Warm-up {index}."},
                timeout=30,
            )

    def start_bare(self, processes: int) -> tuple[Process, int]:
        """The bare endpoint with the options `moderation serve` gives uvicorn."""
        port = free_port()
        process = self.start(
            f"bare-x{processes}",
            [
                *(sys.executable, "-m", "uvicorn", "bench.bare_app:create_app", "--factory"),
                *("--host", "127.0.0.1", "--port", str(port), "--workers", str(processes)),
                *("--loop", "uvloop", "--http", "httptools", "--no-access-log"),
                *("--log-level", "info"),
            ],
        )
        self._wait_http(process, port, processes)
        return process, port

    def start_worker(self, index: int) -> Process:
        process = self.start(f"worker-{index}", [sys.executable, "-m", "service.cli", "worker"])

        def ready() -> bool:
            if not process.alive():
                raise RuntimeError(f"worker exited:\n{process.output()[-3000:]}")
            return " ready." in process.output()

        wait_until(ready, timeout=120, what="the worker")
        return process

    def start_beat(self) -> Process:
        process = self.start("beat", [sys.executable, "-m", "service.cli", "beat"])
        wait_until(
            lambda: "beat: Starting" in process.output() or not process.alive(),
            timeout=60,
            what="beat",
        )
        if not process.alive():
            raise RuntimeError(f"beat exited:\n{process.output()[-3000:]}")
        return process
