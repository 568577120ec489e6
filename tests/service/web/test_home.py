"""`/` is a small page for a newcomer, with the same security headers as the other pages.
Before: `/` was a 404 in JSON."""

from pathlib import Path

from fastapi.testclient import TestClient

from service.app import create_app
from service.web.templating import PAGE_CSP


def test_home_page_links_what_a_newcomer_needs(sqlite_env: Path) -> None:
    with TestClient(create_app()) as client:
        page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == PAGE_CSP
    for link in ('href="/moderate"', 'href="/articles/harbour-ferry?site=demo"', 'href="/docs"'):
        assert link in page.text, link
    assert "<script" not in page.text and "style=" not in page.text
