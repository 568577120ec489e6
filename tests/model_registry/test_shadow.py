"""Shadow scoring (issue 16, part 3): `moderation model shadow`, its audit rows, and workers
that score new comments with the shadow version beside the live one without letting it
decide. Real PostgreSQL, Redis, worker processes and model files; nothing here is a fake."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from service import db
from service.authors import Author, erase_comments
from service.cli import app
from service.comments import NewComment, Submitted, submit_comments
from service.db import session_scope
from service.model_registry import store
from service.model_registry.live import forget_live_model
from service.model_registry.shadow import (
    ShadowModel,
    forget_shadow_model,
    record_shadow_scores,
    shadow_model,
)
from service.queue import enqueue_scoring
from service.tables import (
    AuditEvent,
    Comment,
    CommentStatus,
    ModelChange,
    ModelStatus,
    ModelVersion,
    ShadowScore,
    Site,
)
from tests.conftest import Process, make_site, start_worker, store_pending, wait_until
from workers import tasks
from workers.scoring import score_round

runner = CliRunner()
B, C = "registry-test-b", "registry-test-c"


def _model(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["model", *args])
    return result.exit_code, result.stdout, result.stderr


def _statuses() -> dict[str, str]:
    with session_scope() as session:
        return {row.version: row.status for row in store.list_versions(session=session)}


def _changes() -> list[tuple[str, str | None, str, str | None]]:
    with session_scope() as session:
        return [
            (c.action, c.from_version, c.to_version, c.reason)
            for c in store.list_changes(session=session)
        ]


def _register(path: Path, *, shadow: bool = False) -> None:
    with session_scope() as session:
        store.register_version(
            session=session,
            path=path,
            created_by="test",
            status=ModelStatus.SHADOW if shadow else ModelStatus.CANDIDATE,
        )


@pytest.fixture
def scorers(registry: str) -> Iterator[None]:
    """This process's live and shadow models start unloaded and are dropped afterwards."""
    forget_live_model()
    forget_shadow_model()
    yield
    forget_live_model()
    forget_shadow_model()


# --- the command ------------------------------------------------------------------------------


def test_shadow_starts_switches_and_stops_audited(
    registry: str, shipped_version: str, model_copies: dict[str, Path]
) -> None:
    _register(model_copies[B])
    _register(model_copies[C])

    code, out, _ = _model("shadow", B, "--reason", "try the new vocabulary")
    assert code == 0 and out.startswith(f"{B} is in shadow\n")
    assert _statuses() == {shipped_version: "live", B: "shadow", C: "candidate"}
    code, out, _ = _model("list")
    assert [line.split()[:2] for line in out.splitlines()[1:]] == [
        [shipped_version, "live"],
        [B, "shadow"],
        [C, "candidate"],
    ]

    # One shadow at a time: the next one sends the previous back to candidate.
    code, out, _ = _model("shadow", C)
    assert code == 0 and out.startswith(f"{C} is in shadow ({B} is a candidate again)")
    assert _statuses() == {shipped_version: "live", B: "candidate", C: "shadow"}

    code, out, _ = _model("shadow", "--stop", "--reason", "seen enough")
    assert code == 0 and out.startswith(f"{C} is no longer in shadow")
    assert _statuses() == {shipped_version: "live", B: "candidate", C: "candidate"}

    assert _changes()[1:] == [
        ("shadow", None, B, "try the new vocabulary"),
        ("shadow", B, C, None),
        ("unshadow", C, C, "seen enough"),
    ]
    with session_scope() as session:
        actors = session.scalars(
            select(ModelChange.actor).where(ModelChange.action.in_(("shadow", "unshadow")))
        ).all()
    assert actors and all(actor.startswith("cli") for actor in actors)


