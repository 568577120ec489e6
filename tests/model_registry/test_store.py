"""The registry's store functions on real PostgreSQL (and the shipped model on SQLite)."""

import hashlib
from pathlib import Path

import pytest

from classifiers.persist import DEFAULT_MODEL_PATH
from service.db import session_scope
from service.model_registry import store
from service.model_registry.errors import (
    ModelChangeRefused,
    ModelFileMismatch,
    UnknownModelVersion,
)
from service.model_registry.live import load_stored_model
from service.tables import ModelStatus, ModelVersion


def _statuses() -> dict[str, str]:
    with session_scope() as session:
        return {row.version: row.status for row in store.list_versions(session=session)}


def test_a_migrated_store_holds_the_shipped_model_as_live(
    registry: str, shipped_version: str
) -> None:
    with session_scope() as session:
        live = store.live_version(session=session, with_file=True)
        assert live is not None
        assert live.version == shipped_version
        assert live.created_by == store.SHIPPED
        assert live.file == DEFAULT_MODEL_PATH.read_bytes()
        assert live.sha256 == hashlib.sha256(live.file).hexdigest()
        assert live.metrics and live.training_data["sources"]
        assert store.live_marker(session=session) == live.id
        changes = store.list_changes(session=session)
    assert [(c.action, c.from_version, c.to_version) for c in changes] == [
        ("register", None, shipped_version)
    ]
    # Every migrate runs it again: nothing more is added.
    with session_scope() as session:
        assert store.register_shipped_model(session=session, path=DEFAULT_MODEL_PATH) is None
    assert _statuses() == {shipped_version: ModelStatus.LIVE}


def test_sqlite_store_holds_the_shipped_model_too(sqlite_env: Path, shipped_version: str) -> None:
    assert _statuses() == {shipped_version: ModelStatus.LIVE}


def test_register_stores_a_candidate_once(
    registry: str, shipped_version: str, model_copies: dict[str, Path]
) -> None:
    path = model_copies["registry-test-b"]
    with session_scope() as session:
        row = store.register_version(
            session=session, path=path, created_by="cli", parent_version=shipped_version
        )
        assert (row.version, row.status, row.parent_version) == (
            "registry-test-b",
            ModelStatus.CANDIDATE,
            shipped_version,
        )
        assert row.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    with session_scope() as session, pytest.raises(ModelChangeRefused, match="already"):
        store.register_version(session=session, path=path, created_by="cli")
    with session_scope() as session, pytest.raises(ModelChangeRefused, match="promote"):
        store.register_version(
            session=session,
            path=model_copies["registry-test-c"],
            created_by="cli",
            status=ModelStatus.LIVE,
        )
    assert _statuses() == {shipped_version: "live", "registry-test-b": "candidate"}


def test_promote_and_rollback_walk_back_one_step_at_a_time(
    registry: str, shipped_version: str, model_copies: dict[str, Path]
) -> None:
    with session_scope() as session:
        for path in model_copies.values():
            store.register_version(session=session, path=path, created_by="cli")
    with session_scope() as session:
        store.promote(session=session, version="registry-test-b", actor="cli", reason="better")
    with session_scope() as session:
        store.promote(session=session, version="registry-test-c", actor="cli")
    assert _statuses() == {
        shipped_version: "retired",
        "registry-test-b": "retired",
        "registry-test-c": "live",
    }
    with session_scope() as session:
        store.rollback(session=session, actor="cli")
    assert _statuses()["registry-test-b"] == "live"
    with session_scope() as session:
        store.rollback(session=session, actor="cli", reason="b was worse")
    assert _statuses() == {
        shipped_version: "live",
        "registry-test-b": "retired",
        "registry-test-c": "retired",
    }
    with session_scope() as session, pytest.raises(ModelChangeRefused, match="first live"):
        store.rollback(session=session, actor="cli")
    with session_scope() as session:
        changes = [
            (c.action, c.from_version, c.to_version, c.reason)
            for c in store.list_changes(session=session)
        ]
    assert changes == [
        ("register", None, shipped_version, "the model shipped with this release"),
        ("promote", shipped_version, "registry-test-b", "better"),
        ("promote", "registry-test-b", "registry-test-c", None),
        ("rollback", "registry-test-c", "registry-test-b", None),
        ("rollback", "registry-test-b", shipped_version, "b was worse"),
    ]


def test_promote_refuses_unknown_and_live_versions(registry: str, shipped_version: str) -> None:
    with session_scope() as session, pytest.raises(UnknownModelVersion, match="nope"):
        store.promote(session=session, version="nope", actor="cli")
    with session_scope() as session, pytest.raises(ModelChangeRefused, match="live already"):
        store.promote(session=session, version=shipped_version, actor="cli")


def test_a_newly_shipped_model_goes_live_while_the_live_one_was_shipped(
    registry: str, shipped_version: str, model_copies: dict[str, Path]
) -> None:
    # A release shipping "registry-test-b" while the store still runs the shipped model.
    with session_scope() as session:
        store.register_shipped_model(session=session, path=model_copies["registry-test-b"])
    assert _statuses() == {shipped_version: "retired", "registry-test-b": "live"}
    with session_scope() as session:
        store.rollback(session=session, actor="cli")
    assert _statuses() == {shipped_version: "live", "registry-test-b": "retired"}


def test_a_newly_shipped_model_waits_when_the_operator_chose_their_own(
    registry: str, shipped_version: str, model_copies: dict[str, Path]
) -> None:
    with session_scope() as session:
        store.register_version(
            session=session, path=model_copies["registry-test-c"], created_by="cli"
        )
        store.promote(session=session, version="registry-test-c", actor="cli")
    with session_scope() as session:
        store.register_shipped_model(session=session, path=model_copies["registry-test-b"])
    assert _statuses() == {
        shipped_version: "retired",
        "registry-test-c": "live",
        "registry-test-b": "candidate",
    }


def test_a_stored_file_that_does_not_match_is_not_loaded(
    registry: str, model_copies: dict[str, Path]
) -> None:
    data = model_copies["registry-test-b"].read_bytes()
    tampered = ModelVersion(version="registry-test-b", file=data, sha256="0" * 64, card={})
    with pytest.raises(ModelFileMismatch, match="SHA-256"):
        load_stored_model(tampered)
    mislabelled = ModelVersion(
        version="something-else", file=data, sha256=hashlib.sha256(data).hexdigest(), card={}
    )
    with pytest.raises(ModelFileMismatch, match="says it is 'registry-test-b'"):
        load_stored_model(mislabelled)
