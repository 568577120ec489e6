"""The article page reads an article's published comments; no key needed."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from service.comment_text import clean_identifier
from service.comments import list_published
from service.deps import SessionDep, SettingsDep
from service.errors import SiteNotFound
from service.schemas import CommentPage, ErrorResponse, PublishedComment
from service.sites import get_site_by_name

router = APIRouter(prefix="/v1/articles", tags=["articles"])


@router.get(
    "/{article_id}/comments",
    response_model=CommentPage,
    responses={404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
def read_article_comments(
    article_id: str,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    site: Annotated[str, Query(max_length=100, description="the site's name")],
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
) -> CommentPage:
    site = clean_identifier(site, field="site", max_chars=100)
    owner = get_site_by_name(session=session, name=site)
    if owner is None:
        raise SiteNotFound("no such site")
    article_id = clean_identifier(
        article_id, field="article_id", max_chars=settings.max_article_id_chars
    )
    comments, next_cursor = list_published(
        session=session,
        site_id=owner.id,
        article_id=article_id,
        limit=limit or settings.page_size_default,
        cursor=cursor,
    )
    origin = request.headers.get("origin")
    if origin and origin in owner.allowed_origins:
        response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Vary"] = "Origin"
    return CommentPage(
        comments=[
            PublishedComment(
                id=c.id, author_name=c.author_name, body=c.body, created_at=c.created_at
            )
            for c in comments
        ],
        next_cursor=next_cursor,
    )