def test_shadow_refuses_the_live_version_an_unknown_one_and_nothing_to_stop(
    registry: str, shipped_version: str, model_copies: dict[str, Path]
) -> None:
    _register(model_copies[B])
    refusals = [
        (("shadow", shipped_version), f"version {shipped_version!r} is live"),
        (("shadow", "no-such-version"), "no model version 'no-such-version' in the store"),
        (("shadow", "--stop"), "no version is in shadow"),
        (("shadow",), "give a VERSION to shadow, or --stop"),
        (("shadow", B, "--stop"), "give a VERSION to shadow, or --stop"),
    ]
    for args, message in refusals:
        code, out, err = _model(*args)
        assert code == 1, args
        assert out == "" and err.startswith(message) and err.count("\n") == 1, (args, err)
    code, _, _ = _model("shadow", B)
    assert code == 0
    code, _, err = _model("shadow", B)
    assert code == 1 and err == f"version {B!r} is in shadow already\n"
    assert _statuses() == {shipped_version: "live", B: "shadow"}
    assert [change[0] for change in _changes()] == ["register", "shadow"]


def test_a_retired_version_may_be_shadowed_and_promoting_the_shadow_ends_it(
    registry: str, shipped_version: str, model_copies: dict[str, Path]
) -> None:
    _register(model_copies[B])
    assert _model("promote", B)[0] == 0
    assert _statuses() == {shipped_version: "retired", B: "live"}

    code, _, _ = _model("shadow", shipped_version)
    assert code == 0
    assert _statuses() == {shipped_version: "shadow", B: "live"}

    # Rollback brings back the version live before B, which is the shadow: it goes live and
    # is no longer in shadow.
    code, out, _ = _model("rollback")
    assert code == 0 and f"{shipped_version} is live again" in out
    assert _statuses() == {shipped_version: "live", B: "retired"}

    code, _, _ = _model("shadow", B)
    assert code == 0
    code, out, _ = _model("promote", B)
    assert code == 0 and f"{B} is live (was {shipped_version}" in out
    assert _statuses() == {shipped_version: "retired", B: "live"}
    with session_scope() as session:
        assert store.shadow_version(session=session) is None
    assert [change[:3] for change in _changes()[1:]] == [
        ("promote", shipped_version, B),
        ("shadow", None, shipped_version),
        ("rollback", B, shipped_version),
        ("shadow", None, B),
        ("promote", shipped_version, B),
    ]


def test_registering_as_shadow_is_a_shadow_change(
    registry: str, shipped_version: str, model_copies: dict[str, Path]
) -> None:
    _register(model_copies[B], shadow=True)
    code, out, _ = _model("register", str(model_copies[C]), "--status", "shadow")
    assert code == 0 and f"registered {C} as shadow" in out
    assert _statuses() == {shipped_version: "live", B: "candidate", C: "shadow"}
    assert [change[:3] for change in _changes()[1:]] == [("shadow", None, B), ("shadow", B, C)]


# --- the shadow model a worker holds ---------------------------------------------------------


def test_the_shadow_model_follows_the_store_at_the_check_interval(
    registry: str, model_copies: dict[str, Path], sessions: sessionmaker[Session]
) -> None:
    now = [0.0]
    shadow = ShadowModel(check_seconds=2.0, clock=lambda: now[0])
    assert shadow.current(sessions=sessions) is None

    _register(model_copies[B], shadow=True)
    now[0] = 1.0  # within the interval: the store is not asked again
    assert shadow.current(sessions=sessions) is None
    now[0] = 2.5
    loaded = shadow.current(sessions=sessions)
    assert loaded is not None and loaded.version == B
    now[0] = 5.0  # unchanged: the same model, not loaded again
    assert shadow.current(sessions=sessions) is loaded

    _register(model_copies[C], shadow=True)
    with session_scope() as session:
        # A damaged row: the new shadow does not load, and the one before is not kept.
        session.execute(
            update(ModelVersion).where(ModelVersion.version == C).values(sha256="0" * 64)
        )
    now[0] = 7.5
    assert shadow.current(sessions=sessions) is None

    with session_scope() as session:
        store.start_shadow(session=session, version=B, actor="test")
    now[0] = 10.0
    back = shadow.current(sessions=sessions)
    assert back is not None and back.version == B

    with session_scope() as session:
        store.stop_shadow(session=session, actor="test")
    now[0] = 12.5
    assert shadow.current(sessions=sessions) is None


