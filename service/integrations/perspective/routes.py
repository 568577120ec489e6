"""Perspective's HTTP surface: POST /v1alpha1/comments:analyze and :suggestscore (?key= or a
Bearer site key) and the discovery document. Errors in Google's envelope (errors.py)."""

from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ValidationError

from service.config import get_settings
from service.db import session_scope
from service.deps import site_for_key
from service.errors import InvalidCredentials
from service.integrations.perspective.analyze import analyze_for_site, suggest_for_site
from service.integrations.perspective.discovery import API, VERSION, discovery_document
from service.integrations.perspective.errors import (
    GoogleError,
    analyzer_error,
    api_key_invalid,
    api_key_missing,
    rate_limited,
)
from service.integrations.perspective.schemas import (
    AnalyzeCommentRequest,
    SuggestCommentScoreRequest,
)
from service.ratelimit import RateLimited, acheck_limit
from service.tables import Site

router = APIRouter(tags=["perspective"])

Body = TypeVar("Body", bound=BaseModel)


def _json(content: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(content), status_code=status_code, media_type="application/json")


async def check_site_quota(site: Site) -> None:
    """The site's analyze quota (its policy's, else the setting); 429 in Google's shape."""
    limit = site.analyze_rate_limit or get_settings().analyze_rate_limit
    try:
        await acheck_limit(limit, "analyze", site.id)
    except RateLimited as exc:
        raise rate_limited(exc.retry_after) from None


async def _analyzing_site(
    key: Annotated[str | None, Query(max_length=200)] = None,
    alt: Annotated[str | None, Query(max_length=20)] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> Site:
    """The site whose key came as ?key= (Perspective's way) or as a Bearer token."""
    if alt not in (None, "json"):
        raise analyzer_error("INVALID_REQUEST", f"alt={alt} is not served; only alt=json.")
    scheme, _, bearer = (authorization or "").partition(" ")
    presented = (key or (bearer if scheme.lower() == "bearer" else "")).strip()
    if not presented:
        raise api_key_missing()
    try:
        site = await site_for_key(presented)
    except InvalidCredentials:
        raise api_key_invalid() from None
    await check_site_quota(site)
    return site


AnalyzingSite = Annotated[Site, Depends(_analyzing_site)]


async def _parse(request: Request, schema: type[Body]) -> Body:
    raw = await request.body()
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise analyzer_error("INVALID_REQUEST", "Invalid JSON payload received.") from None
    if not isinstance(document, dict):
        raise analyzer_error("INVALID_REQUEST", "Invalid JSON payload: expected an object.")
    try:
        return schema.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "(request)"
        raise analyzer_error(
            "INVALID_REQUEST", f"Invalid value at '{where}': {first.get('msg', 'invalid')}"
        ) from None


ANSWERS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Google's error envelope; details[0].errorType says why"},
    403: {"description": "no key"},
    429: {"description": "over the site's quota; see Retry-After"},
}


# The trailing-slash spelling is served too, never redirected to: Coral's client follows no
# redirects, and a 307 would reach it as a failure.
@router.post("/v1alpha1/comments:analyze", responses=ANSWERS)
@router.post("/v1alpha1/comments:analyze/", include_in_schema=False)
async def analyze(request: Request, site: AnalyzingSite) -> Response:
    """Perspective's AnalyzeComment: scores for the requested attributes."""
    body = await _parse(request, AnalyzeCommentRequest)
    return _json(await run_in_threadpool(lambda: analyze_for_site(site=site, request=body)))


def _suggest(site: Site, body: SuggestCommentScoreRequest) -> dict[str, Any]:
    with session_scope() as session:
        return suggest_for_site(session=session, site=site, request=body)


@router.post("/v1alpha1/comments:suggestscore", responses=ANSWERS)
@router.post("/v1alpha1/comments:suggestscore/", include_in_schema=False)
async def suggest_score(request: Request, site: AnalyzingSite) -> Response:
    """Perspective's SuggestCommentScore: stored as labelled feedback of the site."""
    body = await _parse(request, SuggestCommentScoreRequest)
    return _json(await run_in_threadpool(_suggest, site, body))


def _document(request: Request, version: str | None) -> Response:
    if version not in (None, VERSION):
        raise GoogleError(
            404,
            "NOT_FOUND",
            f"Discovery document not found for API service: {API} {version}",
            [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "NOT_FOUND",
                    "domain": "googleapis.com",
                    "metadata": {"service": f"{API}.googleapis.com"},
                }
            ],
        )
    return _json(discovery_document(str(request.base_url)))


@router.get(
    "/$discovery/rest",
    responses={404: {"description": "no such version (Google's error envelope)"}},
)
def discovery(request: Request, version: Annotated[str | None, Query()] = None) -> Response:
    """The discovery document (Google's v2 discovery URL shape)."""
    return _document(request, version)


@router.get(f"/discovery/v1/apis/{API}/{{version}}/rest", include_in_schema=False)
def discovery_v1(request: Request, version: str) -> Response:
    """The same document at Google's older discovery URL shape."""
    return _document(request, version)
