"""The `moderation` command: one entry point for ops and for a one-command trial."""

import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from service.config import get_settings

app = typer.Typer(help="Self-hosted comment moderation.", no_args_is_help=True)
site_app = typer.Typer(help="Manage the sites that submit comments.", no_args_is_help=True)
app.add_typer(site_app, name="site")


@app.command()
def migrate() -> None:
    """Bring the store's schema up to date."""
    from service.migrate import upgrade

    upgrade()
    typer.echo("schema is up to date")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to bind")] = None,
    port: Annotated[int | None, typer.Option(help="port to bind")] = None,
    workers: Annotated[int, typer.Option(help="API processes")] = 1,
) -> None:
    """Run the HTTP API."""
    import uvicorn

    from service.http_server import server_options

    settings = get_settings()
    uvicorn.run(
        "service.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level=settings.log_level,
        access_log=False,
        loop="uvloop",
        **server_options(settings),
    )


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="scoring processes (each loads the model)")] = 1,
) -> None:
    """Run a scoring worker."""
    from workers.celery_app import app as celery_app

    settings = get_settings()
    # Solo pool for one process: no fork, the model loaded once, nothing between the task and
    # the core. More throughput comes from more worker processes (compose --scale worker=N).
    pool = (
        ["--pool=solo"] if concurrency == 1 else ["--pool=prefork", f"--concurrency={concurrency}"]
    )
    celery_app.worker_main(
        [
            "worker",
            f"--loglevel={settings.log_level.upper()}",
            "--without-gossip",
            "--without-mingle",
            f"--queues={settings.scoring_queue}",
            f"--hostname=scoring-{os.getpid()}@%h",
            *pool,
        ]
    )


@app.command("webhook-worker")
def webhook_worker(
    concurrency: Annotated[int, typer.Option(help="deliveries in flight at once")] = 8,
) -> None:
    """Run the worker that sends webhook deliveries (its own queue, apart from scoring)."""
    from workers.celery_app import app as celery_app

    settings = get_settings()
    # Threads: a delivery mostly waits on a site's endpoint (up to the timeout), so several
    # overlap in one process, and one hanging endpoint holds up one thread, not the others.
    celery_app.worker_main(
        [
            "worker",
            f"--loglevel={settings.log_level.upper()}",
            "--without-gossip",
            "--without-mingle",
            f"--queues={settings.webhook_queue}",
            f"--hostname=webhooks-{os.getpid()}@%h",
            "--pool=threads",
            f"--concurrency={concurrency}",
        ]
    )


@app.command()
def beat() -> None:
    """Run the scheduler that re-sends comments whose nudge was lost."""
    from workers.celery_app import app as celery_app

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    celery_app.start(
        [
            "beat",
            f"--loglevel={settings.log_level.upper()}",
            f"--schedule={settings.data_dir / 'celerybeat-schedule'}",
        ]
    )


@app.command()
def status(
    role: Annotated[
        str | None,
        typer.Option(help="only check that a 'worker' or 'beat' is alive (for health checks)"),
    ] = None,
) -> None:
    """Are workers and beat alive, and how old is the oldest comment still pending?

    Exits 1 when no worker (or, with --role, no such process) has been alive lately."""
    from service.stack_status import stack_status

    if role not in (None, "worker", "beat"):
        _fail(f"--role is 'worker' or 'beat', not {role!r}")
    current = stack_status()
    alive = {"worker": current.workers_alive, "beat": current.beat_alive}
    if role is not None:
        if not alive[role]:
            _fail(f"no {role} alive in the last {current.within_seconds:g} s")
        typer.echo(f"{role}: {alive[role]} alive")
        return
    for name, count in alive.items():
        typer.echo(
            f"{name + 's' if name == 'worker' else name:8} {count} alive (heartbeat in the "
            f"last {current.within_seconds:g} s)"
        )
    oldest = current.oldest_pending_seconds
    typer.echo(
        f"pending  {current.pending} comments"
        + (f", the oldest {oldest:.0f} s old" if oldest is not None else "")
    )
    for site in current.backlog:
        typer.echo(f"  {site.site}: {site.pending} pending, oldest {site.oldest_seconds:.0f} s")
    if not current.workers_alive:
        _fail("no worker is alive: comments are stored but nobody decides them")


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(1)