# --- real worker processes --------------------------------------------------------------------


def _submit(sessions: sessionmaker[Session], site: Site, bodies: list[str]) -> list[str]:
    with session_scope(sessions) as session:
        outcomes = submit_comments(
            session=session,
            items=[
                (site.id, NewComment(article_id="a", author_name="Reader", body=body))
                for body in bodies
            ],
        )
    enqueue_scoring()
    return [outcome.id for outcome in outcomes if isinstance(outcome, Submitted)]


def _wait_decided(sessions: sessionmaker[Session], ids: list[str], worker: Process) -> None:
    def decided() -> bool:
        with sessions() as session:
            pending = session.scalar(
                select(func.count()).where(
                    Comment.id.in_(ids), Comment.status == CommentStatus.PENDING
                )
            )
        return pending == 0

    wait_until(decided, timeout=60, what="the worker to decide the comments", process=worker)


def _wait_shadowed(sessions: sessionmaker[Session], ids: list[str], worker: Process) -> None:
    def shadowed() -> bool:
        with sessions() as session:
            rows = session.scalar(select(func.count()).where(ShadowScore.comment_id.in_(ids)))
        return rows == len(ids)

    wait_until(shadowed, timeout=30, what="the shadow scores", process=worker)


def _assert_no_task_failed(worker: Process) -> None:
    """No scoring task raised (Celery would retry it: the round's work done twice) and no
    shadow round failed."""
    log = worker.output()
    assert "raised unexpected" not in log and "Retry in" not in log, log[-4000:]
    assert "shadow scoring failed" not in log, log[-4000:]


BODIES = [
    "Clear and fair piece on the ferry timetable.",
    "You are an idiot and so is everyone who reads this rag.",
    "The council should publish the budget figures in full.",
    "Shut up, nobody asked what you think, moron.",
] * 5


