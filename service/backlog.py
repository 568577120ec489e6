"""What is waiting to be decided: pending comments per site and how old the oldest is."""

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.db import utcnow
from service.tables import Comment, CommentStatus, Site


@dataclass(frozen=True)
class SiteBacklog:
    site: str
    pending: int
    oldest_seconds: float


def pending_by_site(*, session: Session) -> list[SiteBacklog]:
    """One row per site with pending comments (the pending index keeps this small)."""
    now = utcnow()
    rows = session.execute(
        select(Site.name, func.count(), func.min(Comment.created_at))
        .join(Site, Site.id == Comment.site_id)
        .where(Comment.status == CommentStatus.PENDING)
        .group_by(Site.name)
        .order_by(Site.name)
    ).all()
    return [
        SiteBacklog(site=name, pending=count, oldest_seconds=(now - oldest).total_seconds())
        for name, count, oldest in rows
    ]
