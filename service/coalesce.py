"""Coalescing: calls that arrive while one batch is being handled form the next batch.

The submission path uses it twice: the group commit of comments (service.ingest) and the
rate-limit counters in Redis (service.ratelimit). One batch is handled at a time per
instance; a call made while none is running starts one at once, so a call alone waits for no
one. Make one instance per event loop (its futures belong to that loop).
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# The handler returns one outcome per item, in order: a result, or the exception that item's
# caller gets. An exception raised by the handler goes to every caller in the batch.
Handler = Callable[[list[Item]], Awaitable[Sequence[Result | BaseException]]]


class Coalescer(Generic[Item, Result]):
    def __init__(self, handle: Handler[Item, Result], *, max_batch: int | None = None) -> None:
        self._handle = handle
        self._max_batch = max_batch
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Result] = loop.create_future()
        self._waiting.append((item, done))
        if self._runner is None:
            self._runner = loop.create_task(self._run())
        # Shielded: a caller that goes away must not cancel the batch other callers share.
        return await asyncio.shield(done)

    @property
    def running(self) -> asyncio.Task[None] | None:
        """The task handling batches now, if any."""
        return self._runner

    async def _run(self) -> None:
        try:
            while self._waiting:
                size = self._max_batch or len(self._waiting)
                batch, self._waiting = self._waiting[:size], self._waiting[size:]
                try:
                    outcomes: Sequence[Result | BaseException] = await self._handle(
                        [item for item, _ in batch]
                    )
                except Exception as exc:
                    outcomes = [exc] * len(batch)
                for (_, done), outcome in zip(batch, outcomes, strict=True):
                    if done.done():
                        continue
                    if isinstance(outcome, BaseException):
                        done.set_exception(outcome)
                    else:
                        done.set_result(outcome)
        finally:
            # Cleared in the same step as the last look at the queue. A done-callback would run
            # a step later, and a call made in between would find a runner, start none, and
            # wait for the next call (caught in review, with one ingest writer).
            self._runner = None
