"""`moderation site coral-secret NAME [--keep-previous DURATION]`."""

import re
from datetime import timedelta
from typing import Annotated

import typer

# "90s", "10m", "1h", "7d", or 0; one unit, so the pattern cannot backtrack.
_DURATION = re.compile(r"(\d{1,7})([smhd]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_OVERLAP = timedelta(days=30)


def parse_duration(text: str) -> timedelta:
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None:
        raise typer.BadParameter("write a duration like 90s, 10m, 1h or 7d")
    duration = timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    if duration > MAX_OVERLAP:
        raise typer.BadParameter("the overlap is at most 30 days")
    return duration


def site_coral_secret(
    name: str,
    keep_previous: Annotated[
        str,
        typer.Option(help="how long the previous secret stays valid: 0, 90s, 10m, 1h, 7d"),
    ] = "0",
    secret: Annotated[
        str | None,
        typer.Option(
            help="use this secret (e.g. the one Coral's admin shows) instead of a new one"
        ),
    ] = None,
) -> None:
    """Make a site's Coral signing secret (printed once); the previous one stays valid for
    --keep-previous, so Coral can be switched over meanwhile."""
    from service.db import session_scope
    from service.integrations.coral.signing import rotate_coral_secret
    from service.sites import get_site_by_name

    overlap = parse_duration(keep_previous)
    with session_scope() as session:
        site = get_site_by_name(session=session, name=name)
        if site is None:
            typer.echo(f"no site named {name!r}", err=True)
            raise typer.Exit(1)
        try:
            made = rotate_coral_secret(
                session=session, site=site, actor="cli", keep_previous=overlap, secret=secret
            )
        except ValueError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from None
    typer.echo(f"coral signing secret: {made}")
    if overlap:
        typer.echo(f"The previous secret stays valid for {keep_previous}.")
    typer.echo("Store the secret now: it cannot be shown again.")


def register(site_app: typer.Typer) -> None:
    site_app.command("coral-secret")(site_coral_secret)
