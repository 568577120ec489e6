"""The plugin on a real WordPress with the real service: readers post through the theme's
comment form in Chromium, the service's API and worker decide, its moderator UI and
WordPress's admin both moderate, and the service may be stopped while a reader posts.

Real parts only: Debian's WordPress on MariaDB, PHP's built-in server, our API and worker
processes on PostgreSQL and Redis, headless Chromium.
"""

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select

from service.db import session_scope
from service.policy import scores_with_aliases
from service.tables import AuditEvent, Comment
from tests.conftest import wait_until
from tests.integrations.wordpress.conftest import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    ServiceStack,
    WordPress,
    wire,
)

MODERATOR_PASSWORD = "correct horse battery"  # make_moderator's default


def _post_through_form(page: Page, wordpress: WordPress, body: str, name: str) -> dict[str, Any]:
    """A reader fills in the theme's comment form; the comment as WordPress stored it."""
    page.goto(wordpress.post_url)
    page.fill("#comment", body)
    page.fill("#author", name)
    page.fill("#email", f"{name.lower()}@readers.test")
    page.click("#submit")
    page.wait_for_load_state("load")
    found = wordpress.find(body)
    assert len(found) == 1, f"WordPress holds {len(found)} comments with that text"
    return found[0]


def _service_comment(service_id: str) -> Comment:
    with session_scope() as session:
        comment = session.get(Comment, service_id)
        assert comment is not None, "the service has no such comment"
        session.expunge(comment)
        return comment


def _sign_in_to_wordpress(browser: Browser, wordpress: WordPress) -> Page:
    admin = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    admin.goto(f"{wordpress.url}/wp-login.php")
    admin.fill("#user_login", ADMIN_USER)
    admin.fill("#user_pass", ADMIN_PASSWORD)
    admin.click("#wp-submit")
    expect(admin.locator("#wpadminbar")).to_be_visible()
    return admin


