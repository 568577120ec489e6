"""An admin's (or the CLI's) changes to a site: policy, word lists, origins, key, webhook.
Each change is recorded in site_changes, in the same transaction."""

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from service.moderation.errors import InvalidPolicy
from service.moderation.webhook_targets import check_when_set
from service.policy import (
    ATTRIBUTES,
    LabelThreshold,
    LanguageAction,
    Mode,
    Policy,
    canonical_attribute,
)
from service.sites import forget_cached_sites, hash_key, new_site_key, site_policy
from service.tables import Site, SiteChange
from service.word_lists import normalise_words

# Longest word list entry and list; a list is matched against every comment.
MAX_WORD_CHARS = 100
MAX_WORDS = 1000


@dataclass(frozen=True)
class PolicyUpdate:
    """Fields left None are not changed."""

    mode: str | None = None
    approve_below: float | None = None
    reject_at: float | None = None
    label_thresholds: dict[str, dict[str, float | None]] | None = None
    hold_words: list[str] | None = None
    reject_words: list[str] | None = None
    allowed_origins: list[str] | None = None
    languages: list[str] | None = None
    other_languages: str | None = None
    hold_markup: bool | None = None
    # Perspective/Coral calls scored in the API ("N/second|minute|hour"); "" means the default.
    analyze_rate_limit: str | None = None
    keep_analyzed_texts: bool | None = None


# ISO 639-1 codes (two letters) as the language detector reports them, or three for the few
# languages that have no two-letter code.
MAX_LANGUAGES = 50


def policy_view(site: Site) -> dict[str, Any]:
    return {
        "site": site.name,
        "mode": site.mode,
        "approve_below": site.approve_below,
        "reject_at": site.reject_at,
        "label_thresholds": site.label_thresholds or {},
        "hold_words": list(site.hold_words or []),
        "reject_words": list(site.reject_words or []),
        "languages": list(site.languages or []),
        "other_languages": site.other_languages,
        "hold_markup": bool(site.hold_markup),
        "allowed_origins": list(site.allowed_origins or []),
        "webhook_url": site.webhook_url,
        "analyze_rate_limit": site.analyze_rate_limit,
        "keep_analyzed_texts": bool(site.keep_analyzed_texts),
    }


