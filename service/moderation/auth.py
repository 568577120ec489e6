"""Who is calling the moderation API: a moderator's session (with a CSRF token on every
change) or a moderator's API token. Site keys are refused, whatever they are worth elsewhere."""

import hashlib
import hmac
import secrets
from functools import cache
from typing import Annotated

from fastapi import Depends, Header, Request

from service.deps import SessionDep
from service.errors import InvalidCredentials, MissingCredentials
from service.moderation.accounts import (
    TOKEN_PREFIX,
    Reviewer,
    get_reviewer,
    reviewer_for_token,
)
from service.moderation.errors import CsrfFailed, SiteKeyNotAllowed
from service.moderation.settings import session_secret
from service.sites import get_site_by_key

SESSION_MODERATOR = "moderator_id"
SESSION_VERSION = "session_version"
# A random value per session. The cookie is signed, not encrypted: anyone who sees it can
# read it, so the CSRF token is not in it but derived from this with the server's secret.
SESSION_NONCE = "nonce"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@cache
def _csrf_key(secret: str) -> bytes:
    # Its own key, derived from the session secret, so a CSRF token is never a signature of
    # anything the session middleware signs.
    return hmac.new(secret.encode(), b"moderation csrf token", hashlib.sha256).digest()


def _token_for(nonce: str) -> str:
    return hmac.new(_csrf_key(session_secret()), nonce.encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (also before login, for the login form)."""
    nonce = request.session.get(SESSION_NONCE)
    if not isinstance(nonce, str):
        nonce = secrets.token_urlsafe(16)
        request.session[SESSION_NONCE] = nonce
    return _token_for(nonce)


def check_csrf(request: Request, submitted: str | None) -> None:
    nonce = request.session.get(SESSION_NONCE)
    if not isinstance(nonce, str) or not submitted:
        raise CsrfFailed("missing CSRF token; reload the page")
    if not hmac.compare_digest(_token_for(nonce), submitted):
        raise CsrfFailed("wrong CSRF token; reload the page")


def start_session(request: Request, *, moderator_id: str, session_version: int) -> None:
    """A fresh session (and CSRF token) on sign-in, so a token planted before it is useless."""
    request.session.clear()
    request.session[SESSION_MODERATOR] = moderator_id
    request.session[SESSION_VERSION] = session_version
    csrf_token(request)


def session_reviewer(request: Request, session: SessionDep) -> Reviewer | None:
    moderator_id = request.session.get(SESSION_MODERATOR)
    version = request.session.get(SESSION_VERSION)
    if not isinstance(moderator_id, str) or not isinstance(version, int):
        return None
    reviewer = get_reviewer(session=session, moderator_id=moderator_id, session_version=version)
    if reviewer is None:  # signed out, password changed, deactivated or deleted since
        request.session.clear()
    return reviewer


def _current_reviewer(
    request: Request,
    session: SessionDep,
    authorization: Annotated[str | None, Header()] = None,
    x_csrf_token: Annotated[str | None, Header()] = None,
) -> Reviewer:
    if authorization:
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise MissingCredentials("send a moderator token as 'Authorization: Bearer <token>'")
        if credential.startswith(TOKEN_PREFIX):
            reviewer = reviewer_for_token(session=session, token=credential)
            if reviewer is not None:
                return reviewer
        elif get_site_by_key(session=session, key=credential) is not None:
            raise SiteKeyNotAllowed("a site key cannot act as a moderator; use a moderator token")
        raise InvalidCredentials("unknown moderator token")
    reviewer = session_reviewer(request, session)
    if reviewer is None:
        raise MissingCredentials("sign in at /moderate/login or send a moderator token")
    # A cookie rides along on requests other sites make; the token in a header cannot.
    if request.method not in _SAFE_METHODS:
        check_csrf(request, x_csrf_token)
    return reviewer


def _current_admin(reviewer: Annotated[Reviewer, Depends(_current_reviewer)]) -> Reviewer:
    reviewer.require_admin()
    return reviewer


CurrentReviewer = Annotated[Reviewer, Depends(_current_reviewer)]
CurrentAdmin = Annotated[Reviewer, Depends(_current_admin)]
