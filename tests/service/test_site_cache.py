"""The API's per-process cache of sites by key, on the real PostgreSQL store."""

import asyncio
import time

import pytest
from sqlalchemy import delete

from service import deps, sites
from service.db import session_scope
from service.errors import InvalidCredentials
from service.tables import Site
from tests.conftest import make_site, run_async


def _count_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    loads: list[str] = []
    load = deps._load_site

    def counted(key_hash: str) -> Site | None:
        loads.append(key_hash)
        time.sleep(0.05)  # a slow store: requests pile up behind the load
        return load(key_hash)

    monkeypatch.setattr(deps, "_load_site", counted)
    return loads


def test_concurrent_requests_for_an_uncached_key_share_one_load(
    pg_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope() as session:
        site, key = make_site(session)
    loads = _count_loads(monkeypatch)

    async def many() -> list[Site]:
        return await asyncio.gather(*(deps._current_site(f"Bearer {key}") for _ in range(20)))

    found = run_async(many())
    assert {s.id for s in found} == {site.id}
    assert len(loads) == 1


def test_a_stale_entry_is_served_while_one_reload_runs_and_a_deleted_site_then_fails(
    pg_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope() as session:
        site, key = make_site(session)
    loads = _count_loads(monkeypatch)

    async def scenario() -> None:
        assert (await deps._current_site(f"Bearer {key}")).id == site.id  # loads, caches
        key_hash = sites.hash_key(key)
        cached = sites._site_cache[key_hash][1]
        sites._site_cache[key_hash] = (time.monotonic() - 1, cached)  # the entry went stale
        with session_scope() as session:
            session.execute(delete(Site).where(Site.id == site.id))  # another API deleted it
        # Stale but present: answered at once from the entry, one reload in the background.
        served = await asyncio.gather(*(deps._current_site(f"Bearer {key}") for _ in range(10)))
        assert {s.id for s in served} == {site.id}
        reload = deps._loading.get(key_hash)
        assert reload is not None, "no reload was started for the stale entry"
        await reload  # it finds the site gone and drops the entry
        with pytest.raises(InvalidCredentials):
            await deps._current_site(f"Bearer {key}")

    run_async(scenario())
    # First load, one background reload for ten stale requests, one load for the last request.
    assert len(loads) == 3


def test_an_entry_older_than_the_grace_is_not_served(
    pg_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key rotated or deleted elsewhere stops working within twice the cache time, even in
    a process that has not seen the key since (no stale entry served after that)."""
    with session_scope() as session:
        site, key = make_site(session)

    async def scenario() -> None:
        await deps._current_site(f"Bearer {key}")
        key_hash = sites.hash_key(key)
        cached = sites._site_cache[key_hash][1]
        long_ago = time.monotonic() - 2 * sites.SITE_CACHE_SECONDS - 1
        sites._site_cache[key_hash] = (long_ago, cached)
        with session_scope() as session:
            session.execute(delete(Site).where(Site.id == site.id))
        with pytest.raises(InvalidCredentials):
            await deps._current_site(f"Bearer {key}")

    run_async(scenario())
