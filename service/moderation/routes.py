"""The moderation API (/v1/moderation) and the admin API (/v1/admin): thin handlers."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.deps import SessionDep
from service.errors import SiteNotFound
from service.json_body import StrictJsonRoute
from service.moderation import accounts, review, site_admin
from service.moderation.accounts import Reviewer
from service.moderation.auth import CurrentAdmin, CurrentReviewer
from service.moderation.schemas import (
    AuditEventOut,
    AuditOut,
    BulkIn,
    BulkOut,
    CommentReviewOut,
    DecisionIn,
    DecisionOut,
    HighlightOut,
    Me,
    ModeratorIn,
    ModeratorOut,
    ModeratorSitesIn,
    NewTokenOut,
    PolicyIn,
    PolicyOut,
    QueueOut,
    Reasons,
    ReviewCommentOut,
    SiteChangeOut,
    SiteKeyOut,
    TokenIn,
    TokenOut,
    WebhookIn,
    WebhookOut,
)
from service.moderation.webhooks import queue_webhooks, send_deliveries
from service.policy import scores_with_aliases
from service.schemas import ErrorResponse
from service.sites import get_site_by_name
from service.tables import CommentStatus, Moderator, ModeratorRole, ModeratorSite, Site

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "no or unknown moderator credential"},
    403: {"model": ErrorResponse, "description": "a site key, or not an admin"},
    404: {"model": ErrorResponse, "description": "no such comment or site (or not the caller's)"},
}

router = APIRouter(
    prefix="/v1/moderation", tags=["moderation"], responses=ERRORS, route_class=StrictJsonRoute
)
admin_router = APIRouter(
    prefix="/v1/admin", tags=["admin"], responses=ERRORS, route_class=StrictJsonRoute
)

CommentID = Annotated[str, Path(max_length=36, description="the comment's id")]
# Every integer a client can send is bounded by what the store can compare it with: an
# audit event id is a 32-bit column, and the queue is ranked over a bounded window anyway.
MAX_ROW_ID = 2**31 - 1
MAX_OFFSET = 1_000_000
SiteName = Annotated[str, Path(max_length=100, description="the site's name")]


def site_named(session: Session, name: str) -> Site:
    site = get_site_by_name(session=session, name=name)
    if site is None:
        raise SiteNotFound(f"no site named {name!r}")
    return site


def _reviewable_site_id(session: Session, reviewer: Reviewer, name: str | None) -> str | None:
    if not name:
        return None
    return review.reviewable_site(session=session, reviewer=reviewer, name=name).id


def review_out(item: review.QueueItem) -> ReviewCommentOut:
    c = item.comment
    return ReviewCommentOut(
        id=c.id,
        site=item.site_name,
        article_id=c.article_id,
        author_name=c.author_name,
        body=c.body,
        status=c.status,  # type: ignore[arg-type]
        scores=scores_with_aliases(c.scores) if c.scores else None,
        language=c.language,
        model_version=c.model_version,
        reason=c.decision_reason,
        margin=round(item.margin, 4),
        highlights=[
            HighlightOut(
                start=h.start,
                end=h.end,
                text=c.body[h.start : h.end],
                weight=h.weight,
                kind="word" if h.kind == "word" else "model",
            )
            for h in item.highlights
        ],
        created_at=c.created_at,
        decided_at=c.decided_at,
    )


def audit_out(row: review.AuditRow) -> AuditEventOut:
    e = row.event
    return AuditEventOut(
        id=e.id,
        comment_id=e.comment_id,
        site=row.site_name,
        article_id=row.article_id,
        actor=e.actor,
        from_status=e.from_status,
        to_status=e.to_status,
        reason=e.reason,
        scores=scores_with_aliases(e.scores) if e.scores else None,
        created_at=e.created_at,
    )


def decision_out(t: review.Transition) -> DecisionOut:
    return DecisionOut(
        id=t.comment_id,
        from_status=t.from_status,
        status=t.to_status,
        audit_event_id=t.audit_event_id,
    )


def commit_and_announce(session: Session, transitions: list[review.Transition]) -> None:
    """Commit the decisions with their webhook rows, then (only then) queue the sending."""
    delivery_ids = queue_webhooks(
        session=session, audit_event_ids=[t.audit_event_id for t in transitions]
    )
    session.commit()
    send_deliveries(delivery_ids)


# --- moderators ------------------------------------------------------------------------------


@router.get("/me", response_model=Me)
def read_me(reviewer: CurrentReviewer, session: SessionDep) -> Me:
    sites = accounts.reviewable_sites(session=session, reviewer=reviewer)
    return Me(username=reviewer.username, role=reviewer.role.value, sites=[s.name for s in sites])


@router.get("/queue", response_model=QueueOut)
def read_queue(
    reviewer: CurrentReviewer,
    session: SessionDep,
    site: Annotated[str | None, Query(max_length=100)] = None,
    article: Annotated[str | None, Query(max_length=200)] = None,
    label: Annotated[str | None, Query(max_length=40)] = None,
    min_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    max_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    order: Annotated[str, Query(pattern="^(uncertain|oldest)$")] = "uncertain",
    status: Annotated[str, Query(pattern="^(held|approved|rejected|removed)$")] = "held",
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> QueueOut:
    page = review.list_queue(
        session=session,
        reviewer=reviewer,
        site_id=_reviewable_site_id(session, reviewer, site),
        article_id=article,
        label=label,
        min_score=min_score,
        max_score=max_score,
        order=order,
        status=CommentStatus(status),
        offset=offset,
        limit=limit,
    )
    return QueueOut(
        items=[review_out(i) for i in page.items],
        total=page.total,
        offset=page.offset,
        limit=page.limit,
    )


@router.get("/comments/{comment_id}", response_model=CommentReviewOut)
def read_comment_review(
    comment_id: CommentID, reviewer: CurrentReviewer, session: SessionDep
) -> CommentReviewOut:
    item = review.get_comment_for_review(session=session, reviewer=reviewer, comment_id=comment_id)
    events = review.list_audit(session=session, reviewer=reviewer, comment_id=comment_id)
    return CommentReviewOut(comment=review_out(item), audit=[audit_out(e) for e in events])


@router.post(
    "/comments/{comment_id}/{action}",
    response_model=DecisionOut,
    responses={409: {"model": ErrorResponse, "description": "the comment is not in that state"}},
)
def decide_comment(
    comment_id: CommentID,
    action: review.Action,
    reviewer: CurrentReviewer,
    session: SessionDep,
    decision: DecisionIn | None = None,
) -> DecisionOut:
    transition = review.apply_action(
        session=session,
        reviewer=reviewer,
        comment_id=comment_id,
        action=action,
        reason=decision.reason if decision else None,
    )
    commit_and_announce(session, [transition])
    return decision_out(transition)


@router.post("/bulk", response_model=BulkOut)
def decide_many(body: BulkIn, reviewer: CurrentReviewer, session: SessionDep) -> BulkOut:
    outcome = review.apply_bulk(
        session=session,
        reviewer=reviewer,
        comment_ids=body.comment_ids,
        action=review.Action(body.action),
        reason=body.reason,
    )
    commit_and_announce(session, outcome.done)
    return BulkOut(done=[decision_out(t) for t in outcome.done], failed=outcome.failed)


@router.get("/audit", response_model=AuditOut)
def read_audit(
    reviewer: CurrentReviewer,
    session: SessionDep,
    comment_id: Annotated[str | None, Query(max_length=36)] = None,
    site: Annotated[str | None, Query(max_length=100)] = None,
    actor: Annotated[str | None, Query(max_length=120)] = None,
    to_status: Annotated[str | None, Query(max_length=16)] = None,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditOut:
    rows = review.list_audit(
        session=session,
        reviewer=reviewer,
        comment_id=comment_id,
        site_id=_reviewable_site_id(session, reviewer, site),
        actor=actor,
        to_status=to_status,
        before_id=before_id,
        limit=limit,
    )
    return AuditOut(
        events=[audit_out(r) for r in rows],
        next_before_id=rows[-1].event.id if len(rows) == limit else None,
    )


@router.get("/reasons", response_model=Reasons)
def read_reasons(reviewer: CurrentReviewer) -> Reasons:
    return Reasons(reasons=list(review.REJECT_REASONS))


def token_out(row: Any) -> TokenOut:
    return TokenOut(
        id=row.id,
        name=row.name,
        prefix=row.token_prefix,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


@router.get("/tokens", response_model=list[TokenOut])
def read_tokens(reviewer: CurrentReviewer, session: SessionDep) -> list[TokenOut]:
    return [token_out(t) for t in accounts.list_tokens(session=session, moderator_id=reviewer.id)]


@router.post("/tokens", response_model=NewTokenOut, status_code=status.HTTP_201_CREATED)
def create_token(body: TokenIn, reviewer: CurrentReviewer, session: SessionDep) -> NewTokenOut:
    row, token = accounts.create_token(session=session, moderator_id=reviewer.id, name=body.name)
    session.commit()
    return NewTokenOut(**token_out(row).model_dump(), token=token)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(
    token_id: Annotated[str, Path(max_length=36)], reviewer: CurrentReviewer, session: SessionDep
) -> None:
    accounts.revoke_token(session=session, reviewer=reviewer, token_id=token_id)
    session.commit()


# --- admins ----------------------------------------------------------------------------------


@admin_router.get("/sites", response_model=list[PolicyOut])
def read_sites(admin: CurrentAdmin, session: SessionDep) -> list[PolicyOut]:
    sites = session.scalars(select(Site).order_by(Site.name))
    return [PolicyOut(**site_admin.policy_view(s)) for s in sites]


@admin_router.get("/sites/{name}/policy", response_model=PolicyOut)
def read_policy(name: SiteName, admin: CurrentAdmin, session: SessionDep) -> PolicyOut:
    return PolicyOut(**site_admin.policy_view(site_named(session, name)))


@admin_router.patch("/sites/{name}/policy", response_model=PolicyOut)
def change_policy(
    name: SiteName, body: PolicyIn, admin: CurrentAdmin, session: SessionDep
) -> PolicyOut:
    site = site_named(session, name)
    thresholds = (
        None
        if body.label_thresholds is None
        else {label: t.model_dump() for label, t in body.label_thresholds.items()}
    )
    site_admin.update_policy(
        session=session,
        site=site,
        actor=admin.actor,
        update=site_admin.PolicyUpdate(
            mode=body.mode,
            approve_below=body.approve_below,
            reject_at=body.reject_at,
            label_thresholds=thresholds,
            hold_words=body.hold_words,
            reject_words=body.reject_words,
            allowed_origins=body.allowed_origins,
            languages=body.languages,
            other_languages=body.other_languages,
            hold_markup=body.hold_markup,
            analyze_rate_limit=body.analyze_rate_limit,
            keep_analyzed_texts=body.keep_analyzed_texts,
        ),
    )
    session.commit()
    return PolicyOut(**site_admin.policy_view(site))


@admin_router.get("/sites/{name}/changes", response_model=list[SiteChangeOut])
def read_site_changes(
    name: SiteName, admin: CurrentAdmin, session: SessionDep
) -> list[SiteChangeOut]:
    changes = site_admin.list_site_changes(session=session, site=site_named(session, name))
    return [
        SiteChangeOut(
            id=c.id, actor=c.actor, action=c.action, changes=c.changes, created_at=c.created_at
        )
        for c in changes
    ]


@admin_router.post("/sites/{name}/key", response_model=SiteKeyOut)
def rotate_site_key(name: SiteName, admin: CurrentAdmin, session: SessionDep) -> SiteKeyOut:
    site = site_named(session, name)
    key = site_admin.rotate_key(session=session, site=site, actor=admin.actor)
    session.commit()
    return SiteKeyOut(site=site.name, key=key)


@admin_router.put("/sites/{name}/webhook", response_model=WebhookOut)
def change_webhook(
    name: SiteName, body: WebhookIn, admin: CurrentAdmin, session: SessionDep
) -> WebhookOut:
    site = site_named(session, name)
    secret = site_admin.set_webhook(session=session, site=site, actor=admin.actor, url=body.url)
    session.commit()
    return WebhookOut(site=site.name, webhook_url=site.webhook_url, secret=secret)


def moderator_out(session: Session, moderator: Moderator) -> ModeratorOut:
    names = session.scalars(
        select(Site.name)
        .join(ModeratorSite, ModeratorSite.site_id == Site.id)
        .where(ModeratorSite.moderator_id == moderator.id)
        .order_by(Site.name)
    )
    return ModeratorOut(
        username=moderator.username, role=moderator.role, active=moderator.active, sites=list(names)
    )


@admin_router.get("/moderators", response_model=list[ModeratorOut])
def read_moderators(admin: CurrentAdmin, session: SessionDep) -> list[ModeratorOut]:
    moderators = session.scalars(select(Moderator).order_by(Moderator.username))
    return [moderator_out(session, m) for m in moderators]


@admin_router.post("/moderators", response_model=ModeratorOut, status_code=status.HTTP_201_CREATED)
def add_moderator(body: ModeratorIn, admin: CurrentAdmin, session: SessionDep) -> ModeratorOut:
    moderator = accounts.create_moderator(
        session=session,
        username=body.username,
        password=body.password,
        role=ModeratorRole(body.role),
        site_ids=[site_named(session, name).id for name in body.sites],
    )
    session.commit()
    return moderator_out(session, moderator)


@admin_router.put("/moderators/{username}/sites", response_model=ModeratorOut)
def change_moderator_sites(
    username: Annotated[str, Path(max_length=100)],
    body: ModeratorSitesIn,
    admin: CurrentAdmin,
    session: SessionDep,
) -> ModeratorOut:
    moderator = accounts.get_moderator_by_name(session=session, username=username)
    accounts.set_moderator_sites(
        session=session,
        moderator=moderator,
        site_ids=[site_named(session, name).id for name in body.sites],
    )
    session.commit()
    return moderator_out(session, moderator)
