"""Heartbeats: each worker and beat process says every few seconds that it is alive, so that
`/readyz`, `moderation status` and the metrics can tell a stack that decides comments from one
whose worker has died (before, the trial's worker died and `/readyz` still said ok).

Where they are kept: in Redis when one is configured, in the store otherwise. A stack with
Redis (compose, production) may run many workers; a heartbeat every few seconds from each
would be a hot row rewritten in PostgreSQL, its WAL and its vacuum, beside the scoring rounds,
for a fact nobody needs to keep: in Redis it is one sorted set per role, old members dropped
by score, and a Redis restarted empty has every live process back within one interval. The
trial has no Redis; its store is the one place its processes share.
"""

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

import redis
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from service.config import get_settings
from service.db import get_engine, session_scope, utcnow
from service.tables import ProcessHeartbeat

log = logging.getLogger(__name__)

ROLES = ("worker", "beat")
# Members older than this are dropped from Redis and the table when a heartbeat is written.
FORGET_AFTER_SECONDS = 3600

_redis: redis.Redis | None = None


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _redis_client() -> redis.Redis | None:
    global _redis
    url = get_settings().redis_url
    if not url:
        return None
    if _redis is None:
        _redis = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    return _redis


def forget_client() -> None:
    """Settings changed (tests): the next call connects anew."""
    global _redis
    _redis = None


def _key(role: str) -> str:
    return f"moderation:heartbeats:{get_settings().scoring_queue}:{role}"


def record_heartbeat(*, role: str, name: str | None = None) -> None:
    name = name or process_name()
    client = _redis_client()
    if client is not None:
        now = time.time()
        pipe = client.pipeline(transaction=False)
        pipe.zadd(_key(role), {name: now})
        pipe.zremrangebyscore(_key(role), "-inf", now - FORGET_AFTER_SECONDS)
        pipe.execute()
        return
    now_dt = utcnow()
    dialect = get_engine().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(ProcessHeartbeat).values(role=role, name=name, seen_at=now_dt)
    statement = statement.on_conflict_do_update(
        index_elements=["role", "name"], set_={"seen_at": now_dt}
    )
    with session_scope() as session:
        session.execute(statement)
        session.execute(
            delete(ProcessHeartbeat).where(
                ProcessHeartbeat.seen_at < now_dt - timedelta(seconds=FORGET_AFTER_SECONDS)
            )
        )


def alive_count(*, role: str, within_seconds: float) -> int:
    """How many processes of this role wrote a heartbeat in the last `within_seconds`."""
    client = _redis_client()
    if client is not None:
        return int(client.zcount(_key(role), time.time() - within_seconds, "+inf"))
    since = utcnow() - timedelta(seconds=within_seconds)
    with session_scope() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(ProcessHeartbeat)
                .where(ProcessHeartbeat.role == role, ProcessHeartbeat.seen_at >= since)
            )
            or 0
        )


@dataclass
class Heartbeat:
    """A daemon thread that records a heartbeat now and then every `interval` seconds.

    It reports that the process is alive, not that it is taking work; a worker stuck inside
    a task still beats. The age of the oldest pending comment, reported beside it, is what
    shows a stack that is alive but not deciding."""

    role: str
    interval: float
    _stop: threading.Event | None = None

    def start(self) -> None:
        self._stop = threading.Event()
        threading.Thread(target=self._run, name=f"{self.role}-heartbeat", daemon=True).start()

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()

    def _run(self) -> None:
        assert self._stop is not None
        while True:
            try:
                record_heartbeat(role=self.role)
            except Exception:  # the store or Redis down: say so, try again next interval
                log.warning("could not record the %s heartbeat", self.role, exc_info=True)
            if self._stop.wait(self.interval):
                return
