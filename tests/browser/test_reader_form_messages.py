"""The reader's form: text that looks like markup is posted and shown as written; a refusal is
told in readable words, styled as an error (issue 15 item 16)."""

from pathlib import Path

from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import make_site


def test_markup_like_text_is_accepted_and_refusals_read_well(
    api_server: str, chromium: Browser, sessions: sessionmaker[Session], artifacts: Path
) -> None:
    with sessions() as session:
        site, _ = make_site(session, allowed_origins=[api_server])
        name = site.name
    page = chromium.new_page()
    page.goto(f"{api_server}/articles/harbour-ferry?site={name}")
    status = page.locator(".cm-status")
    page.fill(".cm-name", "Ann")
    page.fill(".cm-body", "if x<y and y>z then <i>surely</i> x<z")
    page.click(".cm-submit")
    expect(status).to_have_text("Thank you. Your comment is awaiting moderation.")
    expect(page.locator(".cm-pending .cm-text")).to_have_text(
        "if x<y and y>z then <i>surely</i> x<z"
    )
    assert page.locator(".cm-pending i").count() == 0, "shown as text, never as HTML"
    page.fill(".cm-body", "you i\u200bdiot")
    page.click(".cm-submit")
    expect(status).to_have_text(
        "Your comment contains a hidden or control character we cannot accept; please retype it."
    )
    expect(status).to_have_class("cm-status cm-error")
    assert status.get_attribute("role") == "alert"
    color = page.evaluate("getComputedStyle(document.querySelector('.cm-status')).color")
    assert color == "rgb(143, 20, 20)"
    page.screenshot(path=str(artifacts / "form-error.png"))
    page.close()
