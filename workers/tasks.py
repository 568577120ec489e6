"""Thin Celery tasks: each calls one plain function in workers.scoring."""

import gc
import logging
from datetime import timedelta
from typing import Any

from celery.signals import worker_process_init, worker_ready
from prometheus_client import start_http_server
from sqlalchemy.exc import InterfaceError, OperationalError

from classifiers import ToxicityModel
from service.comments import count_stale_pending
from service.config import get_settings
from service.db import get_engine, get_session_factory, session_scope
from service.heartbeat import Heartbeat
from service.model_registry.live import live_model
from service.model_registry.shadow import shadow_model
from service.moderation.webhooks import (
    deliver,
    find_orphaned_deliveries,
    retry_delay,
    send_deliveries,
)
from service.queue import (
    DELIVER_WEBHOOK_TASK,
    SCORE_PENDING_TASK,
    SWEEP_TASK,
    SWEEP_WEBHOOKS_TASK,
    nudges_coalesced,
)
from service.scoring_rounds import release_abandoned_rounds
from workers.celery_app import app
from workers.scoring import RoundPacer, drain

log = logging.getLogger(__name__)


def load_scorer() -> ToxicityModel:
    """The live model (service.model_registry.live says which, and how a promote reaches a
    running worker). A failed load is raised; the round is held and retried next batch."""
    return live_model()


def load_shadow_scorer() -> ToxicityModel | None:
    """The store's shadow version, if any (service.model_registry.shadow); None while there
    is none or it does not load."""
    return shadow_model()


@worker_process_init.connect
@worker_ready.connect
def _load_model_once(**_: Any) -> None:
    # Pay the model load at start-up, not on the first comment a reader is waiting for.
    try:
        load_scorer()
    except Exception:
        # The worker still runs: each batch then fails to load the model and is held for a
        # human (never published unscored), and the failure metric counts it.
        log.exception("the classifier could not be loaded at start-up")
    # The shadow too, for the same reason; it logs a failed load itself and returns None,
    # and anything else it raises must not stop the worker that decides.
    try:
        load_shadow_scorer()
    except Exception:
        log.exception("the shadow model could not be loaded at start-up")
    # The model and the imports live as long as the process: frozen, the cycle collector no
    # longer walks them in every full collection (a ~100 ms pause each in the API, measured).
    # Collected first, once per process, so no start-up garbage is frozen with them.
    gc.collect()
    gc.freeze()


@worker_ready.connect
def _count_dead_rounds(**_: Any) -> None:
    _release_abandoned_rounds()


@worker_ready.connect
def _start_heartbeat(**_: Any) -> None:
    Heartbeat(role="worker", interval=get_settings().heartbeat_interval_seconds).start()


@worker_ready.connect
def _serve_metrics(**_: Any) -> None:
    port = get_settings().worker_metrics_port
    if port:
        start_http_server(port)


# Store outages (PostgreSQL restarting) are retried with backoff; the cap stays well under the
# Redis visibility timeout so a waiting retry is never delivered twice.
STORE_RETRY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 1,
    "retry_backoff_max": 30,
    "retry_jitter": True,
    "max_retries": 20,
}


_pacer: RoundPacer | None = None
# How long one task goes on taking the rounds of a steady stream (workers.scoring.drain): long
# enough to save most Celery messages, short enough that a one-process worker still takes its
# other messages (the sweep, webhook deliveries) within about a second.
LINGER_SECONDS = 1.0


def _round_pacer() -> RoundPacer:
    global _pacer
    if _pacer is None:
        _pacer = RoundPacer(get_settings().scoring_round_interval_ms / 1000)
    return _pacer


@app.task(name=SCORE_PENDING_TASK, acks_late=True, ignore_result=True, **STORE_RETRY)
def score_pending() -> int:
    settings = get_settings()
    # SQLite takes one writer at a time: rounds side by side would only wait for each other.
    concurrent_writers = get_engine().dialect.name == "postgresql"
    coalesced = nudges_coalesced()
    return drain(
        sessions=get_session_factory(),
        load_scorer=load_scorer,
        batch_size=settings.batch_size,
        lease_seconds=settings.claim_lease_seconds,
        rounds_in_flight=settings.scoring_rounds_in_flight if concurrent_writers else 1,
        # Without the nudge flag (embedded broker) every ingest batch sends a nudge; paced,
        # they would queue up faster than they are taken.
        pacer=_round_pacer() if coalesced else None,
        linger_seconds=LINGER_SECONDS if coalesced else 0.0,
        load_shadow=load_shadow_scorer,
    )


def _release_abandoned_rounds() -> None:
    """Count an attempt for the comments of rounds whose worker died. Also run when a worker
    starts: a worker killed by a comment is restarted, and counts its own death before it
    takes that comment again. A failure here (the store busy or down) leaves the records for
    the next sweep and must not stop the rest of the sweep."""
    try:
        with session_scope() as session:
            abandoned = release_abandoned_rounds(session=session)
    except (OperationalError, InterfaceError):
        log.warning(
            "could not release abandoned scoring rounds; left to the next sweep", exc_info=True
        )
        return
    if abandoned:
        log.warning("%d comments were in scoring rounds that never finished", abandoned)


@app.task(name=SWEEP_TASK, ignore_result=True, **STORE_RETRY)
def sweep_pending() -> int:
    """Re-send work for comments whose nudge was lost (broker restarted, worker killed), and
    count an attempt for the comments of rounds that never finished."""
    settings = get_settings()
    _release_abandoned_rounds()
    with session_scope() as session:
        stale = count_stale_pending(
            session=session, older_than=timedelta(seconds=settings.sweep_min_age_seconds)
        )
    nudges = min(-(-stale // settings.batch_size), 8)
    for _ in range(nudges):
        app.send_task(SCORE_PENDING_TASK)
    if stale:
        log.info("sweep found %d stale pending comments; sent %d nudges", stale, nudges)
    return stale


@app.task(name=DELIVER_WEBHOOK_TASK, bind=True, acks_late=True, ignore_result=True, max_retries=10)
def deliver_webhook(self: Any, delivery_id: str) -> None:
    """POST one signed webhook; on failure try again later (the row counts the attempts)."""
    if not deliver(sessions=get_session_factory(), delivery_id=delivery_id):
        raise self.retry(countdown=retry_delay(self.request.retries))


@app.task(name=SWEEP_WEBHOOKS_TASK, ignore_result=True, **STORE_RETRY)
def sweep_webhooks() -> int:
    """Re-send webhook deliveries whose retry message the broker lost."""
    with session_scope() as session:
        orphaned = find_orphaned_deliveries(session=session)
    send_deliveries(orphaned)
    return len(orphaned)
