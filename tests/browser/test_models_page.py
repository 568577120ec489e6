"""An admin promotes a model version from the Models page in real Chromium (a real API process
on real PostgreSQL; the candidate is the shipped model re-saved under another version)."""

from pathlib import Path

from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session, sessionmaker

from service.db import session_scope
from service.model_registry import store
from tests.browser.test_moderation_flow import PASSWORD, _sign_in
from tests.conftest import make_moderator

COPY = "registry-test-b"


def test_an_admin_promotes_a_copy_from_the_models_page(
    registry: str,
    api_server: str,
    shipped_version: str,
    model_copies: dict[str, Path],
    sessions: sessionmaker[Session],
    chromium: Browser,
    artifacts: Path,
) -> None:
    with session_scope() as session:
        store.register_version(session=session, path=model_copies[COPY], created_by="cli:test")
    with sessions() as session:
        username, _ = make_moderator(session, admin=True, password=PASSWORD)

    context = chromium.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    _sign_in(page, api_server, username)
    page.click("nav >> text=Models")
    expect(page.locator("h1")).to_have_text("Models")
    row = page.locator("tr", has=page.locator(f"code:text-is('{COPY}')"))
    expect(row.locator(".status")).to_have_text("candidate")
    row.get_by_role("button", name="Promote").click()  # the gate runs: a few seconds

    expect(page.locator("p.ok")).to_contain_text(
        f"{COPY} is live (was {shipped_version}", timeout=30_000
    )
    expect(row.locator(".status")).to_have_text("live")
    old = page.locator("tr", has=page.locator(f"code:text-is('{shipped_version}')"))
    expect(old.locator(".status")).to_have_text("retired")
    page.screenshot(path=str(artifacts / "models-page-promoted.png"), full_page=True)
    context.close()
