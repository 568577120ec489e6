"""Submission rate limits, counted in Redis so they hold across API replicas.

The limiter fails open: if Redis is unreachable the comment is still accepted (the store is
the record; losing a comment is worse than letting a burst through) and the failure is logged.

The `limits` library parses the limits, names the Redis keys and counts for the handlers that
run in the threadpool (and in memory when there is no Redis). The hot submission path counts
in the same keys, with the same fixed-window rule (INCR, the first hit sets the expiry),
but batched: a submission's two checks (client, then site) go together, and every check that
arrives while a Redis call is in flight goes into the next call, one script for all of them.
A Redis command costs this process ~0.2 ms of CPU (redis-py's asyncio client), as much as the
rest of the request's own work, so one call per batch instead of two per request matters;
alone, a request waits for no one.
"""

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from functools import cache
from ipaddress import IPv6Address, ip_address, ip_network

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
    form_per_site: RateLimitItem
    form_per_client: RateLimitItem


@dataclass(frozen=True)
class LoginLimits:
    failures_per_username: RateLimitItem
    attempts_per_client: RateLimitItem


@cache
def _login_items() -> LoginLimits:
    settings = get_settings()
    return LoginLimits(
        failures_per_username=parse(settings.login_failures_per_username),
        attempts_per_client=parse(settings.login_attempts_per_client),
    )


@cache
def _items() -> Limits:
    settings = get_settings()
    return Limits(
        per_site=parse(settings.rate_limit_per_site),
        per_client=parse(settings.rate_limit_per_client),
        form_per_site=parse(settings.form_rate_limit_per_site),
        form_per_client=parse(settings.form_rate_limit_per_client),
    )


def client_bucket(client_ip: str) -> str:
    """What a client address is counted as: an IPv4 address as it is, an IPv6 one by its /64
    (one subscriber's whole allocation: counting each of its 2^64 addresses on its own would
    let one reader rotate through fresh ones)."""
    try:
        address = ip_address(client_ip)
    except ValueError:
        return client_ip
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ip_network(f"{address}/64", strict=False))
    return str(address)


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


# One hit per (key index, window seconds, limit, request) quadruple in ARGV, in arrival order.
# A hit counts with INCR; the hit that creates a key sets its expiry (the fixed window's
# length). Once one of a request's hits is over its limit, that request's later hits are not
# counted (place 0): a reader refused by the per-client limit does not use up the site's
# quota, as with the checks made one after the other. Returns (place, seconds left) per hit.
_COUNT_SCRIPT = """
local result = {}
local refused = {}
local n = 0
for i = 1, #ARGV, 4 do
  n = n + 1
  local request = ARGV[i + 3]
  if refused[request] then
    result[2 * n - 1] = 0
    result[2 * n] = 0
  else
    local key = KEYS[tonumber(ARGV[i])]
    local count = redis.call('INCR', key)
    if count == 1 then
      redis.call('EXPIRE', key, ARGV[i + 1])
    end
    if count > tonumber(ARGV[i + 2]) then
      refused[request] = true
    end
    result[2 * n - 1] = count
    result[2 * n] = redis.call('TTL', key)
  end
end
return result
"""


@dataclass(frozen=True)
class Hit:
    key: str
    window_seconds: int
    limit: int


class BatchedWindowCounter:
    """Fixed-window counters in Redis, many checks per round trip (one per event loop)."""

    def __init__(self, client: "aioredis.Redis") -> None:
        self._client = client
        self._sha: str | None = None
        self._batches: Coalescer[tuple[Hit, ...], list[tuple[int, int]]] = Coalescer(self._count)

    async def hit(self, *hits: Hit) -> list[tuple[int, int]]:
        """Per hit, its place in its window (1 = first; 0 = not counted, an earlier hit of
        these was over its limit) and the seconds until the window ends."""
        return await self._batches.submit(hits)

    async def _count(self, requests: list[tuple[Hit, ...]]) -> list[list[tuple[int, int]]]:
        keys: dict[str, int] = {}  # key -> its 1-based index in KEYS
        args: list[int] = []
        for number, hits in enumerate(requests):
            for hit in hits:
                index = keys.setdefault(hit.key, len(keys) + 1)
                args += [index, hit.window_seconds, hit.limit, number]
        counts = iter(await self._run(list(keys), args))
        return [[(int(next(counts)), int(next(counts))) for _ in hits] for hits in requests]

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
    _login_items.cache_clear()
    with _sync_lock:
        _sync_limiter = None
    _async_counter = None
    _memory_limiter = None


_REFUSED_WHO = {"form-client": "address", "form-site": "site's readers"}


