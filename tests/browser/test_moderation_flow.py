"""A reader posts from the article page, a moderator works the queue with the keyboard, and the
reader sees the result: real API and worker processes, real PostgreSQL and Redis, real Chromium."""

from pathlib import Path

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.policy import ATTRIBUTES
from service.tables import Comment
from tests.conftest import Process, make_moderator, make_site, wait_until

PASSWORD = "correct horse battery"
ARTICLE = "harbour-ferry"


def _held(sessions: sessionmaker[Session], body: str) -> str | None:
    with sessions() as session:
        comment = session.scalar(select(Comment).where(Comment.body == body))
        return comment.id if comment is not None and comment.status == "held" else None


def _sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/moderate")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Review queue")


def _select_with_keyboard(page: Page, comment_id: str) -> None:
    for _ in range(20):
        if page.locator(f'.item.current[data-id="{comment_id}"]').count():
            return
        page.keyboard.press("j")
    for _ in range(20):
        if page.locator(f'.item.current[data-id="{comment_id}"]').count():
            return
        page.keyboard.press("k")
    raise AssertionError("j/k never reached the comment")


def test_post_review_and_publish(
    api_server: str,
    worker_process: Process,
    sessions: sessionmaker[Session],
    chromium: Browser,
    artifacts: Path,
) -> None:
    base = api_server
    with sessions() as session:
        site, _ = make_site(session, allowed_origins=[base])
        # "daft" is on the site's always-hold list, so both comments wait for a human.
        site.hold_words = ["daft"]
        session.commit()
        username, _ = make_moderator(session, sites=[site], password=PASSWORD)
        site_name = site.name
    to_approve = "Calling the winter ferry dumb or daft misses the point: it is overdue."
    to_reject = "Buy cheap daft ferry tickets at my shop, best prices in town!"

    reader = chromium.new_context(viewport={"width": 1100, "height": 1400})
    article = reader.new_page()
    article.goto(f"{base}/articles/{ARTICLE}?site={site_name}")
    expect(article.locator("h1")).to_contain_text("Harbour ferry")
    for body, name in ((to_approve, "Mira"), (to_reject, "Shopkeeper")):
        article.fill(".cm-body", body)
        article.fill(".cm-name", name)
        article.click(".cm-submit")
        expect(article.locator(".cm-status")).to_contain_text("awaiting moderation")
    expect(article.locator(".cm-pending")).to_have_count(2)
    article.screenshot(path=str(artifacts / "1-article-awaiting-moderation.png"), full_page=True)

    wait_until(
        lambda: _held(sessions, to_approve) is not None and _held(sessions, to_reject) is not None,
        timeout=60,
        what="the worker to hold both comments",
        process=worker_process,
    )
    approve_id, reject_id = _held(sessions, to_approve), _held(sessions, to_reject)
    assert approve_id and reject_id

    moderator = chromium.new_context(viewport={"width": 1280, "height": 1100})
    queue = moderator.new_page()
    _sign_in(queue, base, username)
    item = queue.locator(f'.item[data-id="{approve_id}"]')
    expect(item.locator(".body")).to_have_text(to_approve)
    expect(item.locator(".author")).to_have_text("Mira")
    expect(item.locator(".reason")).to_contain_text("always-hold word 'daft'")
    # The classifier's explanation marks the words that drove the score.
    assert item.locator(".body mark").count() >= 1
    expect(item.locator(".scores dt")).to_have_count(len(ATTRIBUTES))
    queue.screenshot(path=str(artifacts / "2-queue.png"), full_page=True)

    _select_with_keyboard(queue, approve_id)
    queue.keyboard.press("a")
    expect(queue.locator("#toast")).to_contain_text("Approved")
    expect(queue.locator(f'.item[data-id="{approve_id}"]')).to_have_count(0)

    _select_with_keyboard(queue, reject_id)
    rejected = queue.locator(f'.item[data-id="{reject_id}"]')
    queue.keyboard.press("r")  # no reason yet: the reason picker gets the focus instead
    expect(queue.locator("#toast")).to_contain_text("Pick a reason")
    rejected.locator(".reason-select").select_option("spam or advertising")
    rejected.locator(".reason-select").press("Enter")
    expect(queue.locator("#toast")).to_contain_text("Rejected")
    expect(queue.locator(".item")).to_have_count(0)
    queue.screenshot(path=str(artifacts / "3-queue-cleared.png"), full_page=True)

    queue.goto(f"{base}/moderate/audit?actor=moderator")
    row = queue.locator("#audit tbody tr", has_text="spam or advertising")
    expect(row).to_have_count(1)
    expect(row.locator(".actor")).to_have_text(f"moderator:{username}")
    expect(row.locator(".to")).to_have_text("rejected")
    queue.screenshot(path=str(artifacts / "4-audit-log.png"), full_page=True)
    queue.goto(f"{base}/moderate/comments/{reject_id}")
    history = queue.locator("#audit tbody tr")
    expect(history).to_have_count(2)  # the model's hold, then the moderator's rejection
    expect(history.first.locator(".reason")).to_have_text("spam or advertising")
    expect(history.nth(1).locator(".actor")).to_contain_text("model:")

    # The reader's page notices the approval on its own and shows the comment.
    expect(article.locator(".cm-list .cm-text")).to_have_text([to_approve], timeout=30_000)
    expect(article.locator(".cm-status")).to_contain_text("not published")
    article.reload()
    expect(article.locator(".cm-list .cm-text")).to_have_text([to_approve])
    expect(article.locator(".cm-list")).not_to_contain_text("cheap")
    article.screenshot(path=str(artifacts / "5-article-published.png"), full_page=True)
    reader.close()
    moderator.close()
