"""Dependencies named as types, so a route's signature reads like a sentence."""

from collections.abc import Iterator
from ipaddress import ip_address
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from service.config import Settings, get_settings
from service.db import get_session_factory
from service.errors import InvalidCredentials, MissingCredentials, ModerationError
from service.models import Site
from service.ratelimit import check_client
from service.sites import get_site_by_key


def _session() -> Iterator[Session]:
    session = get_session_factory()()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def _current_site(
    session: SessionDep, authorization: Annotated[str | None, Header()] = None
) -> Site:
    if not authorization:
        raise MissingCredentials("send the site key as 'Authorization: Bearer <key>'")
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise MissingCredentials("send the site key as 'Authorization: Bearer <key>'")
    site = get_site_by_key(session=session, key=key.strip())
    if site is None:
        raise InvalidCredentials("unknown site key")
    return site


CurrentSite = Annotated[Site, Depends(_current_site)]


class UnsupportedMediaType(ModerationError):
    status_code = 415
    code = "unsupported_media_type"


def require_json(request: Request) -> None:
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


def limit_client(request: Request) -> None:
    check_client(client_ip(request))
