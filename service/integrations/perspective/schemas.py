"""Perspective's v1alpha1 request bodies, as clients send them (camelCase).

Unknown fields are ignored rather than refused: clients written against later revisions of
the API send fields we do not use, and a drop-in must not break them.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class TextEntry(_Wire):
    text: str | None = None
    type: Literal["PLAIN_TEXT", "HTML"] | None = None


class ArticleAndParentComment(_Wire):
    article: TextEntry | None = None
    parent_comment: TextEntry | None = Field(default=None, alias="parentComment")


class Context(_Wire):
    entries: list[TextEntry] | None = Field(default=None, max_length=100)
    article_and_parent_comment: ArticleAndParentComment | None = Field(
        default=None, alias="articleAndParentComment"
    )


class AttributeParameters(_Wire):
    score_type: str | None = Field(default=None, alias="scoreType")
    score_threshold: float | None = Field(default=None, alias="scoreThreshold", ge=0, le=1)


class AnalyzeCommentRequest(_Wire):
    comment: TextEntry
    requested_attributes: dict[str, AttributeParameters | None] | None = Field(
        default=None, alias="requestedAttributes", max_length=50
    )
    languages: list[str] | None = Field(default=None, max_length=20)
    do_not_store: bool | None = Field(default=None, alias="doNotStore")
    span_annotations: bool | None = Field(default=None, alias="spanAnnotations")
    client_token: str | None = Field(default=None, alias="clientToken", max_length=500)
    session_id: str | None = Field(default=None, alias="sessionId", max_length=500)
    community_id: str | None = Field(default=None, alias="communityId", max_length=500)
    context: Context | None = None
    drop_unsupported_attributes: bool | None = Field(
        default=None, alias="dropUnsupportedAttributes"
    )


class Score(_Wire):
    value: float = Field(ge=0, le=1)
    type: str | None = None


class SuggestedAttributeScores(_Wire):
    summary_score: Score | None = Field(default=None, alias="summaryScore")


class SuggestCommentScoreRequest(_Wire):
    comment: TextEntry
    attribute_scores: dict[str, SuggestedAttributeScores] | None = Field(
        default=None, alias="attributeScores", max_length=50
    )
    context: Context | None = None
    languages: list[str] | None = Field(default=None, max_length=20)
    community_id: str | None = Field(default=None, alias="communityId", max_length=500)
    client_token: str | None = Field(default=None, alias="clientToken", max_length=500)
    session_id: str | None = Field(default=None, alias="sessionId", max_length=500)
