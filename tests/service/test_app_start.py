"""What the API does once when it starts serving."""

import gc
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service.app import create_app


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_start_up_objects_are_left_out_of_garbage_collection(
    unfrozen: None, pg_env: dict[str, str]
) -> None:
    app = create_app()
    assert gc.get_freeze_count() == 0
    with TestClient(app) as client:
        # The app and its routes were built before serving began: frozen, not walked again.
        assert gc.get_freeze_count() > 10_000
        assert client.get("/healthz").status_code == 200
