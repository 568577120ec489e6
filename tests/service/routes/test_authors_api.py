"""A reader's GDPR requests through their site: export, then erase, audited without the text."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.app import create_app
from service.db import session_scope
from service.tables import AuditEvent, Comment
from tests.conftest import make_site
from tests.factories import submission


@pytest.fixture
def client(pg_env: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def test_export_then_erase_by_author_id(client: TestClient) -> None:
    with session_scope() as session:
        _, key = make_site(session, name="gdpr-news")
        _, other_key = make_site(session, name="other-news")
    auth = {"Authorization": f"Bearer {key}"}
    mine = [
        client.post(
            "/v1/comments",
            json=submission(body=f"My view number {i}", author_id="reader-42", author_name="Kim"),
            headers=auth,
        ).json()["id"]
        for i in range(3)
    ]
    someone_else = client.post(
        "/v1/comments", json=submission(author_id="reader-7", author_name="Kim"), headers=auth
    ).json()["id"]
    elsewhere = client.post(
        "/v1/comments",
        json=submission(author_id="reader-42"),
        headers={"Authorization": f"Bearer {other_key}"},
    ).json()["id"]

    export = client.get("/v1/authors/comments", params={"author_id": "reader-42"}, headers=auth)
    assert export.status_code == 200
    exported = export.json()
    assert exported["site"] == "gdpr-news"
    assert [c["id"] for c in exported["comments"]] == mine
    assert exported["comments"][0]["body"] == "My view number 0"

    erased = client.delete("/v1/authors/comments", params={"author_id": "reader-42"}, headers=auth)
    assert erased.json() == {"erased": 3}
    again = client.delete("/v1/authors/comments", params={"author_id": "reader-42"}, headers=auth)
    assert again.json() == {"erased": 0}
    assert (
        client.get("/v1/authors/comments", params={"author_id": "reader-42"}, headers=auth).json()[
            "comments"
        ]
        == []
    )

    with session_scope() as session:
        rows = {c.id: c for c in session.scalars(select(Comment))}
        for comment_id in mine:
            assert rows[comment_id].status == "erased"
            assert rows[comment_id].body == "" and rows[comment_id].author_name == ""
            assert rows[comment_id].author_id is None
        assert rows[someone_else].body and rows[elsewhere].body
        events = session.scalars(select(AuditEvent).where(AuditEvent.comment_id.in_(mine))).all()
        assert len(events) == 3
        for event in events:
            assert event.to_status == "erased" and event.actor == "site:gdpr-news"
            assert "My view" not in (event.reason or "") and event.scores is None
    status = client.get(f"/v1/comments/{mine[0]}", headers=auth).json()
    assert status["status"] == "erased"


def test_erase_by_name_and_exactly_one_selector(client: TestClient) -> None:
    with session_scope() as session:
        _, key = make_site(session, name="names")
    auth = {"Authorization": f"Bearer {key}"}
    client.post("/v1/comments", json=submission(author_name="Jo Bloggs"), headers=auth)
    client.post(
        "/v1/comments", json=submission(author_name="Jo Bloggs", body="Again"), headers=auth
    )
    both = client.delete(
        "/v1/authors/comments", params={"author_id": "x", "author_name": "y"}, headers=auth
    )
    neither = client.delete("/v1/authors/comments", headers=auth)
    for response in (both, neither):
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "author_required"
    erased = client.delete(
        "/v1/authors/comments", params={"author_name": "Jo Bloggs"}, headers=auth
    )
    assert erased.json() == {"erased": 2}
    assert client.delete("/v1/authors/comments", params={"author_name": "x"}).status_code == 401


def test_erasure_by_name_stays_on_the_asking_site(client: TestClient) -> None:
    """Two sites each have a reader called "Ann": erasing Ann on one site leaves the other
    site's Ann, her comments and her export untouched (issue 15 item 22)."""
    with session_scope() as session:
        _, key = make_site(session)
        _, other_key = make_site(session)
    ids = {}
    for name, site_key in (("asking", key), ("other", other_key)):
        ids[name] = [
            client.post(
                "/v1/comments",
                json=submission(body=f"Ann's view {i}", author_name="Ann"),
                headers={"Authorization": f"Bearer {site_key}"},
            ).json()["id"]
            for i in range(2)
        ]
    erased = client.delete(
        "/v1/authors/comments",
        params={"author_name": "Ann"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert erased.json() == {"erased": 2}
    with session_scope() as session:
        rows = {c.id: c for c in session.scalars(select(Comment))}
    assert {rows[i].status for i in ids["asking"]} == {"erased"}
    for comment_id in ids["other"]:
        assert rows[comment_id].status != "erased"
        assert rows[comment_id].author_name == "Ann" and rows[comment_id].body.startswith("Ann's")
    export = client.get(
        "/v1/authors/comments",
        params={"author_name": "Ann"},
        headers={"Authorization": f"Bearer {other_key}"},
    ).json()
    assert [c["id"] for c in export["comments"]] == ids["other"]
