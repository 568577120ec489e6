"""Scoring rounds: the durable record of a round that holds its comments by row locks.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

On PostgreSQL a scoring round no longer writes a claim into each comment (a whole new row
version per comment, before the decision writes another); it locks the rows for the length
of its transaction and records only its comment ids here, in one small row, so that a round
whose worker died still counts as an attempt for each comment.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scoring_rounds",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("comment_ids", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scoring_rounds")),
    )


def downgrade() -> None:
    op.drop_table("scoring_rounds")