def test_a_worker_stores_shadow_scores_beside_the_live_decision(
    scorers: None,
    shipped_version: str,
    model_copies: dict[str, Path],
    pg_env: dict[str, str],
    sessions: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    _register(model_copies[B])
    assert _model("shadow", B)[0] == 0
    with sessions() as session:
        site, _ = make_site(session)
        session.expunge_all()
    worker = start_worker(pg_env, tmp_path / "worker.log")
    try:
        ids = _submit(sessions, site, BODIES)
        _wait_decided(sessions, ids, worker)
        # Shadow scores are written after the decisions are committed, so a moment later.
        _wait_shadowed(sessions, ids, worker)
        with sessions() as session:
            comments = {
                c.id: c for c in session.scalars(select(Comment).where(Comment.id.in_(ids)))
            }
            shadows = session.scalars(
                select(ShadowScore).where(ShadowScore.comment_id.in_(ids))
            ).all()
            actors = set(
                session.scalars(select(AuditEvent.actor).where(AuditEvent.comment_id.in_(ids)))
            )
        # The live model decided, and its version is what the comments record.
        assert {c.model_version for c in comments.values()} == {shipped_version}
        assert actors == {f"model:{shipped_version}"}
        # Decided by the scores, not held for a failure: the plain and the abusive differ.
        assert len({c.status for c in comments.values()}) > 1
        # Every comment also has the shadow's scores, under the shadow's version.
        assert sorted(s.comment_id for s in shadows) == sorted(ids)
        assert {s.version for s in shadows} == {B}
        for shadow in shadows:
            live = comments[shadow.comment_id].scores
            assert live is not None and set(shadow.scores) == set(live)
            # B is the shipped model's weights under another version string: same scores.
            assert shadow.scores == pytest.approx(live, abs=1e-9)

        # Stopped, the worker sees it within the check interval (2 s) and scores no more.
        assert _model("shadow", "--stop")[0] == 0
        time.sleep(3)
        later = _submit(sessions, site, BODIES[:4])
        _wait_decided(sessions, later, worker)
        time.sleep(1)  # what a shadow round would still have written after the decisions
        with sessions() as session:
            assert not session.scalars(
                select(ShadowScore).where(ShadowScore.comment_id.in_(later))
            ).all()
        _assert_no_task_failed(worker)
    finally:
        worker.stop()


def test_a_broken_shadow_does_not_stop_or_change_the_decisions(
    scorers: None,
    shipped_version: str,
    model_copies: dict[str, Path],
    pg_env: dict[str, str],
    sessions: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    _register(model_copies[C], shadow=True)
    with session_scope() as session:
        # The stored bytes no longer match their checksum (a damaged row).
        session.execute(
            update(ModelVersion).where(ModelVersion.version == C).values(sha256="0" * 64)
        )
    with sessions() as session:
        site, _ = make_site(session)
        session.expunge_all()
    worker = start_worker(pg_env, tmp_path / "worker.log")
    try:
        ids = _submit(sessions, site, BODIES)
        _wait_decided(sessions, ids, worker)
        with sessions() as session:
            comments = session.scalars(select(Comment).where(Comment.id.in_(ids))).all()
            shadow_rows = session.scalar(select(func.count()).select_from(ShadowScore))
        assert len(comments) == len(BODIES)
        assert {c.model_version for c in comments} == {shipped_version}
        assert all(c.scores is not None for c in comments)
        assert not any("failed" in (c.decision_reason or "") for c in comments)
        assert shadow_rows == 0
        _assert_no_task_failed(worker)
        assert "could not check or load the shadow model" in worker.output()
        assert "does not match its SHA-256" in worker.output()
    finally:
        worker.stop()


# --- in this process: erasure, and the SQLite store ------------------------------------------


def test_erasure_removes_the_shadow_scores_of_erased_comments(
    scorers: None, model_copies: dict[str, Path], sessions: sessionmaker[Session]
) -> None:
    _register(model_copies[B], shadow=True)
    with sessions() as session:
        site, _ = make_site(session)
        session.expunge_all()
    with session_scope(sessions) as session:
        outcomes = submit_comments(
            session=session,
            items=[
                (site.id, NewComment(article_id="a", author_name=name, body=body))
                for name, body in [("Ann", "A fair point."), ("Bob", "Nice work.")] * 2
            ],
        )
    ids = [o.id for o in outcomes if isinstance(o, Submitted)]
    result = score_round(
        sessions=sessions,
        load_scorer=tasks.load_scorer,
        batch_size=10,
        lease_seconds=60,
        load_shadow=tasks.load_shadow_scorer,
    )
    assert result.decided == 4

    def shadowed() -> dict[str, str]:
        with sessions() as session:
            rows = session.execute(
                select(ShadowScore.comment_id, Comment.author_name).join(Comment)
            ).all()
        return {comment_id: name for comment_id, name in rows}

    assert sorted(shadowed()) == sorted(ids)
    with session_scope(sessions) as session:
        site_row = session.get(Site, site.id)
        assert site_row is not None
        assert erase_comments(session=session, site=site_row, author=Author(author_name="Ann")) == 2
    assert sorted(shadowed().values()) == ["Bob", "Bob"]

    # A shadow round that ends after the erasure writes nothing for the erased comments.
    erased = [i for i in ids if i not in shadowed()]
    with session_scope(sessions) as session:
        assert record_shadow_scores(session=session, version=C, scores={i: {} for i in erased}) == 0


def test_a_shadow_write_waits_for_an_erasure_in_progress_and_writes_nothing_for_it(
    scorers: None, sessions: sessionmaker[Session]
) -> None:
    ids = store_pending(sessions, 2)
    with session_scope(sessions) as session:
        session.execute(
            update(Comment).where(Comment.id.in_(ids)).values(status=CommentStatus.APPROVED)
        )
        site_id = session.scalars(select(Comment.site_id).where(Comment.id == ids[0])).one()
    written: list[int] = []
    erasing = sessions()
    try:
        site = erasing.get(Site, site_id)
        assert site is not None
        # The author's comments are locked and erased, not yet committed.
        assert erase_comments(session=erasing, site=site, author=Author(author_name="R")) == 2

        def shadow_write() -> None:
            with session_scope(sessions) as session:
                written.append(
                    record_shadow_scores(
                        session=session, version=B, scores={i: {"toxicity": 0.1} for i in ids}
                    )
                )

        writer = threading.Thread(target=shadow_write)
        writer.start()
        writer.join(timeout=1.0)
        assert writer.is_alive(), "the shadow write did not wait for the erasure"
        erasing.commit()
        writer.join(timeout=10)
        assert not writer.is_alive()
    finally:
        erasing.close()
    assert written == [0]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ShadowScore)) == 0


