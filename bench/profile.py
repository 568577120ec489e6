"""Sampling profiles of running processes with py-spy, summarised as top functions."""

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]+)(?::\d+)?\)$")


def py_spy() -> str | None:
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


@dataclass
class Recording:
    popen: subprocess.Popen[bytes]
    output: Path

    def stop_early(self) -> None:
        """End the recording now; py-spy writes what it has on SIGINT (not on SIGTERM)."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)

    def finish(self, timeout: float) -> bool:
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.terminate()
            self.popen.wait()
        return self.output.exists() and self.output.stat().st_size > 0


def record(
    pid: int, output: Path, seconds: float, *, subprocesses: bool = False, gil: bool = True
) -> Recording:
    """Sample `pid` for `seconds`. With `gil`, only the thread holding the GIL is sampled: a
    profile of where the process spends its CPU (Python's one core), not of where it waits."""
    tool = py_spy()
    if tool is None:
        raise RuntimeError("py-spy is not installed")
    args = [tool, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds)))]
    args += ["--rate", "200", "--format", "raw", "--nonblocking", "--output", str(output)]
    output.unlink(missing_ok=True)  # never summarise an earlier run's file
    if subprocesses:
        args.append("--subprocesses")
    if gil:
        args.append("--gil")
    popen = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return Recording(popen=popen, output=output)


def _short(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "/lib/python3.11/", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match['func']} ({path})"


_OURS = ("service/", "workers/", "classifiers/")


def _package(frame: str) -> str:
    inside = frame.rsplit("(", 1)[-1].rstrip(")")
    if inside.startswith(_OURS):
        return inside.split("/", 1)[0]
    head = inside.split("/", 1)[0]
    return head.removesuffix(".py") if head else "?"


def summarise(raw: Path, top: int = 15) -> dict[str, object]:
    """Where the samples were: by package of the running frame, the top functions by own
    samples, and our own functions (service/, workers/) by samples anywhere on the stack."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [
            _short(frame)
            for frame in stack.split(";")
            if not frame.startswith(("process ", "thread "))
        ]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        packages[_package(frames[-1])] += count
        for frame in set(frames):
            if frame.rsplit("(", 1)[-1].startswith(_OURS):
                inclusive[frame] += count

    def share(counter: Counter[str]) -> list[dict[str, object]]:
        return [
            {"function": name, "share": count / total if total else 0.0}
            for name, count in counter.most_common(top)
        ]

    return {
        "samples": total,
        "packages": share(packages),
        "own": share(own),
        "ours_inclusive": share(inclusive),
    }
