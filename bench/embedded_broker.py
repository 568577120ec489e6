"""The trial's embedded broker against the folder broker it replaced: latency and throughput.

    .venv/bin/python -m bench.embedded_broker [--messages 2000] [--pings 200]

Both run through kombu as Celery uses them, in two processes (a producer, a consumer), with
the polling interval each is configured with in the trial (folder: 100 ms as it was; SQLite:
service.embedded_broker.POLLING_INTERVAL_SECONDS). Latency: one message at a time, sent at a
random moment, received by an idle consumer. Throughput: a backlog published first, then
drained. Figures only; nothing here is asserted.
"""

import argparse
import multiprocessing
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from kombu import Connection

QUEUE = "bench"


def _folder(root: Path) -> tuple[str, dict[str, Any]]:
    folder = root / "folder"
    for sub in ("queue", "processed"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return "filesystem://", {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "store_processed": False,
        "polling_interval": 0.1,
    }


def _sqlite(root: Path) -> tuple[str, dict[str, Any]]:
    from service.embedded_broker import broker_url

    root.mkdir(parents=True, exist_ok=True)
    return broker_url(str(root / "broker.sqlite")), {}


def _consume(url: str, options: dict[str, Any], count: int, out: Any) -> None:
    import service.embedded_broker  # noqa: F401  (registers the scheme in this process)

    latencies = []
    with Connection(url, transport_options=options) as connection:
        queue = connection.SimpleQueue(QUEUE)
        out.put("ready")
        first = None
        for _ in range(count):
            message = queue.get(block=True, timeout=60)
            now = time.time()
            first = first or now
            latencies.append(now - message.payload["sent"])
            message.ack()
        out.put((latencies, time.time() - first))
        queue.close()


def _run(
    url: str, options: dict[str, Any], count: int, *, paced: bool
) -> tuple[list[float], float]:
    import service.embedded_broker  # noqa: F401

    with Connection(url, transport_options=options) as connection:
        producer = connection.SimpleQueue(QUEUE)
        if not paced:  # a backlog first, then the consumer starts
            for _ in range(count):
                producer.put({"sent": time.time()})
        out: Any = multiprocessing.Queue()
        consumer = multiprocessing.Process(target=_consume, args=(url, options, count, out))
        consumer.start()
        assert out.get(timeout=60) == "ready"
        start = time.time()
        if paced:
            for _ in range(count):
                time.sleep(random.uniform(0.005, 0.03))
                producer.put({"sent": time.time()})
        latencies, drain_seconds = out.get(timeout=600)
        consumer.join()
        producer.close()
    return latencies, drain_seconds if not paced else time.time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--pings", type=int, default=200)
    args = parser.parse_args()
    print(f"{'broker':8} {'p50 ms':>8} {'p95 ms':>8} {'drain msg/s':>12}")
    for name, make in (("folder", _folder), ("sqlite", _sqlite)):
        with tempfile.TemporaryDirectory() as tmp:
            url, options = make(Path(tmp) / "ping")
            latencies, _ = _run(url, options, args.pings, paced=True)
            url, options = make(Path(tmp) / "drain")
            _, seconds = _run(url, options, args.messages, paced=False)
        quantiles = statistics.quantiles([lat * 1000 for lat in latencies], n=20)
        print(
            f"{name:8} {statistics.median(latencies) * 1000:8.1f} {quantiles[18]:8.1f} "
            f"{args.messages / seconds:12.0f}"
        )


if __name__ == "__main__":
    main()
