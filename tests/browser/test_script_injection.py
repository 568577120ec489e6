"""Stored comments and names holding markup are shown as text on the article page and in the
moderator UI, and no script of theirs runs. Comments are plain text and the API accepts them as
written; the payloads are written straight into the store, as any path might have left them."""

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session, sessionmaker

from service.tables import Comment, CommentStatus
from tests.conftest import make_moderator, make_site

PASSWORD = "correct horse battery"
ARTICLE = "harbour-ferry"
# Each payload, if it ever ran, would set window.__xss or open a dialog.
PAYLOADS = [
    "<script>window.__xss = 1; alert(1)</script>",
    '<img src=x onerror="window.__xss = 2; alert(2)">',
    '<svg onload="window.__xss = 3"><circle r=5 /></svg>',
    '<a href="javascript:window.__xss = 4">click me</a>',
    "javascript:window.__xss = 5",
    '" onmouseover="window.__xss = 6" x="',
    "' onfocus='window.__xss = 7' autofocus '",
    '</textarea></p><iframe srcdoc="<script>parent.__xss = 8</script>"></iframe>',
    "{{ 7 * 7 }} ${7*7} <!-- comment --> &lt;b&gt;",
]


def _arm(page: Page, dialogs: list[str]) -> None:
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))


def _assert_inert(page: Page, dialogs: list[str], container: str) -> None:
    # Fire what an attribute-breaking payload would wait for, on every element.
    page.evaluate(
        """selector => document.querySelectorAll(selector).forEach(element => {
            for (const type of ["mouseover", "mouseenter", "focus", "load", "error"]) {
                element.dispatchEvent(new Event(type, { bubbles: true }));
            }
        })""",
        f"{container} *",
    )
    assert page.evaluate("window.__xss") is None
    assert dialogs == []
    injected = page.locator(
        f"{container} script, {container} img, {container} svg, {container} iframe, "
        f"{container} a[href^='javascript']"
    )
    assert injected.count() == 0


@pytest.fixture
def stored(pg_env: dict[str, str], sessions: sessionmaker[Session]) -> tuple[str, str]:
    with sessions() as session:
        site, _ = make_site(session)
        for index, payload in enumerate(PAYLOADS):
            for status in (CommentStatus.APPROVED, CommentStatus.HELD):
                session.add(
                    Comment(
                        site_id=site.id,
                        article_id=ARTICLE,
                        author_name=f"{payload[:90]}",
                        body=f"{payload} #{index}",
                        status=status,
                        scores={"toxicity": 0.6, "hate": 0.1, "insult": 0.3, "profanity": 0.0},
                        model_version="test",
                        decision_reason=f"held: {payload[:200]}",
                    )
                )
        session.commit()
        username, _ = make_moderator(session, sites=[site], password=PASSWORD)
        return site.name, username


def test_article_page_shows_payloads_as_text(
    api_server: str, stored: tuple[str, str], chromium: Browser, artifacts: Path
) -> None:
    site_name, _ = stored
    page = chromium.new_page(viewport={"width": 1100, "height": 1400})
    dialogs: list[str] = []
    _arm(page, dialogs)
    page.goto(f"{api_server}/articles/{ARTICLE}?site={site_name}")
    texts = page.locator(".cm-list .cm-text")
    expect(texts).to_have_count(len(PAYLOADS))
    shown = set(texts.all_text_contents())
    assert shown == {f"{payload} #{index}" for index, payload in enumerate(PAYLOADS)}
    authors = set(page.locator(".cm-list .cm-author").all_text_contents())
    assert authors == {payload[:90] for payload in PAYLOADS}
    _assert_inert(page, dialogs, "#moderation-comments")
    page.screenshot(path=str(artifacts / "article-with-payloads.png"), full_page=True)
    page.close()


def test_moderator_ui_shows_payloads_as_text(
    api_server: str, stored: tuple[str, str], chromium: Browser, artifacts: Path
) -> None:
    _, username = stored
    context = chromium.new_context(viewport={"width": 1280, "height": 1400})
    page = context.new_page()
    dialogs: list[str] = []
    _arm(page, dialogs)
    page.goto(f"{api_server}/moderate/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    bodies = page.locator(".item .body")
    expect(bodies).to_have_count(len(PAYLOADS))
    assert set(bodies.all_text_contents()) == {
        f"{payload} #{index}" for index, payload in enumerate(PAYLOADS)
    }
    _assert_inert(page, dialogs, "#items")
    page.screenshot(path=str(artifacts / "queue-with-payloads.png"), full_page=True)
    page.goto(f"{api_server}/moderate/comments?status=approved")
    expect(page.locator(".item .body")).to_have_count(len(PAYLOADS))
    _assert_inert(page, dialogs, "#items")
    first = page.locator(".item .open").first
    first.click()
    expect(page.locator("h1")).to_have_text("Comment")
    _assert_inert(page, dialogs, "main")
    context.close()


def test_pages_carry_a_strict_content_security_policy(
    api_server: str, stored: tuple[str, str]
) -> None:
    import httpx

    site_name, _ = stored
    for path in (f"/articles/{ARTICLE}?site={site_name}", "/moderate/login"):
        policy = httpx.get(api_server + path).headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
