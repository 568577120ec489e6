"""A site exports or erases one reader's comments (GDPR requests)."""

from typing import Annotated

from fastapi import APIRouter, Query

from service.authors import Author, erase_comments, export_comments
from service.comment_text import clean_identifier, clean_text
from service.config import Settings
from service.deps import CurrentSite, SessionDep, SettingsDep
from service.schemas import AuthorComment, AuthorExport, Erasure, ErrorResponse

router = APIRouter(prefix="/v1/authors", tags=["authors"])

AuthorId = Annotated[str | None, Query(max_length=200, description="the site's id for the reader")]
AuthorName = Annotated[str | None, Query(max_length=100, description="the display name used")]


def _author(settings: Settings, author_id: str | None, author_name: str | None) -> Author:
    return Author(
        author_id=None
        if author_id is None
        else clean_identifier(author_id, field="author_id", max_chars=settings.max_author_id_chars),
        author_name=None
        if author_name is None
        else clean_text(
            author_name, field="author_name", max_chars=settings.max_author_chars, multiline=False
        ),
    )


RESPONSES = {401: {"model": ErrorResponse}, 422: {"model": ErrorResponse}}


@router.get("/comments", response_model=AuthorExport, responses=RESPONSES)  # type: ignore[arg-type]
def export_author_comments(
    site: CurrentSite,
    session: SessionDep,
    settings: SettingsDep,
    author_id: AuthorId = None,
    author_name: AuthorName = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuthorExport:
    author = _author(settings, author_id, author_name)
    comments, next_cursor = export_comments(
        session=session, site=site, author=author, limit=limit, cursor=cursor
    )
    return AuthorExport(
        site=site.name,
        author_id=author_id,
        author_name=author_name,
        next_cursor=next_cursor,
        comments=[
            AuthorComment(
                id=c.id,
                article_id=c.article_id,
                author_name=c.author_name,
                author_id=c.author_id,
                body=c.body,
                status=c.status,  # type: ignore[arg-type]
                created_at=c.created_at,
                decided_at=c.decided_at,
            )
            for c in comments
        ],
    )


@router.delete("/comments", response_model=Erasure, responses=RESPONSES)  # type: ignore[arg-type]
def erase_author_comments(
    site: CurrentSite,
    session: SessionDep,
    settings: SettingsDep,
    author_id: AuthorId = None,
    author_name: AuthorName = None,
) -> Erasure:
    erased = erase_comments(
        session=session, site=site, author=_author(settings, author_id, author_name)
    )
    session.commit()
    return Erasure(erased=erased)
