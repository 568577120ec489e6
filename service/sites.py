"""Sites and their keys: plain functions over a session."""

import hashlib
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.policy import LabelThreshold, LanguageAction, Mode, Policy, canonical_attribute
from service.tables import Site
from service.word_lists import normalise_words

KEY_PREFIX = "cm_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_site_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def create_site(
    *,
    session: Session,
    name: str,
    policy: Policy,
    allowed_origins: list[str] | None = None,
    key: str | None = None,
) -> tuple[Site, str]:
    """Create a site with the whole of `policy` and return it with its key; the key itself
    is never stored."""
    key = key or new_site_key()
    site = Site(
        name=name,
        key_hash=hash_key(key),
        key_prefix=key[:10],
        approve_below=policy.approve_below,
        reject_at=policy.reject_at,
        mode=policy.mode.value,
        label_thresholds={
            label: {"approve_below": limit.approve_below, "reject_at": limit.reject_at}
            for label, limit in policy.labels.items()
        },
        hold_words=list(normalise_words(policy.hold_words)),
        reject_words=list(normalise_words(policy.reject_words)),
        languages=list(policy.languages),
        other_languages=policy.other_languages.value,
        hold_markup=policy.hold_markup,
        allowed_origins=allowed_origins or [],
    )
    session.add(site)
    session.flush()
    return site, key


def get_site_by_key(*, session: Session, key: str) -> Site | None:
    return session.scalar(select(Site).where(Site.key_hash == hash_key(key)))


def list_sites(*, session: Session) -> list[Site]:
    return list(session.scalars(select(Site).order_by(Site.name)))


def get_site_by_name(*, session: Session, name: str) -> Site | None:
    return session.scalar(select(Site).where(Site.name == name))


class PolicyColumns(Protocol):
    """What site_policy reads: a Site, or a row of the sites table (the scoring worker)."""

    @property
    def approve_below(self) -> float: ...
    @property
    def reject_at(self) -> float: ...
    @property
    def mode(self) -> str: ...
    @property
    def label_thresholds(self) -> Mapping[str, Mapping[str, float | None]]: ...
    @property
    def hold_words(self) -> Sequence[str]: ...
    @property
    def reject_words(self) -> Sequence[str]: ...
    @property
    def languages(self) -> Sequence[str]: ...
    @property
    def other_languages(self) -> str: ...
    @property
    def hold_markup(self) -> bool: ...


def site_policy(site: PolicyColumns) -> Policy:
    """The site's whole policy: thresholds, mode, per-score overrides and word lists."""
    return Policy(
        approve_below=site.approve_below,
        reject_at=site.reject_at,
        mode=Mode(site.mode or Mode.POST),
        labels={
            canonical_attribute(label): LabelThreshold(
                approve_below=float(limits["approve_below"] or 0.0),
                reject_at=None if limits.get("reject_at") is None else limits["reject_at"],
            )
            for label, limits in (site.label_thresholds or {}).items()
        },
        hold_words=tuple(site.hold_words or ()),
        reject_words=tuple(site.reject_words or ()),
        languages=tuple(site.languages or ()),
        other_languages=LanguageAction(site.other_languages or LanguageAction.HOLD),
        hold_markup=bool(site.hold_markup),
    )


# --- the API's per-process cache of sites by key ---------------------------------------------
# Every submission authenticates; a round trip to the store for it would cost more than the
# insert itself. Key rotation and site deletion take effect in this process at once, and in
# other API processes within 2 x SITE_CACHE_SECONDS (see cached_site_by_key).
SITE_CACHE_SECONDS = 5.0
_SITE_CACHE_LIMIT = 10_000
_site_cache: dict[str, tuple[float, Site]] = {}
# Bumped by forget_cached_sites(): a load that started before a forget must not cache what
# it read (it may be the row from before a key rotation committed).
_generation = 0


def cached_site_by_key(key: str) -> tuple[str, Site | None, bool]:
    """The key's hash, its cached (detached) site if any, and whether that entry is fresh.

    For one more SITE_CACHE_SECONDS after it expires an entry is still returned, stale: the
    caller serves it while one reload runs, so that the entry expiring does not send every
    request of that moment to the store at once (seen: a stall of ~200 ms every 5 s at 500
    submissions/s). Older than that it counts as missing, and the request waits for the
    store, so a rotated key never works longer than twice the cache time elsewhere."""
    key_hash = hash_key(key)
    entry = _site_cache.get(key_hash)
    now = time.monotonic()
    if entry is None or entry[0] + SITE_CACHE_SECONDS <= now:
        return key_hash, None, False
    return key_hash, entry[1], entry[0] > now


def load_site_for_cache(*, session: Session, key_hash: str) -> Site | None:
    generation = _generation
    site = session.scalar(select(Site).where(Site.key_hash == key_hash))
    if site is None:
        _site_cache.pop(key_hash, None)  # deleted or rotated: stop serving the stale entry
        return None
    session.expunge(site)
    if generation != _generation:
        return site  # forgotten while we read: answer this request, cache nothing
    if len(_site_cache) >= _SITE_CACHE_LIMIT:
        _site_cache.clear()
    _site_cache[key_hash] = (time.monotonic() + SITE_CACHE_SECONDS, site)
    return site


def forget_cached_sites() -> None:
    global _generation
    _generation += 1
    _site_cache.clear()
