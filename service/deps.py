"""Dependencies named as types, so a route's signature reads like a sentence."""

import asyncio
from collections.abc import Iterator
from ipaddress import ip_address
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from service.config import Settings, get_settings
from service.db import get_session_factory
from service.errors import InvalidCredentials, MissingCredentials, ModerationError
from service.ratelimit import acheck_client, acheck_site, acheck_submission
from service.sites import cached_site_by_key, load_site_for_cache
from service.tables import Site


def _session() -> Iterator[Session]:
    session = get_session_factory()()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(_session)]


# Async on purpose, here and below: a sync dependency costs a threadpool hop per request.
async def _settings() -> Settings:
    return get_settings()


SettingsDep = Annotated[Settings, Depends(_settings)]


def _load_site(key_hash: str) -> Site | None:
    with get_session_factory()() as session:
        return load_site_for_cache(session=session, key_hash=key_hash)


# One load per key at a time in this process: every request that needs the site waits for
# the same load instead of starting its own.
_loading: dict[str, "asyncio.Task[Site | None]"] = {}


def _load_once(key_hash: str) -> "asyncio.Task[Site | None]":
    task = _loading.get(key_hash)
    if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
        task = asyncio.ensure_future(run_in_threadpool(_load_site, key_hash))
        _loading[key_hash] = task

        def forget(done: "asyncio.Task[Site | None]") -> None:
            if _loading.get(key_hash) is done:
                del _loading[key_hash]
            if not done.cancelled():
                # A background refresh that failed (store down) keeps the stale entry; the
                # requests that awaited this load get the error themselves.
                done.exception()

        task.add_done_callback(forget)
    return task


def _presented_key(authorization: str | None) -> str:
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise MissingCredentials("send the site key as 'Authorization: Bearer <key>'")
    return key.strip()


def _cached_site(key: str) -> tuple[str, Site | None]:
    """The key's hash and its site if this process knows it (a stale entry starts a reload)."""
    key_hash, site, fresh = cached_site_by_key(key)
    if site is not None and not fresh:
        _load_once(key_hash)  # refreshed in the background; this request uses the entry
    return key_hash, site


async def _stored_site(key_hash: str) -> Site:
    site = await asyncio.shield(_load_once(key_hash))
    if site is None:
        raise InvalidCredentials("unknown site key")
    return site


async def site_for_key(key: str) -> Site:
    """The site of a key (InvalidCredentials if none); a detached copy from a short
    per-process cache. For callers that take the key from elsewhere than the header."""
    key_hash, site = _cached_site(key)
    return site if site is not None else await _stored_site(key_hash)


async def _current_site(authorization: Annotated[str | None, Header()] = None) -> Site:
    """The site whose key is presented; a detached copy from a short per-process cache."""
    return await site_for_key(_presented_key(authorization))


CurrentSite = Annotated[Site, Depends(_current_site)]


class UnsupportedMediaType(ModerationError):
    status_code = 415
    code = "unsupported_media_type"


async def require_json(request: Request) -> None:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise UnsupportedMediaType("send the comment as 'Content-Type: application/json'")


def client_ip(request: Request) -> str:
    """The reader's address: the peer, or the last untrusted hop a trusted proxy reported."""
    peer = request.client.host if request.client else "unknown"
    trusted = set(get_settings().trusted_proxies)
    if peer not in trusted:
        return peer
    forwarded = request.headers.get("x-forwarded-for", "")
    for hop in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
        try:
            ip_address(hop)
        except ValueError:
            break  # a malformed hop: stop trusting the chain here
        if hop not in trusted:
            return hop
    return peer


async def _submitting_site(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Site:
    """A submission's site, once its content type, key and both rate limits have passed.

    One dependency rather than four: FastAPI's per-dependency cost was ~12 % of the API's CPU
    per comment. A key this process knows costs one Redis round trip for both limits; an
    unknown key is limited per client before the store is asked about it, so a flood of made-up
    keys cannot become a flood of queries."""
    await require_json(request)
    reader = client_ip(request)
    key_hash, site = _cached_site(_presented_key(authorization))
    if site is not None:
        await acheck_submission(reader, site.id)
        return site
    await acheck_client(reader)
    site = await _stored_site(key_hash)
    await acheck_site(site.id)
    return site


SubmittingSite = Annotated[Site, Depends(_submitting_site)]
