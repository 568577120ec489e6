"""`moderation model list|register|promote|compare|rollback|shadow|train`: thin over the
registry's store (service.model_registry.store), its comparisons (service.model_registry.compare)
and training (service.model_registry.training)."""

import getpass
import json
import sys
import time
from datetime import datetime
from pathlib import Path
from statistics import mean
from typing import Annotated, Any

import typer

from service.tables import ModelStatus, ModelVersion

# The labelled data `train` learns from and `compare` measures on: the shared data sets when
# their folder exists, and labelled files (service.model_registry.training.base_rows).
SHARED_DATA = Path("/work/shared/data")
SharedDataDir = Annotated[
    Path, typer.Option("--data-dir", help="Shared data folder, used when it exists.")
]
LabelledFiles = Annotated[
    list[Path] | None,
    typer.Option("--input", help="CSV/JSONL with text + label (or one column per label)."),
]

model_app = typer.Typer(
    help="Model versions: list, register, compare, promote, roll back, shadow, train."
)


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
        str | None,
        typer.Option(
            help="decisions from then on, an ISO date or time (default: since the shadow began)"
        ),
    ] = None,
    html: Annotated[Path | None, typer.Option(help="also write an HTML report here")] = None,
    data_dir: SharedDataDir = SHARED_DATA,
    inputs: LabelledFiles = None,
) -> None:
    """The live model and VERSION side by side: both re-score the comments moderators decided
    (ROC AUC per attribute, decisions each would change, held rate under each site's policy),
    both on the validation split of the labelled data (the shared data when its folder exists,
    and --input files), and the quality gate's functional suite and identity bias for both."""
    from service.db import session_scope
    from service.errors import ModerationError
    from service.model_registry.compare import compare, default_compare_version
    from service.model_registry.report import comparison_html, format_comparison
    from service.model_registry.training import base_rows

    start = _parse_since(since)
    try:
        labelled, _ = base_rows(data_dir=data_dir, inputs=inputs or [])
        with session_scope() as session:
            version = version or default_compare_version(session=session)
            comparison = compare(
                session=session, version=version, since=start, site_name=site, labelled=labelled
            )
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


@model_app.command("shadow")
def model_shadow(
    version: Annotated[str | None, typer.Argument(help="the version to score in shadow")] = None,
    stop: Annotated[
        bool, typer.Option("--stop", help="stop shadow scoring (the version: candidate)")
    ] = False,
    reason: Annotated[str | None, typer.Option(help="why, for the audit log")] = None,
) -> None:
    """Score new comments with VERSION too, beside the live model, deciding nothing (each
    comment is then scored twice); a version in shadow before goes back to candidate."""
    from service.db import session_scope
    from service.errors import ModerationError
    from service.model_registry.store import start_shadow, stop_shadow

    if stop == (version is not None):
        _fail("give a VERSION to shadow, or --stop (not both)")
        return
    try:
        with session_scope() as session:
            if version is None:
                change = stop_shadow(session=session, actor=_actor(), reason=reason)
            else:
                change = start_shadow(
                    session=session, version=version, actor=_actor(), reason=reason
                )
            was, now = change.from_version, change.to_version
    except ModerationError as exc:
        _fail(exc.message)
        return
    if version is None:
        typer.echo(f"{now} is no longer in shadow (now a candidate)")
    else:
        typer.echo(f"{now} is in shadow" + (f" ({was} is a candidate again)" if was else ""))
    from service.config import get_settings

    # Not _say_when_workers_switch: MODERATION_MODEL_PATH pins the live model only; workers
    # follow the store's shadow either way.
    typer.echo(f"workers follow within {get_settings().model_check_seconds:g} s")


def _parse_since(value: str | None) -> datetime | None:
    """--since: an ISO date or time; one without a zone is UTC, as every time in the store is."""
    from service.db import parse_utc

    if value is None:
        return None
    try:
        return parse_utc(value)
    except ValueError as exc:
        _fail(f"--since {exc}")
        return None


