"""The `moderation` command: one entry point for ops and for a one-command trial."""

import os
import signal
import subprocess
import sys
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


@app.command()
def up(
    port: Annotated[int | None, typer.Option(help="port for the API")] = None,
) -> None:
    """One-command trial: migrate, make a demo site, run API + worker + beat together."""
    from service.demo import ensure_demo_site
    from service.migrate import upgrade

    settings = get_settings()
    port = port or settings.port
    upgrade()
    site_name, key = ensure_demo_site()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "service.cli", role], env=env, preexec_fn=_die_with_parent
        )
        for role in ("worker", "webhook-worker", "beat")
    ]

    def stop(*_: object) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()

    base = f"http://{settings.host}:{port}"
    typer.echo(
        f"\nComment moderation is starting at {base}\n"
        f"  store:   {settings.database_url}\n"
        f"  broker:  {settings.broker_url}\n"
        f"  demo site: {site_name}   key: {key}\n"
        f"  try:  curl -s -X POST {base}/v1/comments -H 'Authorization: Bearer {key}' "
        "-H 'Content-Type: application/json' "
        """-d '{"article_id":"a1","author_name":"Ann","body":"Thanks for this piece."}'\n"""
        f"        curl -s '{base}/v1/articles/a1/comments?site={site_name}'\n"
        "  stop:  press Ctrl-C (or send SIGTERM) once; API, workers and beat stop together.\n",
        err=False,
    )
    # uvicorn handles SIGINT/SIGTERM itself and returns; then the children are stopped.
    try:
        serve(host=None, port=port, workers=1)
    finally:
        stop()


def _die_with_parent() -> None:
    """In a trial's worker and beat: end when `moderation up` ends, however it ends.

    Without this a trial killed with SIGKILL (or by a terminal closing) leaves its worker and
    beat running, still polling the trial's folder.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
