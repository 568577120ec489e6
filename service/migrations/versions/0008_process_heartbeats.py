"""Process heartbeats: when each worker (and beat) last said it was alive.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

Written only where no Redis is configured (the one-command trial); with Redis the heartbeats
live there (service/heartbeat.py says why).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "process_heartbeats",
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("role", "name", name=op.f("pk_process_heartbeats")),
    )


def downgrade() -> None:
    op.drop_table("process_heartbeats")
