"""What readers' browsers reach: the demo article page and the comment form endpoints.

A site's secret key never goes to a browser. The embeddable form posts to a per-site public
endpoint instead, accepted only from the site's allowed origins (the browser sets Origin and
page scripts cannot forge it) and rate-limited in buckets of its own, per reader address
(an IPv6 one by its /64) and per site, apart from the keyed API's.
"""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, StrictStr
from sqlalchemy.orm import Session

from service.comment_text import clean_identifier, clean_text
from service.comments import NewComment, get_comment, submit_comment
from service.config import Settings
from service.deps import SessionDep, SettingsDep, client_ip, require_json
from service.errors import ModerationError, SiteNotFound
from service.json_body import StrictJsonRoute
from service.moderation.errors import OriginNotAllowed
from service.queue import enqueue_scoring
from service.ratelimit import RateLimited, check_form
from service.schemas import ErrorResponse
from service.sites import get_site_by_name
from service.tables import CommentStatus, Site
from service.web.demo_article import article_for
from service.web.templating import render

router = APIRouter(tags=["reader"], route_class=StrictJsonRoute)
SiteName = Annotated[str, Path(max_length=100, description="the site's name")]


class FormComment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    article_id: StrictStr
    author_name: StrictStr
    body: StrictStr


class FormAccepted(BaseModel):
    id: str
    status: Literal["awaiting_moderation"]


class FormStatus(BaseModel):
    id: str
    # Readers learn whether their comment is up, not why a moderator decided as they did.
    status: Literal["awaiting_moderation", "published", "not_published"]


def _site(session: SessionDep, site: str) -> Site:
    found = get_site_by_name(session=session, name=site)
    if found is None:
        raise SiteNotFound("no such site")
    return found


def _allow_origin(request: Request, response: Response, site: Site, *, required: bool) -> None:
    origin = request.headers.get("origin")
    response.headers["Vary"] = "Origin"
    if origin and origin in (site.allowed_origins or []):
        response.headers["Access-Control-Allow-Origin"] = origin
        return
    if required:
        raise OriginNotAllowed(
            f"comments for {site.name!r} are accepted from its allowed origins only"
        )


@router.options("/v1/sites/{site}/form-comments", include_in_schema=False)
def preflight_form_comment(
    site: SiteName, request: Request, response: Response, session: SessionDep
) -> Response:
    _allow_origin(request, response, _site(session, site), required=True)
    response.status_code = status.HTTP_204_NO_CONTENT
    response.headers["Access-Control-Allow-Methods"] = "POST, GET"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    response.headers["Access-Control-Max-Age"] = "600"
    return response


@router.post(
    "/v1/sites/{site}/form-comments",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=FormAccepted,
    dependencies=[Depends(require_json)],
    responses={403: {"model": ErrorResponse}, 404: {"model": ErrorResponse}},
)
def post_form_comment(
    site: SiteName,
    form: FormComment,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
) -> FormAccepted | JSONResponse:
    """A reader's comment from a site's page (the embed script), without the site's key."""
    owner = _site(session, site)
    _allow_origin(request, response, owner, required=True)
    try:
        # The limits are checked here, not as a dependency, so a 429 keeps the CORS header and
        # the reader's page can say "slow down".
        check_form(client_ip(request), owner.id)
        return _accept(session=session, settings=settings, site=owner, form=form)
    except ModerationError as exc:
        # Answered here rather than by the app's handler so the CORS header stays on, and
        # the reader's page can show why (too long, markup, rate limited).
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(exc.retry_after)
        return JSONResponse(
            status_code=exc.status_code,
            content={"error": {"code": exc.code, "message": exc.message, "field": exc.field}},
            headers=headers,
        )


def _accept(*, session: Session, settings: Settings, site: Site, form: FormComment) -> FormAccepted:
    new = NewComment(
        article_id=clean_identifier(
            form.article_id, field="article_id", max_chars=settings.max_article_id_chars
        ),
        author_name=clean_text(
            form.author_name,
            field="author_name",
            max_chars=settings.max_author_chars,
            multiline=False,
        ),
        body=clean_text(form.body, field="body", max_chars=settings.max_body_chars, multiline=True),
    )
    comment, _ = submit_comment(session=session, site=site, new=new)
    session.commit()
    enqueue_scoring()
    return FormAccepted(id=comment.id, status="awaiting_moderation")


@router.get(
    "/v1/sites/{site}/form-comments/{comment_id}",
    response_model=FormStatus,
    responses={404: {"model": ErrorResponse}},
)
def read_form_comment(
    site: SiteName,
    comment_id: Annotated[str, Path(max_length=36)],
    request: Request,
    response: Response,
    session: SessionDep,
) -> FormStatus:
    """Where the reader's own comment stands; its id (random, 122 bits) is the only handle."""
    owner = _site(session, site)
    _allow_origin(request, response, owner, required=False)
    comment = get_comment(session=session, site_id=owner.id, comment_id=comment_id)
    if comment.status == CommentStatus.APPROVED:
        shown: Literal["awaiting_moderation", "published", "not_published"] = "published"
    elif comment.status in (CommentStatus.PENDING, CommentStatus.HELD):
        shown = "awaiting_moderation"
    else:
        shown = "not_published"
    return FormStatus(id=comment.id, status=shown)


@router.get("/articles/{article_id}", include_in_schema=False)
def article_page(
    article_id: Annotated[str, Path(max_length=200)],
    request: Request,
    session: SessionDep,
    site: Annotated[str, Query(max_length=100)] = "demo",
) -> Response:
    """The demo article page: a story, its published comments and the comment form, all
    through the same embeddable script a site puts on its own pages."""
    owner = get_site_by_name(session=session, name=site)
    return render(
        request,
        "article.html",
        {"article": article_for(article_id), "site": site, "site_exists": owner is not None},
        status_code=200 if owner is not None else 404,
    )
