"""The moderator UI: server-rendered pages (Jinja2, autoescaped) over the same functions as the
API; the buttons and keyboard shortcuts call the moderation API with the session's CSRF token."""

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import mean
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from service.db import parse_utc
from service.deps import SessionDep, client_ip
from service.errors import CommentNotFound, ModerationError, SiteNotFound
from service.model_registry.errors import ModelChangeRefused
from service.moderation import accounts, review, site_admin
from service.moderation.accounts import Reviewer
from service.moderation.auth import (
    check_csrf,
    csrf_token,
    session_reviewer,
    start_session,
)
from service.moderation.errors import Forbidden
from service.moderation.routes import MAX_OFFSET, MAX_ROW_ID
from service.policy import ATTRIBUTES
from service.ratelimit import (
    RateLimited,
    check_login,
    record_login_failure,
    record_login_success,
)
from service.tables import CommentStatus, ModelStatus, Moderator, Site
from service.web.templating import render

router = APIRouter(prefix="/moderate", include_in_schema=False)

LABELS = ATTRIBUTES
HEADINGS = {
    CommentStatus.HELD: ("Review queue", "queue"),
    CommentStatus.APPROVED: ("Published comments", "published"),
    CommentStatus.REJECTED: ("Rejected comments", "rejected"),
    CommentStatus.REMOVED: ("Taken down", "removed"),
}


def _context(request: Request, reviewer: Reviewer | None, **extra: Any) -> dict[str, Any]:
    return {"csrf": csrf_token(request), "reviewer": reviewer, **extra}


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/moderate/login?{urlencode({'next': target})}", status_code=303)


def _error_page(request: Request, reviewer: Reviewer | None, exc: ModerationError) -> Response:
    title = "Not allowed" if exc.status_code == 403 else "Not found"
    return render(
        request,
        "error.html",
        _context(request, reviewer, title=title, message=exc.message, nav=None),
        status_code=exc.status_code,
    )


def _safe_next(target: str) -> str:
    # Only our own pages: "//evil.example" or "https://..." would be an open redirect.
    if target.startswith("/moderate") and not target.startswith("//"):
        return target
    return "/moderate"


def _chosen_site(sites: Sequence[Site], name: str | None) -> Site | None:
    """The site a page is filtered to (None: all of the reviewer's sites); not found when the
    name is not one of the reviewer's sites, as the API answers (review.reviewable_site)."""
    if not name:
        return None
    chosen = next((s for s in sites if s.name == name), None)
    if chosen is None:
        raise SiteNotFound(f"no site named {name!r}")
    return chosen


