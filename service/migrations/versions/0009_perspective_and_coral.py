"""Perspective and Coral Talk: per-site analyze quota and text keeping, Coral signing secrets,
suggested scores (suggestion_feedback) and kept analysed texts

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

suggestion_feedback is labelled data for the learning loop: plain rows (site, text, attribute,
value, when) that anything can read. GDPR erasure must reach it and analyzed_texts (neither has
an author, so erasure matches the erased comments' texts within the site).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _site_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["site_id"], ["sites.id"], name=op.f(f"fk_{table}_site_id_sites"), ondelete="CASCADE"
    )


def upgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.add_column(sa.Column("analyze_rate_limit", sa.String(length=40), nullable=True))
        batch.add_column(
            sa.Column(
                "keep_analyzed_texts", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    op.create_table(
        "coral_signing_secrets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        _site_fk("coral_signing_secrets"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coral_signing_secrets")),
    )
    op.create_index(op.f("ix_coral_signing_secrets_site_id"), "coral_signing_secrets", ["site_id"])
    op.create_table(
        "suggestion_feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("attribute", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _site_fk("suggestion_feedback"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggestion_feedback")),
    )
    op.create_index(op.f("ix_suggestion_feedback_site_id"), "suggestion_feedback", ["site_id"])
    op.create_table(
        "analyzed_texts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("model_version", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _site_fk("analyzed_texts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analyzed_texts")),
    )
    op.create_index(op.f("ix_analyzed_texts_site_id"), "analyzed_texts", ["site_id"])


def downgrade() -> None:
    op.drop_table("analyzed_texts")
    op.drop_table("suggestion_feedback")
    op.drop_table("coral_signing_secrets")
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("keep_analyzed_texts")
        batch.drop_column("analyze_rate_limit")
