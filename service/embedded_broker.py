"""The trial's embedded broker: kombu's SQLAlchemy transport on a SQLite file of its own.

kombu's filesystem transport writes a message file in place, and a worker polling the folder
can read it half-written (`JSONDecodeError`, an open upstream bug): the worker then died
and the trial never decided another comment. A SQLite row is written in one transaction, so a
reader sees a whole message or none. Celery drives this transport exactly as it drives Redis
(same app, same tasks, same acks); only the transport differs.

Changes to kombu's SQLAlchemy channel, all for several processes on one file:
- the connections use WAL and a busy timeout, as the store does (service/db.py), so the API,
  the worker and beat wait for each other instead of failing with "database is locked";
- a message is deleted when taken instead of kept with `visible = false` forever, so the file
  does not grow with every nudge of a long trial;
- processes that create the tables or a queue's row at the same moment do not fail on each
  other (tests/service/test_embedded_broker.py met both races).
"""

import sqlite3
from json import loads
from queue import Empty
from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import sqlalchemy as kombu_sqlalchemy
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import IntegrityError, OperationalError

SCHEME = "sqlite-broker"
# kombu's own transports register by alias; the URL's scheme names ours
# (`sqlite-broker+sqlite:///<data dir>/broker.sqlite`).
TRANSPORT_ALIASES.setdefault(SCHEME, f"{__name__}:Transport")

# How often an idle worker looks for a message. A nudge is a few hundred bytes in one row,
# so a poll is a single indexed SELECT; 50 ms keeps the trial's decision latency low.
POLLING_INTERVAL_SECONDS = 0.05


def broker_url(path: str) -> str:
    return f"{SCHEME}+sqlite:///{path}"


def create_broker_tables(url: str) -> None:
    """Create the transport's tables once, before the trial's processes start: each would
    otherwise create them on its first connection, and two doing it at once can collide."""
    from kombu import Connection

    with Connection(url) as connection:
        connection.default_channel._open()  # what creates the tables (kombu's create_all)


class Channel(kombu_sqlalchemy.Channel):
    def _open(self) -> Any:
        # kombu creates its tables on a process's first connection (create_all: look, then
        # CREATE): two processes starting together can both look, and the second CREATE fails.
        # The tables are there by then, so the second look finds them.
        for attempt in range(3):
            try:
                return super()._open()
            except OperationalError as exc:
                if "already exists" not in str(exc) or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _engine_from_config(self) -> Engine:
        engine = create_engine(
            self.connection.client.hostname,
            connect_args={"timeout": 30, "check_same_thread": False},
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine

    def _get_or_create(self, queue: str) -> Any:
        # Likewise for a queue's row: two processes declaring the same queue at once both
        # insert it, and the second insert breaks the unique name (kombu retries only on
        # OperationalError). The row is there by then.
        try:
            return super()._get_or_create(queue)
        except IntegrityError:
            self.session.rollback()
            return super()._get_or_create(queue)

    def _get(self, queue: str, timeout: Any = None) -> Any:
        queue_row = self._get_or_create(queue)
        session = self.session
        # Take the write lock first, so two workers never take the same message.
        session.execute(text("BEGIN IMMEDIATE TRANSACTION"))
        try:
            table = self.message_cls.__tablename__
            row = session.execute(
                text(
                    f"SELECT id, payload FROM {table} WHERE queue_id = :queue AND visible = 1 "
                    "ORDER BY id LIMIT 1"
                ),
                {"queue": queue_row.id},
            ).first()
            if row is None:
                raise Empty()
            session.execute(text(f"DELETE FROM {table} WHERE id = :id"), {"id": row.id})
            return loads(row.payload)
        finally:
            session.commit()


class Transport(kombu_sqlalchemy.Transport):
    Channel = Channel
    polling_interval = POLLING_INTERVAL_SECONDS
