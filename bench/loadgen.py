"""HTTP load generator, run in its own process: ``python -m bench.loadgen < spec.json``.

Two modes:

- ``open``: requests are sent on a fixed schedule (``rate`` per second) whatever the server
  does, and each latency is measured from the request's *scheduled* send time, so a server
  that stalls is charged for every request it made wait (no coordinated omission).
- ``closed``: ``connections`` clients each send the next request as soon as the last one is
  answered; the throughput is the server's saturation rate.

A minimal HTTP/1.1 client on asyncio streams (uvloop) keeps the generator's own cost per
request to a few tens of microseconds, so on a 2-core machine it takes little from the server.
Only 127.0.0.1 is allowed; every run is bounded by ``max_requests`` and ``deadline_seconds``.
"""

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from time import perf_counter as clock
from typing import Any

import orjson

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is a dependency of the service on Linux
    uvloop = None  # type: ignore[assignment]


@dataclass
class Spec:
    port: int
    path: str
    headers: dict[str, str]
    mode: str  # "open" | "closed"
    duration_seconds: float
    bodies: list[str]
    label: str
    rate: float = 0.0
    connections: int = 64
    max_requests: int = 100_000
    deadline_seconds: float = 30.0
    host: str = "127.0.0.1"
    # Whole requests prepared by the caller (head and body, UTF-8), sent in turn instead of
    # submissions built from `bodies` (the Perspective and Coral benchmarks).
    requests: list[str] | None = None


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    first_send: float = 0.0
    last_done: float = 0.0


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> int:
        reused = self.writer is not None
        try:
            return await self._request(raw)
        except asyncio.IncompleteReadError as exc:
            # The server closed a kept-alive connection before answering (as uvicorn does
            # after a 500): what any HTTP client does, resend once on a fresh connection.
            if not reused or exc.partial:
                raise
            return await self._request(raw)

    async def _request(self, raw: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        try:
            self.writer.write(raw)
            head = await self.reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            close = False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            if length:
                await self.reader.readexactly(length)
            if close:
                self.close()
            return status
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _request_bytes(spec: Spec, index: int) -> bytes:
    if spec.requests:
        return spec.requests[index % len(spec.requests)].encode("utf-8")
    payload = orjson.dumps(
        {
            "article_id": spec.label,
            "author_name": f"Reader {index % 997}",
            "body": spec.bodies[index % len(spec.bodies)],
            "idempotency_key": f"{spec.label}-{index}",
        }
    )
    head = [f"POST {spec.path} HTTP/1.1", f"Host: {spec.host}:{spec.port}"]
    head += [f"{name}: {value}" for name, value in spec.headers.items()]
    head += ["Content-Type: application/json", f"Content-Length: {len(payload)}", "", ""]
    return "\r\n".join(head).encode("latin-1") + payload


async def _open_loop(spec: Spec, tally: Tally) -> None:
    # perf_counter, not loop.time(): uvloop's clock ticks in whole milliseconds.
    loop = asyncio.get_running_loop()
    idle: list[Connection] = [Connection(spec.host, spec.port) for _ in range(spec.connections)]
    available = asyncio.Condition()
    total = min(spec.max_requests, int(spec.rate * spec.duration_seconds))
    start = clock() + 0.05
    hard_stop = start + spec.deadline_seconds
    tally.first_send = start
    pending: set[asyncio.Task[None]] = set()

    async def one(index: int, scheduled: float) -> None:
        async with available:
            await available.wait_for(lambda: bool(idle))
            connection = idle.pop()
        try:
            status = await connection.request(_request_bytes(spec, index))
            tally.statuses[status] = tally.statuses.get(status, 0) + 1
            now = clock()
            tally.latencies.append(now - scheduled)
            tally.last_done = max(tally.last_done, now)
        except Exception:
            tally.errors += 1
        finally:
            async with available:
                idle.append(connection)
                available.notify()

    index = 0
    while index < total:
        now = clock()
        due = min(total, int((now - start) * spec.rate) + 1) if now >= start else 0
        while index < due:
            task = loop.create_task(one(index, start + index / spec.rate))
            pending.add(task)
            task.add_done_callback(pending.discard)
            index += 1
        if index < total:
            await asyncio.sleep(max(0.0, start + index / spec.rate - clock()))
    if pending:
        _, not_done = await asyncio.wait(pending, timeout=max(0.0, hard_stop - clock()))
        for task in not_done:
            task.cancel()
        tally.errors += len(not_done)


async def _closed_loop(spec: Spec, tally: Tally) -> None:
    loop = asyncio.get_running_loop()
    start = clock()
    stop = start + spec.duration_seconds
    tally.first_send = start
    counter = iter(range(spec.max_requests))

    async def client() -> None:
        connection = Connection(spec.host, spec.port)
        for index in counter:
            if clock() >= stop:
                break
            sent = clock()
            try:
                status = await connection.request(_request_bytes(spec, index))
            except Exception:
                tally.errors += 1
                continue
            now = clock()
            tally.statuses[status] = tally.statuses.get(status, 0) + 1
            tally.latencies.append(now - sent)
            tally.last_done = max(tally.last_done, now)
        connection.close()

    clients = [loop.create_task(client()) for _ in range(spec.connections)]
    _, not_done = await asyncio.wait(clients, timeout=spec.deadline_seconds)
    for task in not_done:
        task.cancel()


def percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    rank = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[rank]


def run(spec: Spec) -> dict[str, Any]:
    if spec.host != "127.0.0.1":
        raise ValueError("the load generator only talks to 127.0.0.1")
    tally = Tally()
    runner = _open_loop if spec.mode == "open" else _closed_loop
    cpu_start = time.process_time()
    if uvloop is not None:
        uvloop.run(runner(spec, tally))
    else:  # pragma: no cover
        asyncio.run(runner(spec, tally))
    latencies = sorted(tally.latencies)
    ok = sum(count for status, count in tally.statuses.items() if 200 <= status < 300)
    elapsed = max(tally.last_done - tally.first_send, 1e-9)
    return {
        "mode": spec.mode,
        "offered_rate": spec.rate if spec.mode == "open" else None,
        "connections": spec.connections,
        "sent": len(latencies) + tally.errors,
        "ok": ok,
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "errors": tally.errors,
        "elapsed_seconds": elapsed,
        "throughput": ok / elapsed,
        "latency_ms": {
            name: (value * 1000 if value is not None else None)
            for name, value in (
                ("p50", percentile(latencies, 0.50)),
                ("p95", percentile(latencies, 0.95)),
                ("p99", percentile(latencies, 0.99)),
                ("max", latencies[-1] if latencies else None),
            )
        },
        "loadgen_cpu_seconds": time.process_time() - cpu_start,
    }


def main() -> None:
    spec = Spec(**json.loads(sys.stdin.read()))
    sys.stdout.write(json.dumps(run(spec)) + "\n")


if __name__ == "__main__":
    main()
