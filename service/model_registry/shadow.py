"""Shadow scoring: the store's shadow version, as a worker holds it, and the scores it writes.

A worker asks the store which row is in shadow (its id, one indexed query) at most every
`model_check_seconds`, as it asks for the live one (service.model_registry.live); only when
that id changes does it fetch the file, check its SHA-256 and load it through the skops
allow-list (live.load_stored_model, the same path as the live model).

Unlike the live model, a shadow that cannot be had is not an error for anybody: the round's
decisions are already committed when the shadow is asked for (workers.scoring), so a failed
check or load only means no shadow scores for a while, logged.
"""

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

import orjson
from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session, sessionmaker

from service.db import utcnow
from service.model_registry import store
from service.model_registry.live import RETRY_FAILED_SECONDS, load_stored_model
from service.tables import ModelVersion, ShadowScore

if TYPE_CHECKING:
    from classifiers import ToxicityModel

log = logging.getLogger(__name__)


class ShadowModel:
    """One process's shadow model, or None while there is none. Thread-safe."""

    def __init__(self, *, check_seconds: float, clock: Callable[[], float] = time.monotonic):
        self._check_seconds = check_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._model: ToxicityModel | None = None
        # The shadow row's id the model came from (None: no shadow in the store).
        self._marker: int | None = None
        self._checked_at = float("-inf")
        self._failed: tuple[int, float] | None = None

    def current(self, *, sessions: sessionmaker[Session]) -> "ToxicityModel | None":
        with self._lock:
            now = self._clock()
            if now - self._checked_at < self._check_seconds:
                return self._model
            self._checked_at = now
            try:
                self._refresh(sessions, now)
            except Exception:
                # A version that failed to load is tried again after RETRY_FAILED_SECONDS,
                # a failed check at the next interval.
                log.exception(
                    "could not check or load the shadow model; comments are not shadow-scored "
                    "until it loads"
                )
            return self._model

    def _refresh(self, sessions: sessionmaker[Session], now: float) -> None:
        with sessions() as session:
            # A failed check (the store down) keeps what is in hand: its scores still carry
            # the version that made them.
            marker = store.shadow_marker(session=session)
            if marker == self._marker:
                return
            if marker is None:
                self._model, self._marker, self._failed = None, None, None
                log.warning("no shadow model any more")
                return
            if (
                self._failed is not None
                and self._failed[0] == marker
                and now - self._failed[1] < RETRY_FAILED_SECONDS
            ):
                return
            # Whatever was in hand is no longer the shadow: scores are not written for a
            # version that stopped, even while the new one fails to load.
            self._model, self._marker = None, None
            row = session.get(ModelVersion, marker)
            try:
                if row is None:  # changed between the two queries: the next check finds it
                    raise LookupError(f"model version row {marker} is gone")
                model = load_stored_model(row)
            except Exception:
                self._failed = (marker, now)
                raise
        self._model, self._marker, self._failed = model, marker, None
        log.warning("shadow-scoring new comments with %s", model.version)


_shadow: ShadowModel | None = None
_process_lock = threading.Lock()


def shadow_model() -> "ToxicityModel | None":
    """The model this worker shadow-scores with: the store's shadow version, followed within
    `model_check_seconds`; None while there is none (or it does not load)."""
    global _shadow
    from service.config import get_settings
    from service.db import get_session_factory

    with _process_lock:
        if _shadow is None:
            _shadow = ShadowModel(check_seconds=get_settings().model_check_seconds)
        shadow = _shadow
    return shadow.current(sessions=get_session_factory())


def forget_shadow_model() -> None:
    """Drop what this process loaded (tests that change the settings or the store)."""
    global _shadow
    with _process_lock:
        _shadow = None


def record_shadow_scores(
    *, session: Session, version: str, scores: Mapping[str, Mapping[str, float]]
) -> int:
    """Store ``version``'s scores of these comments (comment id -> scores); how many landed.

    A comment erased (or deleted) since its decision gets none: the comments are read with
    FOR KEY SHARE on PostgreSQL, which waits for an erasure holding them and then sees them
    erased, or holds up an erasure until this commits, whose delete of shadow rows then sees
    these. On SQLite the check and the write are one statement, which SQLite runs as one
    writer, so an erasure commits wholly before or after it. A comment scored by this version
    already (a redelivered round) keeps its first row."""
    if not scores:
        return 0
    now = utcnow()
    if session.get_bind().dialect.name == "postgresql":
        return _write_at_once(session=session, version=version, scores=scores, now=now)
    return _write_on_sqlite(session=session, version=version, scores=scores, now=now)


# One statement, so that no erasure commits between reading which comments are still there
# and writing: pysqlite opens no transaction for a SELECT, so a separate check would hold
# nothing. The WHERE is also what SQLite needs to parse ON CONFLICT after a SELECT.
_WRITE_SHADOW_SCORES_SQLITE = text(
    """
INSERT INTO shadow_scores (comment_id, version, scores, created_at)
SELECT c.id, :version, scored.value, :now
FROM json_each(:scores) AS scored JOIN comments AS c ON c.id = scored.key
WHERE c.status <> 'erased'
ON CONFLICT (comment_id, version) DO NOTHING
RETURNING id
"""
).bindparams(bindparam("now", type_=ShadowScore.__table__.c.created_at.type))


def _write_on_sqlite(
    *, session: Session, version: str, scores: Mapping[str, Mapping[str, float]], now: datetime
) -> int:
    document = orjson.dumps({comment_id: dict(values) for comment_id, values in scores.items()})
    result = session.execute(
        _WRITE_SHADOW_SCORES_SQLITE,
        {"scores": document.decode(), "version": version, "now": now},
    )
    # RETURNING counts what landed (a rowcount is not what every driver reports here).
    return len(result.all())


# One statement per round, the scores as one JSON document, as service.comments writes the
# decisions. As a SQLAlchemy multi-row insert the write took longer than the shadow's
# scoring: 3.3-4.4 s per 10,000 comments against 2 s, in an in-process drain with two rounds
# in flight; this way 0.6-0.7 s.
_WRITE_SHADOW_SCORES = """
WITH scored AS (
    SELECT * FROM json_to_recordset(%(scores)s::json) AS s(id varchar, scores json)
), present AS (
    SELECT c.id, scored.scores FROM comments AS c JOIN scored ON c.id = scored.id
    WHERE c.status <> 'erased'
    FOR KEY SHARE OF c
), stored AS (
    INSERT INTO shadow_scores (comment_id, version, scores, created_at)
    SELECT id, %(version)s, scores, %(now)s FROM present
    ON CONFLICT (comment_id, version) DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM stored
"""


def _write_at_once(
    *, session: Session, version: str, scores: Mapping[str, Mapping[str, float]], now: datetime
) -> int:
    document = orjson.dumps(
        [{"id": comment_id, "scores": dict(values)} for comment_id, values in scores.items()]
    ).decode()
    result = session.connection().exec_driver_sql(
        _WRITE_SHADOW_SCORES, {"scores": document, "version": version, "now": now}
    )
    return int(result.scalar_one())