@router.get("/login")
def login_page(
    request: Request, next: Annotated[str, Query(max_length=500)] = "/moderate"
) -> Response:
    return render(
        request,
        "login.html",
        _context(request, None, error=None, next=_safe_next(next), username="", nav=None),
    )


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
    csrf: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "/moderate",
) -> Response:
    def refused(error: str, status_code: int) -> Response:
        context = _context(
            request, None, error=error, next=_safe_next(next), username=username, nav=None
        )
        return render(request, "login.html", context, status_code=status_code)

    try:
        check_csrf(request, csrf)
    except ModerationError:
        return refused("The form expired; please sign in again.", 403)
    try:
        # Before the (deliberately slow) hash: a guesser is stopped without costing it.
        check_login(username=username, client_ip=client_ip(request))
    except RateLimited as exc:
        page = refused(exc.message[0].upper() + exc.message[1:] + ".", 429)
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    moderator = accounts.authenticate(session=session, username=username, password=password)
    if moderator is None:
        record_login_failure(username=username)
        return refused("Wrong username or password.", 401)
    record_login_success(username=username)
    start_session(request, moderator_id=moderator.id, session_version=moderator.session_version)
    session.commit()  # a password rehash, if the hasher's parameters changed
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(
    request: Request, session: SessionDep, csrf: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    check_csrf(request, csrf)
    reviewer = session_reviewer(request, session)
    if reviewer is not None:
        # The cookie is signed, not stored: a copy of it would go on working unless the
        # moderator's session version moves on. Signing out ends all their sessions.
        moderator = session.get(Moderator, reviewer.id)
        if moderator is not None:
            accounts.end_sessions(session=session, moderator=moderator)
            session.commit()
    request.session.clear()
    return RedirectResponse("/moderate/login", status_code=303)


def _list_page(
    request: Request,
    session: SessionDep,
    status: CommentStatus,
    site: str | None,
    article: str | None,
    label: str | None,
    min_score: float | None,
    max_score: float | None,
    order: str,
    offset: int,
) -> Response:
    reviewer = session_reviewer(request, session)
    if reviewer is None:
        return _to_login(request)
    sites = accounts.reviewable_sites(session=session, reviewer=reviewer)
    try:
        site_row = _chosen_site(sites, site)
    except SiteNotFound as refused:
        return _error_page(request, reviewer, refused)
    page = review.list_queue(
        session=session,
        reviewer=reviewer,
        site_id=site_row.id if site_row else None,
        article_id=article or None,
        label=label if label in LABELS else None,
        min_score=min_score,
        max_score=max_score,
        order=order,
        status=status,
        offset=offset,
        limit=50,
    )
    filters = {
        "site": site,
        "article": article,
        "label": label,
        "min_score": min_score,
        "max_score": max_score,
        "order": order,
    }
    query = {k: v for k, v in filters.items() if v not in (None, "")}
    if status != CommentStatus.HELD:
        query["status"] = status.value
    heading, nav = HEADINGS[status]
    return render(
        request,
        "queue.html",
        _context(
            request,
            reviewer,
            nav=nav,
            heading=heading,
            page=page,
            status=status.value,
            sites=sites,
            labels=LABELS,
            filters=filters,
            reasons=review.REJECT_REASONS,
            action="/moderate" if status == CommentStatus.HELD else "/moderate/comments",
            next_url=f"{request.url.path}?{urlencode({**query, 'offset': offset + 50})}",
        ),
    )


Site_ = Annotated[str | None, Query(max_length=100)]
Article = Annotated[str | None, Query(max_length=200)]
Label = Annotated[str | None, Query(max_length=40)]
Score = Annotated[float | None, Query(ge=0, le=1)]
Order = Annotated[str, Query(pattern="^(uncertain|oldest)$")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


@router.get("")
def queue_page(
    request: Request,
    session: SessionDep,
    site: Site_ = None,
    article: Article = None,
    label: Label = None,
    min_score: Score = None,
    max_score: Score = None,
    order: Order = "uncertain",
    offset: Offset = 0,
) -> Response:
    return _list_page(
        request,
        session,
        CommentStatus.HELD,
        site,
        article,
        label,
        min_score,
        max_score,
        order,
        offset,
    )


@router.get("/comments")
def comments_page(
    request: Request,
    session: SessionDep,
    status: Annotated[str, Query(pattern="^(held|approved|rejected|removed)$")] = "approved",
    site: Site_ = None,
    article: Article = None,
    label: Label = None,
    min_score: Score = None,
    max_score: Score = None,
    offset: Offset = 0,
) -> Response:
    return _list_page(
        request,
        session,
        CommentStatus(status),
        site,
        article,
        label,
        min_score,
        max_score,
        "oldest",
        offset,
    )


@router.get("/comments/{comment_id}")
def comment_page(
    comment_id: Annotated[str, Path(max_length=36)], request: Request, session: SessionDep
) -> Response:
    reviewer = session_reviewer(request, session)
    if reviewer is None:
        return _to_login(request)
    try:
        item = review.get_comment_for_review(
            session=session, reviewer=reviewer, comment_id=comment_id
        )
    except (CommentNotFound, Forbidden) as exc:
        return _error_page(request, reviewer, exc)
    audit = review.list_audit(session=session, reviewer=reviewer, comment_id=comment_id)
    return render(
        request,
        "comment.html",
        _context(
            request, reviewer, nav=None, item=item, audit=audit, reasons=review.REJECT_REASONS
        ),
    )


@router.get("/audit")
def audit_page(
    request: Request,
    session: SessionDep,
    site: Site_ = None,
    actor: Annotated[str | None, Query(pattern="^(model|moderator)$")] = None,
    to_status: Annotated[str | None, Query(max_length=16)] = None,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> Response:
    reviewer = session_reviewer(request, session)
    if reviewer is None:
        return _to_login(request)
    sites = accounts.reviewable_sites(session=session, reviewer=reviewer)
    try:
        site_row = _chosen_site(sites, site)
    except SiteNotFound as refused:
        return _error_page(request, reviewer, refused)
    rows = review.list_audit(
        session=session,
        reviewer=reviewer,
        site_id=site_row.id if site_row else None,
        actor=actor,
        to_status=to_status or None,
        before_id=before_id,
        limit=100,
    )
    filters = {"site": site, "actor": actor, "to_status": to_status}
    query = {k: v for k, v in filters.items() if v}
    next_url = (
        f"/moderate/audit?{urlencode({**query, 'before_id': rows[-1].event.id})}"
        if len(rows) == 100
        else None
    )
    return render(
        request,
        "audit.html",
        _context(
            request,
            reviewer,
            nav="audit",
            audit=rows,
            sites=sites,
            filters=filters,
            next_url=next_url,
        ),
    )


# --- admins: site policy ----------------------------------------------------------------------


def _admin(request: Request, session: SessionDep) -> Reviewer | Response:
    reviewer = session_reviewer(request, session)
    if reviewer is None:
        return _to_login(request)
    if not reviewer.is_admin:
        return _error_page(request, reviewer, Forbidden("this page is for admins"))
    return reviewer


@router.get("/sites")
def sites_page(request: Request, session: SessionDep) -> Response:
    admin = _admin(request, session)
    if isinstance(admin, Response):
        return admin
    sites = list(session.scalars(select(Site).order_by(Site.name)))
    return render(request, "sites.html", _context(request, admin, nav="sites", sites=sites))


def _site_page(
    request: Request, session: SessionDep, admin: Reviewer, site: Site, **extra: Any
) -> Response:
    changes = site_admin.list_site_changes(session=session, site=site)
    status_code = 422 if extra.get("error") else 200
    return render(
        request,
        "site.html",
        _context(
            request,
            admin,
            nav="sites",
            site=site,
            changes=changes,
            **{"message": None, "error": None, **extra},
        ),
        status_code=status_code,
    )


def _site_or_404(
    request: Request, session: SessionDep, admin: Reviewer, name: str
) -> Site | Response:
    site = session.scalar(select(Site).where(Site.name == name))
    if site is None:
        return _error_page(request, admin, CommentNotFound(f"no site named {name!r}"))
    return site


@router.get("/sites/{name}")
def site_page(
    name: Annotated[str, Path(max_length=100)], request: Request, session: SessionDep
) -> Response:
    admin = _admin(request, session)
    if isinstance(admin, Response):
        return admin
    site = _site_or_404(request, session, admin, name)
    if isinstance(site, Response):
        return site
    return _site_page(request, session, admin, site)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _parse_thresholds(text: str) -> dict[str, dict[str, float | None]]:
    parsed: dict[str, dict[str, float | None]] = {}
    for line in _lines(text):
        parts = line.split()
        try:
            if len(parts) not in (2, 3):
                raise ValueError
            parsed[parts[0]] = {
                "approve_below": float(parts[1]),
                "reject_at": float(parts[2]) if len(parts) == 3 else None,
            }
        except ValueError:
            raise site_admin.InvalidPolicy(
                f"{line!r}: write 'label approve_below [reject_at]'", field="label_thresholds"
            ) from None
    return parsed


@router.post("/sites/{name}")
def save_site(
    name: Annotated[str, Path(max_length=100)],
    request: Request,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=200)] = "",
    mode: Annotated[str, Form(max_length=8)] = "post",
    approve_below: Annotated[float, Form(ge=0, le=1)] = 0.5,
    reject_at: Annotated[float, Form(ge=0, le=1)] = 0.9,
    label_thresholds: Annotated[str, Form(max_length=5000)] = "",
    hold_words: Annotated[str, Form(max_length=100_000)] = "",
    reject_words: Annotated[str, Form(max_length=100_000)] = "",
    allowed_origins: Annotated[str, Form(max_length=10_000)] = "",
    languages: Annotated[str, Form(max_length=500)] = "",
    other_languages: Annotated[str, Form(max_length=8)] = "hold",
) -> Response:
    admin = _admin(request, session)
    if isinstance(admin, Response):
        return admin
    check_csrf(request, csrf)
    site = _site_or_404(request, session, admin, name)
    if isinstance(site, Response):
        return site
    try:
        site_admin.update_policy(
            session=session,
            site=site,
            actor=admin.actor,
            update=site_admin.PolicyUpdate(
                mode=mode,
                approve_below=approve_below,
                reject_at=reject_at,
                label_thresholds=_parse_thresholds(label_thresholds),
                hold_words=_lines(hold_words),
                reject_words=_lines(reject_words),
                allowed_origins=_lines(allowed_origins),
                languages=languages.split(),
                other_languages=other_languages,
            ),
        )
    except ModerationError as exc:
        session.rollback()
        session.refresh(site)
        return _site_page(request, session, admin, site, error=exc.message)
    session.commit()
    return _site_page(request, session, admin, site, message="Saved.")


# How long the previous Coral secret stays valid after a new one is made (the page's choices).
CORAL_OVERLAPS = {"0": 0, "10m": 600, "1h": 3600, "24h": 86400}


@router.post("/sites/{name}/coral-secret")
def new_coral_secret(
    name: Annotated[str, Path(max_length=100)],
    request: Request,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=200)] = "",
    keep_previous: Annotated[str, Form(max_length=8)] = "0",
) -> Response:
    from datetime import timedelta

    from service.integrations.coral.signing import rotate_coral_secret

    admin = _admin(request, session)
    if isinstance(admin, Response):
        return admin
    check_csrf(request, csrf)
    site = _site_or_404(request, session, admin, name)
    if isinstance(site, Response):
        return site
    if keep_previous not in CORAL_OVERLAPS:
        return _site_page(request, session, admin, site, error="pick an overlap from the list")
    secret = rotate_coral_secret(
        session=session,
        site=site,
        actor=admin.actor,
        keep_previous=timedelta(seconds=CORAL_OVERLAPS[keep_previous]),
    )
    session.commit()
    return _site_page(request, session, admin, site, coral_secret=secret)


