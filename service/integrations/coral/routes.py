"""POST /v1/integrations/coral/{site}: Coral Talk's external moderation phase (signed with the
site's Coral secret), and the admin call that makes a new secret."""

import logging
import time
from datetime import datetime, timedelta
from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, ValidationError

from service.comments import NewComment
from service.config import get_settings
from service.db import session_scope, utcnow
from service.deps import SessionDep
from service.errors import IdempotencyConflict, InvalidComment, ModerationError
from service.ingest import get_batcher
from service.integrations.coral.batching import ScoringFailed, get_decider
from service.integrations.coral.phase import (
    UNSTORED,
    StoredVerdict,
    coral_answer,
    coral_comment,
)
from service.integrations.coral.schemas import ExternalModerationRequest
from service.integrations.coral.signing import (
    SIGNATURE_HEADER,
    live_secrets,
    rotate_coral_secret,
    signature_matches,
)
from service.integrations.perspective.errors import GoogleError
from service.integrations.perspective.routes import check_site_quota
from service.moderation.auth import CurrentAdmin
from service.moderation.routes import ERRORS as ADMIN_ERRORS
from service.moderation.routes import site_named
from service.schemas import ErrorResponse
from service.sites import get_site_by_name
from service.tables import Site

log = logging.getLogger(__name__)

router = APIRouter(tags=["coral"])
admin_router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=ADMIN_ERRORS)

SiteName = Annotated[str, Path(max_length=100, description="the site's name here")]


class InvalidSignature(ModerationError):
    status_code = 401
    code = "invalid_signature"


# Sites and their live secrets by name, for a few seconds: every Coral call needs them, and a
# query per call cost as much as the rest of the request. A new secret made in this process
# is seen at once (forget_coral_sites); in other API processes within CACHE_SECONDS, the
# same bound as the site-key cache.
CACHE_SECONDS = 5.0
_CACHE_LIMIT = 10_000
_cache: dict[str, tuple[float, Site | None, list[tuple[str, datetime | None]]]] = {}


def forget_coral_sites() -> None:
    _cache.clear()


def _load_site_and_secrets(name: str) -> tuple[Site | None, list[tuple[str, datetime | None]]]:
    with session_scope() as session:
        site = get_site_by_name(session=session, name=name)
        secrets_ = [] if site is None else live_secrets(session=session, site_id=site.id)
        if site is not None:
            session.expunge(site)
    if len(_cache) >= _CACHE_LIMIT:
        _cache.clear()
    # A secret that expires inside the cache time is dropped at its end, not the cache's.
    _cache[name] = (time.monotonic() + CACHE_SECONDS, site, secrets_)
    return site, secrets_


async def _site_and_secrets(name: str) -> tuple[Site | None, list[str]]:
    entry = _cache.get(name)
    if entry is not None and entry[0] > time.monotonic():
        site, ends = entry[1], entry[2]
    else:
        site, ends = await run_in_threadpool(_load_site_and_secrets, name)
    now = utcnow()
    return site, [secret for secret, end in ends if end is None or end > now]


def _parse(raw: bytes) -> ExternalModerationRequest:
    try:
        return ExternalModerationRequest.model_validate(orjson.loads(raw))
    except orjson.JSONDecodeError:
        raise InvalidComment("invalid_json", "the body is not JSON", field="body") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise InvalidComment(
            "invalid_request", f"{where}: {first.get('msg', 'invalid')}", field=where or "body"
        ) from None


def _answer(verdict: StoredVerdict) -> Response:
    answer = coral_answer(verdict.status, unread=verdict.unread)
    if answer is None:
        return Response(status_code=204)
    return Response(orjson.dumps(answer), media_type="application/json")


@router.post(
    "/v1/integrations/coral/{site}",
    responses={
        200: {
            "description": "Coral's verdict: status, a FLAG for held comments; PREMOD for one "
            "too long to store"
        },
        204: {"description": "no opinion (not decided in time); the comment is stored pending"},
        401: {"model": ErrorResponse, "description": "no valid X-Coral-Signature for this site"},
        422: {"model": ErrorResponse, "description": "not a Coral moderation request"},
    },
)
@router.post("/v1/integrations/coral/{site}/", include_in_schema=False)
async def coral_phase(site: SiteName, request: Request) -> Response:
    """Decide a new or edited Coral comment in the request; store it as this site's comment."""
    raw = await request.body()
    found, secrets_ = await _site_and_secrets(site)
    # An unknown site answers as a bad signature does: names do not leak.
    if found is None or not signature_matches(raw, request.headers.get(SIGNATURE_HEADER), secrets_):
        raise InvalidSignature(f"no valid {SIGNATURE_HEADER} for this site")
    new = coral_comment(_parse(raw))
    if not new.body or len(new.body) > get_settings().max_body_chars:
        return _not_storable(site, new)
    try:
        await check_site_quota(found)
        verdict = await get_decider().submit((found, new))
    except GoogleError:
        log.warning("site %s is over its scoring quota; a worker decides its comment", site)
        return await _leave_to_workers(found, new)
    except ScoringFailed:
        log.exception("scoring a Coral comment failed; a worker decides it")
        return await _leave_to_workers(found, new)
    return _answer(verdict)


def _not_storable(site: str, new: NewComment) -> Response:
    """A body the API would refuse a site (no text once HTML is reduced to it, or longer than
    MODERATION_MAX_BODY_CHARS) is not stored (nor scored) for Coral either, and Coral holds it
    for its own moderators: a 4xx would make Coral publish it. (Coral's "Limit comment length"
    at or below MODERATION_MAX_BODY_CHARS tells the reader instead.)"""
    log.warning(
        "a Coral comment for site %s has %d characters of text (limit %d); not stored, "
        "Coral pre-moderates it",
        site,
        len(new.body),
        get_settings().max_body_chars,
    )
    return _answer(UNSTORED)


async def _leave_to_workers(site: Site, new: NewComment) -> Response:
    try:
        stored = await get_batcher().submit((site.id, new))
    except IdempotencyConflict:
        # As in record_decided_comments: a key stored through the API before it was Coral's.
        log.warning("a Coral comment's key is taken by another comment; not stored")
        return _answer(UNSTORED)
    return _answer(StoredVerdict(stored.id, str(stored.status), created=stored.created))


class CoralSecretIn(BaseModel):
    keep_previous_seconds: int = Field(default=0, ge=0, le=30 * 24 * 3600)


class CoralSecretOut(BaseModel):
    site: str
    secret: str
    previous_valid_seconds: int


@admin_router.post(
    "/sites/{name}/coral-secret",
    response_model=CoralSecretOut,
    responses={404: {"model": ErrorResponse, "description": "no such site"}},
)
def new_coral_secret(
    name: SiteName, body: CoralSecretIn, admin: CurrentAdmin, session: SessionDep
) -> CoralSecretOut:
    """A new Coral signing secret, shown once; the previous one stays valid for the overlap."""
    found = site_named(session, name)
    secret = rotate_coral_secret(
        session=session,
        site=found,
        actor=admin.actor,
        keep_previous=timedelta(seconds=body.keep_previous_seconds),
    )
    session.commit()
    forget_coral_sites()
    return CoralSecretOut(
        site=found.name, secret=secret, previous_valid_seconds=body.keep_previous_seconds
    )