@site_app.command("add")
def site_add(
    name: str,
    origin: Annotated[
        list[str] | None, typer.Option(help="browser origin allowed to read comments")
    ] = None,
    approve_below: Annotated[float | None, typer.Option(help="approve below this score")] = None,
    reject_at: Annotated[
        float | None, typer.Option(help="reject at this score, for scores without a default")
    ] = None,
) -> None:
    """Add a site and print its key (shown once; only a hash is stored)."""
    from service.db import session_scope
    from service.policy import default_policy
    from service.sites import create_site, get_site_by_name

    settings = get_settings()
    policy = default_policy(
        approve_below=settings.default_approve_below if approve_below is None else approve_below,
        reject_at=settings.default_reject_at if reject_at is None else reject_at,
    )
    with session_scope() as session:
        if get_site_by_name(session=session, name=name) is not None:
            typer.echo(f"a site named {name!r} exists already", err=True)
            raise typer.Exit(1)
        site, key = create_site(session=session, name=name, policy=policy, allowed_origins=origin)
        site_id = site.id
    typer.echo(f"site {name} ({site_id})")
    typer.echo(f"key: {key}")
    typer.echo("Store the key now: it cannot be shown again.")


@site_app.command("list")
def site_list() -> None:
    """Every site: its key's first characters, mode, thresholds, origins and webhook."""
    from service.db import session_scope
    from service.sites import list_sites

    with session_scope() as session:
        sites = list_sites(session=session)
        rows = [
            (
                site.name,
                f"{site.key_prefix}…",
                site.mode,
                f"approve<{site.approve_below:g} reject>={site.reject_at:g}",
                ",".join(site.allowed_origins) or "-",
                "webhook" if site.webhook_url else "-",
            )
            for site in sites
        ]
    if not rows:
        typer.echo("no sites yet: add one with `moderation site add NAME`")
        return
    header = ("site", "key", "mode", "thresholds", "origins", "webhook")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        typer.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


@app.command()
def up(
    port: Annotated[int | None, typer.Option(help="port for the API")] = None,
) -> None:
    """One-command trial: migrate, make a demo site, run API + worker + beat together."""
    import threading

    from service.demo import ensure_demo_site
    from service.migrate import upgrade
    from service.trial import Supervisor, announce_when_ready, ready_banner

    settings = get_settings()
    port = port or settings.port
    upgrade()
    if settings.uses_embedded_broker:
        from service.embedded_broker import create_broker_tables

        create_broker_tables(settings.broker_url)
    site_name, key = ensure_demo_site()
    log_dir = settings.data_dir / "log"
    gave_up: list[str] = []

    def give_up(message: str) -> None:
        gave_up.append(message)
        os.kill(os.getpid(), signal.SIGTERM)  # uvicorn stops; then the rest below

    supervisor = Supervisor(("worker", "webhook-worker", "beat"), log_dir, give_up)
    supervisor.start()
    base = f"http://{settings.host}:{port}"
    typer.echo(f"Starting comment moderation at {base} (store and broker in {settings.data_dir})")
    stopping = threading.Event()
    banner = ready_banner(
        base=base, site=site_name, key=key, log_dir=log_dir, command=_this_command()
    )
    threading.Thread(
        target=announce_when_ready,
        kwargs={"base": base, "banner": banner, "stopping": stopping},
        daemon=True,
    ).start()
    # uvicorn handles SIGINT/SIGTERM itself and returns; then the children are stopped.
    try:
        serve(host=None, port=port, workers=1)
    finally:
        stopping.set()
        supervisor.stop()
    if gave_up:
        raise typer.Exit(1)


def _this_command() -> str:
    """How to run `moderation` again with this trial's settings, to paste into a shell."""
    command = Path(sys.argv[0])
    shown = os.path.relpath(command) if command.is_absolute() else str(command)
    if shown.endswith("cli.py") or not shown.endswith("moderation"):
        shown = f"{os.path.relpath(sys.executable)} -m service.cli"
    data_dir = os.environ.get("MODERATION_DATA_DIR")
    return f"MODERATION_DATA_DIR={data_dir} {shown}" if data_dir else shown


def _register_classifier_commands() -> None:
    try:
        from classifiers.cli import register
    except ImportError:  # the classifier's commands are optional for the service to run
        return
    from service.policy import Policy, decision_rule, default_policy

    settings = get_settings()
    policy = default_policy(settings.default_approve_below, settings.default_reject_at)
    # The policy every site had before per-score defaults, and no language routing: how a
    # reader met the previous model.
    legacy = Policy(approve_below=0.5, reject_at=0.9)
    register(
        app,
        rule=lambda model: decision_rule(model, policy),
        legacy_rule=lambda model: decision_rule(model, legacy, read=False),
    )


_register_classifier_commands()


def _register_moderation_commands() -> None:
    from service.moderation.cli import register

    register(app, site_app)


_register_moderation_commands()


def _register_integration_commands() -> None:
    from service.integrations.cli import register

    register(site_app)


_register_integration_commands()


def _register_model_registry_commands() -> None:
    from service.model_registry.cli import register

    register(app)


_register_model_registry_commands()


def main() -> None:
    from service.cli_errors import USER_ERRORS, debugging, explain

    try:
        app()
    except USER_ERRORS as exc:
        if debugging():
            raise
        typer.echo(f"moderation: {explain(exc)}", err=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
