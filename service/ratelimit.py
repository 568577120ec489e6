"""Submission rate limits, counted in Redis so they hold across API replicas.

The limiter fails open: if Redis is unreachable the comment is still accepted (the store is
the record; losing a comment is worse than letting a burst through) and the failure is logged.
"""

import logging
import time
from dataclasses import dataclass
from functools import cache

from limits import RateLimitItem, parse
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
    limiter: FixedWindowRateLimiter
    per_site: RateLimitItem
    per_client: RateLimitItem


@cache
def _limits() -> Limits:
    settings = get_settings()
    # Without Redis (the one-command trial) the counters live in this process only.
    storage = (
        storage_from_string(settings.redis_url, socket_connect_timeout=1, socket_timeout=1)
        if settings.redis_url
        else storage_from_string("memory://")
    )
    return Limits(
        limiter=FixedWindowRateLimiter(storage),
        per_site=parse(settings.rate_limit_per_site),
        per_client=parse(settings.rate_limit_per_client),
    )


def reset_limits_cache() -> None:
    _limits.cache_clear()


def _check(item: RateLimitItem, kind: str, key: str) -> None:
    limits = _limits()
    try:
        allowed = limits.limiter.hit(item, "submit", kind, key)
        if allowed:
            return
        reset_at = limits.limiter.get_window_stats(item, "submit", kind, key).reset_time
    except Exception:  # the storage's errors vary by backend; none may refuse a comment
        log.warning("rate limit storage unreachable; letting the request through", exc_info=True)
        return
    RATE_LIMITED.labels(limit=kind).inc()
    retry_after = max(1, int(reset_at - time.time() + 0.999))
    raise RateLimited(f"too many comments from this {kind}; retry later", retry_after=retry_after)


def check_client(client_ip: str) -> None:
    _check(_limits().per_client, "client", client_ip)


def check_site(site_id: str) -> None:
    _check(_limits().per_site, "site", site_id)
