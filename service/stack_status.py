"""Is the stack deciding comments? Workers alive, beat alive, the backlog: for /readyz,
`moderation status` and the metrics."""

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client import REGISTRY, Metric
from prometheus_client.core import GaugeMetricFamily

from service.backlog import SiteBacklog, pending_by_site
from service.config import get_settings
from service.db import session_scope
from service.heartbeat import alive_count

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StackStatus:
    workers_alive: int
    beat_alive: int
    within_seconds: float
    backlog: list[SiteBacklog]

    @property
    def pending(self) -> int:
        return sum(site.pending for site in self.backlog)

    @property
    def oldest_pending_seconds(self) -> float | None:
        return max((site.oldest_seconds for site in self.backlog), default=None)

    @property
    def workers_check(self) -> str:
        if self.workers_alive:
            return "ok"
        return f"no worker alive in the last {self.within_seconds:g} s"


def stack_status() -> StackStatus:
    within = get_settings().alive_within_seconds
    with session_scope() as session:
        backlog = pending_by_site(session=session)
    return StackStatus(
        workers_alive=alive_count(role="worker", within_seconds=within),
        beat_alive=alive_count(role="beat", within_seconds=within),
        within_seconds=within,
        backlog=backlog,
    )


class BacklogCollector:
    """Prometheus gauges read from the store at scrape time, so every API replica reports the
    same figures (alert on max() over them): pending comments and the oldest one's age per
    site, and the processes alive."""

    def collect(self) -> Iterator[Metric]:
        try:
            status = stack_status()
        except Exception:  # a scrape during an outage: no figures rather than a failed scrape
            log.warning("could not read the backlog for /metrics", exc_info=True)
            return
        pending = GaugeMetricFamily(
            "moderation_pending_comments", "Comments stored and not yet decided", labels=["site"]
        )
        oldest = GaugeMetricFamily(
            "moderation_oldest_pending_seconds",
            "Age of the oldest comment not yet decided",
            labels=["site"],
        )
        for site in status.backlog:
            pending.add_metric([site.site], site.pending)
            oldest.add_metric([site.site], site.oldest_seconds)
        alive = GaugeMetricFamily(
            "moderation_processes_alive",
            f"Processes whose heartbeat is at most {status.within_seconds:g} s old",
            labels=["role"],
        )
        alive.add_metric(["worker"], status.workers_alive)
        alive.add_metric(["beat"], status.beat_alive)
        yield pending
        yield oldest
        yield alive


_registered = False


def register_backlog_metrics() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(BacklogCollector())
        _registered = True
