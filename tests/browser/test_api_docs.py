"""/docs renders Swagger UI with no network beyond this service, under the pages' CSP."""

from pathlib import Path
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Browser, Route

from service.web.templating import PAGE_CSP


def test_docs_render_offline_under_the_csp(
    api_server: str, chromium: Browser, artifacts: Path
) -> None:
    response = httpx.get(f"{api_server}/docs")
    assert response.headers["content-security-policy"] == PAGE_CSP
    context = chromium.new_context()
    page = context.new_page()
    ours = urlsplit(api_server).netloc
    elsewhere: list[str] = []

    def only_ours(route: Route) -> None:
        # No network but this service: a CDN request fails here as it would offline.
        if urlsplit(route.request.url).netloc == ours or route.request.url.startswith("data:"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_ours)
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text)
            if "Content Security Policy" in message.text and "script" in message.text
            else None
        ),
    )
    page.goto(f"{api_server}/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=30_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/v1/comments" in " ".join(paths)
    page.screenshot(path=str(artifacts / "docs.png"))
    assert elsewhere == [], f"/docs reached beyond the service: {elsewhere}"
    assert refused == [], f"scripts refused by the CSP: {refused}"
    context.close()
