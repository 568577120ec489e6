"""Submission rate limits, counted in Redis so they hold across API replicas.

The limiter fails open: if Redis is unreachable the comment is still accepted (the store is
the record; losing a comment is worse than letting a burst through) and the failure is logged.

The `limits` library parses the limits, names the Redis keys and counts for the handlers that
run in the threadpool (and in memory when there is no Redis). The hot submission path counts
in the same keys, with the same fixed-window rule (INCRBY, the first hit sets the expiry),
but batched: every check that arrives while a Redis call is in flight goes into the next call,
one script for all of them. A Redis command costs this process ~0.2 ms of CPU (redis-py's
asyncio client), as much as the rest of the request's own work, so under load one call per
batch instead of two per request matters; alone, a request waits for no one.
"""

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from functools import cache

import redis.asyncio as aioredis
from limits import RateLimitItem, parse
from limits.aio.strategies import FixedWindowRateLimiter as AsyncFixedWindowRateLimiter
from limits.storage import RedisStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from redis.exceptions import NoScriptError

from service.coalesce import Coalescer
from service.config import get_settings
from service.errors import ModerationError
from service.metrics import RATE_LIMITED

log = logging.getLogger(__name__)


class RateLimited(ModerationError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Limits:
    per_site: RateLimitItem
    per_client: RateLimitItem


@cache
def _items() -> Limits:
    settings = get_settings()
    return Limits(
        per_site=parse(settings.rate_limit_per_site),
        per_client=parse(settings.rate_limit_per_client),
    )


_sync_lock = threading.Lock()
_sync_limiter: FixedWindowRateLimiter | None = None


def _limiter() -> FixedWindowRateLimiter:
    # Built under a lock: the library checks its dependencies on first use, and several
    # threadpool threads doing that at once made it report redis-py missing.
    global _sync_limiter
    with _sync_lock:
        if _sync_limiter is None:
            url = get_settings().redis_url
            storage = (
                storage_from_string(url, socket_connect_timeout=1, socket_timeout=1)
                if url
                else storage_from_string("memory://")
            )
            _sync_limiter = FixedWindowRateLimiter(storage)
        return _sync_limiter


# Each key: INCRBY by the number of checks batched for it; the hit that creates the key sets
# its expiry (the fixed window's length). Returns (count, seconds left) per key.
_COUNT_SCRIPT = """
local result = {}
for i, key in ipairs(KEYS) do
  local amount = tonumber(ARGV[2 * i - 1])
  local count = redis.call('INCRBY', key, amount)
  if count == amount then
    redis.call('EXPIRE', key, ARGV[2 * i])
  end
  result[2 * i - 1] = count
  result[2 * i] = redis.call('TTL', key)
end
return result
"""


class BatchedWindowCounter:
    """Fixed-window counters in Redis, many checks per round trip (one per event loop)."""

    def __init__(self, client: "aioredis.Redis") -> None:
        self._client = client
        self._sha: str | None = None
        self._batches: Coalescer[tuple[str, int], tuple[int, int]] = Coalescer(self._count)

    async def hit(self, key: str, window_seconds: int) -> tuple[int, int]:
        """This hit's place in its window (1 = first) and the seconds until the window ends."""
        return await self._batches.submit((key, window_seconds))

    async def _count(self, hits: list[tuple[str, int]]) -> list[tuple[int, int]]:
        per_key: dict[str, list[int]] = {}  # key -> positions of its hits in this batch
        for position, (key, _) in enumerate(hits):
            per_key.setdefault(key, []).append(position)
        keys = list(per_key)
        args: list[int] = []
        for key in keys:
            positions = per_key[key]
            args += [len(positions), hits[positions[0]][1]]
        counts = await self._run(keys, args)
        places: list[tuple[int, int]] = [(0, 0)] * len(hits)
        for n, key in enumerate(keys):
            total, ttl = int(counts[2 * n]), int(counts[2 * n + 1])
            positions = per_key[key]
            # The batch's hits on a key took the last len(positions) places, in arrival order.
            for place, position in enumerate(positions, start=total - len(positions) + 1):
                places[position] = (place, ttl)
        return places

    async def _run(self, keys: list[str], args: list[int]) -> list[int]:
        # evalsha on the client itself: redis-py's Script wrapper does a costly isinstance
        # check against a runtime Protocol on every call (7 % of the API's CPU, profiled).
        if self._sha is None:
            self._sha = await self._client.script_load(_COUNT_SCRIPT)
        try:
            return await self._client.evalsha(self._sha, len(keys), *keys, *args)
        except NoScriptError:  # Redis restarted and forgot the script
            self._sha = await self._client.script_load(_COUNT_SCRIPT)
            return await self._client.evalsha(self._sha, len(keys), *keys, *args)


# Per event loop (an asyncio Redis client belongs to the loop that made it); None = no Redis.
_async_counter: tuple[asyncio.AbstractEventLoop, BatchedWindowCounter | None] | None = None
_memory_limiter: AsyncFixedWindowRateLimiter | None = None


def _batched_counter() -> BatchedWindowCounter | None:
    # Only ever called from the event loop's one thread, so no lock is needed.
    global _async_counter
    loop = asyncio.get_running_loop()
    if _async_counter is None or _async_counter[0] is not loop:
        url = get_settings().redis_url
        client = aioredis.from_url(url, socket_connect_timeout=1, socket_timeout=1) if url else None
        _async_counter = (loop, None if client is None else BatchedWindowCounter(client))
    return _async_counter[1]


def redis_key(item: RateLimitItem, kind: str, key: str) -> str:
    """The Redis key the `limits` library counts this limit in (both paths share it)."""
    return f"{RedisStorage.PREFIX}:{item.key_for('submit', kind, key)}"


def reset_limits_cache() -> None:
    global _sync_limiter, _async_counter, _memory_limiter
    _items.cache_clear()
    with _sync_lock:
        _sync_limiter = None
    _async_counter = None
    _memory_limiter = None


def _refuse(kind: str, reset_at: float) -> RateLimited:
    RATE_LIMITED.labels(limit=kind).inc()
    retry_after = max(1, int(reset_at - time.time() + 0.999))
    return RateLimited(f"too many comments from this {kind}; retry later", retry_after=retry_after)


def _check(item: RateLimitItem, kind: str, key: str) -> None:
    limiter = _limiter()
    try:
        if limiter.hit(item, "submit", kind, key):
            return
        reset_at = limiter.get_window_stats(item, "submit", kind, key).reset_time
    except Exception:  # the storage's errors vary by backend; none may refuse a comment
        log.warning("rate limit storage unreachable; letting the request through", exc_info=True)
        return
    raise _refuse(kind, reset_at)


async def _acheck(item: RateLimitItem, kind: str, key: str) -> None:
    counter = _batched_counter()
    try:
        if counter is None:
            await _acheck_in_memory(item, kind, key)
            return
        place, ttl = await counter.hit(redis_key(item, kind, key), item.get_expiry())
    except RateLimited:
        raise
    except Exception:  # as above: fail open
        log.warning("rate limit storage unreachable; letting the request through", exc_info=True)
        return
    if place > item.amount:
        raise _refuse(kind, time.time() + max(ttl, 1))


async def _acheck_in_memory(item: RateLimitItem, kind: str, key: str) -> None:
    # No Redis (the embedded trial): one process, so the library's memory storage is enough.
    global _memory_limiter
    if _memory_limiter is None:
        _memory_limiter = AsyncFixedWindowRateLimiter(storage_from_string("async+memory://"))
    if await _memory_limiter.hit(item, "submit", kind, key):
        return
    reset_at = (await _memory_limiter.get_window_stats(item, "submit", kind, key)).reset_time
    raise _refuse(kind, reset_at)


def check_client(client_ip: str) -> None:
    _check(_items().per_client, "client", client_ip)


def check_site(site_id: str) -> None:
    _check(_items().per_site, "site", site_id)


async def acheck_client(client_ip: str) -> None:
    await _acheck(_items().per_client, "client", client_ip)


async def acheck_site(site_id: str) -> None:
    await _acheck(_items().per_site, "site", site_id)
