"""Submission rate limits, counted in Redis so they hold across API replicas.

The limiter fails open: if Redis is unreachable the comment is still accepted (the store is
the record; losing a comment is worse than letting a burst through) and the failure is logged.
The async limiter serves the hot submission path in the event loop; the sync one serves
handlers that run in the threadpool. Both count in the same Redis keys.
"""

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from functools import cache

from limits import RateLimitItem, parse
from limits.aio.strategies import FixedWindowRateLimiter as AsyncFixedWindowRateLimiter
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

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
# The async client belongs to the event loop that made it; keep one per loop.
_async_limiter: tuple[asyncio.AbstractEventLoop, AsyncFixedWindowRateLimiter] | None = None


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


def _async_limiter_instance() -> AsyncFixedWindowRateLimiter:
    # Only ever called from the event loop's one thread, so no lock is needed.
    global _async_limiter
    loop = asyncio.get_running_loop()
    if _async_limiter is None or _async_limiter[0] is not loop:
        url = get_settings().redis_url
        storage = (
            storage_from_string(
                "async+" + url,
                implementation="redispy",
                socket_connect_timeout=1,
                socket_timeout=1,
            )
            if url
            else storage_from_string("async+memory://")
        )
        _async_limiter = (loop, AsyncFixedWindowRateLimiter(storage))
    return _async_limiter[1]


def reset_limits_cache() -> None:
    global _sync_limiter, _async_limiter
    _items.cache_clear()
    with _sync_lock:
        _sync_limiter = None
    _async_limiter = None


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
    limiter = _async_limiter_instance()
    try:
        if await limiter.hit(item, "submit", kind, key):
            return
        reset_at = (await limiter.get_window_stats(item, "submit", kind, key)).reset_time
    except Exception:  # as above: fail open
        log.warning("rate limit storage unreachable; letting the request through", exc_info=True)
        return
    raise _refuse(kind, reset_at)


def check_client(client_ip: str) -> None:
    _check(_items().per_client, "client", client_ip)


def check_site(site_id: str) -> None:
    _check(_items().per_site, "site", site_id)


async def acheck_client(client_ip: str) -> None:
    await _acheck(_items().per_client, "client", client_ip)


async def acheck_site(site_id: str) -> None:
    await _acheck(_items().per_site, "site", site_id)
