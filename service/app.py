"""The FastAPI application: routers, error mapping and request limits."""

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.staticfiles import StaticFiles

from service.config import get_settings
from service.errors import ModerationError
from service.integrations.coral import routes as coral
from service.integrations.perspective import routes as perspective
from service.integrations.perspective.errors import (
    GoogleError,
    google_error_for,
    google_error_response,
    google_validation_error,
    internal_error,
    is_perspective_path,
)
from service.json_body import DuplicateJsonKey
from service.moderation import routes as moderation
from service.moderation.settings import get_moderation_settings, session_secret
from service.ratelimit import RateLimited
from service.request_limits import RequestLimits
from service.routes import articles, authors, comments, health
from service.schemas import ErrorResponse
from service.stack_status import register_backlog_metrics
from service.web import api_docs, home, moderator_pages, reader
from service.web.templating import STATIC_DIR

log = logging.getLogger(__name__)

INVALID_JSON = "the request body is not valid JSON (UTF-8, reasonably nested)"


def _error(request: Request, status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    headers = extra.pop("headers", None)
    if is_perspective_path(request.url.path):
        # Perspective's clients parse only Google's envelope (some read details[0] blindly).
        return google_error_for(status, code, message, headers).response()
    body: dict[str, Any] = {"code": code, "message": message}
    body.update({key: value for key, value in extra.items() if value is not None})
    return JSONResponse(status_code=status, content={"error": body}, headers=headers)


async def _moderation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ModerationError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
    return _error(request, exc.status_code, exc.code, exc.message, field=exc.field, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if is_perspective_path(request.url.path):
        return google_validation_error(errors).response()
    if any(error.get("type") == "json_invalid" for error in errors):
        return _error(request, 400, "invalid_json", INVALID_JSON)
    details = [
        {
            "field": ".".join(str(part) for part in error.get("loc", ())[1:]) or None,
            "code": error.get("type", "invalid"),
            "message": error.get("msg", "invalid value"),
        }
        for error in errors
    ]
    first = details[0] if details else {"field": None, "message": "invalid request"}
    message = f"{first['field']}: {first['message']}" if first["field"] else str(first["message"])
    # A query or path value out of its bounds (or not a number) is a value the store could not
    # hold or compare: the same code as a value the store itself refuses.
    where = {str(error.get("loc", ("",))[0]) for error in errors}
    code = "invalid_value" if where and where <= {"query", "path"} else "invalid_request"
    return _error(request, 422, code, message, details=details)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own errors (unknown path, wrong method, unparseable body) in our format."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and "parsing the body" in str(exc.detail):
        return _error(request, 400, "invalid_json", INVALID_JSON)
    if isinstance(exc, DuplicateJsonKey):
        return _error(request, 400, exc.code, str(exc.detail))
    code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_").replace("-", "_")
    return _error(request, exc.status_code, code, str(exc.detail), headers=exc.headers)


async def _unstorable_value(request: Request, exc: Exception) -> JSONResponse:
    # A value the database refuses (e.g. a NUL byte) that slipped past the field rules is
    # still the client's mistake, not a server error.
    log.warning("the store refused a value: %s", exc)
    return _error(request, 422, "invalid_value", "a value in the request cannot be stored")


async def _store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("store unavailable: %s", exc)
    return _error(
        request,
        503,
        "store_unavailable",
        "the comment store is unreachable; try again shortly",
        headers={"Retry-After": "5"},
    )


async def _internal_error(request: Request, _: Exception) -> Response:
    # Starlette's own answer (the error is logged as ever), except on Perspective's paths.
    if is_perspective_path(request.url.path):
        return internal_error().response()
    return PlainTextResponse("Internal Server Error", status_code=500)


@asynccontextmanager
async def _lifespan(_: FastAPI) -> AsyncIterator[None]:
    # Everything imported and built at start-up lives as long as the process. Frozen, the
    # cycle collector stops walking it: a full collection over those ~235,000 objects took
    # ~100 ms, a stall of every request in flight (the API's worst tail latency, measured).
    # No collection first: what little start-up garbage is in cycles stays, once, and a start
    # (each test client is one) does not pay a full collection.
    gc.freeze()
    yield


def create_app() -> FastAPI:
    settings = get_settings()
    app = FastAPI(
        lifespan=_lifespan,
        # Any operation can meet these, whatever its own documented answers.
        responses={
            413: {"model": ErrorResponse, "description": "request body too large"},
            431: {"model": ErrorResponse, "description": "request headers too large"},
            503: {"model": ErrorResponse, "description": "store unreachable; see Retry-After"},
        },
        # Our own /docs (service/web/api_docs.py): assets from a package, under our CSP.
        docs_url=None,
        redoc_url=None,
        title="Comment moderation",
        version="0.1.0",
        description="Submit reader comments, read how they were decided, read published ones.",
    )
    register_backlog_metrics()
    app.include_router(comments.router)
    app.include_router(articles.router)
    app.include_router(authors.router)
    app.include_router(health.router)
    app.include_router(moderation.router)
    app.include_router(moderation.admin_router)
    app.include_router(perspective.router)
    app.include_router(coral.router)
    app.include_router(coral.admin_router)
    app.include_router(reader.router)
    app.include_router(home.router)
    app.include_router(moderator_pages.router)
    app.include_router(api_docs.router)
    app.mount(api_docs.ASSETS_PATH, api_docs.assets(), name="docs-assets")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(ModerationError, _moderation_error)
    app.add_exception_handler(GoogleError, google_error_response)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DataError, _unstorable_value)
    app.add_exception_handler(OperationalError, _store_unavailable)
    app.add_exception_handler(InterfaceError, _store_unavailable)
    app.add_exception_handler(PoolTimeout, _store_unavailable)
    app.add_exception_handler(Exception, _internal_error)
    app.add_middleware(
        RequestLimits,
        max_body_bytes=settings.max_request_bytes,
        max_header_bytes=settings.max_header_bytes,
    )
    # Moderator sign-in: a signed cookie; every change made with it also needs the CSRF token.
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(),
        session_cookie="moderation_session",
        max_age=get_moderation_settings().session_max_age_seconds,
        same_site="lax",
        https_only=get_moderation_settings().secure_cookies,
    )
    return app
