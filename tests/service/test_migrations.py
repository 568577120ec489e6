"""The migrations build exactly the tables the models describe, on SQLite and PostgreSQL."""

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
