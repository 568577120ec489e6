"""A site submits comments and asks how they were decided."""

from typing import Any

import orjson
from fastapi import APIRouter, Response, status

from service.comment_text import clean_identifier, clean_text
from service.comments import CORAL_IDEMPOTENCY_PREFIX, NewComment, get_comment
from service.config import Settings, get_settings
from service.deps import CurrentSite, SessionDep, SubmittingSite
from service.errors import InvalidComment
from service.ingest import get_batcher
from service.json_body import StrictJsonRoute
from service.policy import scores_with_aliases
from service.schemas import CommentAccepted, CommentState, CommentSubmission, ErrorResponse

router = APIRouter(prefix="/v1/comments", tags=["comments"], route_class=StrictJsonRoute)

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "missing or unknown site key"},
    422: {"model": ErrorResponse, "description": "the comment breaks a rule; see error.code"},
}


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=CommentAccepted,
    responses={
        **ERRORS,
        409: {"model": ErrorResponse, "description": "idempotency key reused for other content"},
        413: {"model": ErrorResponse, "description": "request body too large"},
        415: {"model": ErrorResponse, "description": "not application/json"},
        429: {"model": ErrorResponse, "description": "rate limited; see Retry-After"},
    },
)
async def post_comment(submission: CommentSubmission, site: SubmittingSite) -> Response:
    stored = await get_batcher().submit((site.id, new_comment(submission, get_settings())))
    # Written directly: the answer is two known strings, and validating it against the
    # response model again was measurable per comment. The model still documents it.
    return Response(
        orjson.dumps({"id": stored.id, "status": stored.status}),
        status_code=status.HTTP_202_ACCEPTED,
        media_type="application/json",
        headers={"Location": f"/v1/comments/{stored.id}"},
    )


def new_comment(submission: CommentSubmission, settings: Settings) -> NewComment:
    """The submission as it will be stored, or InvalidComment with the reason."""
    return NewComment(
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
        else site_idempotency_key(submission.idempotency_key, settings),
        author_id=None
        if submission.author_id is None
        else clean_identifier(
            submission.author_id, field="author_id", max_chars=settings.max_author_id_chars
        ),
    )


def site_idempotency_key(value: str, settings: Settings) -> str:
    key = clean_identifier(
        value, field="idempotency_key", max_chars=settings.max_idempotency_key_chars
    )
    if key.startswith(CORAL_IDEMPOTENCY_PREFIX):
        raise InvalidComment(
            "reserved",
            f"idempotency keys starting with '{CORAL_IDEMPOTENCY_PREFIX}' are kept for the "
            "comments of the Coral phase",
            field="idempotency_key",
        )
    return key


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
        scores=scores_with_aliases(comment.scores) if comment.scores else None,
        language=comment.language,
        model_version=comment.model_version,
        reason=comment.decision_reason,
        created_at=comment.created_at,
        decided_at=comment.decided_at,
    )
