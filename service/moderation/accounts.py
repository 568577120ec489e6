"""Moderator accounts, their sites and API tokens."""

import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.db import utcnow
from service.moderation.errors import Forbidden, ModeratorExists, ModeratorNotFound
from service.tables import Moderator, ModeratorRole, ModeratorSite, ModeratorToken, Site

TOKEN_PREFIX = "mt_"
_hasher = PasswordHasher()
# Verified when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password anyone has")


@dataclass(frozen=True)
class Reviewer:
    """A signed-in moderator and what they may touch. site_ids None means every site."""

    id: str
    username: str
    role: ModeratorRole
    site_ids: frozenset[str] | None

    @property
    def actor(self) -> str:
        return f"moderator:{self.username}"

    @property
    def is_admin(self) -> bool:
        return self.role == ModeratorRole.ADMIN

    def can_review(self, site_id: str) -> bool:
        return self.site_ids is None or site_id in self.site_ids

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("this needs an admin")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_moderator(
    *,
    session: Session,
    username: str,
    password: str,
    role: ModeratorRole = ModeratorRole.MODERATOR,
    site_ids: list[str] | None = None,
) -> Moderator:
    username = username.strip()
    if not username or len(username) > 100 or not username.isprintable():
        raise Forbidden("a username is 1-100 printable characters")
    if len(password) < 8:
        raise Forbidden("a password has at least 8 characters")
    if session.scalar(select(Moderator).where(Moderator.username == username)) is not None:
        raise ModeratorExists(f"a moderator named {username!r} exists already")
    moderator = Moderator(username=username, password_hash=hash_password(password), role=role)
    session.add(moderator)
    session.flush()
    for site_id in site_ids or []:
        session.add(ModeratorSite(moderator_id=moderator.id, site_id=site_id))
    session.flush()
    return moderator


def get_moderator_by_name(*, session: Session, username: str) -> Moderator:
    moderator = session.scalar(select(Moderator).where(Moderator.username == username))
    if moderator is None:
        raise ModeratorNotFound(f"no moderator named {username!r}")
    return moderator


def set_moderator_sites(*, session: Session, moderator: Moderator, site_ids: list[str]) -> None:
    session.execute(delete(ModeratorSite).where(ModeratorSite.moderator_id == moderator.id))
    for site_id in dict.fromkeys(site_ids):
        session.add(ModeratorSite(moderator_id=moderator.id, site_id=site_id))
    session.flush()


def set_password(*, session: Session, moderator: Moderator, password: str) -> None:
    """A new password; every session signed in with the old one ends."""
    if len(password) < 8:
        raise Forbidden("a password has at least 8 characters")
    moderator.password_hash = hash_password(password)
    end_sessions(session=session, moderator=moderator)


def end_sessions(*, session: Session, moderator: Moderator) -> None:
    """Every signed session cookie of this moderator stops working (sign-out everywhere)."""
    moderator.session_version = (moderator.session_version or 0) + 1
    session.flush()


def deactivate(*, session: Session, moderator: Moderator) -> None:
    """No more sign-in, sessions or API tokens for this moderator (the rows stay for the
    audit log, which names them)."""
    moderator.active = False
    end_sessions(session=session, moderator=moderator)


def list_moderators(*, session: Session) -> list[tuple[Moderator, list[str]]]:
    """Every moderator with the names of the sites they review, by username."""
    rows = session.execute(
        select(Moderator, Site.name)
        .outerjoin(ModeratorSite, ModeratorSite.moderator_id == Moderator.id)
        .outerjoin(Site, Site.id == ModeratorSite.site_id)
        .order_by(Moderator.username, Site.name)
    )
    found: dict[str, tuple[Moderator, list[str]]] = {}
    for moderator, site_name in rows:
        entry = found.setdefault(moderator.id, (moderator, []))
        if site_name is not None:
            entry[1].append(site_name)
    return list(found.values())


def authenticate(*, session: Session, username: str, password: str) -> Moderator | None:
    """The active moderator with this name and password, or None."""
    moderator = session.scalar(select(Moderator).where(Moderator.username == username))
    try:
        _hasher.verify(moderator.password_hash if moderator else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if moderator is None or not moderator.active:
        return None
    if _hasher.check_needs_rehash(moderator.password_hash):
        moderator.password_hash = hash_password(password)
    return moderator


def reviewer_for(*, session: Session, moderator: Moderator) -> Reviewer:
    role = ModeratorRole(moderator.role)
    site_ids: frozenset[str] | None = None
    if role != ModeratorRole.ADMIN:
        site_ids = frozenset(
            session.scalars(
                select(ModeratorSite.site_id).where(ModeratorSite.moderator_id == moderator.id)
            )
        )
    return Reviewer(id=moderator.id, username=moderator.username, role=role, site_ids=site_ids)


def get_reviewer(
    *, session: Session, moderator_id: str, session_version: int | None = None
) -> Reviewer | None:
    """The active moderator; with session_version, only if their sessions of that version
    have not been ended since."""
    moderator = session.get(Moderator, moderator_id)
    if moderator is None or not moderator.active:
        return None
    if session_version is not None and session_version != moderator.session_version:
        return None
    return reviewer_for(session=session, moderator=moderator)


def reviewable_sites(*, session: Session, reviewer: Reviewer) -> list[Site]:
    query = select(Site).order_by(Site.name)
    if reviewer.site_ids is not None:
        query = query.where(Site.id.in_(reviewer.site_ids))
    return list(session.scalars(query))


# --- API tokens ------------------------------------------------------------------------------


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(*, session: Session, moderator_id: str, name: str) -> tuple[ModeratorToken, str]:
    """A new API token; the token itself is returned once and only its hash is kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ModeratorToken(
        moderator_id=moderator_id,
        name=name.strip()[:100] or "token",
        token_hash=_hash_token(token),
        token_prefix=token[:10],
    )
    session.add(row)
    session.flush()
    return row, token


def reviewer_for_token(*, session: Session, token: str) -> Reviewer | None:
    row = session.scalar(
        select(ModeratorToken).where(
            ModeratorToken.token_hash == _hash_token(token), ModeratorToken.revoked_at.is_(None)
        )
    )
    if row is None:
        return None
    return get_reviewer(session=session, moderator_id=row.moderator_id)


def list_tokens(*, session: Session, moderator_id: str) -> list[ModeratorToken]:
    return list(
        session.scalars(
            select(ModeratorToken)
            .where(ModeratorToken.moderator_id == moderator_id)
            .order_by(ModeratorToken.created_at)
        )
    )


def revoke_token(*, session: Session, reviewer: Reviewer, token_id: str) -> None:
    row = session.get(ModeratorToken, token_id)
    if row is None or (row.moderator_id != reviewer.id and not reviewer.is_admin):
        raise ModeratorNotFound("no such token")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    session.flush()
