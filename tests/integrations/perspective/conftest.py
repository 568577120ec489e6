"""The API in-process on the real PostgreSQL store and Redis, with one site and its key."""

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.db import session_scope
from tests.conftest import make_site


@dataclass(frozen=True)
class SiteUnderTest:
    id: str
    name: str
    key: str


@pytest.fixture
def client(pg_env: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def site(client: TestClient) -> SiteUnderTest:
    with session_scope() as session:
        row, key = make_site(session)
        return SiteUnderTest(id=row.id, name=row.name, key=key)
