"""`moderation model list|register|promote|rollback|shadow` through Typer's runner, on
PostgreSQL."""

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from service.cli import app
from service.db import session_scope
from service.model_registry import store
from tests.conftest import make_site, start_worker, wait_until
from tests.model_registry.fixtures import PLANTED_VERSION

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["model", *args])
    return result.exit_code, result.stdout, result.stderr


def _listed() -> list[dict[str, object]]:
    code, out, _ = _run("list", "--json")
    assert code == 0
    return [json.loads(line) for line in out.splitlines()]


def test_list_shows_every_version_with_its_status(registry: str, shipped_version: str) -> None:
    code, out, _ = _run("list")
    assert code == 0
    header, row = out.splitlines()
    assert header.split()[:5] == ["version", "status", "parent", "created", "by"]
    assert row.split()[:2] == [shipped_version, "live"]
    (listed,) = _listed()
    assert listed["version"] == shipped_version and listed["status"] == "live"
    assert set(listed["roc_auc"]) >= {"toxicity", "identity_attack"}  # type: ignore[arg-type]


def test_register_promote_and_rollback_are_audited(
    registry: str, shipped_version: str, model_copies: dict[str, Path]
) -> None:
    code, out, _ = _run("register", str(model_copies["registry-test-b"]))
    assert code == 0 and "registered registry-test-b as candidate" in out
    assert [(v["version"], v["status"], v["parent_version"]) for v in _listed()] == [
        (shipped_version, "live", None),
        ("registry-test-b", "candidate", shipped_version),
    ]
    code, out, _ = _run("promote", "registry-test-b", "--reason", "fewer held")
    assert code == 0 and f"registry-test-b is live (was {shipped_version}" in out
    assert [v["status"] for v in _listed()] == ["retired", "live"]
    code, out, _ = _run("rollback")
    assert code == 0 and f"{shipped_version} is live again" in out
    assert [v["status"] for v in _listed()] == ["live", "retired"]
    with session_scope() as session:
        changes = [
            (c.action, c.from_version, c.to_version, c.reason, c.actor.startswith("cli"))
            for c in store.list_changes(session=session)
        ]
    assert changes[1:] == [
        ("promote", shipped_version, "registry-test-b", "fewer held", True),
        ("rollback", "registry-test-b", shipped_version, None, True),
    ]


def test_mistakes_are_one_line_and_exit_1(
    registry: str, shipped_version: str, model_copies: dict[str, Path], tmp_path: Path
) -> None:
    code, _, err = _run("promote", "no-such-version")
    assert code == 1 and "no model version 'no-such-version'" in err
    code, _, err = _run("promote", shipped_version)
    assert code == 1 and "live already" in err
    code, _, err = _run("rollback")
    assert code == 1 and "nothing to roll back to" in err
    code, _, err = _run("register", str(tmp_path / "missing.skops"))
    assert code == 1 and "no model file" in err
    not_a_model = tmp_path / "junk.skops"
    not_a_model.write_bytes(b"not a model")
    code, _, err = _run("register", str(not_a_model))
    assert code == 1 and "refusing to load" in err
    code, _, err = _run("register", str(model_copies["registry-test-b"]), "--status", "live")
    assert code == 1 and "promote" in err
    _run("register", str(model_copies["registry-test-b"]))
    code, _, err = _run("register", str(model_copies["registry-test-b"]))
    assert code == 1 and "registered already" in err
    assert [v["version"] for v in _listed()] == [shipped_version, "registry-test-b"]


@pytest.mark.parametrize(
    "command", [["compare"], ["train", "--from-decisions"]], ids=["compare", "train"]
)
def test_a_since_out_of_range_is_one_line(
    sqlite_env: Path, model_copies: dict[str, Path], command: list[str]
) -> None:
    # A candidate, so that compare would go on to read the decisions since then.
    assert _run("register", str(model_copies["registry-test-b"]))[0] == 0
    # Parses, but lies before the year 1 once in UTC.
    code, out, err = _run(*command, "--since", "0001-01-01T00:00+05:00")
    assert code == 1 and out == ""
    assert err.strip().splitlines() == [
        "--since '0001-01-01T00:00+05:00' is not a date and time (2026-12-01T09:00)"
    ]


