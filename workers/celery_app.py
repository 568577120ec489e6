"""The Celery app of the workers and beat: the API's broker config plus tasks and schedule."""

from typing import Any

from celery.signals import beat_init

from service.config import get_settings
from service.heartbeat import Heartbeat
from service.queue import SWEEP_TASK, SWEEP_WEBHOOKS_TASK, make_celery

settings = get_settings()
app = make_celery(settings)
app.conf.include = ["workers.tasks"]
app.conf.beat_schedule = {
    "sweep-pending": {"task": SWEEP_TASK, "schedule": settings.sweep_interval_seconds},
    "sweep-webhooks": {"task": SWEEP_WEBHOOKS_TASK, "schedule": 300.0},
}


@beat_init.connect
def _start_beat_heartbeat(**_: Any) -> None:
    Heartbeat(role="beat", interval=settings.heartbeat_interval_seconds).start()