# --- admins: model versions -------------------------------------------------------------------

# The session key of the models page's one-time message: what the last change did. Kept in
# the signed session, not the redirect's query string, so a link cannot put words on the page.
MODELS_MESSAGE = "models_message"
ModelVersionField = Annotated[str, Form(min_length=1, max_length=100)]
# model_changes.reason holds 300 characters.
ReasonField = Annotated[str, Form(max_length=300)]
CsrfField = Annotated[str, Form(max_length=200)]


@dataclass(frozen=True)
class PromoteRefusal:
    """A promote the page refused: the gate's regressions (none when only the reason was
    missing), shown with a "Promote anyway" form that needs a reason."""

    version: str
    live_version: str | None
    regressions: list[str]


class ReasonMissing(ModelChangeRefused):
    """A "Promote anyway" without a reason: refused, and its form shown again."""

    status_code = 422

    def __init__(self, version: str) -> None:
        super().__init__("Promote anyway needs a reason: say why the quality gate is overridden.")
        self.refusal = PromoteRefusal(version, None, [])


def _models_page(
    request: Request,
    session: SessionDep,
    admin: Reviewer,
    *,
    message: str | None = None,
    error: str | None = None,
    refusal: PromoteRefusal | None = None,
    status_code: int = 200,
) -> Response:
    from service.model_registry.cli import headline_metrics
    from service.model_registry.store import list_changes, list_versions

    versions = []
    for row in reversed(list_versions(session=session)):
        auc = headline_metrics(row.metrics)
        versions.append(
            {
                "row": row,
                "toxicity_auc": auc.get("toxicity"),
                "mean_auc": mean(auc.values()) if auc else None,
            }
        )
    sites = list(session.scalars(select(Site).order_by(Site.name)))
    train_commands = [
        (site.name, f"moderation model train --from-decisions --site {shlex.quote(site.name)}")
        for site in sites
    ]
    return render(
        request,
        "models.html",
        _context(
            request,
            admin,
            nav="models",
            versions=versions,
            changes=list(reversed(list_changes(session=session))),
            train_commands=train_commands,
            message=message,
            error=error,
            refusal=refusal,
        ),
        status_code=status_code,
    )


