"""The API's only way to reach the broker: a nudge that there is scoring to do.

The store is the record and the queue only a signal, so a failed nudge is logged and left to
the beat sweep; it never fails a submission that is already stored.
"""

import logging

import redis
from celery import Celery

from service.config import Settings, get_settings
from service.metrics import ENQUEUE_FAILURES

log = logging.getLogger(__name__)

SCORE_PENDING_TASK = "workers.tasks.score_pending"
SWEEP_TASK = "workers.tasks.sweep_pending"
# These two travel on the webhook queue (service.moderation.webhooks sends them).
DELIVER_WEBHOOK_TASK = "workers.tasks.deliver_webhook"
SWEEP_WEBHOOKS_TASK = "workers.tasks.sweep_webhooks"
WEBHOOK_TASKS = (DELIVER_WEBHOOK_TASK, SWEEP_WEBHOOKS_TASK)


def make_celery(settings: Settings) -> Celery:
    app = Celery("moderation", broker=settings.broker_url)
    app.conf.update(
        task_default_queue=settings.scoring_queue,
        # Deliveries (and their retries, which keep the route) never reach a scoring worker.
        task_routes={name: {"queue": settings.webhook_queue} for name in WEBHOOK_TASKS},
        task_ignore_result=True,
        # Tasks are idempotent (conditional updates), so acknowledging after the work is safe,
        # and a worker killed mid-task leaves the message to be delivered again.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=4,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=2,
        worker_hijack_root_logger=False,
    )
    if settings.uses_embedded_broker:
        import service.embedded_broker  # noqa: F401  (registers the transport's URL scheme)

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # No fanout on this transport: no remote control (celery inspect) in the trial.
        app.conf.worker_enable_remote_control = False
    else:
        app.conf.broker_transport_options = {
            "socket_connect_timeout": 2,
            "socket_timeout": 5,
            # No task uses a countdown, so this only bounds how long an unacked message of a
            # dead worker waits before Redis hands it out again.
            "visibility_timeout": 300,
        }
    return app


_producer: Celery | None = None


def _producer_app() -> Celery:
    global _producer
    if _producer is None:
        _producer = make_celery(get_settings())
    return _producer


# At most one nudge waits in the broker at a time: the API sets this flag (NX) before sending
# one, and a worker clears it just before each claim, so a comment stored after a claim always
# causes a fresh nudge while a burst of submissions causes one. The expiry bounds the damage
# of a flag whose nudge was lost; the beat sweep covers the rest.
NUDGE_FLAG_MS = 1000
_flags: redis.Redis | None = None


def _flag_store() -> redis.Redis | None:
    global _flags
    settings = get_settings()
    if settings.uses_embedded_broker or not settings.redis_url:
        return None
    if _flags is None:
        _flags = redis.Redis.from_url(
            settings.redis_url, socket_connect_timeout=1, socket_timeout=1
        )
    return _flags


def nudges_coalesced() -> bool:
    """Whether a burst of submissions sends one nudge (the flag above) or one per batch (the
    embedded broker has no flag store)."""
    return _flag_store() is not None


def _flag_key() -> str:
    return f"moderation:nudge:{get_settings().scoring_queue}"


def enqueue_scoring() -> bool:
    """Tell the workers there are pending comments. Returns False if the broker was unreachable."""
    flags = _flag_store()
    if flags is not None:
        try:
            if not flags.set(_flag_key(), b"1", nx=True, px=NUDGE_FLAG_MS):
                return True  # a nudge is already on its way and will find this comment
        except redis.RedisError:
            pass  # no flag store: nudge anyway
    try:
        _producer_app().send_task(SCORE_PENDING_TASK, retry=False)
    except Exception:  # the broker's failures come in many types; none may fail a submission
        log.warning("could not reach the broker; the sweep will pick the comment up", exc_info=True)
        ENQUEUE_FAILURES.inc()
        clear_nudge_flag()
        return False
    return True


def hold_nudge_flag() -> None:
    """A worker is taking round after round of a steady stream: what it will take anyway needs
    no nudge. Held for NUDGE_FLAG_MS at a time, so a worker that dies holding it stops
    suppressing nudges within a second."""
    flags = _flag_store()
    if flags is None:
        return
    try:
        flags.set(_flag_key(), b"1", px=NUDGE_FLAG_MS)
    except redis.RedisError:
        log.warning("could not hold the nudge flag; the API will nudge as usual")


def clear_nudge_flag() -> None:
    """A worker is about to claim: the next stored comment needs a nudge of its own."""
    flags = _flag_store()
    if flags is None:
        return
    try:
        flags.delete(_flag_key())
    except redis.RedisError:
        log.warning("could not clear the nudge flag; it expires in %d ms", NUDGE_FLAG_MS)


def broker_reachable() -> bool:
    try:
        with _producer_app().connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
    except Exception:
        return False
    return True
