"""Schema migrations through Alembic, the same on SQLite and PostgreSQL; then the shipped
model is registered as a version (service.model_registry.store.register_shipped_model)."""

import importlib.util
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from service.config import get_settings

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    url = url or get_settings().database_url
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str | None = None) -> None:
    url = url or get_settings().database_url
    database = make_url(url).database
    if url.startswith("sqlite") and database:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), "head")
    register_shipped_model(url)


def shipped_model_path() -> Path | None:
    """classifiers/models/toxicity.skops, found without importing scikit-learn (the
    classifier package is optional for the service)."""
    spec = importlib.util.find_spec("classifiers")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "models" / "toxicity.skops"


def register_shipped_model(url: str) -> None:
    from sqlalchemy.orm import Session

    from service.db import make_engine
    from service.model_registry import store

    path = shipped_model_path()
    if path is None:
        return
    engine = make_engine(url)
    try:
        with Session(engine) as session, session.begin():
            store.register_shipped_model(session=session, path=path)
    finally:
        engine.dispose()
