"""The API's group-commit batcher, on the real PostgreSQL store and Redis."""

import asyncio

from service import ingest
from service.comments import NewComment
from service.db import session_scope
from tests.conftest import make_site, run_async


def test_a_finished_writer_never_counts_as_writing(pg_env: dict[str, str]) -> None:
    """Between a writer's last look at the queue and its removal from the count, a request
    would see it still writing, start none, and wait for the next submission. A watcher that
    runs every loop turn must never find a finished writer still counted."""
    with session_scope() as session:
        site, _ = make_site(session)
    seen_finished_but_counted = 0

    async def scenario() -> None:
        nonlocal seen_finished_but_counted
        loop = asyncio.get_running_loop()
        batcher = ingest.get_batcher()
        watching = True

        def watch() -> None:
            nonlocal seen_finished_but_counted
            running = batcher.running
            seen_finished_but_counted += running is not None and running.done()
            if watching:
                loop.call_soon(watch)

        loop.call_soon(watch)
        for n in range(20):
            comment = NewComment(article_id="a", author_name="R", body=f"Note {n} on the vote.")
            await asyncio.wait_for(batcher.submit((site.id, comment)), timeout=10)
        watching = False

    run_async(scenario())
    assert seen_finished_but_counted == 0
