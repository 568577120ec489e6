"""The moderator UI on a 390 px phone, in real Chromium: nothing wider than the screen, text
readable against what is really behind it, status words whole, the listed phrase marked (with
a legend), the comment's text in the audit log, undo of the last action, a favicon.

Before: the queue was 676 px wide on a 390 px screen, the nav's white links spilled onto the
light page, buttons ran off the side, "approved" broke as "approve/d" in the audit table."""

import os
from datetime import timedelta
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session, sessionmaker

from service.db import utcnow
from service.tables import AuditEvent, Comment, CommentStatus
from tests.conftest import make_moderator, make_site

PASSWORD = "correct horse battery"
PHONE = {"width": 390, "height": 844}
# Screenshots for the closing note (not committed); the artifacts folder otherwise.
SHOTS = (
    Path(os.environ.get("MODERATION_SCREENSHOTS", ""))
    if os.environ.get("MODERATION_SCREENSHOTS")
    else None
)

HELD_BY_WORD = "Another ferry   SCAM from the council, and the timetable is a joke."
HELD_BY_SCORE = "Whoever planned these sailings is an utter fool and should resign."
PUBLISHED = "Good to see the island served every day at last; thanks for the clear report."


def _comment(
    session: Session, site_id: str, body: str, status: CommentStatus, reason: str, age: int
) -> Comment:
    created = utcnow() - timedelta(minutes=age)
    scores = {"toxicity": 0.62, "hate": 0.04, "insult": 0.71, "profanity": 0.08}
    comment = Comment(
        site_id=site_id,
        article_id="harbour-ferry",
        author_name="Reader",
        body=body,
        status=status,
        scores=scores,
        model_version="test-model",
        decision_reason=reason,
        created_at=created,
        decided_at=created,
    )
    session.add(comment)
    session.flush()
    session.add(
        AuditEvent(
            comment_id=comment.id,
            actor="model:test-model",
            from_status="pending",
            to_status=status,
            reason=reason,
            scores=scores,
            created_at=created,
        )
    )
    return comment


# Contrast of an element's text against the colour actually behind it: the first ancestor
# with an opaque background, so a white link that spills out of the dark header onto the
# light page is caught. WCAG's relative luminance and ratio.
CONTRAST_JS = """
(el) => {
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const box = el.getBoundingClientRect();
  const x = Math.min(Math.max(box.left + box.width / 2, 0), window.innerWidth - 1);
  const y = Math.min(Math.max(box.top + box.height / 2, 0), window.innerHeight - 1);
  let under = document.elementsFromPoint(x, y);
  let bg = [255, 255, 255];
  for (const node of under) {
    const c = parse(getComputedStyle(node).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) { bg = c.slice(0, 3); break; }
  }
  const fg = parse(getComputedStyle(el).color).slice(0, 3);
  const [a, b] = [lum(fg), lum(bg)].sort((p, q) => q - p);
  return (a + 0.05) / (b + 0.05);
}
"""


def _fits(page: Page, what: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    widest = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter((el) => el.getBoundingClientRect().right > 391)
            .slice(-3)
            .map((el) => `${el.tagName}.${el.className} ${el.textContent.slice(0, 40)}`)"""
    )
    assert width <= PHONE["width"], (
        f"{what}: the page is {width} px wide on a 390 px screen; too wide: {widest}"
    )
    spilled = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter((el) => el.getClientRects().length
                            && getComputedStyle(el).visibility !== 'hidden')
            .filter((el) => { const r = el.getBoundingClientRect();
                              return r.width > 0
                                     && (r.right > window.innerWidth + 0.5 || r.left < -0.5); })
            .map((el) => el.tagName + '.' + el.className + ': '
                         + (el.textContent || '').trim().slice(0, 30))"""
    )
    assert not spilled, f"{what}: elements past the screen's edge: {spilled[:5]}"


def _readable(page: Page, selector: str, what: str) -> None:
    elements = page.locator(selector)
    assert elements.count() > 0, f"{what}: nothing matches {selector}"
    for index in range(elements.count()):
        element = elements.nth(index)
        if not element.is_visible():
            continue
        element.scroll_into_view_if_needed()
        ratio = element.evaluate(CONTRAST_JS)
        text = element.inner_text()[:30]
        assert ratio >= 4.5, f"{what}: {selector} {text!r} has contrast {ratio:.2f} (< 4.5)"


