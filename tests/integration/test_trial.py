"""The one-command trial, started exactly as the README's run command starts it (`make run`):
SQLite store, the embedded SQLite broker, a real Celery worker and beat; no server installed."""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import psutil

from tests.conftest import free_port, moderation, start_process, wait_until
from tests.factories import abusive_comments, benign_comments
from tests.integration.test_full_path import FINAL, read_feed


def test_make_run_serves_scores_and_publishes_on_embedded_defaults(tmp_path: Path) -> None:
    port = free_port()
    env = {"MODERATION_DATA_DIR": str(tmp_path / "var"), "MODERATION_PORT": str(port)}
    trial = start_process(["make", "--no-print-directory", "run"], env, tmp_path / "trial.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: "ready: " in trial.output(), timeout=120, what="the ready line", process=trial
        )
        output = trial.output()
        key = re.search(r"key: (cm_\S+)", output).group(1)  # type: ignore[union-attr]
        # The ready line is the last thing printed, and names what a newcomer needs.
        assert output.rstrip().splitlines()[-1].startswith(f"ready: {base}")
        assert "Ctrl-C" in output
        for link in ("/moderate", "/articles/harbour-ferry?site=demo", "moderator add"):
            assert link in output, link
        # Celery's banner and warnings are in the worker's log, not on the terminal.
        assert "SecurityWarning" not in output and " ready." not in output
        # Celery's own banner, in its log: the ready line means the API takes comments (they are
        # durable), and on a busy machine the worker may finish starting just after it.
        worker_log = tmp_path / "var" / "log" / "worker.log"
        wait_until(
            lambda: " ready." in worker_log.read_text(), timeout=60, what="the worker's banner"
        )
        home = httpx.get(f"{base}/", timeout=5)
        assert home.status_code == 200 and "text/html" in home.headers["content-type"]

        def ready() -> bool:
            try:
                return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout=60, what="the API to be ready", process=trial)
        headers = {"Authorization": f"Bearer {key}"}
        kind_of: dict[str, str] = {}
        for kind, texts in (("benign", benign_comments()), ("abusive", abusive_comments())):
            for _ in range(5):
                response = httpx.post(
                    f"{base}/v1/comments",
                    json={"article_id": "trial", "author_name": "T", "body": next(texts)},
                    headers=headers,
                )
                assert response.status_code == 202, response.text
                kind_of[response.json()["id"]] = kind

        def all_decided() -> bool:
            return all(
                httpx.get(f"{base}/v1/comments/{cid}", headers=headers).json()["status"] in FINAL
                for cid in kind_of
            )

        wait_until(all_decided, timeout=90, what="the trial worker's decisions", process=trial)
        published = {c["id"] for c in read_feed(base, "demo", "trial", limit=3)}
        assert published == {cid for cid, kind in kind_of.items() if kind == "benign"}
        assert (tmp_path / "var" / "moderation.db").exists()
    finally:
        if trial.popen.poll() is None:
            os.killpg(trial.popen.pid, signal.SIGTERM)
        try:
            trial.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(trial.popen.pid, signal.SIGKILL)
            raise AssertionError(
                f"the trial did not stop on SIGTERM:\n{trial.output()[-3000:]}"
            ) from None

    # API, worker and beat all stop with it: the trial's process group empties.
    def group_empty() -> bool:
        found = subprocess.run(
            ["pgrep", "-g", str(trial.popen.pid)], capture_output=True, text=True, check=False
        )
        return found.stdout == ""

    wait_until(group_empty, timeout=30, what="API, worker and beat to stop")


def test_a_trial_killed_outright_leaves_no_worker_or_beat_behind(tmp_path: Path) -> None:
    env = {"MODERATION_DATA_DIR": str(tmp_path / "var"), "MODERATION_PORT": str(free_port())}
    trial = start_process(moderation("up"), env, tmp_path / "trial.log")
    try:
        wait_until(
            lambda: "ready: " in trial.output(),
            timeout=120,
            what="the trial's workers and beat",
            process=trial,
        )
    finally:
        os.kill(trial.popen.pid, signal.SIGKILL)  # no chance to stop its children itself
        trial.popen.wait()

    def group_empty() -> bool:
        found = subprocess.run(
            ["pgrep", "-g", str(trial.popen.pid)], capture_output=True, text=True, check=False
        )
        return found.stdout == ""

    wait_until(group_empty, timeout=30, what="worker and beat to end with the trial")


def _trial_worker(trial_pid: int) -> psutil.Process:
    for child in psutil.Process(trial_pid).children(recursive=True):
        # Celery retitles its processes when setproctitle is installed ("[celeryd: ...]
        # (-m service.cli worker)"), so the command line is matched loosely.
        command = " ".join(child.cmdline())
        if ("worker" in command or "celeryd" in command) and "beat" not in command:
            return child
    raise AssertionError("the trial has no worker process")


def test_a_trial_whose_worker_is_killed_restarts_it_and_decides_what_comes_next(
    tmp_path: Path,
) -> None:
    """Before: the trial's worker died and nothing noticed; every later comment stayed pending
    until someone restarted the trial."""
    port = free_port()
    env = {"MODERATION_DATA_DIR": str(tmp_path / "var"), "MODERATION_PORT": str(port)}
    trial = start_process(moderation("up"), env, tmp_path / "trial.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: "ready: " in trial.output(), timeout=120, what="the ready line", process=trial
        )
        key = re.search(r"key: (cm_\S+)", trial.output()).group(1)  # type: ignore[union-attr]
        headers = {"Authorization": f"Bearer {key}"}
        worker = _trial_worker(trial.popen.pid)
        worker.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        worker.wait(timeout=10)
        response = httpx.post(
            f"{base}/v1/comments",
            json={"article_id": "kill", "author_name": "K", "body": "Sent while it was down."},
            headers=headers,
        )
        assert response.status_code == 202, response.text
        comment_id = response.json()["id"]

        def decided() -> bool:
            status = httpx.get(f"{base}/v1/comments/{comment_id}", headers=headers).json()
            return status["status"] in FINAL

        wait_until(decided, timeout=120, what="the comment sent after the kill", process=trial)
        print(f"comment decided {time.monotonic() - killed_at:.1f} s after the worker's SIGKILL")
        assert "the worker stopped (killed by SIGKILL); restarting it" in trial.output()
        assert _trial_worker(trial.popen.pid).pid != worker.pid
    finally:
        os.killpg(trial.popen.pid, signal.SIGTERM)
        trial.popen.wait(timeout=30)
