"""The trial's embedded broker (kombu's SQLAlchemy transport on SQLite, service.embedded_broker)
hands each message out whole and once, across processes, and keeps no taken messages."""

import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

from kombu import Connection

from service.embedded_broker import broker_url

COUNT = 400


def _produce(url: str, start: int) -> None:
    import service.embedded_broker  # noqa: F401

    with Connection(url) as connection:
        queue = connection.SimpleQueue("q")
        for n in range(start, start + COUNT):
            # Large enough that a reader of a half-written file would see a partial one.
            queue.put({"n": n, "padding": "x" * 20_000})
        queue.close()


def _consume(url: str, out: Any) -> None:
    import service.embedded_broker  # noqa: F401

    seen = []
    with Connection(url) as connection:
        queue = connection.SimpleQueue("q")
        while True:
            try:
                message = queue.get(block=True, timeout=5)
            except Exception:  # queue.Empty once the producers are done
                break
            assert len(message.payload["padding"]) == 20_000
            seen.append(message.payload["n"])
            message.ack()
        queue.close()
    out.put(seen)


def test_two_producers_and_two_consumers_share_every_message_once(tmp_path: Path) -> None:
    url = broker_url(str(tmp_path / "broker.sqlite"))
    out: Any = multiprocessing.Queue()
    processes = [
        multiprocessing.Process(target=_produce, args=(url, 0)),
        multiprocessing.Process(target=_produce, args=(url, COUNT)),
        multiprocessing.Process(target=_consume, args=(url, out)),
        multiprocessing.Process(target=_consume, args=(url, out)),
    ]
    for process in processes:
        process.start()
    seen = out.get(timeout=120) + out.get(timeout=120)
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    assert sorted(seen) == list(range(2 * COUNT))
    with sqlite3.connect(tmp_path / "broker.sqlite") as db:
        assert db.execute("SELECT count(*) FROM kombu_message").fetchone() == (0,)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
