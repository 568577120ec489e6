"""Perspective's attributes and languages: stored policies say identity_attack, not hate; sites
choose the languages the model is trusted for; comments keep the language they were read in.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

Stored comment scores keep the name they were written with ("hate" in older rows): they are
read through service.policy.canonical_scores, which costs nothing, where rewriting every scored
comment would cost a table rewrite on a large store.
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RENAMED = {"hate": "identity_attack"}


def _rename_thresholds(names: dict[str, str]) -> None:
    connection = op.get_bind()
    sites = sa.table("sites", sa.column("id", sa.String), sa.column("label_thresholds", sa.JSON))
    for site_id, thresholds in connection.execute(sa.select(sites.c.id, sites.c.label_thresholds)):
        if isinstance(thresholds, str):  # SQLite hands back the JSON text on some drivers
            thresholds = json.loads(thresholds)
        if not thresholds or not set(thresholds) & set(names):
            continue
        renamed = {names.get(label, label): limits for label, limits in thresholds.items()}
        connection.execute(
            sites.update().where(sites.c.id == site_id).values(label_thresholds=renamed)
        )


def upgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.add_column(
            sa.Column("languages", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
        )
        batch.add_column(
            sa.Column("other_languages", sa.String(length=8), server_default="hold", nullable=False)
        )
    with op.batch_alter_table("comments") as batch:
        batch.add_column(sa.Column("language", sa.String(length=8), nullable=True))
    _rename_thresholds(_RENAMED)


def downgrade() -> None:
    _rename_thresholds({new: old for old, new in _RENAMED.items()})
    with op.batch_alter_table("comments") as batch:
        batch.drop_column("language")
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("other_languages")
        batch.drop_column("languages")
