"""Sessions end when they should: sign-out, a password change and deactivation end every
copy of a moderator's cookie; the CSRF token cannot be read from the cookie; the CLI can
list, deactivate and re-password moderators."""

import base64
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from service.app import create_app
from service.cli import app as cli
from service.moderation.accounts import deactivate, get_moderator_by_name, set_password
from tests.conftest import make_moderator, make_site

PASSWORD = "correct horse battery"


def _signed_in(username: str) -> tuple[TestClient, str]:
    """A client signed in as username, and the page's CSRF token."""
    client = TestClient(create_app())
    csrf = client.get("/moderate/login").text.split('name="csrf" value="')[1].split('"')[0]
    page = client.post(
        "/moderate/login", data={"username": username, "password": PASSWORD, "csrf": csrf}
    )
    assert page.status_code == 200, page.text
    return client, page.text.split('name="csrf-token" content="')[1].split('"')[0]


def _copy(client: TestClient) -> TestClient:
    """Another client holding a copy of the session cookie (a stolen or shared cookie)."""
    other = TestClient(create_app())
    other.cookies.set("moderation_session", client.cookies["moderation_session"])
    return other


def test_signing_out_ends_every_copy_of_the_cookie(
    pg_env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        username, _ = make_moderator(session, password=PASSWORD)
    client, csrf = _signed_in(username)
    stolen = _copy(client)
    assert stolen.get("/v1/moderation/me").status_code == 200
    out = client.post("/moderate/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert stolen.get("/v1/moderation/me").status_code == 401, "a copy outlived the sign-out"
    # Signing in again works, with a new session.
    again, _ = _signed_in(username)
    assert again.get("/v1/moderation/me").status_code == 200


@pytest.mark.parametrize("change", ["password", "deactivate"])
def test_a_password_change_or_deactivation_ends_sessions(
    change: str, pg_env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        username, token = make_moderator(session, password=PASSWORD)
    client, _ = _signed_in(username)
    with sessions() as session:
        moderator = get_moderator_by_name(session=session, username=username)
        if change == "password":
            set_password(session=session, moderator=moderator, password="a new long password")
        else:
            deactivate(session=session, moderator=moderator)
        session.commit()
    assert client.get("/v1/moderation/me").status_code == 401
    token_status = client.get(
        "/v1/moderation/me", headers={"Authorization": f"Bearer {token}"}
    ).status_code
    assert token_status == (200 if change == "password" else 401)


def test_the_csrf_token_is_not_in_the_cookie(
    pg_env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        username, _ = make_moderator(session, password=PASSWORD)
    client, csrf = _signed_in(username)
    # Starlette's cookie is base64(JSON).timestamp.signature: signed, readable by anyone.
    cookie = client.cookies["moderation_session"]
    readable = base64.b64decode(cookie.split(".")[0] + "==").decode()
    assert csrf not in readable
    assert csrf not in json.dumps(json.loads(readable))
    # The token still guards changes: wrong or missing is refused, the page's is accepted.
    assert client.post("/v1/moderation/tokens", json={"name": "x"}).status_code == 403
    made = client.post("/v1/moderation/tokens", json={"name": "x"}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201


def test_cli_lists_deactivates_and_resets_a_password(
    pg_env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        site, _ = make_site(session)
        username, _ = make_moderator(session, sites=[site], password=PASSWORD)
        site_name = site.name
    runner = CliRunner()
    listed = runner.invoke(cli, ["moderator", "list"])
    assert listed.exit_code == 0 and f"{username}\tmoderator\tactive\t{site_name}" in listed.output
    client, _ = _signed_in(username)
    changed = runner.invoke(
        cli, ["moderator", "password", username], input="another long one\nanother long one\n"
    )
    assert changed.exit_code == 0, changed.output
    assert client.get("/v1/moderation/me").status_code == 401
    gone = runner.invoke(cli, ["moderator", "deactivate", username])
    assert gone.exit_code == 0
    assert f"{username}\tmoderator\tdeactivated" in runner.invoke(cli, ["moderator", "list"]).output
    missing = runner.invoke(cli, ["moderator", "deactivate", "nobody-at-all"])
    assert missing.exit_code == 1 and "no moderator named" in missing.output
