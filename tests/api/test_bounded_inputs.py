"""Low items of the security review (issue 15 item 10): every integer a client can send is
bounded (422 invalid_value, never 500), duplicate JSON keys are refused, a moderator cannot
tell another site's comment from none, and the GDPR export comes in pages."""

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from service.app import create_app
from service.comments import NewComment, submit_comments
from service.tables import Comment
from tests.conftest import make_moderator, make_site

HUGE = 9223372036854775808  # 2**63: past every integer column


@pytest.fixture
def admin(sqlite_env: object, sessions: sessionmaker[Session]) -> TestClient:
    with sessions() as session:
        _, token = make_moderator(session, admin=True)
    client = TestClient(create_app(), raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def _integer_parameters(client: TestClient) -> list[tuple[str, str, dict]]:
    schema = client.get("/openapi.json").json()
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                kinds = [parameter["schema"], *parameter["schema"].get("anyOf", [])]
                integer = next((k for k in kinds if k.get("type") == "integer"), None)
                if integer is not None and parameter["in"] == "query":
                    found.append((method, path, {"name": parameter["name"], **integer}))
    return found


def test_every_integer_query_value_is_bounded(
    admin: TestClient, sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        _, site_key = make_site(session)
    parameters = _integer_parameters(admin)
    assert {p["name"] for _, _, p in parameters} >= {"limit", "offset", "before_id"}
    for method, path, parameter in parameters:
        assert "maximum" in parameter, f"{method} {path} {parameter['name']} has no maximum"
        url = path.replace("{article_id}", "a")
        params = {"site": "nowhere", parameter["name"]: str(HUGE)}
        # Site endpoints take the site's key; moderation ones the admin's token.
        key = {"Authorization": f"Bearer {site_key}"} if path.startswith("/v1/authors") else {}
        response = admin.request(method.upper(), url, params=params, headers=key)
        assert response.status_code == 422, (method, path, parameter["name"], response.text)
        assert response.json()["error"]["code"] == "invalid_value"


@pytest.mark.parametrize(
    "page",
    ["/moderate?offset={n}", "/moderate/comments?offset={n}", "/moderate/audit?before_id={n}"],
)
def test_the_moderator_pages_bound_theirs_too(admin: TestClient, page: str) -> None:
    response = admin.get(page.format(n=HUGE), follow_redirects=False)
    assert response.status_code == 422


def test_duplicate_json_keys_are_refused(
    admin: TestClient, sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        site, key = make_site(session, allowed_origins=["https://paper.example"])
        name = site.name
    doubled = b'{"article_id": "a", "author_name": "Ann", "body": "nice", "body": "other"}'
    for path, headers in (
        ("/v1/comments", {"Authorization": f"Bearer {key}"}),
        (f"/v1/sites/{name}/form-comments", {"Origin": "https://paper.example"}),
    ):
        response = admin.post(
            path, content=doubled, headers={**headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "duplicate_json_key"
        assert "'body'" in response.json()["error"]["message"]
    nested = b'{"label_thresholds": {"hate": {"approve_below": 0.1, "approve_below": 0.9}}}'
    response = admin.patch(
        f"/v1/admin/sites/{name}/policy",
        content=nested,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "duplicate_json_key"


def test_another_sites_comment_is_not_found_like_none(
    sqlite_env: object, sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        mine, _ = make_site(session)
        theirs, _ = make_site(session)
        _, token = make_moderator(session, sites=[mine])
        comment = Comment(
            site_id=theirs.id, article_id="a", author_name="R", body="x", status="held"
        )
        session.add(comment)
        session.commit()
        other_id = comment.id
    client = TestClient(create_app())
    client.headers["Authorization"] = f"Bearer {token}"
    for comment_id in (other_id, str(uuid.uuid4())):
        for response in (
            client.get(f"/v1/moderation/comments/{comment_id}"),
            client.post(f"/v1/moderation/comments/{comment_id}/approve", json={}),
            client.get("/v1/moderation/audit", params={"comment_id": comment_id}),
        ):
            assert response.status_code == 404, response.text
            assert response.json()["error"]["code"] == "comment_not_found"
    bulk = client.post("/v1/moderation/bulk", json={"action": "approve", "comment_ids": [other_id]})
    assert bulk.json()["failed"] == {other_id: "comment_not_found"}


def test_the_gdpr_export_comes_in_pages(
    sqlite_env: object, sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        site, key = make_site(session)
        outcomes = submit_comments(
            session=session,
            items=[
                (
                    site.id,
                    NewComment(article_id="a", author_name="Ann", body=f"Note {n}", author_id="r1"),
                )
                for n in range(5)
            ],
        )
        session.commit()
    client = TestClient(create_app())
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"author_id": "r1", "limit": "2", **({"cursor": cursor} if cursor else {})}
        page = client.get(
            "/v1/authors/comments", params=params, headers={"Authorization": f"Bearer {key}"}
        ).json()
        pages += 1
        assert len(page["comments"]) <= 2
        seen += [c["id"] for c in page["comments"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and seen == [o.id for o in outcomes]  # type: ignore[union-attr]
