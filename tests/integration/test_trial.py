"""The one-command trial, started exactly as the README's run command starts it (`make run`):
SQLite store, filesystem broker, a real Celery worker and beat; no server installed."""

import os
import re
import signal
import subprocess
from pathlib import Path

import httpx

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
            lambda: "key: cm_" in trial.output(),
            timeout=120,
            what="the trial banner",
            process=trial,
        )
        key = re.search(r"key: (cm_\S+)", trial.output()).group(1)  # type: ignore[union-attr]
        assert base in trial.output() and "Ctrl-C" in trial.output()

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
            # Both workers (scoring, webhooks) up, and beat.
            lambda: trial.output().count(" ready.") >= 2 and "beat: Starting" in trial.output(),
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
