"""`moderation moderator ...` and `moderation site policy|tune|rotate-key|webhook` commands."""

import json
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from service.tables import ModeratorRole

if TYPE_CHECKING:
    from service.moderation.tuning import TuningReport

moderator_app = typer.Typer(help="Manage moderators and admins.", no_args_is_help=True)
CLI_ACTOR = "cli"


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(1)


@moderator_app.command("add")
def moderator_add(
    username: str,
    site: Annotated[list[str] | None, typer.Option(help="a site this moderator reviews")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="every site, policy, keys")] = False,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
) -> None:
    """Add a moderator (or, with --admin, an admin). Asks for the password."""
    from service.db import session_scope
    from service.errors import ModerationError
    from service.moderation.accounts import create_moderator
    from service.sites import get_site_by_name

    with session_scope() as session:
        site_ids = []
        for name in site or []:
            found = get_site_by_name(session=session, name=name)
            if found is None:
                _fail(f"no site named {name!r}")
            else:
                site_ids.append(found.id)
        try:
            create_moderator(
                session=session,
                username=username,
                password=password,
                role=ModeratorRole.ADMIN if admin else ModeratorRole.MODERATOR,
                site_ids=site_ids,
            )
        except ModerationError as exc:
            _fail(exc.message)
    typer.echo(f"{'admin' if admin else 'moderator'} {username} added")


@moderator_app.command("sites")
def moderator_sites(
    username: str, site: Annotated[list[str], typer.Option(help="the sites they review")]
) -> None:
    """Set which sites a moderator reviews."""
    from service.db import session_scope
    from service.errors import ModerationError
    from service.moderation.accounts import get_moderator_by_name, set_moderator_sites
    from service.sites import get_site_by_name

    with session_scope() as session:
        try:
            moderator = get_moderator_by_name(session=session, username=username)
        except ModerationError as exc:
            _fail(exc.message)
            return
        ids = []
        for name in site:
            found = get_site_by_name(session=session, name=name)
            if found is None:
                _fail(f"no site named {name!r}")
            else:
                ids.append(found.id)
        set_moderator_sites(session=session, moderator=moderator, site_ids=ids)
    typer.echo(f"{username} reviews: {', '.join(site)}")


@moderator_app.command("list")
def moderator_list() -> None:
    """List moderators: name, role, active or not, the sites they review."""
    from service.db import session_scope
    from service.moderation.accounts import list_moderators

    with session_scope() as session:
        rows = list_moderators(session=session)
        if not rows:
            typer.echo("no moderators yet: add one with `moderation moderator add NAME --admin`")
        for moderator, sites in rows:
            state = "active" if moderator.active else "deactivated"
            where = "every site" if moderator.role == ModeratorRole.ADMIN else ", ".join(sites)
            typer.echo(f"{moderator.username}\t{moderator.role}\t{state}\t{where or '-'}")


@moderator_app.command("deactivate")
def moderator_deactivate(username: str) -> None:
    """Stop a moderator: no sign-in, their sessions and API tokens end at once."""
    from service.db import session_scope
    from service.errors import ModerationError
    from service.moderation.accounts import deactivate, get_moderator_by_name

    with session_scope() as session:
        try:
            moderator = get_moderator_by_name(session=session, username=username)
        except ModerationError as exc:
            _fail(exc.message)
            return
        deactivate(session=session, moderator=moderator)
    typer.echo(f"{username} deactivated; their sessions and tokens no longer work")


@moderator_app.command("password")
def moderator_password(
    username: str,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
) -> None:
    """Set a moderator's password (asks for it); their sessions end."""
    from service.db import session_scope
    from service.errors import ModerationError
    from service.moderation.accounts import get_moderator_by_name, set_password

    with session_scope() as session:
        try:
            moderator = get_moderator_by_name(session=session, username=username)
            set_password(session=session, moderator=moderator, password=password)
        except ModerationError as exc:
            _fail(exc.message)
            return
    typer.echo(f"password of {username} changed; they sign in again everywhere")


@moderator_app.command("token")
def moderator_token(username: str, name: Annotated[str, typer.Option()] = "automation") -> None:
    """Make an API token for a moderator's automation (printed once)."""
    from service.db import session_scope
    from service.errors import ModerationError
    from service.moderation.accounts import create_token, get_moderator_by_name

    with session_scope() as session:
        try:
            moderator = get_moderator_by_name(session=session, username=username)
        except ModerationError as exc:
            _fail(exc.message)
            return
        _, token = create_token(session=session, moderator_id=moderator.id, name=name)
    typer.echo(f"token: {token}")
    typer.echo("Store the token now: it cannot be shown again.")