@router.get("/models")
def models_page(request: Request, session: SessionDep) -> Response:
    """Every model version and every change of the live and shadow ones, with the CLI's
    shadow, promote and rollback as forms (training stays a command: it takes minutes)."""
    admin = _admin(request, session)
    if isinstance(admin, Response):
        return admin
    return _models_page(request, session, admin, message=request.session.pop(MODELS_MESSAGE, None))


def _change_models(
    request: Request, session: SessionDep, csrf: str, change: Callable[[Reviewer], str]
) -> Response:
    """Run one change as the signed-in admin: committed and back to the page (303) with what it
    did, or rolled back and the page again with the refusal (its 4xx status)."""
    from service.model_registry.compare import GateRefused

    admin = _admin(request, session)
    if isinstance(admin, Response):
        return admin
    try:
        check_csrf(request, csrf)
        message = change(admin)
    except GateRefused as exc:
        session.rollback()
        result = exc.result
        refusal = PromoteRefusal(result.candidate_version, result.live_version, result.regressions)
        error = (
            f"{result.candidate_version} regresses against the live {result.live_version} on "
            f"{len(result.regressions)} check(s); not promoted."
        )
        return _models_page(
            request, session, admin, error=error, refusal=refusal, status_code=exc.status_code
        )
    except ReasonMissing as exc:
        session.rollback()
        return _models_page(
            request, session, admin, error=exc.message, refusal=exc.refusal, status_code=422
        )
    except ModerationError as exc:
        session.rollback()
        return _models_page(request, session, admin, error=exc.message, status_code=exc.status_code)
    session.commit()
    request.session[MODELS_MESSAGE] = message
    return RedirectResponse("/moderate/models", status_code=303)


