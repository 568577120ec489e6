"""The quality gate of `moderation model promote`, on real PostgreSQL with real models: the
shipped one, a copy of it, and a copy with a bias planted against one identity term."""

import time
from dataclasses import replace
from pathlib import Path

from typer.testing import CliRunner

from classifiers import load_default_model
from classifiers.functional import CategoryResult
from service.cli import app
from service.db import session_scope
from service.model_registry import store
from service.model_registry.compare import (
    FUNCTIONAL_CASES_FORGIVEN,
    QualityReport,
    gate,
    quality_report,
    regressions,
)
from tests.model_registry.fixtures import PLANTED_TERM, PLANTED_VERSION

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["model", *args])
    return result.exit_code, result.stdout, result.stderr


def _statuses() -> dict[str, str]:
    with session_scope() as session:
        return {row.version: row.status for row in store.list_versions(session=session)}


def test_the_same_model_has_no_regression() -> None:
    report = quality_report(load_default_model())
    assert regressions(report, report) == []
    assert {result.name for result in report.functional} >= {"identity_neutral", "dehumanising"}
    # Every attribute of the model, every term of the bias suite.
    assert set(report.bias) == set(load_default_model().labels)
    assert all(len(rows) == 40 for rows in report.bias.values())


def _losing(report: QualityReport, cases: dict[str, int]) -> list[CategoryResult]:
    return [replace(r, passed=r.passed - cases.get(r.name, 0)) for r in report.functional]


def test_a_functional_category_that_loses_two_cases_is_a_regression_one_is_forgiven() -> None:
    live = quality_report(load_default_model())
    # One case in every category, as the test newsroom's retrain moved three of them: the
    # noise of any retrain, not a lost capability.
    one_each = _losing(live, {r.name: 1 for r in live.functional})
    assert regressions(live, replace(live, version="noisy", functional=one_each)) == []
    two = _losing(live, {"negation": FUNCTIONAL_CASES_FORGIVEN + 1})
    found = regressions(live, replace(live, version="worse", functional=two))
    assert len(found) == 1 and found[0].startswith("functional negation: pass rate")
    negation = next(r for r in live.functional if r.name == "negation")
    assert f"({negation.passed}/{negation.total} -> {negation.passed - 2}/" in found[0]
    better = [CategoryResult(r.name, r.total, r.total, ()) for r in live.functional]
    assert regressions(live, replace(live, functional=better)) == []


def test_a_same_weights_copy_passes_the_gate_and_promotes(
    registry: str, shipped_version: str, model_copies: dict[str, Path]
) -> None:
    assert _run("register", str(model_copies["registry-test-b"]))[0] == 0
    started = time.perf_counter()
    with session_scope() as session:
        result = gate(session=session, version="registry-test-b")
    seconds = time.perf_counter() - started
    assert result.regressions == [] and result.live_version == shipped_version
    # Two models loaded from the store and both suites run: well within an interactive wait.
    assert seconds < 20, seconds
    code, out, err = _run("promote", "registry-test-b")
    assert code == 0, err
    assert f"quality gate: no regression against {shipped_version}" in out
    assert _statuses() == {shipped_version: "retired", "registry-test-b": "live"}


def test_a_planted_identity_bias_is_refused_and_force_needs_a_reason(
    registry: str, shipped_version: str, planted_bias_model: Path
) -> None:
    assert _run("register", str(planted_bias_model))[0] == 0
    code, out, err = _run("promote", PLANTED_VERSION)
    assert code == 1
    lines = err.splitlines()
    named = [line for line in lines if line.startswith("regression: ")]
    # One line per regression, each naming the attribute and the term.
    assert f"regression: bias toxicity / {PLANTED_TERM}: neutral false-positive rate" in err
    assert all(f"/ {PLANTED_TERM}:" in line for line in named), named
    assert not any("functional" in line for line in named)
    assert f"{PLANTED_VERSION} regresses against the live {shipped_version}" in lines[-1]
    assert _statuses() == {shipped_version: "live", PLANTED_VERSION: "candidate"}

    code, _, err = _run("promote", PLANTED_VERSION, "--force")
    assert code == 1 and "--force needs --reason" in err
    code, _, err = _run("promote", PLANTED_VERSION, "--force", "--reason", "   ")
    assert code == 1 and "--force needs --reason" in err
    assert _statuses() == {shipped_version: "live", PLANTED_VERSION: "candidate"}

    code, out, err = _run(
        "promote", PLANTED_VERSION, "--force", "--reason", "urgent fix for spam wave"
    )
    assert code == 0, err
    assert f"regression (forced): bias toxicity / {PLANTED_TERM}" in out
    assert _statuses() == {shipped_version: "retired", PLANTED_VERSION: "live"}
    with session_scope() as session:
        change = store.list_changes(session=session)[-1]
    assert (change.action, change.from_version, change.to_version) == (
        "promote",
        shipped_version,
        PLANTED_VERSION,
    )
    assert change.reason is not None
    assert change.reason.startswith("urgent fix for spam wave (forced past the quality gate: ")

    # Rollback is the way out and is never gated, even towards a model the gate would judge.
    code, out, err = _run("rollback", "--reason", "neutral Tamil comments held")
    assert code == 0, err
    assert _statuses() == {shipped_version: "live", PLANTED_VERSION: "retired"}
