"""Coral calls that arrive together are decided together: one pass through the model and one
transaction (one commit) for all of them, as the submission path's group commit does. A call
alone waits for no one (service.coalesce)."""

import asyncio
from collections.abc import Sequence

from fastapi.concurrency import run_in_threadpool

from service.coalesce import Coalescer
from service.comments import NewComment
from service.db import get_session_factory, session_scope
from service.integrations.coral.phase import (
    StoredVerdict,
    decide_coral_comments,
    record_decided_comments,
)
from service.integrations.scoring import live_model
from service.metrics import DECISIONS
from service.moderation.webhooks import announce_decisions
from service.tables import Site

MAX_BATCH = 128


class ScoringFailed(Exception):
    """The model could not score the batch; nothing of it was stored."""


def decide_and_record(items: list[tuple[Site, NewComment]]) -> Sequence[StoredVerdict]:
    try:
        model = live_model()
        decided = decide_coral_comments(model=model, comments=items)
    except Exception as exc:
        raise ScoringFailed(str(exc)) from exc
    with session_scope() as session:
        verdicts = record_decided_comments(
            session=session, decided=decided, model_version=model.version
        )
    created = [v for v in verdicts if v.created]
    for verdict in created:
        DECISIONS.labels(status=verdict.status).inc()
    announced = {site.id for site, _ in items if site.webhook_url}
    if announced:
        announce_decisions(
            sessions=get_session_factory(),
            comment_ids=[
                v.comment_id
                for v, (site, _) in zip(verdicts, items, strict=True)
                if v.created and v.comment_id is not None and site.id in announced
            ],
        )
    return verdicts


async def _handle(items: list[tuple[Site, NewComment]]) -> Sequence[StoredVerdict]:
    return await run_in_threadpool(decide_and_record, items)


_deciders: dict[asyncio.AbstractEventLoop, Coalescer[tuple[Site, NewComment], StoredVerdict]] = {}


def get_decider() -> Coalescer[tuple[Site, NewComment], StoredVerdict]:
    """This event loop's decider: submit((site, comment)) answers once it is committed."""
    loop = asyncio.get_running_loop()
    decider = _deciders.get(loop)
    if decider is None:
        for old in [known for known in _deciders if known.is_closed()]:
            del _deciders[old]
        decider = _deciders[loop] = Coalescer(_handle, max_batch=MAX_BATCH)
    return decider
