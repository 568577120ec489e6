"""`moderation up`: the one-command trial's worker and beat, kept running, and its banner.

The worker and beat are child processes of the API's process. A child that exits is
restarted with a growing delay (1 s, 2 s, 4 s ... 30 s; back to 1 s once it has run a minute):
a worker killed once (the kernel's OOM killer, a crash) comes back by itself while the API goes
on storing comments, and the sweep hands it what was left pending. A child that keeps dying
(more than five exits in two minutes: a broken model file, a bad setting) would hide its fault
behind endless restarts, so then the whole trial stops, loudly, with the end of its log.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import typer

BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 30.0
# A child that ran this long was healthy: its next exit starts the backoff again.
HEALTHY_AFTER_SECONDS = 60.0
GIVE_UP_EXITS = 5
GIVE_UP_WINDOW_SECONDS = 120.0
CHECK_EVERY_SECONDS = 0.5


def _die_with_parent() -> None:
    """In a trial's worker and beat: end when `moderation up` ends, however it ends.

    Without this a trial killed with SIGKILL (or by a terminal closing) leaves its worker and
    beat running, still polling the trial's broker.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


@dataclass
class Child:
    role: str
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    delay: float = BACKOFF_FIRST_SECONDS
    restart_at: float | None = None
    exits: deque[float] = field(default_factory=deque)


class Supervisor:
    """Starts the children, restarts them with backoff, gives up loudly (see the module)."""

    def __init__(
        self,
        roles: tuple[str, ...],
        log_dir: Path,
        on_give_up: Callable[[str], None],
        say: Callable[[str], None] = lambda line: typer.echo(line, err=True),
    ) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.children = [Child(role=role, log_path=log_dir / f"{role}.log") for role in roles]
        self._on_give_up = on_give_up
        self._say = say
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self.restarts = 0

    def start(self) -> None:
        for child in self.children:
            self._spawn(child)
        self._thread.start()

    def _spawn(self, child: Child) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # Celery's banner and warnings go to the child's own log, not the trial's terminal.
        with child.log_path.open("ab") as log:
            child.popen = subprocess.Popen(
                [sys.executable, "-m", "service.cli", child.role],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        child.started_at = time.monotonic()
        child.restart_at = None

    def _watch(self) -> None:
        while not self._stopping.wait(CHECK_EVERY_SECONDS):
            for child in self.children:
                self.check(child, time.monotonic())

    def check(self, child: Child, now: float) -> None:
        if self._stopping.is_set() or child.popen is None:
            return
        if child.restart_at is not None:
            if now >= child.restart_at:
                self.restarts += 1
                self._spawn(child)
            return
        code = child.popen.poll()
        if code is None:
            return
        if now - child.started_at >= HEALTHY_AFTER_SECONDS:
            child.delay = BACKOFF_FIRST_SECONDS
        child.exits.append(now)
        while child.exits and now - child.exits[0] > GIVE_UP_WINDOW_SECONDS:
            child.exits.popleft()
        if len(child.exits) > GIVE_UP_EXITS:
            self._give_up(child, code)
            return
        self._say(
            f"moderation up: the {child.role} stopped ({describe_exit(code)}); "
            f"restarting it in {child.delay:g} s. Its log: {child.log_path}"
        )
        child.restart_at = now + child.delay
        child.delay = min(child.delay * 2, BACKOFF_MAX_SECONDS)

    def _give_up(self, child: Child, code: int) -> None:
        tail = child.log_path.read_text(errors="replace").splitlines()[-15:]
        self._say("\n".join(f"    {line}" for line in tail))
        message = (
            f"moderation up: the {child.role} stopped {len(child.exits)} times in "
            f"{GIVE_UP_WINDOW_SECONDS:g} s (last: {describe_exit(code)}); stopping the trial. "
            f"The end of its log is above; all of it is in {child.log_path}"
        )
        self._say(message)
        self._stopping.set()
        self._on_give_up(message)

    def stop(self) -> None:
        self._stopping.set()
        running = [c.popen for c in self.children if c.popen and c.popen.poll() is None]
        for popen in running:
            popen.terminate()
        for popen in running:
            try:
                popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                popen.kill()


def ready_banner(*, base: str, site: str, key: str, log_dir: Path, command: str) -> str:
    """What a newcomer needs, in the order they need it; the last line says "ready"."""
    curl = (
        f"curl -s -X POST {base}/v1/comments -H 'Authorization: Bearer {key}' "
        "-H 'Content-Type: application/json' "
        """-d '{"article_id":"harbour-ferry","author_name":"Ann","body":"Thanks for this."}'"""
    )
    return "\n".join(
        [
            "",
            f"  demo site:     {site}   key: {key}",
            f"  submit:        {curl}",
            f"  demo article:  {base}/articles/harbour-ferry?site={site}",
            f"  moderate:      {base}/moderate   (add yourself first: {command} moderator add "
            "YOUR-NAME --admin)",
            f"  status:        {command} status",
            f"  logs:          {log_dir}/ (worker.log, webhook-worker.log, beat.log)",
            "",
            f"ready: {base}  (Ctrl-C once stops the API, the workers and beat)",
        ]
    )


def announce_when_ready(*, base: str, banner: str, stopping: threading.Event) -> None:
    """Print the banner once the API answers and a worker is alive (`/readyz` says "ok")."""
    import httpx

    while not stopping.wait(0.25):
        try:
            if httpx.get(f"{base}/readyz", timeout=2).json().get("status") == "ok":
                typer.echo(banner)
                return
        except (httpx.HTTPError, ValueError):
            continue
