"""Model registry fixtures: the real shipped model, re-saved under other version strings, and
a registry that starts (and is left) as a freshly migrated store has it."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete

from classifiers.persist import DEFAULT_MODEL_PATH, load_model, save_model
from service.db import session_scope
from service.migrate import register_shipped_model
from service.tables import ModelChange, ModelVersion


def _shipped_version() -> str:
    import json

    return str(json.loads(DEFAULT_MODEL_PATH.with_suffix(".json").read_text())["version"])


@pytest.fixture(scope="session")
def shipped_version() -> str:
    return _shipped_version()


@pytest.fixture(scope="session")
def model_copies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The shipped model saved again as versions "registry-test-b" and "registry-test-c"
    (same weights, another version string: what the registry sees as two models)."""
    folder = tmp_path_factory.mktemp("model-copies")
    copies = {}
    for version in ("registry-test-b", "registry-test-c"):
        model = load_model(DEFAULT_MODEL_PATH)
        model.version = version
        copies[version] = save_model(
            model, folder / f"{version}.skops", card={**model.card, "version": version}
        )
    return copies


def reset_registry(url: str) -> None:
    with session_scope() as session:
        session.execute(delete(ModelChange))
        session.execute(delete(ModelVersion))
    register_shipped_model(url)


@pytest.fixture
def registry(pg_env: dict[str, str]) -> Iterator[str]:
    """The test PostgreSQL with only the shipped model registered (live); put back that way
    afterwards, so other tests' workers find the store as a fresh migrate leaves it."""
    url = pg_env["DATABASE_URL"]
    reset_registry(url)
    yield url
    reset_registry(url)
