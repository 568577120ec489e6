"""Who is calling the moderation API: a moderator's session (with a CSRF token on every
change) or a moderator's API token. Site keys are refused, whatever they are worth elsewhere."""

import secrets
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
from service.sites import get_site_by_key

SESSION_MODERATOR = "moderator_id"
SESSION_CSRF = "csrf"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (also before login, for the login form)."""
    token = request.session.get(SESSION_CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF] = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = request.session.get(SESSION_CSRF)
    if not isinstance(expected, str) or not submitted:
        raise CsrfFailed("missing CSRF token; reload the page")
    if not secrets.compare_digest(expected, submitted):
        raise CsrfFailed("wrong CSRF token; reload the page")


def session_reviewer(request: Request, session: SessionDep) -> Reviewer | None:
    moderator_id = request.session.get(SESSION_MODERATOR)
    if not isinstance(moderator_id, str):
        return None
    reviewer = get_reviewer(session=session, moderator_id=moderator_id)
    if reviewer is None:  # deactivated or deleted since signing in
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