@router.post("/models/shadow")
def shadow_model(
    request: Request, session: SessionDep, version: ModelVersionField, csrf: CsrfField = ""
) -> Response:
    from service.model_registry.store import start_shadow

    def change(admin: Reviewer) -> str:
        done = start_shadow(session=session, version=version, actor=admin.actor)
        was = f" ({done.from_version} is a candidate again)" if done.from_version else ""
        return f"{version} is in shadow{was}; workers follow within {_check_seconds()} s."

    return _change_models(request, session, csrf, change)


@router.post("/models/stop-shadow")
def stop_shadow_model(request: Request, session: SessionDep, csrf: CsrfField = "") -> Response:
    from service.model_registry.store import stop_shadow

    def change(admin: Reviewer) -> str:
        done = stop_shadow(session=session, actor=admin.actor)
        return f"{done.to_version} is no longer in shadow (now a candidate)."

    return _change_models(request, session, csrf, change)


@router.post("/models/promote")
def promote_model(
    request: Request,
    session: SessionDep,
    version: ModelVersionField,
    csrf: CsrfField = "",
    reason: ReasonField = "",
    force: Annotated[bool, Form()] = False,
) -> Response:
    """Promote through the quality gate (it loads both models and runs both suites: 2-3 s);
    "Promote anyway" sends force with a reason, kept in model_changes."""
    from service.model_registry.cli import workers_switch_note
    from service.model_registry.compare import gated_promote

    def change(admin: Reviewer) -> str:
        if force and not reason.strip():
            raise ReasonMissing(version)
        done, gate = gated_promote(
            session=session,
            version=version,
            actor=admin.actor,
            reason=reason.strip() or None,
            force=force,
        )
        was = f" (was {done.from_version}, now retired)" if done.from_version else ""
        forced = (
            f" past {len(gate.regressions)} regression(s) of the quality gate"
            if gate.regressions
            else ""
        )
        return f"{version} is live{was}{forced}; {workers_switch_note()}."

    return _change_models(request, session, csrf, change)


@router.post("/models/rollback")
def rollback_model(
    request: Request, session: SessionDep, csrf: CsrfField = "", reason: ReasonField = ""
) -> Response:
    from service.model_registry.cli import workers_switch_note
    from service.model_registry.store import rollback

    def change(admin: Reviewer) -> str:
        done = rollback(session=session, actor=admin.actor, reason=reason.strip() or None)
        return (
            f"{done.to_version} is live again ({done.from_version} retired); "
            f"{workers_switch_note()}."
        )

    return _change_models(request, session, csrf, change)


def _check_seconds() -> str:
    from service.config import get_settings

    return f"{get_settings().model_check_seconds:g}"


@router.get("/models/compare")
def model_compare_page(
    request: Request,
    session: SessionDep,
    version: Annotated[str | None, Query(max_length=100)] = None,
    site: Annotated[str | None, Query(max_length=100)] = None,
    # Text, not a datetime: the form sends an empty field when no date is picked.
    since: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """`moderation model compare` as a page: the live model beside a shadow or candidate one.
    Both are loaded and re-score the decided comments in this request, so it takes seconds."""
    admin = _admin(request, session)
    if isinstance(admin, Response):
        return admin
    from markupsafe import Markup

    from service.model_registry.compare import compare, default_compare_version
    from service.model_registry.report import comparison_fragment
    from service.model_registry.store import list_versions

    versions = [
        row.version for row in list_versions(session=session) if row.status != ModelStatus.LIVE
    ]
    context = _context(request, admin, nav="models", versions=versions, site=site or "", since=None)
    try:
        started = _parse_since(since)
        context["since"] = started
        version = version or default_compare_version(session=session)
        comparison = compare(
            session=session, version=version, since=started, site_name=site or None
        )
    except ModerationError as exc:
        return render(
            request,
            "model_compare.html",
            {**context, "version": version, "report": None, "error": exc.message},
            status_code=exc.status_code,
        )
    # Built by service.model_registry.report, which escapes every text it writes.
    report = Markup(comparison_fragment(comparison, table_class="audit"))
    return render(
        request,
        "model_compare.html",
        {**context, "version": version, "report": report, "error": None},
    )


def _parse_since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parse_utc(text)
    except ValueError as exc:
        raise ModerationError(str(exc)) from None
