"""`moderation model list|register|promote|compare|rollback`: thin over the registry's store
(service.model_registry.store) and its comparisons (service.model_registry.compare)."""

import getpass
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from statistics import mean
from typing import Annotated, Any

import typer

from service.tables import ModelStatus, ModelVersion

model_app = typer.Typer(help="Model versions: list, register, compare, promote, roll back.")


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(1)


def _actor() -> str:
    """Who ran the command, for model_changes: the login name where the system knows it."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # a container user with no passwd entry
        return "cli"


def headline_metrics(metrics: Any) -> dict[str, float]:
    """ROC AUC per attribute, averaged over the card's evaluation sources (the card lists one
    row per source and attribute); empty for a card without them."""
    by_label: dict[str, list[float]] = {}
    rows = metrics if isinstance(metrics, list) else []
    for row in rows:
        if isinstance(row, dict) and isinstance(row.get("roc_auc"), int | float):
            by_label.setdefault(str(row.get("label")), []).append(float(row["roc_auc"]))
    return {label: round(mean(values), 3) for label, values in by_label.items()}


def _summary(row: ModelVersion) -> dict[str, Any]:
    return {
        "version": row.version,
        "status": row.status,
        "parent_version": row.parent_version,
        "created_at": row.created_at.isoformat(timespec="seconds"),
        "created_by": row.created_by,
        "sha256": row.sha256,
        "roc_auc": headline_metrics(row.metrics),
    }


@model_app.command("list")
def model_list(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """Every model version: status, parent, when and by whom, mean ROC AUC per attribute."""
    from service.db import session_scope
    from service.model_registry.store import list_versions

    with session_scope() as session:
        summaries = [_summary(row) for row in list_versions(session=session)]
    if as_json:
        for summary in summaries:
            typer.echo(json.dumps(summary))
        return
    if not summaries:
        typer.echo("no model versions yet: `moderation migrate` registers the shipped one")
        return
    header = ("version", "status", "parent", "created", "by", "ROC AUC (toxicity, mean)")
    rows = [
        (
            s["version"],
            s["status"],
            s["parent_version"] or "-",
            s["created_at"],
            s["created_by"],
            _auc_cell(s["roc_auc"]),
        )
        for s in summaries
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        typer.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def _auc_cell(auc: dict[str, float]) -> str:
    if not auc:
        return "-"
    return f"{auc.get('toxicity', float('nan')):.3f}, {mean(auc.values()):.3f}"


@model_app.command("register")
def model_register(
    path: Path,
    status: Annotated[
        ModelStatus, typer.Option(help="candidate (or shadow); live only through promote")
    ] = ModelStatus.CANDIDATE,
    parent: Annotated[
        str | None, typer.Option(help="the version it was trained from (default: the live one)")
    ] = None,
) -> None:
    """Store a .skops model file and its card (<name>.json beside it) as a new version."""
    from classifiers.persist import UntrustedModelError
    from service.db import session_scope
    from service.errors import ModerationError
    from service.model_registry.store import get_version, live_version, register_version

    try:
        with session_scope() as session:
            if parent is not None:
                get_version(session=session, version=parent)
            else:
                live = live_version(session=session)
                parent = live.version if live is not None else None
            row = register_version(
                session=session,
                path=path,
                created_by=_actor(),
                status=status,
                parent_version=parent,
            )
            version, sha256 = row.version, row.sha256
    except (ModerationError, UntrustedModelError) as exc:
        _fail(str(exc))
        return
    except FileNotFoundError as exc:
        _fail(str(exc))
        return
    typer.echo(f"registered {version} as {status.value} (sha256 {sha256[:12]}…)")


@model_app.command("promote")
def model_promote(
    version: str,
    reason: Annotated[str | None, typer.Option(help="why, for the audit log")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="promote despite the quality gate (needs --reason)")
    ] = False,
) -> None:
    """Make VERSION the live model once it passes the quality gate against the live one (the
    functional suite and identity bias on every attribute); the live one is retired. Workers
    switch without a restart."""
    from service.db import session_scope
    from service.errors import ModerationError
    from service.model_registry.compare import GateRefused, gated_promote

    started = time.perf_counter()
    try:
        with session_scope() as session:
            change, gate = gated_promote(
                session=session, version=version, actor=_actor(), reason=reason, force=force
            )
            was = change.from_version
    except GateRefused as exc:
        for line in exc.result.regressions:
            typer.echo(f"regression: {line}", err=True)
        _fail(exc.message)
        return
    except ModerationError as exc:
        _fail(exc.message)
        return
    seconds = time.perf_counter() - started
    if gate.regressions:
        for line in gate.regressions:
            typer.echo(f"regression (forced): {line}")
    elif gate.live_version is not None:
        typer.echo(f"quality gate: no regression against {gate.live_version} ({seconds:.1f} s)")
    typer.echo(f"{version} is live" + (f" (was {was}, now retired)" if was else ""))
    _say_when_workers_switch()


@model_app.command("compare")
def model_compare(
    version: Annotated[
        str | None, typer.Argument(help="default: the shadow version, else the newest candidate")
    ] = None,
    site: Annotated[str | None, typer.Option(help="only this site's comments (its name)")] = None,
    since: Annotated[
        datetime | None,
        typer.Option(help="decisions from then on (default: since the shadow began)"),
    ] = None,
    html: Annotated[Path | None, typer.Option(help="also write an HTML report here")] = None,
) -> None:
    """The live model and VERSION side by side: both re-score the comments moderators decided
    (ROC AUC per attribute, decisions each would change, held rate under each site's policy),
    and the quality gate's functional suite and identity bias for both."""
    from service.db import session_scope
    from service.errors import ModerationError
    from service.model_registry.compare import compare, default_compare_version
    from service.model_registry.report import comparison_html, format_comparison

    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)  # the store's times are UTC
    try:
        with session_scope() as session:
            version = version or default_compare_version(session=session)
            comparison = compare(session=session, version=version, since=since, site_name=site)
    except ModerationError as exc:
        _fail(exc.message)
        return
    typer.echo(format_comparison(comparison))
    if html is not None:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(comparison_html(comparison), encoding="utf-8")
        typer.echo(f"wrote {html}")


@model_app.command("rollback")
def model_rollback(
    reason: Annotated[str | None, typer.Option(help="why, for the audit log")] = None,
) -> None:
    """Make the version live before the current one live again; the current one is retired.
    Not gated: it is the way back when a promoted model misbehaves."""
    from service.db import session_scope
    from service.errors import ModerationError
    from service.model_registry.store import rollback

    try:
        with session_scope() as session:
            change = rollback(session=session, actor=_actor(), reason=reason)
            to, was = change.to_version, change.from_version
    except ModerationError as exc:
        _fail(exc.message)
        return
    typer.echo(f"{to} is live again ({was} retired)")
    _say_when_workers_switch()


def _say_when_workers_switch() -> None:
    from service.config import get_settings

    settings = get_settings()
    if settings.model_path:
        typer.echo(
            f"note: MODERATION_MODEL_PATH is set ({settings.model_path}); workers with it "
            "keep scoring with that file"
        )
    else:
        typer.echo(f"workers switch within {settings.model_check_seconds:g} s")


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")
