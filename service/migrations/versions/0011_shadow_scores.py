"""Shadow scores (shadow_scores): a shadow model version's scores of comments it did not
decide, and at most one version in shadow at a time

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

The partial unique index on status = 'shadow' is the store's last word on "one shadow at a
time", as uq_model_versions_live is for the live version; PostgreSQL and SQLite both have
partial indexes, so the same index is built on each.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shadow_scores",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("comment_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["comments.id"],
            name=op.f("fk_shadow_scores_comment_id_comments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shadow_scores")),
        sa.UniqueConstraint("comment_id", "version", name=op.f("uq_shadow_scores_comment_id")),
    )
    # A comparison reads one version's rows in the order they were scored.
    op.create_index(
        "ix_shadow_scores_version_created_at", "shadow_scores", ["version", "created_at"]
    )
    # Before this index nothing kept `model register --status shadow` from leaving several
    # versions in shadow; the newest stays, the others go back to candidate (deciding nothing
    # either way, so no comment's outcome changes).
    op.execute(
        "UPDATE model_versions SET status = 'candidate' WHERE status = 'shadow'"
        " AND id <> (SELECT MAX(id) FROM model_versions WHERE status = 'shadow')"
    )
    op.create_index(
        "uq_model_versions_shadow",
        "model_versions",
        ["status"],
        unique=True,
        postgresql_where=sa.text("status = 'shadow'"),
        sqlite_where=sa.text("status = 'shadow'"),
    )


def downgrade() -> None:
    op.drop_index("uq_model_versions_shadow", table_name="model_versions")
    op.drop_index("ix_shadow_scores_version_created_at", table_name="shadow_scores")
    op.drop_table("shadow_scores")