def _visitor_sees(browser: Browser, wordpress: WordPress) -> str:
    """The post's comment list as a visitor with no cookies sees it."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(wordpress.post_url)
    text = page.locator("#comments").inner_text() if page.locator("#comments").count() else ""
    context.close()
    return text


def _no_plugin_warnings(wordpress: WordPress) -> None:
    noise = [line for line in wordpress.debug_log().splitlines() if "comment-moderation" in line]
    assert not noise, "PHP notices from the plugin:\n" + "\n".join(noise[-20:])


def test_a_reader_comment_takes_the_services_decision(
    api: str,
    wordpress: WordPress,
    chromium: Browser,
    artifacts: Path,
) -> None:
    wired = wire(wordpress, api)
    reader = chromium.new_context(viewport={"width": 1100, "height": 1400}).new_page()

    benign = "The early crossing is the one commuters need; thanks for setting out the new times."
    published = _post_through_form(reader, wordpress, benign, "Mira")
    # Decided within the plugin's wait: published at once, no "awaiting moderation" note.
    assert published["approved"] == "1", published
    entry = reader.locator(f"#comment-{published['id']}")
    expect(entry.locator(".comment-content")).to_contain_text(benign)
    expect(entry).not_to_contain_text("awaiting moderation")
    reader.screenshot(path=str(artifacts / "wordpress-post-published-comment.png"), full_page=True)
    assert benign in _visitor_sees(chromium, wordpress)

    ours = _service_comment(published["meta"]["id"])
    assert ours.status == "approved"
    assert ours.body == benign
    assert ours.author_name == "Mira"
    assert ours.article_id == str(wordpress.post_id)
    assert ours.idempotency_key == published["meta"]["key"]
    assert ours.author_id is not None and ours.author_id.startswith("wp-email-")
    assert "mira" not in ours.author_id, "the service never learns the reader's address"
    assert published["meta"]["reason"] == ours.decision_reason
    # The plugin keeps what our API answers: today's names plus the deprecated "hate" alias.
    assert published["meta"]["scores"] == scores_with_aliases(ours.scores)
    assert published["meta"]["scores"]["hate"] == ours.scores["identity_attack"]

    abusive = "Shut up, you stupid worthless idiot. Nobody wants your disgusting garbage here."
    stopped = _post_through_form(reader, wordpress, abusive, "Troll")
    state = httpx.get(
        f"{api}/v1/comments/{stopped['meta']['id']}",
        headers={"Authorization": f"Bearer {wired.key}"},
    ).json()
    assert state["status"] in ("held", "rejected"), state
    assert stopped["approved"] == {"held": "0", "rejected": "spam"}[state["status"]]
    assert stopped["meta"]["status"] == state["status"]
    assert stopped["meta"]["reason"] == state["reason"]
    assert "idiot" not in _visitor_sees(chromium, wordpress)

    admin = _sign_in_to_wordpress(chromium, wordpress)
    listing = "spam" if state["status"] == "rejected" else "moderated"
    admin.goto(f"{wordpress.url}/wp-admin/edit-comments.php?comment_status={listing}")
    cell = admin.locator(f"#comment-{stopped['id']} td.column-cmod_moderation")
    expect(cell.locator(".cmod-reason")).to_have_text(state["reason"])
    expect(cell.locator(".cmod-score")).to_have_count(3)
    top = max(state["scores"], key=state["scores"].get)
    expect(cell.locator(".cmod-score").first).to_have_attribute("data-label", top)
    admin.screenshot(path=str(artifacts / f"wordpress-admin-{listing}-column.png"), full_page=True)
    admin.goto(f"{wordpress.url}/wp-admin/edit-comments.php?comment_status=all")
    expect(admin.locator(f"#comment-{published['id']} td.column-cmod_moderation")).to_contain_text(
        "Approved"
    )
    admin.screenshot(path=str(artifacts / "wordpress-admin-comments-column.png"), full_page=True)

    # The edit screen marks the words that drove the score, from the service's explanation.
    admin.goto(f"{wordpress.url}/wp-admin/comment.php?action=editcomment&c={stopped['id']}")
    box = admin.locator("#cmod-review")
    expect(box.locator(".cmod-reason")).to_have_text(state["reason"])
    marks = box.locator(".cmod-highlighted mark")
    assert marks.count() >= 1
    expect(box.locator(".cmod-highlighted")).to_have_text(abusive)
    for word in marks.all_inner_texts():
        assert word and word in abusive
    admin.screenshot(path=str(artifacts / "wordpress-edit-screen-highlights.png"), full_page=True)
    _no_plugin_warnings(wordpress)


def test_moderation_in_either_place_reaches_the_other(
    api: str,
    wordpress: WordPress,
    chromium: Browser,
    artifacts: Path,
) -> None:
    # "timetable" is on the site's always-hold list: each of these waits for a human.
    wired = wire(wordpress, api, hold_words=["timetable"])
    reader = chromium.new_context().new_page()
    ours_to_approve = "The timetable leaves night shift workers on the island until morning."
    theirs_to_approve = "Could the timetable keep one late crossing on Fridays at least?"
    theirs_to_spam = "Cheap timetable printing for your business, visit my shop today!"
    held = {}
    for body, name in (
        (ours_to_approve, "Ines"),
        (theirs_to_approve, "Tom"),
        (theirs_to_spam, "Ad"),
    ):
        held[body] = _post_through_form(reader, wordpress, body, name)
        expect(reader.locator(f"#comment-{held[body]['id']}")).to_contain_text(
            "Your comment is awaiting moderation."
        )
        assert held[body]["approved"] == "0"
        assert held[body]["meta"]["status"] == "held"
        assert held[body]["meta"]["reason"] == "always-hold word 'timetable'"
    assert "night shift" not in _visitor_sees(chromium, wordpress)
    admin = _sign_in_to_wordpress(chromium, wordpress)
    admin.goto(f"{wordpress.url}/wp-admin/edit-comments.php?comment_status=moderated")
    expect(admin.locator(".column-cmod_moderation .cmod-reason").first).to_have_text(
        "always-hold word 'timetable'"
    )
    admin.screenshot(path=str(artifacts / "wordpress-admin-pending-column.png"), full_page=True)

    # Our moderator approves one in our moderator UI; the webhook publishes it in WordPress.
    moderator = chromium.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    moderator.goto(f"{api}/moderate")
    moderator.fill("input[name=username]", wired.moderator)
    moderator.fill("input[name=password]", MODERATOR_PASSWORD)
    moderator.click("button[type=submit]")
    item = moderator.locator(f'.item[data-id="{held[ours_to_approve]["meta"]["id"]}"]')
    item.locator("button.approve").click()
    expect(moderator.locator("#toast")).to_contain_text("Approved")
    wait_until(
        lambda: wordpress.comment(held[ours_to_approve]["id"])["approved"] == "1",
        timeout=90,
        what="the webhook to publish the comment in WordPress",
    )
    assert ours_to_approve in _visitor_sees(chromium, wordpress)
    published = wordpress.comment(held[ours_to_approve]["id"])
    assert published["meta"]["reason"].startswith(f"moderator:{wired.moderator}: ")

    # A WordPress moderator approves one and marks one as spam in WordPress's admin.
    admin.goto(f"{wordpress.url}/wp-admin/edit-comments.php?comment_status=moderated")
    for body, action in ((theirs_to_approve, "approve"), (theirs_to_spam, "spam")):
        row = admin.locator(f"#comment-{held[body]['id']}")
        row.hover()
        row.locator(f".row-actions .{action} a").click()
        expect(row).to_be_hidden()
    decided = {
        theirs_to_approve: ("approved", "approved in WordPress by " + ADMIN_USER),
        theirs_to_spam: ("rejected", "marked as spam in WordPress by " + ADMIN_USER),
    }
    for body, (status, reason) in decided.items():
        service_id = held[body]["meta"]["id"]
        wait_until(
            lambda service_id=service_id, status=status: (
                _service_comment(service_id).status == status
            ),
            timeout=60,
            what=f"the service to record the WordPress moderator's {status}",
        )
        with session_scope() as session:
            event = session.scalars(
                select(AuditEvent)
                .where(AuditEvent.comment_id == service_id)
                .order_by(AuditEvent.id.desc())
            ).first()
            assert event is not None
            assert event.actor == f"moderator:{wired.moderator}"
            assert (event.from_status, event.to_status) == ("held", status)
            assert event.reason == reason
        assert "wanted" not in wordpress.comment(held[body]["id"])["meta"]
    # The echo of those decisions (the service's webhook) changes nothing in WordPress.
    assert wordpress.comment(held[theirs_to_approve]["id"])["approved"] == "1"
    assert wordpress.comment(held[theirs_to_spam]["id"])["approved"] == "spam"
    admin.goto(f"{wordpress.url}/wp-admin/edit-comments.php?comment_status=all")
    expect(admin.locator("td.column-cmod_moderation .cmod-status").first).to_be_visible()
    admin.screenshot(path=str(artifacts / "wordpress-admin-after-moderation.png"), full_page=True)
    _no_plugin_warnings(wordpress)


def test_while_the_service_is_down_comments_wait_in_wordpress(
    service: ServiceStack, wordpress: WordPress, chromium: Browser
) -> None:
    service.start_api()
    wire(wordpress, service.url)
    service.stop_api()

    body = "Four crossings a day is still better than none; I hope they review it in spring."
    reader = chromium.new_context().new_page()
    waiting = _post_through_form(reader, wordpress, body, "Ola")
    expect(reader.locator(f"#comment-{waiting['id']}")).to_contain_text("awaiting moderation")
    assert waiting["approved"] == "0", "never published unscored"
    assert waiting["meta"]["status"] == "unsent"
    assert body not in _visitor_sees(chromium, wordpress)
    with session_scope() as session:
        assert session.scalar(select(func.count()).where(Comment.body == body)) == 0

    # The retry job while the service is still down: nothing changes, nothing is lost.
    assert wordpress.php("retry")["scheduled"], "the retry job is on WP-Cron's schedule"
    assert wordpress.comment(waiting["id"])["meta"]["status"] == "unsent"

    service.start_api("api-restarted.log")
    wordpress.php("retry")
    wait_until(
        lambda: wordpress.comment(waiting["id"])["approved"] == "1",
        timeout=90,
        what="the comment to be decided once the service is back",
    )
    assert body in _visitor_sees(chromium, wordpress)
    # As if the service's answer had been lost on the way: the plugin sends the comment again,
    # with the same idempotency key, and the service answers with the comment it has.
    wordpress.php("set-meta", {"id": waiting["id"], "meta": {"status": "unsent"}})

    def resent_and_answered() -> bool:
        # One retry run can miss the plugin's 1.5 s timeout on a busy machine, as a real
        # WP-Cron run can; the next run sends it again, as WP-Cron's next minute would.
        wordpress.php("retry")
        return wordpress.comment(waiting["id"])["meta"]["status"] == "approved"

    wait_until(
        resent_and_answered,
        timeout=90,
        what=f"the resent comment to be answered: {wordpress.comment(waiting['id'])['meta']}",
    )
    with session_scope() as session:
        stored = session.scalars(select(Comment).where(Comment.body == body)).all()
        assert len(stored) == 1
        assert stored[0].status == "approved"
        assert stored[0].idempotency_key == waiting["meta"]["key"]
        assert stored[0].id == wordpress.comment(waiting["id"])["meta"]["id"]
    _no_plugin_warnings(wordpress)


def test_editors_comments_are_sent_only_when_the_setting_says_so(
    api: str, wordpress: WordPress
) -> None:
    wire(wordpress, api)
    editor = {
        "user_id": 1,
        "comment_author": ADMIN_USER,
        "comment_author_email": "desk@gazette.test",
    }
    kept = wordpress.php(
        "post",
        {
            "post_id": wordpress.post_id,
            "comment": {**editor, "comment_content": "Editor's note: times updated."},
        },
    )
    assert kept["approved"] == "1"
    assert not kept["meta"], "not sent: WordPress publishes its editors' comments itself"

    wire(wordpress, api, send_editors=True)
    sent = wordpress.php(
        "post",
        {
            "post_id": wordpress.post_id,
            "comment": {**editor, "comment_content": "Editor's note: the Friday crossing stays."},
        },
    )
    assert sent["meta"]["status"] == "approved"
    assert _service_comment(sent["meta"]["id"]).author_id == "wp-user-1"
    _no_plugin_warnings(wordpress)


def test_wordpress_privacy_tools_export_and_erase_the_services_copies(
    api: str, wordpress: WordPress
) -> None:
    wire(wordpress, api)
    account = wordpress.php("user", {"login": "reader-kim", "email": "kim@readers.test"})
    posts = {
        "guest": {"comment_author": "Kim", "comment_author_email": "KIM@readers.test"},
        "account": {
            "comment_author": "Kim",
            "comment_author_email": "kim@readers.test",
            "user_id": account["id"],
        },
        "someone else": {"comment_author": "Kim", "comment_author_email": "kim@elsewhere.test"},
    }
    service_ids = {}
    for who, author in posts.items():
        made = wordpress.php(
            "post",
            {
                "post_id": wordpress.post_id,
                "comment": {
                    **author,
                    "comment_content": f"The ferry pier needs a shelter ({who}).",
                },
            },
        )
        service_ids[who] = made["meta"]["id"]

    exported = wordpress.php("export", {"email": "kim@readers.test"})
    assert exported["done"] is True
    texts = sorted(
        next(d["value"] for d in item["data"] if d["name"] == "Comment")
        for item in exported["data"]
    )
    assert texts == [
        "The ferry pier needs a shelter (account).",
        "The ferry pier needs a shelter (guest).",
    ]

    erased = wordpress.php("erase", {"email": "kim@readers.test"})
    assert erased == {"items_removed": True, "items_retained": False, "messages": [], "done": True}
    for who in ("guest", "account"):
        gone = _service_comment(service_ids[who])
        assert (gone.status, gone.body, gone.author_name) == ("erased", "", "")
    # Another reader of the same name is untouched: erasure goes by the address, not the name.
    assert _service_comment(service_ids["someone else"]).body.endswith("(someone else).")
    assert wordpress.php("export", {"email": "kim@readers.test"})["data"] == []
    _no_plugin_warnings(wordpress)


def test_a_refused_comment_waits_for_a_person(api: str, wordpress: WordPress) -> None:
    # Over the service's 5,000 characters: it answers 422, and the comment is never published.
    wire(wordpress, api)
    long = "The ferry. " * 600
    made = wordpress.php(
        "post",
        {
            "post_id": wordpress.post_id,
            "comment": {
                "comment_author": "Lee",
                "comment_author_email": "lee@readers.test",
                "comment_content": long,
            },
        },
    )
    assert made["approved"] == "0"
    assert made["meta"]["status"] == "refused"
    assert re.search(r"did not accept it: too_long", made["meta"]["reason"])
    _no_plugin_warnings(wordpress)


def test_the_settings_page_keeps_the_credentials_out_of_sight(
    api: str, wordpress: WordPress, chromium: Browser, artifacts: Path
) -> None:
    wired = wire(wordpress, api)
    admin = _sign_in_to_wordpress(chromium, wordpress)
    admin.goto(f"{wordpress.url}/wp-admin/options-general.php?page=comment-moderation")
    page_html = admin.content()
    for secret in (wired.key, wired.token, wired.webhook_secret):
        assert secret not in page_html, "a stored credential is never shown again in full"
    expect(admin.locator("#cmod-site_key-state")).to_contain_text(f"ends in …{wired.key[-4:]}")
    expect(admin.locator("#cmod-webhook-url")).to_have_text(wordpress.webhook_url)
    admin.screenshot(path=str(artifacts / "wordpress-settings.png"), full_page=True)

    # Saving with the credential fields left blank keeps the stored credentials.
    admin.fill("#cmod-timeout", "2.5")
    admin.check("input[name='cmod_settings[rejected_to]'][value=trash]")
    admin.click("#cmod-settings #submit")
    expect(admin.locator("#setting-error-settings_updated")).to_be_visible()
    saved = wordpress.php("configure-read")
    assert (saved["timeout"], saved["rejected_to"]) == (2.5, "trash")
    assert (saved["site_key"], saved["moderator_token"]) == (wired.key, wired.token)

    admin.click("#cmod-check")
    expect(admin.locator("#cmod-connection-result")).to_contain_text("accepted the site key")
    wordpress.php("configure", {**saved, "site_key": "cm_not-a-key"})
    admin.click("#cmod-check")
    expect(admin.locator("#cmod-connection-result")).to_contain_text("refused the site key")