def test_shadow_scores_on_sqlite_once_per_comment_and_version(
    sqlite_env: Path, model_copies: dict[str, Path], sessions: sessionmaker[Session]
) -> None:
    forget_live_model()
    forget_shadow_model()
    try:
        _register(model_copies[B], shadow=True)
        ids = store_pending(sessions, 3)
        result = score_round(
            sessions=sessions,
            load_scorer=tasks.load_scorer,
            batch_size=10,
            lease_seconds=60,
            load_shadow=shadow_model,
        )
        assert result.decided == 3
        with session_scope(sessions) as session:
            rows = session.scalars(select(ShadowScore)).all()
            assert sorted(r.comment_id for r in rows) == sorted(ids)
            assert {r.version for r in rows} == {B}
            # A redelivered round's scores land nowhere: the first row of each stays.
            again = record_shadow_scores(
                session=session, version=B, scores={i: {"toxicity": 1.0} for i in ids}
            )
        assert again == 0
        with session_scope(sessions) as session:
            assert {r.scores["toxicity"] for r in session.scalars(select(ShadowScore))} != {1.0}
    finally:
        forget_live_model()
        forget_shadow_model()


def test_a_shadow_write_on_sqlite_writes_nothing_for_a_comment_erased_meanwhile(
    sqlite_env: Path, sessions: sessionmaker[Session]
) -> None:
    # pysqlite opens no transaction for a SELECT, so an erasure can commit between a shadow
    # write's "which comments are still there" and its insert; the erasure is committed here
    # just before the write's INSERT reaches SQLite.
    ids = store_pending(sessions, 2)
    with session_scope(sessions) as session:
        session.execute(
            update(Comment).where(Comment.id.in_(ids)).values(status=CommentStatus.APPROVED)
        )
        site_id = session.scalars(select(Comment.site_id).where(Comment.id == ids[0])).one()
    erased: list[int] = []

    def erase_before_the_insert(
        _conn: object, _cursor: object, statement: str, *_args: object
    ) -> None:
        if erased or not statement.lstrip().upper().startswith("INSERT INTO SHADOW_SCORES"):
            return
        erased.append(0)
        with session_scope(sessions) as erasing:
            site = erasing.get(Site, site_id)
            assert site is not None
            erased[0] = erase_comments(session=erasing, site=site, author=Author(author_name="R"))

    engine = db.get_engine()
    event.listen(engine, "before_cursor_execute", erase_before_the_insert)
    try:
        with session_scope(sessions) as session:
            written = record_shadow_scores(
                session=session, version=B, scores={i: {"toxicity": 0.1} for i in ids}
            )
    finally:
        event.remove(engine, "before_cursor_execute", erase_before_the_insert)
    assert erased == [2]
    assert written == 0
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ShadowScore)) == 0