def _changes() -> list[tuple[str, str | None]]:
    with session_scope() as session:
        return [(c.action, c.reason) for c in store.list_changes(session=session)]


def test_a_reason_longer_than_the_audit_log_keeps_is_refused_in_one_line(
    registry: str,
    shipped_version: str,
    model_copies: dict[str, Path],
    planted_bias_model: Path,
) -> None:
    # model_changes.reason is varchar(300): PostgreSQL raised a DataError traceback for more.
    too_long, whole = "w" * 301, "w" * 300
    for version in ("registry-test-b", "registry-test-c"):
        assert _run("register", str(model_copies[version]))[0] == 0
    before = _changes()
    for command in (
        ["promote", "registry-test-b"],
        ["shadow", "registry-test-b"],
        ["rollback"],
    ):
        code, out, err = _run(*command, "--reason", too_long)
        assert code == 1 and out == "", command
        assert err.splitlines() == [
            "the reason is 301 characters and model_changes keeps 300: shorten it "
            "(nothing was changed)"
        ], command
    assert _changes() == before
    assert [v["status"] for v in _listed()] == ["live", "candidate", "candidate"]

    # 300 is kept whole, for each kind of change.
    assert _run("shadow", "registry-test-c", "--reason", whole)[0] == 0
    code, _, err = _run("shadow", "--stop", "--reason", too_long)
    assert code == 1 and "the reason is 301 characters" in err
    assert _run("shadow", "--stop", "--reason", whole)[0] == 0
    assert _run("promote", "registry-test-b", "--reason", whole)[0] == 0
    assert _run("rollback", "--reason", whole)[0] == 0
    assert [reason for _, reason in _changes()[len(before) :]] == [whole] * 4

    # Forced, the gate's note shares the column: a why that fits alone but not beside it is
    # refused, not cut.
    assert _run("register", str(planted_bias_model))[0] == 0
    code, out, err = _run("promote", PLANTED_VERSION, "--force", "--reason", whole)
    assert code == 1
    assert err.splitlines()[-1].startswith("the reason is 300 characters and model_changes keeps ")
    assert err.splitlines()[-1].endswith(
        " beside the quality gate's note: shorten it (nothing was changed)"
    )
    assert _listed()[-1] == {**_listed()[-1], "version": PLANTED_VERSION, "status": "candidate"}


def test_the_listed_version_is_the_model_version_the_api_reports_for_a_decision(
    registry: str,
    model_copies: dict[str, Path],
    api_server: str,
    pg_env: dict[str, str],
    tmp_path: Path,
) -> None:
    # A version that went live through the store, not the shipped one the worker also knows.
    assert _run("register", str(model_copies["registry-test-b"]))[0] == 0
    assert _run("promote", "registry-test-b")[0] == 0
    with session_scope() as session:
        _, key = make_site(session)
    worker = start_worker(pg_env, tmp_path / "worker.log")
    try:
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=api_server, headers=headers, timeout=10) as client:
            submitted = client.post(
                "/v1/comments",
                json={"article_id": "a", "author_name": "Ann", "body": "A fair report."},
            )
            assert submitted.status_code == 202, submitted.text
            comment_id = submitted.json()["id"]
            decided: dict[str, object] = {}

            def is_decided() -> bool:
                decided.update(client.get(f"/v1/comments/{comment_id}").json())
                return decided["status"] != "pending"

            wait_until(is_decided, timeout=60, what="the worker's decision", process=worker)
    finally:
        worker.stop()
    (live,) = [v for v in _listed() if v["status"] == "live"]
    assert live["version"] == decided["model_version"] == "registry-test-b"
