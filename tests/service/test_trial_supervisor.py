"""`moderation up` restarts a child that exits, with a growing delay, and stops the trial
loudly when one keeps dying (service.trial.Supervisor), driven here on a made-up clock."""

import subprocess
from pathlib import Path

import pytest

from service import trial
from service.trial import Child, Supervisor


def _exited(code: int) -> subprocess.Popen[bytes]:
    popen = subprocess.Popen(["sh", "-c", f"exit {code}"])
    popen.wait()
    return popen


def test_restarts_with_backoff_then_gives_up_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    said: list[str] = []
    gave_up: list[str] = []
    supervisor = Supervisor(("worker",), tmp_path, gave_up.append, say=said.append)
    child = supervisor.children[0]
    child.log_path.write_text("line one\nKeyError: model\n")
    spawned: list[float] = []

    def fake_spawn(target: Child) -> None:
        spawned.append(now)
        target.popen = _exited(3)
        target.started_at = now
        target.restart_at = None

    monkeypatch.setattr(supervisor, "_spawn", fake_spawn)
    now = 0.0
    fake_spawn(child)
    delays = []
    for _ in range(trial.GIVE_UP_EXITS):
        supervisor.check(child, now)  # sees the exit, schedules the restart
        assert child.restart_at is not None
        delays.append(child.restart_at - now)
        now = child.restart_at
        supervisor.check(child, now)  # restarts it
    assert delays == [1, 2, 4, 8, 16]
    assert "the worker stopped (exit code 3); restarting it in 1 s" in said[0]
    assert not gave_up
    # 31 s have passed, so all five exits are inside the two-minute window: a sixth gives up.
    supervisor.check(child, now)
    assert gave_up and "stopped 6 times" in gave_up[0]
    assert any("KeyError: model" in line for line in said)
    restarts_before = len(spawned)
    supervisor.check(child, now + 100)
    assert len(spawned) == restarts_before  # given up: nothing restarts any more


def test_a_child_that_ran_a_minute_starts_the_backoff_again(tmp_path: Path) -> None:
    supervisor = Supervisor(("beat",), tmp_path, lambda _: None, say=lambda _: None)
    child = supervisor.children[0]
    child.popen = _exited(0)
    child.delay = 16
    child.started_at = 0
    supervisor.check(child, trial.HEALTHY_AFTER_SECONDS + 1)
    assert child.restart_at == trial.HEALTHY_AFTER_SECONDS + 1 + 1


def test_a_signal_is_named() -> None:
    assert trial.describe_exit(-9) == "killed by SIGKILL"
    assert trial.describe_exit(2) == "exit code 2"
