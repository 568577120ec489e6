"""The store's tables: sites, comments, the append-only audit logs and model versions."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime, utcnow


class CommentStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    HELD = "held"
    REJECTED = "rejected"
    REMOVED = "removed"
    # Text and author removed at the author's request (GDPR); the row and its audit trail stay.
    ERASED = "erased"


FINAL_STATUSES = frozenset(
    {
        CommentStatus.APPROVED,
        CommentStatus.HELD,
        CommentStatus.REJECTED,
        CommentStatus.REMOVED,
        CommentStatus.ERASED,
    }
)


def new_id() -> str:
    return str(uuid.uuid4())


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # Only a SHA-256 of the key is kept: keys are 256-bit random, so a slow hash adds nothing
    # but latency on every request.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16))
    approve_below: Mapped[float] = mapped_column(Float)
    reject_at: Mapped[float] = mapped_column(Float)
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The rest of the policy (service.policy): "post" or "pre" moderation, per-score
    # threshold overrides {label: {"approve_below": x, "reject_at": y|null}}, word lists.
    mode: Mapped[str] = mapped_column(String(8), default="post", server_default="post")
    label_thresholds: Mapped[dict[str, dict[str, float | None]]] = mapped_column(
        JSON, default=dict, server_default=text("'{}'")
    )
    hold_words: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    reject_words: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    # Languages the model is trusted for on this site (empty: the model card's), and what to
    # do with a comment in another one ("hold", "publish" or "reject").
    languages: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    other_languages: Mapped[str] = mapped_column(String(8), default="hold", server_default="hold")
    # Hold comments that hold what a browser would read as HTML (service.comment_text).
    hold_markup: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Where decisions are announced (HMAC-signed with the secret); None means no webhook.
    webhook_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    webhook_secret: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # Perspective-compatible analyze/suggestscore calls this site may make ("N/second|minute");
    # None means the MODERATION_ANALYZE_RATE_LIMIT setting.
    analyze_rate_limit: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # Keep the texts of analyze calls that allow it (doNotStore false) for the learning loop.
    keep_analyzed_texts: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (
        UniqueConstraint("site_id", "idempotency_key", name="uq_comments_site_idempotency"),
        # The article page reads approved comments newest first.
        # The article page reads approved comments newest first. Partial, so deciding to hold
        # or reject (and claiming) never touches it.
        Index(
            "ix_comments_article_feed",
            "site_id",
            "article_id",
            "created_at",
            "id",
            postgresql_where=text("status = 'approved'"),
            sqlite_where=text("status = 'approved'"),
        ),
        # The moderators' queue: held comments only.
        Index(
            "ix_comments_held",
            "site_id",
            "created_at",
            postgresql_where=text("status = 'held'"),
            sqlite_where=text("status = 'held'"),
        ),
        Index("ix_comments_site_author_id", "site_id", "author_id"),
        Index("ix_comments_site_author_name", "site_id", "author_name"),
        # Workers and the sweep look for pending comments only; keep that index tiny.
        Index(
            "ix_comments_pending",
            "created_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    article_id: Mapped[str] = mapped_column(String(200))
    author_name: Mapped[str] = mapped_column(String(100))
    # The site's own id for the reader, if it passes one; lets a site export or erase a
    # reader's comments (GDPR) without relying on display names.
    author_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=CommentStatus.PENDING)
    scores: Mapped[dict[str, float] | None] = mapped_column(JSON, nullable=True)
    # Detected by the worker with the scores (ISO 639-1, "und" when it could not tell).
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    model_version: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A worker's claim: who holds the comment and until when.
    claim_token: Mapped[str | None] = mapped_column(String(36), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class AuditEvent(Base):
    """One transition of one comment. Rows are only ever inserted."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    comment_id: Mapped[str] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    actor: Mapped[str] = mapped_column(String(120))  # "model:<version>" or "moderator:<name>"
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    scores: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScoringRound(Base):
    """A scoring round in progress on PostgreSQL: which comments it holds locked.

    Committed before the batch is scored and deleted with its decisions, so a row left behind
    is a round that never finished (its worker died): the sweep then counts an attempt for
    each of those comments. The id doubles as the round's advisory lock key, held by the
    round's transaction, which is how the sweep tells a dead round from a slow one.
    """

    __tablename__ = "scoring_rounds"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    comment_ids: Mapped[list[str]] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ModeratorRole(StrEnum):
    MODERATOR = "moderator"  # reviews the comments of the sites they are assigned to
    ADMIN = "admin"  # every site, plus policy, keys and moderators