def _origin(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise InvalidPolicy(
            f"{value!r} is not an origin like https://news.example", field="allowed_origins"
        )
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise InvalidPolicy(f"{value!r} is not a bare origin", field="allowed_origins")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _words(words: list[str], field: str) -> list[str]:
    cleaned = list(normalise_words(words))
    if len(cleaned) > MAX_WORDS or any(len(w) > MAX_WORD_CHARS for w in cleaned):
        raise InvalidPolicy(
            f"at most {MAX_WORDS} entries of at most {MAX_WORD_CHARS} characters", field=field
        )
    return cleaned


def _thresholds(value: dict[str, dict[str, float | None]]) -> dict[str, dict[str, float | None]]:
    checked: dict[str, dict[str, float | None]] = {}
    for given, limits in value.items():
        label = canonical_attribute(given)
        if label not in ATTRIBUTES:
            raise InvalidPolicy(
                f"no score named {given!r}; the scores are {', '.join(ATTRIBUTES)}",
                field="label_thresholds",
            )
        try:
            approve = limits["approve_below"]
            threshold = LabelThreshold(
                approve_below=float(approve) if approve is not None else -1.0,
                reject_at=None if limits.get("reject_at") is None else float(limits["reject_at"]),  # type: ignore[arg-type]
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidPolicy(
                f"thresholds for {label!r}: need 0 <= approve_below <= reject_at <= 1 ({exc})",
                field="label_thresholds",
            ) from None
        checked[label] = {
            "approve_below": threshold.approve_below,
            "reject_at": threshold.reject_at,
        }
    return checked


def _languages(codes: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(code.strip().lower() for code in codes if code.strip()))
    if len(cleaned) > MAX_LANGUAGES or not all(
        2 <= len(code) <= 3 and code.isascii() and code.isalpha() for code in cleaned
    ):
        raise InvalidPolicy(
            f"languages are ISO 639-1 codes such as 'en' or 'de' (at most {MAX_LANGUAGES})",
            field="languages",
        )
    return cleaned


def _rate_limit(value: str) -> str | None:
    """A limit the `limits` library reads, at least one a minute; "" is the default."""
    from limits import parse

    value = value.strip()
    if not value:
        return None
    try:
        item = parse(value)
    except ValueError:
        raise InvalidPolicy(
            f"{value!r} is not a rate like 5/second or 300/minute", field="analyze_rate_limit"
        ) from None
    if len(value) > 40 or item.amount < 1:
        raise InvalidPolicy(f"{value!r} is not a usable rate", field="analyze_rate_limit")
    return value


def update_policy(
    *,
    session: Session,
    site: Site,
    actor: str,
    update: PolicyUpdate,
    action: str = "policy",
    basis: dict[str, Any] | None = None,
) -> Site:
    """Apply the fields of `update` that are set; the audit row records each field that
    changed (from, to) and, from a tool that worked the change out (`moderation site tune`),
    its own action name and what it was worked out from (`basis`)."""
    before = policy_view(site)
    if update.mode is not None:
        try:
            site.mode = Mode(update.mode).value
        except ValueError:
            raise InvalidPolicy("mode is 'post' or 'pre'", field="mode") from None
    approve_below = site.approve_below if update.approve_below is None else update.approve_below
    reject_at = site.reject_at if update.reject_at is None else update.reject_at
    try:
        Policy(approve_below=approve_below, reject_at=reject_at)
    except ValueError as exc:
        raise InvalidPolicy(str(exc), field="approve_below") from None
    site.approve_below, site.reject_at = approve_below, reject_at
    if update.label_thresholds is not None:
        site.label_thresholds = _thresholds(update.label_thresholds)
    if update.hold_words is not None:
        site.hold_words = _words(update.hold_words, "hold_words")
    if update.reject_words is not None:
        site.reject_words = _words(update.reject_words, "reject_words")
    if update.hold_markup is not None:
        site.hold_markup = update.hold_markup
    if update.allowed_origins is not None:
        site.allowed_origins = list(dict.fromkeys(_origin(o) for o in update.allowed_origins))
    if update.languages is not None:
        site.languages = _languages(update.languages)
    if update.other_languages is not None:
        try:
            site.other_languages = LanguageAction(update.other_languages).value
        except ValueError:
            raise InvalidPolicy(
                "other_languages is 'hold', 'publish' or 'reject'", field="other_languages"
            ) from None
    if update.analyze_rate_limit is not None:
        site.analyze_rate_limit = _rate_limit(update.analyze_rate_limit)
    if update.keep_analyzed_texts is not None:
        site.keep_analyzed_texts = update.keep_analyzed_texts
    site_policy(site)  # the stored policy must load, or workers would fail on it
    after = policy_view(site)
    changes = {
        key: {"from": before[key], "to": after[key]} for key in after if before[key] != after[key]
    }
    if changes:
        if basis is not None:
            changes["basis"] = basis
        session.add(SiteChange(site_id=site.id, actor=actor, action=action, changes=changes))
    session.flush()
    # The API caches sites by key (its quota and text keeping are read from there): this
    # process sees the change once committed, others within 2 x SITE_CACHE_SECONDS.
    event.listen(session, "after_commit", lambda _: forget_cached_sites(), once=True)
    return site


def rotate_key(*, session: Session, site: Site, actor: str) -> str:
    """A new key for the site; returned once, never stored. The old key stops working at once
    in this process and within 2 x SITE_CACHE_SECONDS in other API processes."""
    key = new_site_key()
    site.key_hash = hash_key(key)
    site.key_prefix = key[:10]
    session.add(
        SiteChange(site_id=site.id, actor=actor, action="key", changes={"key_prefix": key[:10]})
    )
    session.flush()
    forget_cached_sites()
    # And once more when the new key is committed: a load in between read the old row.
    event.listen(session, "after_commit", lambda _: forget_cached_sites(), once=True)
    return key


def set_webhook(*, session: Session, site: Site, actor: str, url: str | None) -> str | None:
    """Point the site's webhook at url (None turns it off); returns the new signing secret."""
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 500:
            raise InvalidPolicy("the webhook is an http(s) URL", field="webhook_url")
        check_when_set(url)
    secret = None if url is None else "whsec_" + secrets.token_urlsafe(32)
    site.webhook_url = url
    site.webhook_secret = secret
    session.add(SiteChange(site_id=site.id, actor=actor, action="webhook", changes={"url": url}))
    session.flush()
    return secret


def list_site_changes(*, session: Session, site: Site, limit: int = 100) -> list[SiteChange]:
    return list(
        session.scalars(
            select(SiteChange)
            .where(SiteChange.site_id == site.id)
            .order_by(SiteChange.id.desc())
            .limit(limit)
        )
    )
