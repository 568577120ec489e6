"""The migrations build exactly the tables the models describe, on SQLite and PostgreSQL."""

import json
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from service import db
from service.db import Base


@pytest.mark.parametrize("store", ["sqlite_env", "pg_env"])
def test_migrated_schema_matches_the_models(store: str, request: pytest.FixtureRequest) -> None:
    request.getfixturevalue(store)
    with db.get_engine().connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_stored_policies_say_identity_attack_after_the_rename(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import create_engine, text

    from service.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0005")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO sites (id, name, key_hash, key_prefix, approve_below, reject_at,"
                " allowed_origins, created_at, mode, label_thresholds, hold_words, reject_words)"
                " VALUES ('s1', 'old-paper', 'h', 'cm_x', 0.5, 0.9, '[]', '2026-01-01', 'post',"
                " '{\"hate\": {\"approve_below\": 0.3, \"reject_at\": 0.8}}', '[]', '[]')"
            )
        )
    command.upgrade(alembic_config(url), "head")
    with engine.connect() as connection:
        thresholds, languages, other = connection.execute(
            text("SELECT label_thresholds, languages, other_languages FROM sites")
        ).one()
    assert json.loads(thresholds) == {"identity_attack": {"approve_below": 0.3, "reject_at": 0.8}}
    assert json.loads(languages) == [] and other == "hold"
    command.downgrade(alembic_config(url), "0005")
    with engine.connect() as connection:
        (thresholds,) = connection.execute(text("SELECT label_thresholds FROM sites")).one()
    assert json.loads(thresholds) == {"hate": {"approve_below": 0.3, "reject_at": 0.8}}
    engine.dispose()
