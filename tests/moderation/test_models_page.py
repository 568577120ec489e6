"""The admin page of model versions (/moderate/models): the CLI's shadow, promote (through the
quality gate) and rollback as CSRF-protected forms, on real PostgreSQL with the shipped model
live and re-saved copies of it."""

import html
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from service.app import create_app
from service.db import session_scope
from service.model_registry import store
from service.tables import ModelChange
from tests.conftest import make_moderator, make_site
from tests.model_registry.fixtures import PLANTED_TERM, PLANTED_VERSION
from tests.moderation.test_sessions import _signed_in

COPY = "registry-test-b"


def _register(path: Path) -> None:
    with session_scope() as session:
        store.register_version(session=session, path=path, created_by="cli:test")


def _statuses() -> dict[str, str]:
    with session_scope() as session:
        return {row.version: row.status for row in store.list_versions(session=session)}


def _changes() -> list[ModelChange]:
    with session_scope() as session:
        rows = list(store.list_changes(session=session))
        session.expunge_all()
        return rows


def _admin(sessions: sessionmaker[Session]) -> tuple[TestClient, str, str]:
    with sessions() as session:
        username, _ = make_moderator(session, admin=True)
    client, csrf = _signed_in(username)
    return client, csrf, username


def _post(client: TestClient, path: str, **form: str) -> tuple[int, str]:
    """POST a form and follow the 303 back to the page: (the POST's status, the final page)."""
    answer = client.post(f"/moderate/models/{path}", data=form, follow_redirects=False)
    if answer.status_code != 303:
        return answer.status_code, html.unescape(answer.text)
    assert answer.headers["location"] == "/moderate/models"
    return 303, html.unescape(client.get("/moderate/models").text)


def test_only_admins_see_the_models_page(
    registry: str, shipped_version: str, sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        site, _ = make_site(session)
        moderator, _ = make_moderator(session, sites=[site])
        site_name = site.name
    client, csrf = _signed_in(moderator)
    assert client.get("/moderate/models").status_code == 403
    refused = client.post("/moderate/models/rollback", data={"csrf": csrf})
    assert refused.status_code == 403 and "for admins" in refused.text
    assert _statuses() == {shipped_version: "live"}
    signed_out = TestClient(create_app())
    assert signed_out.get("/moderate/models", follow_redirects=False).status_code == 303

    admin, _, _ = _admin(sessions)
    page = admin.get("/moderate/models")
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    text = html.unescape(page.text)
    assert "style=" not in text and "<script>" not in text
    live_row = text.split(f"<code>{shipped_version}</code>")[1].split("</tr>")[0]
    assert ">live<" in live_row and "Roll back" in live_row and "Promote" not in live_row
    assert 'href="/moderate/models/compare"' in text
    assert f"moderation model train --from-decisions --site {site_name}" in text
    # The nav's Models link leads here.
    assert '<a href="/moderate/models" aria-current="page">Models</a>' in page.text


def test_shadow_promote_and_rollback_from_the_page(
    registry: str,
    shipped_version: str,
    model_copies: dict[str, Path],
    sessions: sessionmaker[Session],
) -> None:
    _register(model_copies[COPY])
    client, csrf, username = _admin(sessions)

    status, page = _post(client, "shadow", csrf=csrf, version=COPY)
    assert status == 303 and f"{COPY} is in shadow" in page
    assert _statuses() == {shipped_version: "live", COPY: "shadow"}
    change = _changes()[-1]
    assert (change.actor, change.action, change.to_version) == (
        f"moderator:{username}",
        "shadow",
        COPY,
    )
    # The message is shown once.
    assert f"{COPY} is in shadow" not in client.get("/moderate/models").text

    status, page = _post(client, "stop-shadow", csrf=csrf)
    assert status == 303 and f"{COPY} is no longer in shadow" in page
    assert _statuses()[COPY] == "candidate"

    # Same weights under another version: the gate finds no regression.
    status, page = _post(client, "promote", csrf=csrf, version=COPY)
    assert status == 303, page
    assert f"{COPY} is live (was {shipped_version}, now retired)" in page
    assert _statuses() == {shipped_version: "retired", COPY: "live"}
    assert (_changes()[-1].actor, _changes()[-1].action) == (f"moderator:{username}", "promote")

    status, page = _post(client, "rollback", csrf=csrf, reason="back to the shipped one")
    assert status == 303 and f"{shipped_version} is live again ({COPY} retired)" in page
    assert _statuses() == {shipped_version: "live", COPY: "retired"}
    change = _changes()[-1]
    assert (change.action, change.reason) == ("rollback", "back to the shipped one")
    # The audit log, newest first, with the reason.
    log = page.split("<h2>Changes</h2>")[1]
    assert log.index("back to the shipped one") < log.index("promote")


def test_the_gate_refuses_a_planted_bias_and_promote_anyway_needs_a_reason(
    registry: str,
    shipped_version: str,
    planted_bias_model: Path,
    sessions: sessionmaker[Session],
) -> None:
    _register(planted_bias_model)
    client, csrf, _ = _admin(sessions)
    before = len(_changes())

    status, page = _post(client, "promote", csrf=csrf, version=PLANTED_VERSION)
    assert status == 409
    assert f"{PLANTED_VERSION} regresses against the live {shipped_version}" in page
    assert f"regression: bias toxicity / {PLANTED_TERM}: neutral false-positive rate" in page
    assert "Promote anyway" in page and 'name="force"' in page
    assert _statuses() == {shipped_version: "live", PLANTED_VERSION: "candidate"}
    assert len(_changes()) == before

    for reason in ("", "   "):
        status, page = _post(
            client, "promote", csrf=csrf, version=PLANTED_VERSION, force="true", reason=reason
        )
        assert status == 422 and "needs a reason" in page and "Promote anyway" in page
    assert _statuses() == {shipped_version: "live", PLANTED_VERSION: "candidate"}

    status, page = _post(
        client, "promote", csrf=csrf, version=PLANTED_VERSION, force="true", reason="spam wave"
    )
    assert status == 303 and "regression(s) of the quality gate" in page
    assert _statuses() == {shipped_version: "retired", PLANTED_VERSION: "live"}
    reason = _changes()[-1].reason
    assert reason is not None and reason.startswith("spam wave (forced past the quality gate")


def test_mistakes_are_4xx_pages_and_csrf_is_required(
    registry: str,
    shipped_version: str,
    model_copies: dict[str, Path],
    sessions: sessionmaker[Session],
) -> None:
    _register(model_copies[COPY])
    client, csrf, _ = _admin(sessions)
    before = len(_changes())

    status, page = _post(client, "shadow", version=COPY)
    assert status == 403 and "missing CSRF token" in page
    status, page = _post(client, "promote", csrf="forged", version=COPY)
    assert status == 403 and "wrong CSRF token" in page
    status, page = _post(client, "shadow", csrf=csrf, version="nope")
    assert status == 404 and "no model version 'nope'" in page
    status, page = _post(client, "shadow", csrf=csrf, version=shipped_version)
    assert status == 409 and f"version {shipped_version!r} is live" in page
    status, page = _post(client, "stop-shadow", csrf=csrf)
    assert status == 409 and "no version is in shadow" in page
    status, page = _post(client, "rollback", csrf=csrf)
    assert status == 409 and "nothing to roll back to" in page
    status, page = _post(client, "promote", csrf=csrf, version=shipped_version)
    assert status == 409 and "is live already" in page
    assert _statuses() == {shipped_version: "live", COPY: "candidate"}
    assert len(_changes()) == before
