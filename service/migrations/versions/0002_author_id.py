"""author id

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 11:35:10.099290
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("author_id", sa.String(length=200), nullable=True))
        batch_op.create_index("ix_comments_site_author_id", ["site_id", "author_id"], unique=False)
        batch_op.create_index(
            "ix_comments_site_author_name", ["site_id", "author_name"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index("ix_comments_site_author_name")
        batch_op.drop_index("ix_comments_site_author_id")
        batch_op.drop_column("author_id")