@model_app.command("train")
def model_train(
    from_decisions: Annotated[
        bool,
        typer.Option(
            "--from-decisions",
            help="Add moderators' decisions (and suggested scores) as labels of their own.",
        ),
    ] = False,
    site: Annotated[
        str | None, typer.Option(help="Only this site's labels (name or id; default: every site)")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Only labels decided at or after this ISO date/time (UTC if no zone)"),
    ] = None,
    data_dir: SharedDataDir = SHARED_DATA,
    inputs: LabelledFiles = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Where to write the model (default: $MODERATION_DATA_DIR/models/)."),
    ] = None,
    version: Annotated[
        str | None, typer.Option(help="Version string; default news-lr-<date>-decisions-<n>.")
    ] = None,
    decision_weight: Annotated[
        float | None,
        typer.Option(min=0.0, help="Weight of a label row against a base row (default 5)."),
    ] = None,
    min_labels: Annotated[
        int | None,
        typer.Option(min=1, help="Refuse with fewer toxic or civil labels (default 20)."),
    ] = None,
    word_vectors: Annotated[
        bool | None,
        typer.Option(
            "--word-vectors/--no-word-vectors",
            help="Distil word vectors from the encoder (default: when it is installed).",
        ),
    ] = None,
) -> None:
    """Train a candidate on the base data plus moderators' decisions; registered with the
    live version as its parent, deciding nothing until promoted."""
    from tqdm import tqdm

    from classifiers.model import LABELS
    from classifiers.word_vectors import EncoderMissing
    from service.config import get_settings
    from service.db import get_session_factory
    from service.errors import ModerationError
    from service.model_registry import training

    if not from_decisions:
        _fail("say --from-decisions (`moderation train` trains on the base data alone)")
        return
    start = _parse_since(since)
    steps = ["labels", "read", "split", "word vectors", *LABELS, "calibration", "spans"]
    steps += ["evaluate", "save", "register"]
    try:
        with tqdm(total=len(steps), desc="train", unit="step", file=sys.stderr) as bar:

            def progress(step: str) -> None:
                bar.set_postfix_str(step)
                bar.update(1)

            trained = training.train_from_decisions(
                sessions=get_session_factory(),
                actor=_actor(),
                out_dir=get_settings().data_dir / "models",
                site=site,
                since=start,
                data_dir=data_dir,
                inputs=inputs or [],
                out=out,
                version=version,
                decision_weight=(
                    training.DEFAULT_DECISION_WEIGHT if decision_weight is None else decision_weight
                ),
                min_labels=training.DEFAULT_MIN_LABELS if min_labels is None else min_labels,
                word_vectors=word_vectors,
                progress=progress,
            )
    except (ModerationError, EncoderMissing) as exc:
        _fail(str(exc))
        return
    summary = trained.summary
    typer.echo(trained.report)
    if trained.base_rows == 0:
        typer.echo("no base data: trained on the labels and the generated sentences only")
    typer.echo(
        f"labels: {summary.toxic} toxic, {summary.civil} civil ({summary.decisions} decisions, "
        f"{summary.feedback} suggested scores)"
    )
    typer.echo(
        f"registered {trained.version} as candidate (parent {trained.parent_version or '-'}); "
        f"saved {trained.path}"
    )


def workers_switch_note() -> str:
    """When workers follow a change of the live version (said after a promote or rollback, by
    this CLI and by the admin page)."""
    from service.config import get_settings

    settings = get_settings()
    if settings.model_path:
        return (
            f"note: MODERATION_MODEL_PATH is set ({settings.model_path}); workers with it "
            "keep scoring with that file"
        )
    return f"workers switch within {settings.model_check_seconds:g} s"


def _say_when_workers_switch() -> None:
    typer.echo(workers_switch_note())


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")
