"""Request and response bodies of the moderation and admin API."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.schemas import Status


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Me(BaseModel):
    username: str
    role: Literal["moderator", "admin"]
    sites: list[str]


class HighlightOut(BaseModel):
    start: int
    end: int
    text: str
    weight: float
    # "model": pushed the score up by `weight`; "word": a phrase on the site's hold/reject list.
    kind: Literal["model", "word"] = "model"


class ReviewCommentOut(BaseModel):
    id: str
    site: str
    article_id: str
    author_name: str
    body: str
    status: Status
    # Today's attribute names, plus "hate" (= identity_attack) for one release.
    scores: dict[str, float] | None
    language: str | None
    model_version: str | None
    # Why it is where it is: the threshold or word-list rule that held it, or the last decision.
    reason: str | None
    # Distance of the nearest score to a threshold: small means the model was unsure.
    margin: float
    highlights: list[HighlightOut]
    created_at: datetime
    decided_at: datetime | None


class QueueOut(BaseModel):
    items: list[ReviewCommentOut]
    total: int
    offset: int
    limit: int


class AuditEventOut(BaseModel):
    id: int
    comment_id: str
    site: str
    article_id: str
    actor: str
    from_status: str
    to_status: str
    reason: str | None
    scores: dict[str, Any] | None
    created_at: datetime


class CommentReviewOut(BaseModel):
    comment: ReviewCommentOut
    audit: list[AuditEventOut]


class AuditOut(BaseModel):
    events: list[AuditEventOut]
    next_before_id: int | None


class DecisionIn(Strict):
    reason: str | None = Field(default=None, max_length=280)


class DecisionOut(BaseModel):
    id: str
    from_status: str
    status: str
    audit_event_id: int


class BulkIn(Strict):
    action: Literal["approve", "reject", "remove", "restore"]
    comment_ids: list[str] = Field(min_length=1, max_length=200)
    reason: str | None = Field(default=None, max_length=280)


class BulkOut(BaseModel):
    done: list[DecisionOut]
    failed: dict[str, str]


class Reasons(BaseModel):
    reasons: list[str]


class TokenIn(Strict):
    name: str = Field(min_length=1, max_length=100)


class TokenOut(BaseModel):
    id: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class NewTokenOut(TokenOut):
    token: str  # shown once


class LabelThresholdIn(Strict):
    approve_below: float = Field(ge=0, le=1)
    reject_at: float | None = Field(default=None, ge=0, le=1)


class PolicyIn(Strict):
    mode: Literal["post", "pre"] | None = None
    approve_below: float | None = Field(default=None, ge=0, le=1)
    reject_at: float | None = Field(default=None, ge=0, le=1)
    label_thresholds: dict[str, LabelThresholdIn] | None = None
    hold_words: list[str] | None = Field(default=None, max_length=1000)
    reject_words: list[str] | None = Field(default=None, max_length=1000)
    allowed_origins: list[str] | None = Field(default=None, max_length=50)
    languages: list[Annotated[str, Field(max_length=3)]] | None = Field(default=None, max_length=50)
    other_languages: Literal["hold", "publish", "reject"] | None = None
    hold_markup: bool | None = None
    analyze_rate_limit: str | None = Field(default=None, max_length=40)
    keep_analyzed_texts: bool | None = None


class PolicyOut(BaseModel):
    site: str
    mode: str
    approve_below: float
    reject_at: float
    label_thresholds: dict[str, dict[str, float | None]]
    hold_words: list[str]
    reject_words: list[str]
    languages: list[str]
    other_languages: str
    hold_markup: bool
    allowed_origins: list[str]
    webhook_url: str | None
    analyze_rate_limit: str | None = None
    keep_analyzed_texts: bool = False


class SiteChangeOut(BaseModel):
    id: int
    actor: str
    action: str
    changes: dict[str, Any]
    created_at: datetime


class SiteKeyOut(BaseModel):
    site: str
    key: str  # shown once


class WebhookIn(Strict):
    url: str | None = Field(max_length=500)


class WebhookOut(BaseModel):
    site: str
    webhook_url: str | None
    secret: str | None  # shown once


class ModeratorIn(Strict):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=8, max_length=200)
    role: Literal["moderator", "admin"] = "moderator"
    sites: list[str] = []


class ModeratorSitesIn(Strict):
    sites: list[str]


class ModeratorOut(BaseModel):
    username: str
    role: str
    active: bool
    sites: list[str]
