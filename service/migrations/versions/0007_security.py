"""Security review (issue 15): where a webhook delivery goes, sessions that can be ended, and a
site's choice to hold comments that hold markup.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10

- webhook_deliveries.url: the site's webhook when the delivery was made; a delivery is sent
  there only, never to a URL set later (existing rows take the site's current URL).
- moderators.session_version: in every session cookie; bumped by sign-out, a password
  change and deactivation, so that those end the moderator's sessions.
- sites.hold_markup: a site may hold comments that look like HTML for a human (comments are
  plain text now, accepted as written and shown escaped).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.add_column(sa.Column("url", sa.String(500), nullable=True))
    op.execute(
        "UPDATE webhook_deliveries SET url = "
        "(SELECT webhook_url FROM sites WHERE sites.id = webhook_deliveries.site_id)"
    )
    with op.batch_alter_table("sites") as batch:
        batch.add_column(
            sa.Column("hold_markup", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("moderators") as batch:
        batch.add_column(
            sa.Column("session_version", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("hold_markup")
    with op.batch_alter_table("moderators") as batch:
        batch.drop_column("session_version")
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_column("url")
