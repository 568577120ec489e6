"""What the benchmark reads from, and writes straight into, the run's PostgreSQL database."""

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg


def _dsn(database_url: str) -> str:
    return database_url.replace("postgresql+psycopg://", "postgresql://", 1)


def connect(database_url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(_dsn(database_url), autocommit=True)


def insert_backlog(
    *,
    database_url: str,
    site_id: str,
    article_id: str,
    bodies: list[str],
    count: int,
    analyze: bool = True,
) -> float:
    """COPY `count` pending comments in one transaction (visible all at once); return seconds."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    with psycopg.connect(_dsn(database_url)) as connection:
        with (
            connection.cursor() as cursor,
            cursor.copy(
                "COPY comments (id, site_id, article_id, author_name, body, status, created_at,"
                " attempts) FROM STDIN"
            ) as copy,
        ):
            for index in range(count):
                copy.write_row(
                    (
                        str(uuid.uuid4()),
                        site_id,
                        article_id,
                        f"Reader {index % 997}",
                        bodies[index % len(bodies)],
                        "pending",
                        now,
                        0,
                    )
                )
        connection.commit()
        # A real backlog builds up over minutes, during which autoanalyze runs; COPY makes it
        # appear in a second. Without fresh statistics the claim's plan sorts the whole backlog
        # (docs/performance.md), so give the planner what autoanalyze would have.
        if analyze:
            connection.execute("ANALYZE comments")
            connection.commit()
    return time.perf_counter() - started


def pending_count(connection: psycopg.Connection[Any], article_id: str) -> int:
    row = connection.execute(
        "SELECT count(*) FROM comments WHERE status = 'pending' AND article_id = %s",
        (article_id,),
    ).fetchone()
    return int(row[0]) if row else 0


def wait_decided(
    connection: psycopg.Connection[Any], article_id: str, *, timeout: float, poll: float = 0.05
) -> tuple[bool, float]:
    """Poll until no comment of `article_id` is pending; return (all decided, seconds waited)."""
    started = time.perf_counter()
    while True:
        if pending_count(connection, article_id) == 0:
            return True, time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            return False, time.perf_counter() - started
        time.sleep(poll)


def last_decided_at(connection: psycopg.Connection[Any], article_id: str) -> float | None:
    """When the last comment of `article_id` was decided, as a Unix time."""
    row = connection.execute(
        "SELECT extract(epoch FROM max(decided_at)) FROM comments WHERE article_id = %s",
        (article_id,),
    ).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def decision_latency(connection: psycopg.Connection[Any], article_id: str) -> dict[str, Any]:
    """From the insert the 202 answered for (`created_at`) to the decision (`decided_at`)."""
    row = connection.execute(
        """
        SELECT count(*),
               count(decided_at),
               percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (
                   ORDER BY extract(epoch FROM decided_at - created_at)),
               max(extract(epoch FROM decided_at - created_at)),
               count(DISTINCT decided_at)
        FROM comments WHERE article_id = %s
        """,
        (article_id,),
    ).fetchone()
    assert row is not None
    total, decided, quantiles, worst, rounds = row
    quantiles = quantiles or [None, None, None]
    as_ms = [None if q is None else float(q) * 1000 for q in quantiles]
    return {
        "comments": int(total),
        "decided": int(decided),
        "latency_ms": {
            "p50": as_ms[0],
            "p95": as_ms[1],
            "p99": as_ms[2],
            "max": None if worst is None else float(worst) * 1000,
        },
        # One record_decisions call stamps its whole batch with one decided_at.
        "scoring_rounds": int(rounds),
    }


def status_counts(connection: psycopg.Connection[Any], article_id: str) -> dict[str, int]:
    rows = connection.execute(
        "SELECT status, count(*) FROM comments WHERE article_id = %s GROUP BY status",
        (article_id,),
    ).fetchall()
    return {str(status): int(count) for status, count in rows}