def site_policy(
    name: str,
    mode: Annotated[str | None, typer.Option(help="post or pre")] = None,
    approve_below: Annotated[float | None, typer.Option()] = None,
    reject_at: Annotated[float | None, typer.Option()] = None,
    threshold: Annotated[
        list[str] | None,
        typer.Option(help="per score: LABEL=APPROVE_BELOW[:REJECT_AT], e.g. threat=0.3:0.8"),
    ] = None,
    language: Annotated[
        list[str] | None,
        typer.Option(help="replaces the languages the model is trusted for (e.g. en)"),
    ] = None,
    other_languages: Annotated[
        str | None, typer.Option(help="hold, publish or reject a comment in another language")
    ] = None,
    hold_word: Annotated[list[str] | None, typer.Option(help="replaces the hold list")] = None,
    reject_word: Annotated[list[str] | None, typer.Option(help="replaces the reject list")] = None,
    origin: Annotated[list[str] | None, typer.Option(help="replaces the allowed origins")] = None,
    hold_markup: Annotated[
        bool | None,
        typer.Option("--hold-markup/--no-hold-markup", help="hold comments that look like HTML"),
    ] = None,
    analyze_rate_limit: Annotated[
        str | None,
        typer.Option(
            help="Perspective/Coral calls scored in the API, e.g. 5/second ('' = default)"
        ),
    ] = None,
    keep_analyzed_texts: Annotated[
        bool | None,
        typer.Option(help="keep texts of analyze calls that allow it (doNotStore false)"),
    ] = None,
) -> None:
    """Show a site's policy, or change it (each change is recorded)."""
    from service.db import session_scope
    from service.errors import ModerationError
    from service.moderation.site_admin import PolicyUpdate, policy_view, update_policy
    from service.sites import get_site_by_name

    thresholds: dict[str, dict[str, float | None]] | None = None
    if threshold is not None:
        thresholds = {}
        for item in threshold:
            label, _, limits = item.partition("=")
            approve, _, reject = limits.partition(":")
            try:
                thresholds[label.strip()] = {
                    "approve_below": float(approve),
                    "reject_at": float(reject) if reject else None,
                }
            except ValueError:
                _fail(f"{item!r}: write LABEL=APPROVE_BELOW[:REJECT_AT]")
    with session_scope() as session:
        site = get_site_by_name(session=session, name=name)
        if site is None:
            _fail(f"no site named {name!r}")
            return
        update = PolicyUpdate(
            mode=mode,
            approve_below=approve_below,
            reject_at=reject_at,
            label_thresholds=thresholds,
            hold_words=hold_word,
            reject_words=reject_word,
            allowed_origins=origin,
            languages=language,
            other_languages=other_languages,
            hold_markup=hold_markup,
            analyze_rate_limit=analyze_rate_limit,
            keep_analyzed_texts=keep_analyzed_texts,
        )
        try:
            update_policy(session=session, site=site, actor=CLI_ACTOR, update=update)
        except ModerationError as exc:
            _fail(exc.message)
        typer.echo(json.dumps(policy_view(site), indent=2))


def _since(value: str | None) -> datetime | None:
    """--since: an ISO date or time (UTC unless it says otherwise), or a number of days back."""
    if value is None:
        return None
    if days := re.fullmatch(r"(\d{1,5})d", value.strip()):
        return datetime.now(UTC) - timedelta(days=int(days.group(1)))
    from service.db import parse_utc

    try:
        return parse_utc(value)
    except ValueError:
        _fail(f"--since {value!r}: write a date (2026-11-01), a time (2026-11-01T08:00Z) or 30d")
        return None


def _percent(share: float) -> str:
    return f"{share:.1%}"


def _share_line(name: str, now: str, tuned: str, interval: tuple[float, float]) -> str:
    low, high = interval
    return f"{name:<14}{now:>10}{tuned:>10}   (95% Wilson {_percent(low)} to {_percent(high)})"


