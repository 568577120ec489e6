"""A user's mistake at the command line is one line saying what to do, never a traceback.

Before: each of these printed a traceback of 40 to 120 lines."""

import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

MODERATION = str(ROOT / ".venv" / "bin" / "moderation")


def _run(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MODERATION, *args],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def _one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr and "╭" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("moderation: "), result.stderr
    for word in words:
        assert word in last, last


def test_a_store_that_is_missing_or_not_migrated(tmp_path: Path) -> None:
    missing = _run("site", "list", env={"MODERATION_DATA_DIR": str(tmp_path / "no")}, cwd=tmp_path)
    _one_line_error(missing, "cannot open the store", "moderation migrate")
    (tmp_path / "empty").mkdir()
    empty = _run("site", "list", env={"MODERATION_DATA_DIR": str(tmp_path / "empty")}, cwd=tmp_path)
    _one_line_error(empty, "no schema yet", "moderation migrate")
    unreachable = _run(
        "site",
        "list",
        env={"DATABASE_URL": "postgresql+psycopg://nobody:secret@127.0.0.1:1/none"},
        cwd=tmp_path,
    )
    _one_line_error(unreachable, "cannot use the store", "DATABASE_URL")
    assert "secret" not in unreachable.stderr


def test_a_data_file_with_a_wrong_column(tmp_path: Path) -> None:
    (tmp_path / "wrong.csv").write_text('txt,label\n"a fine day",0\n"you fool",1\n')
    result = _run(
        "train", "--input", "wrong.csv", "--data-dir", str(tmp_path / "none"), "--out",
        str(tmp_path / "m.skops"), env={}, cwd=tmp_path,
    )  # fmt: skip
    _one_line_error(result, "text, body or comment")


def test_a_data_file_with_only_some_labels(tmp_path: Path) -> None:
    rows = [f'"a calm remark number {n}",0' for n in range(20)] + [
        f'"you stupid fool {n}",1' for n in range(20)
    ]
    (tmp_path / "some.csv").write_text("text,toxicity\n" + "\n".join(rows) + "\n")
    result = _run(
        "train", "--input", "some.csv", "--data-dir", str(tmp_path / "none"), "--out",
        str(tmp_path / "m.skops"), env={}, cwd=tmp_path,
    )  # fmt: skip
    _one_line_error(result, "needs positive and negative examples")


def test_a_missing_model_file(tmp_path: Path) -> None:
    result = _run("score", "--model", str(tmp_path / "none.skops"), env={}, cwd=tmp_path)
    _one_line_error(result, "none.skops")


@pytest.mark.usefixtures("sqlite_env")
def test_site_list(sqlite_env: Path) -> None:
    env = {"MODERATION_DATA_DIR": str(sqlite_env)}
    assert "no sites yet" in _run("site", "list", env=env, cwd=sqlite_env).stdout
    added = _run("site", "add", "courier", "--origin", "https://c.example", env=env, cwd=sqlite_env)
    assert added.returncode == 0, added.stderr
    key = added.stdout.split("key: ")[1].split()[0]
    listed = _run("site", "list", env=env, cwd=sqlite_env).stdout.splitlines()
    assert listed[0].split() == ["site", "key", "mode", "thresholds", "origins", "webhook"]
    assert listed[1].split()[:3] == ["courier", f"{key[:10]}…", "post"]
    assert "https://c.example" in listed[1]
    assert key not in "\n".join(listed)  # only the prefix: the key is shown once, at add
