"""Many sites' requests at once against the real server: the group-commit path answers each
with its own comment, keeps idempotency across concurrent resends, and loses nothing."""

import asyncio

import httpx
from sqlalchemy import func, select

from service.db import session_scope
from service.tables import Comment
from tests.conftest import make_site, run_async


def test_concurrent_submissions_and_resends(api_server: str) -> None:
    with session_scope() as session:
        _, key = make_site(session, name="busy-paper")

    async def flood() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(base_url=api_server, limits=limits, timeout=30) as client:
            headers = {"Authorization": f"Bearer {key}"}
            requests = [
                client.post(
                    "/v1/comments",
                    json={
                        "article_id": f"a{i % 4}",
                        "author_name": f"R{i}",
                        "body": f"Comment number {i} on the budget.",
                        # Every comment is sent twice at the same time, as a retrying site might.
                        "idempotency_key": f"form-{i}",
                    },
                    headers=headers,
                )
                for i in range(300)
                for _ in range(2)
            ]
            return await asyncio.gather(*requests)

    responses = run_async(flood())
    assert {r.status_code for r in responses} == {202}
    ids = [r.json()["id"] for r in responses]
    assert all(ids[2 * i] == ids[2 * i + 1] for i in range(300)), "a resend got another comment"
    assert len(set(ids)) == 300
    with session_scope() as session:
        stored = session.scalar(select(func.count()).select_from(Comment))
    assert stored == 300