def _refuse(kind: str, reset_at: float) -> RateLimited:
    RATE_LIMITED.labels(limit=kind).inc()
    retry_after = max(1, int(reset_at - time.time() + 0.999))
    who = _REFUSED_WHO.get(kind, kind)
    return RateLimited(f"too many comments from this {who}; retry later", retry_after=retry_after)


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


Check = tuple[RateLimitItem, str, str]  # (limit, kind, key)


async def _acheck(*checks: Check) -> None:
    """The checks in order, all in one Redis round trip; the first one over its limit refuses."""
    counter = _batched_counter()
    try:
        if counter is None:
            for item, kind, key in checks:
                await _acheck_in_memory(item, kind, key)
            return
        places = await counter.hit(
            *(
                Hit(redis_key(item, kind, key), item.get_expiry(), item.amount)
                for item, kind, key in checks
            )
        )
    except RateLimited:
        raise
    except Exception:  # as above: fail open
        log.warning("rate limit storage unreachable; letting the request through", exc_info=True)
        return
    for (item, kind, _), (place, ttl) in zip(checks, places, strict=True):
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


@cache
def _parsed(limit: str) -> RateLimitItem:
    return parse(limit)


async def acheck_limit(limit: str, kind: str, key: str) -> None:
    """One more call of `kind` by `key` under `limit` ("N/second|minute|hour"), counted like
    the submission limits (same storage, fails open); RateLimited when over it."""
    await _acheck((_parsed(limit), kind, key))


def check_client(client_ip: str) -> None:
    _check(_items().per_client, "client", client_bucket(client_ip))


def check_site(site_id: str) -> None:
    _check(_items().per_site, "site", site_id)


def check_form(client_ip: str, site_id: str) -> None:
    """A reader form submission: the form's own per-client and per-site buckets, never the
    keyed API's, so readers cannot lock the site's own server out."""
    items = _items()
    _check(items.form_per_client, "form-client", client_bucket(client_ip))
    _check(items.form_per_site, "form-site", site_id)


async def acheck_client(client_ip: str) -> None:
    await _acheck((_items().per_client, "client", client_bucket(client_ip)))


async def acheck_site(site_id: str) -> None:
    await _acheck((_items().per_site, "site", site_id))


async def acheck_submission(client_ip: str, site_id: str) -> None:
    """Both limits of a submission, the client's first, in one round trip."""
    items = _items()
    await _acheck(
        (items.per_client, "client", client_bucket(client_ip)), (items.per_site, "site", site_id)
    )


# --- moderator sign-in ------------------------------------------------------------------------
# Counted like submissions (Redis when configured, so every API replica sees the same counts;
# in memory for the trial), but never waved through: if Redis is unreachable the counts fall
# back to this process's memory, which still bounds a guesser per replica.
_login_fallback = FixedWindowRateLimiter(storage_from_string("memory://"))


def _login_limiter_call(method: str, *args: object) -> bool:
    try:
        return bool(getattr(_limiter(), method)(*args))
    except Exception:
        log.warning("rate limit storage unreachable; counting sign-ins in memory", exc_info=True)
        return bool(getattr(_login_fallback, method)(*args))


def _login_refused(item: RateLimitItem, *identifiers: str) -> RateLimited:
    try:
        reset_at = _limiter().get_window_stats(item, *identifiers).reset_time
    except Exception:
        reset_at = _login_fallback.get_window_stats(item, *identifiers).reset_time
    RATE_LIMITED.labels(limit=identifiers[1]).inc()
    retry_after = max(1, int(reset_at - time.time() + 0.999))
    minutes = -(-retry_after // 60)
    return RateLimited(
        f"too many sign-in attempts; try again in {minutes} minute{'s' if minutes > 1 else ''}",
        retry_after=retry_after,
    )


def _login_name(username: str) -> str:
    return " ".join(username.split()).casefold()


def check_login(*, username: str, client_ip: str) -> None:
    """Before a password is checked: refuse (RateLimited) a username with too many recent
    failures, or a client address with too many recent tries (this try counts)."""
    items = _login_items()
    name = ("login", "username", _login_name(username))
    if not _login_limiter_call("test", items.failures_per_username, *name):
        raise _login_refused(items.failures_per_username, *name)
    client = ("login", "client", client_bucket(client_ip))
    if not _login_limiter_call("hit", items.attempts_per_client, *client):
        raise _login_refused(items.attempts_per_client, *client)


def record_login_failure(*, username: str) -> None:
    _login_limiter_call(
        "hit", _login_items().failures_per_username, "login", "username", _login_name(username)
    )


def record_login_success(*, username: str) -> None:
    _login_limiter_call(
        "clear", _login_items().failures_per_username, "login", "username", _login_name(username)
    )