def _tuning_lines(name: str, report: "TuningReport") -> list[str]:
    since = report.window_start.strftime("%Y-%m-%d %H:%M UTC") if report.window_start else "-"
    lines = [
        f"site {name}: hold thresholds for at most {_percent(report.max_civil_held)} of civil "
        f"comments held, from comments since {since} ({report.window_days:.1f} days)",
        f"civil: {report.civil} ({report.civil_by_moderators} approved by moderators, "
        f"{report.civil - report.civil_by_moderators} published and never taken down); "
        f"toxic: {report.toxic} (rejected or taken down by moderators); "
        f"undecided: {report.undecided}; unscored: {report.unscored}",
        "",
        f"{'attribute':<18}{'now':>7}{'tuned':>8}{'reject':>8}",
    ]
    for row in report.thresholds:
        reject = "-" if row.reject_at is None else f"{row.reject_at:.3f}"
        lines.append(f"{row.attribute:<18}{row.current:>7.3f}{row.tuned:>8.3f}{reject:>8}")
    lines += [
        f"(every hold threshold x {report.factor:.3f}, rounded up, capped at its reject "
        "threshold; reject thresholds unchanged)",
        "",
        f"{'':<14}{'now':>10}{'tuned':>10}",
        _share_line(
            "civil held",
            _percent(report.civil_held_now.value),
            _percent(report.civil_held.value),
            report.civil_held.interval,
        ),
    ]
    if report.toxic:
        lines.append(
            _share_line(
                "toxic caught",
                _percent(report.caught_now.value),
                _percent(report.caught.value),
                report.caught.interval,
            )
        )
    else:
        lines.append("toxic caught  no comment rejected or taken down by moderators yet")
    low, high = report.held_per_day.interval
    lines += [
        f"{'held per day':<14}{report.held_per_day_now.value:>10.1f}"
        f"{report.held_per_day.value:>10.1f}   (95% {low:.1f} to {high:.1f}, at "
        f"{report.held_per_day.submitted_per_day:.1f} comments a day)",
        "Held counts the rejected too; on scores only: word lists and the language rule hold "
        "on top of this.",
    ]
    return lines


def site_tune(
    name: str,
    max_civil_held: Annotated[
        float,
        typer.Option(help="share of civil comments that may be held, e.g. 0.02 for 2%"),
    ],
    since: Annotated[
        str | None, typer.Option(help="only comments since: 2026-11-01, or 30d for 30 days")
    ] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="store the tuned hold thresholds (recorded)")
    ] = False,
) -> None:
    """Hold thresholds from the site's own moderator decisions; --apply stores them."""
    from service.db import session_scope
    from service.errors import ModerationError
    from service.moderation.tuning import apply_tuning, tune_site
    from service.sites import get_site_by_name

    start = _since(since)
    with session_scope() as session:
        site = get_site_by_name(session=session, name=name)
        if site is None:
            _fail(f"no site named {name!r}")
            return
        try:
            report = tune_site(
                session=session, site=site, max_civil_held=max_civil_held, since=start
            )
            if apply:
                apply_tuning(
                    session=session, site=site, report=report, actor=CLI_ACTOR, since=start
                )
        except ModerationError as exc:
            _fail(exc.message)
            return
    for line in _tuning_lines(name, report):
        typer.echo(line)
    if apply:
        typer.echo("applied: the site's hold thresholds are the tuned ones (see site changes)")
    else:
        typer.echo("not applied: run again with --apply to store these thresholds")


def site_rotate_key(name: str) -> None:
    """Give a site a new key (printed once); the old key stops working at once."""
    from service.db import session_scope
    from service.moderation.site_admin import rotate_key
    from service.sites import get_site_by_name

    with session_scope() as session:
        site = get_site_by_name(session=session, name=name)
        if site is None:
            _fail(f"no site named {name!r}")
            return
        key = rotate_key(session=session, site=site, actor=CLI_ACTOR)
    typer.echo(f"key: {key}")


def site_webhook(
    name: str, url: Annotated[str | None, typer.Argument(help="omit to turn it off")] = None
) -> None:
    """Point a site's webhook at URL; prints the signing secret once."""
    from service.db import session_scope
    from service.errors import ModerationError
    from service.moderation.site_admin import set_webhook
    from service.sites import get_site_by_name

    with session_scope() as session:
        site = get_site_by_name(session=session, name=name)
        if site is None:
            _fail(f"no site named {name!r}")
            return
        try:
            secret = set_webhook(session=session, site=site, actor=CLI_ACTOR, url=url)
        except ModerationError as exc:
            _fail(exc.message)
            return
    typer.echo(f"webhook secret: {secret}" if secret else "webhook off")


def register(app: typer.Typer, site_app: typer.Typer) -> None:
    app.add_typer(moderator_app, name="moderator")
    site_app.command("policy")(site_policy)
    site_app.command("tune")(site_tune)
    site_app.command("rotate-key")(site_rotate_key)
    site_app.command("webhook")(site_webhook)
