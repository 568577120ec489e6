"""A site submits comments and asks how they were decided."""

from typing import Any

from fastapi import APIRouter, Depends, Response, status

from service.comment_text import clean_identifier, clean_text
from service.comments import NewComment, get_comment, submit_comment
from service.deps import CurrentSite, SessionDep, SettingsDep, limit_client, require_json
from service.metrics import COMMENTS_SUBMITTED
from service.queue import enqueue_scoring
from service.ratelimit import check_site
from service.schemas import CommentAccepted, CommentState, CommentSubmission, ErrorResponse

router = APIRouter(prefix="/v1/comments", tags=["comments"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "missing or unknown site key"},
    422: {"model": ErrorResponse, "description": "the comment breaks a rule; see error.code"},
}


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=CommentAccepted,
    dependencies=[Depends(limit_client), Depends(require_json)],
    responses={
        **ERRORS,
        409: {"model": ErrorResponse, "description": "idempotency key reused for other content"},
        413: {"model": ErrorResponse, "description": "request body too large"},
        415: {"model": ErrorResponse, "description": "not application/json"},
        429: {"model": ErrorResponse, "description": "rate limited; see Retry-After"},
    },
)
def post_comment(
    submission: CommentSubmission,
    site: CurrentSite,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> CommentAccepted:
    check_site(site.id)
    new = NewComment(
        article_id=clean_identifier(
            submission.article_id, field="article_id", max_chars=settings.max_article_id_chars
        ),
        author_name=clean_text(
            submission.author_name,
            field="author_name",
            max_chars=settings.max_author_chars,
            multiline=False,
        ),
        body=clean_text(
            submission.body, field="body", max_chars=settings.max_body_chars, multiline=True
        ),
        idempotency_key=None
        if submission.idempotency_key is None
        else clean_identifier(
            submission.idempotency_key,
            field="idempotency_key",
            max_chars=settings.max_idempotency_key_chars,
        ),
        author_id=None
        if submission.author_id is None
        else clean_identifier(
            submission.author_id, field="author_id", max_chars=settings.max_author_id_chars
        ),
    )
    comment, created = submit_comment(session=session, site=site, new=new)
    session.commit()
    # Only after the commit: a worker must never be told about a row it cannot see yet.
    if created:
        COMMENTS_SUBMITTED.inc()
        enqueue_scoring()
    response.headers["Location"] = f"/v1/comments/{comment.id}"
    return CommentAccepted(id=comment.id, status=comment.status)  # type: ignore[arg-type]


@router.get(
    "/{comment_id}",
    response_model=CommentState,
    responses={**ERRORS, 404: {"model": ErrorResponse}},
)
def read_comment(comment_id: str, site: CurrentSite, session: SessionDep) -> CommentState:
    comment = get_comment(session=session, site_id=site.id, comment_id=comment_id)
    return CommentState(
        id=comment.id,
        article_id=comment.article_id,
        status=comment.status,  # type: ignore[arg-type]
        scores=comment.scores,
        model_version=comment.model_version,
        reason=comment.decision_reason,
        created_at=comment.created_at,
        decided_at=comment.decided_at,
    )
