"""The Celery app of the workers and beat: the API's broker config plus tasks and schedule."""

from service.config import get_settings
from service.queue import SWEEP_TASK, SWEEP_WEBHOOKS_TASK, make_celery

settings = get_settings()
app = make_celery(settings)
app.conf.include = ["workers.tasks"]
app.conf.beat_schedule = {
    "sweep-pending": {"task": SWEEP_TASK, "schedule": settings.sweep_interval_seconds},
    "sweep-webhooks": {"task": SWEEP_WEBHOOKS_TASK, "schedule": 300.0},
}
