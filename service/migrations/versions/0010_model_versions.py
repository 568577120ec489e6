"""Model versions in the store (model_versions) and the log of live-model changes
(model_changes)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

The shipped model is not inserted here: a migration is frozen, the shipped file is not (each
release ships its own). service.migrate.upgrade registers the packaged file after the schema
is up to date (service.model_registry.store.register_shipped_model).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("parent_version", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("training_data", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("file", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_versions")),
        sa.UniqueConstraint("version", name=op.f("uq_model_versions_version")),
    )
    op.create_index(
        "uq_model_versions_live",
        "model_versions",
        ["status"],
        unique=True,
        postgresql_where=sa.text("status = 'live'"),
        sqlite_where=sa.text("status = 'live'"),
    )
    op.create_table(
        "model_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("from_version", sa.String(length=100), nullable=True),
        sa.Column("to_version", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_changes")),
    )


def downgrade() -> None:
    op.drop_table("model_changes")
    op.drop_index("uq_model_versions_live", table_name="model_versions")
    op.drop_table("model_versions")