def _shot(page: Page, artifacts: Path, name: str) -> None:
    for folder in (artifacts, SHOTS):
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(folder / name), full_page=True)


def test_the_moderator_pages_fit_a_phone(
    api_server: str, sessions: sessionmaker[Session], chromium: Browser, artifacts: Path
) -> None:
    base = api_server
    with sessions() as session:
        site, _ = make_site(session, allowed_origins=[base])
        site.hold_words = ["ferry scam"]
        session.commit()
        by_word = _comment(
            session, site.id, HELD_BY_WORD, CommentStatus.HELD, "always-hold word 'ferry scam'", 9
        )
        by_score = _comment(
            session,
            site.id,
            HELD_BY_SCORE,
            CommentStatus.HELD,
            "insult 0.71 between approve 0.50 and reject 0.90 thresholds",
            8,
        )
        _comment(session, site.id, PUBLISHED, CommentStatus.APPROVED, "all scores low", 7)
        session.commit()
        word_id, score_id = by_word.id, by_score.id
        username, _ = make_moderator(session, admin=True, password=PASSWORD)

    context = chromium.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    page.goto(f"{base}/moderate")
    _fits(page, "sign-in page")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Review queue")

    _fits(page, "queue")
    _readable(page, ".top a, .top .who, .top button", "queue header")
    _readable(page, ".item button", "queue buttons")
    _readable(page, ".item .body mark", "highlights")
    # The phrase on the hold list is marked, as written (case and spacing kept), and the
    # legend says what each colour means.
    word_item = page.locator(f'.item[data-id="{word_id}"]')
    expect(word_item.locator("mark.word")).to_have_text("ferry   SCAM")
    legend = page.locator(".legend")
    expect(legend).to_be_visible()
    for kind in ("word", "strong", "weak"):
        expect(legend.locator(f"mark.{kind}")).to_have_count(1)
    _shot(page, artifacts, "phone-1-queue.png")

    # Undo the last action: the approved comment comes back to the queue, held as before.
    score_item = page.locator(f'.item[data-id="{score_id}"]')
    score_item.locator("button.approve").click()
    expect(page.locator("#toast")).to_contain_text("Approved")
    undo = page.locator("#undo button")
    expect(undo).to_be_visible()
    _readable(page, "#undo button", "undo button")
    _fits(page, "queue with the undo bar")
    _shot(page, artifacts, "phone-2-undo.png")
    with page.expect_navigation():  # undone, the page reloads to show where it now is
        undo.click()
    expect(page.locator("#toast")).to_contain_text("Undone")
    expect(page.locator(f'.item[data-id="{score_id}"] .reason')).to_have_text(
        "insult 0.71 between approve 0.50 and reject 0.90 thresholds"
    )
    expect(page.locator(f'.item[data-id="{score_id}"]')).to_have_attribute("data-status", "held")

    page.goto(f"{base}/moderate/audit")
    _fits(page, "audit log")
    _readable(page, "#audit td, #audit th", "audit table")
    # The comment's own words, not only its id or article.
    expect(page.locator("#audit tbody tr", has_text=HELD_BY_WORD[:30]).first).to_be_visible()
    for cell in page.locator("#audit td.to, #audit td.from").all():
        lines = cell.evaluate(
            """(el) => { const r = document.createRange(); r.selectNodeContents(el);
                         const tops = [...r.getClientRects()].map((b) => Math.round(b.top));
                         return new Set(tops).size; }"""
        )
        assert lines == 1, f"the status word {cell.inner_text()!r} breaks over {lines} lines"
    _shot(page, artifacts, "phone-3-audit.png")

    page.goto(f"{base}/moderate/comments?status=approved")
    _fits(page, "published list")
    _readable(page, ".item button", "take-down buttons")
    page.goto(f"{base}/moderate/comments/{word_id}")
    _fits(page, "one comment and its history")
    _shot(page, artifacts, "phone-4-comment.png")
    page.goto(f"{base}/moderate/sites")
    _fits(page, "sites")
    page.goto(f"{base}/moderate/sites/{site.name}")
    _fits(page, "a site's policy")
    _shot(page, artifacts, "phone-5-site.png")
    page.goto(f"{base}/")
    _fits(page, "home page")
    _shot(page, artifacts, "phone-6-home.png")
    context.close()

    icon = httpx.get(f"{base}/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg")
    assert httpx.get(f"{base}/static/favicon.svg").content == icon.content
