"""The migrations build exactly the tables the models describe, on SQLite and PostgreSQL."""

import json
from collections.abc import Iterator
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


@pytest.fixture
def pg_scratch_url() -> Iterator[str]:
    """An empty PostgreSQL database, migrated by the test itself."""
    import uuid

    from sqlalchemy import create_engine, text

    from tests.conftest import PG_ADMIN_URL

    name = f"moderation_migration_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_two_shadow_versions_leave_the_newest_in_shadow(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # Before 0011 nothing stopped `model register --status shadow` from leaving several rows
    # in shadow; 0011's one-shadow index must still build on such a store.
    from alembic import command
    from sqlalchemy import create_engine, text

    from service.migrate import alembic_config

    if store == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        url = request.getfixturevalue("pg_scratch_url")
    command.upgrade(alembic_config(url), "0010")
    engine = create_engine(url)
    with engine.begin() as connection:
        for version, status in [("m-1", "live"), ("m-2", "shadow"), ("m-3", "shadow")]:
            connection.execute(
                text(
                    "INSERT INTO model_versions (version, status, created_at, created_by,"
                    " training_data, metrics, card, file, sha256) VALUES (:version, :status,"
                    " '2026-01-01', 'cli', '{}', '{}', '{}', :file, 'x')"
                ),
                {"version": version, "status": status, "file": b"model"},
            )
    command.upgrade(alembic_config(url), "head")
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT version, status FROM model_versions ORDER BY id")
        ).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [
        ("m-1", "live"),
        ("m-2", "candidate"),
        ("m-3", "shadow"),
    ]
