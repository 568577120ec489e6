"""Request and response bodies of the public API."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, StrictStr

Status = Literal["pending", "approved", "held", "rejected", "removed", "erased"]


class CommentSubmission(BaseModel):
    model_config = ConfigDict(extra="forbid")

    article_id: StrictStr
    author_name: StrictStr
    body: StrictStr
    idempotency_key: StrictStr | None = None
    author_id: StrictStr | None = None


class CommentAccepted(BaseModel):
    id: str
    status: Status


class CommentState(BaseModel):
    id: str
    article_id: str
    status: Status
    # Perspective's attributes (toxicity, severe_toxicity, identity_attack, insult, profanity,
    # threat), plus "hate" (= identity_attack) for one release.
    scores: dict[str, float] | None
    # The language the worker read the comment in (ISO 639-1; "und" when it could not tell).
    language: str | None
    model_version: str | None
    reason: str | None
    created_at: datetime
    decided_at: datetime | None


class PublishedComment(BaseModel):
    id: str
    author_name: str
    body: str
    created_at: datetime


class CommentPage(BaseModel):
    comments: list[PublishedComment]
    next_cursor: str | None


class ErrorDetail(BaseModel):
    field: str | None = None
    code: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    field: str | None = None
    details: list[ErrorDetail] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class Health(BaseModel):
    # "degraded": this API takes comments (they are durable) but no worker has been alive
    # lately, so nothing is being decided.
    status: Literal["ok", "degraded", "unavailable"]
    checks: dict[str, str] = {}
    workers_alive: int | None = None
    pending_comments: int | None = None
    oldest_pending_seconds: float | None = None


class AuthorComment(BaseModel):
    id: str
    article_id: str
    author_name: str
    author_id: str | None
    body: str
    status: Status
    created_at: datetime
    decided_at: datetime | None


class AuthorExport(BaseModel):
    site: str
    author_id: str | None
    author_name: str | None
    comments: list[AuthorComment]
    # Pass as `cursor` for the next page; None on the last page.
    next_cursor: str | None = None


class Erasure(BaseModel):
    erased: int