class Moderator(Base):
    __tablename__ = "moderators"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    # argon2id, with its parameters and salt in the string.
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default=ModeratorRole.MODERATOR)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Stored in each signed session cookie; a cookie of another version is no longer a
    # session. Bumped by signing out, a password change and deactivation, which therefore end
    # every session of the moderator (a signed cookie cannot be recalled any other way).
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ModeratorSite(Base):
    """Which sites a (non-admin) moderator may review."""

    __tablename__ = "moderator_sites"

    moderator_id: Mapped[str] = mapped_column(
        ForeignKey("moderators.id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[str] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )


class ModeratorToken(Base):
    """An API token for a moderator's automation; acts with that moderator's rights."""

    __tablename__ = "moderator_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    moderator_id: Mapped[str] = mapped_column(
        ForeignKey("moderators.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    # SHA-256 like site keys: tokens are 256-bit random.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SiteChange(Base):
    """One change to a site's policy, origins, key or webhook. Rows are only ever inserted."""

    __tablename__ = "site_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    actor: Mapped[str] = mapped_column(String(120))  # "moderator:<name>" or "cli"
    action: Mapped[str] = mapped_column(String(40))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(Base):
    """One audit event to announce to a site's webhook, and how delivering it went."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    # One delivery per audit event, so announcing twice is harmless.
    audit_event_id: Mapped[int] = mapped_column(
        ForeignKey("audit_events.id", ondelete="CASCADE"), unique=True
    )
    event: Mapped[str] = mapped_column(String(40))
    # The site's webhook when this delivery was made: sent there only, and only while the
    # site still has it (never to a URL set later, say after the comment was erased).
    url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CoralSigningSecret(Base):
    """A secret that Coral Talk signs its external moderation calls for one site with.

    The secret itself is stored: HMAC verification recomputes the signature with it, so a
    digest could not verify anything. It is shown once when made, never again (site_changes
    keeps only its prefix). During a rotation the previous one stays valid until expires_at.
    """

    __tablename__ = "coral_signing_secrets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    secret: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # None: valid until the next rotation sets it.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SuggestionFeedback(Base):
    """A score a site suggested for a text (Perspective's suggestscore; Coral sends one per
    moderator decision). Labelled data for the learning loop: one row per attribute."""

    __tablename__ = "suggestion_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    # The model's label (toxicity, identity_attack, ...), not Perspective's spelling.
    attribute: Mapped[str] = mapped_column(String(40))
    value: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AnalyzedText(Base):
    """A text a site analysed with doNotStore false, kept because the site asked for that."""

    __tablename__ = "analyzed_texts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    scores: Mapped[dict[str, float]] = mapped_column(JSON)
    model_version: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProcessHeartbeat(Base):
    """The last time a worker or beat process said it was alive (only without Redis)."""

    __tablename__ = "process_heartbeats"

    role: Mapped[str] = mapped_column(String(16), primary_key=True)  # "worker" | "beat"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)  # host and pid
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ModelStatus(StrEnum):
    # Registered, deciding nothing.
    CANDIDATE = "candidate"
    # Scored beside the live model on new comments, deciding nothing.
    SHADOW = "shadow"
    # The one the workers decide with.
    LIVE = "live"
    # Was live once; kept so a rollback (or an audit) can still reach it.
    RETIRED = "retired"


class ModelVersion(Base):
    """One classifier version: its skops file, its card and where it stands.

    The file's bytes live here, not on a volume, so a worker on any host loads the live one
    from the store alone. At most one row is live and at most one is shadow (the partial
    unique indexes)."""

    __tablename__ = "model_versions"
    __table_args__ = (
        Index(
            "uq_model_versions_live",
            "status",
            unique=True,
            postgresql_where=text("status = 'live'"),
            sqlite_where=text("status = 'live'"),
        ),
        # One shadow at a time: workers score each comment with at most one extra model.
        Index(
            "uq_model_versions_shadow",
            "status",
            unique=True,
            postgresql_where=text("status = 'shadow'"),
            sqlite_where=text("status = 'shadow'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # The model's own `version`: what decisions record as comments.model_version.
    version: Mapped[str] = mapped_column(String(100), unique=True)
    parent_version: Mapped[str | None] = mapped_column(String(100), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=ModelStatus.CANDIDATE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120))  # "shipped", "cli", "moderator:<name>"
    training_data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The card's evaluation figures, as `evaluate` wrote them.
    metrics: Mapped[Any] = mapped_column(JSON, default=dict)
    # The whole card: the model is handed it when loaded, as it would be from the file beside.
    card: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    file: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    sha256: Mapped[str] = mapped_column(String(64))


class ModelChange(Base):
    """One change of the live or the shadow model. Only inserted."""

    __tablename__ = "model_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(120))
    # "register" | "promote" | "rollback" (the live version), "shadow" | "unshadow": from the
    # shadow before to the new one; an "unshadow" names the version that stopped in both.
    action: Mapped[str] = mapped_column(String(20))
    from_version: Mapped[str | None] = mapped_column(String(100), nullable=True)
    to_version: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ShadowScore(Base):
    """A shadow version's scores of one comment (service.model_registry.shadow): what that
    version would have said, kept beside the live decision, which it never changes."""

    __tablename__ = "shadow_scores"
    __table_args__ = (
        # A comment is scored once per version, however often a round is redelivered.
        UniqueConstraint("comment_id", "version"),
        Index("ix_shadow_scores_version_created_at", "version", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    comment_id: Mapped[str] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(100))
    # Same shape as comments.scores: attribute -> probability.
    scores: Mapped[dict[str, float]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
