"""The live model, as a scoring process holds it: loaded from the store's live version and
swapped when a promote or rollback changes it, without a restart.

A process asks the store which row is live (its id, one indexed query) at most every
`model_check_seconds`; only when that id changes does it fetch the file, check its SHA-256 and
load it through the skops allow-list. With no live version in the store, the packaged model.
"""

import hashlib
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from service.model_registry import store
from service.model_registry.errors import ModelFileMismatch
from service.tables import ModelVersion

if TYPE_CHECKING:
    from classifiers import ToxicityModel

log = logging.getLogger(__name__)

# A version that failed to load (a corrupt row, a store error mid-fetch) is tried again this
# long after, not at every check: fetching a file of megabytes every 2 s would help nobody.
RETRY_FAILED_SECONDS = 30.0


def load_stored_model(row: ModelVersion) -> "ToxicityModel":
    """The model in a stored version: its bytes checked against the SHA-256 taken when it was
    registered, then loaded by classifiers.persist.load_model (the skops allow-list), the one
    loader every model file goes through."""
    import json

    from classifiers.persist import load_model

    if hashlib.sha256(row.file).hexdigest() != row.sha256:
        raise ModelFileMismatch(
            f"the stored file of model version {row.version!r} does not match its SHA-256; "
            "it was not loaded"
        )
    with tempfile.TemporaryDirectory(prefix="model-") as folder:
        path = Path(folder) / "model.skops"
        path.write_bytes(row.file)
        path.with_suffix(".json").write_text(json.dumps(row.card))
        model = load_model(path)
    if model.version != row.version:
        raise ModelFileMismatch(
            f"model version {row.version!r} holds a model that says it is {model.version!r}; "
            "it was not loaded"
        )
    return model


class LiveModel:
    """One process's live model. Thread-safe: rounds in flight share one instance."""

    def __init__(
        self,
        *,
        check_seconds: float,
        fallback: Callable[[], "ToxicityModel"],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._check_seconds = check_seconds
        self._fallback = fallback
        self._clock = clock
        self._lock = threading.Lock()
        self._model: ToxicityModel | None = None
        # The live row's id the model came from; None: the packaged fallback.
        self._marker: int | None = None
        self._checked_at = float("-inf")
        self._failed: tuple[int | None, float] | None = None

    def current(self, *, sessions: sessionmaker[Session]) -> "ToxicityModel":
        """The live model, after asking the store whether it changed if the last check is
        older than check_seconds. A failed check or a failed load keeps the model in hand
        (logged); with none in hand yet, the error is raised and the caller holds its batch."""
        with self._lock:
            now = self._clock()
            if self._model is not None and now - self._checked_at < self._check_seconds:
                return self._model
            try:
                self._refresh(sessions, now)
            except Exception:
                if self._model is None:
                    raise
                log.exception(
                    "could not switch the live model; still scoring with %s", self.version
                )
            assert self._model is not None  # _refresh sets it or raises
            return self._model

    @property
    def version(self) -> str | None:
        return self._model.version if self._model is not None else None

    def _refresh(self, sessions: sessionmaker[Session], now: float) -> None:
        with sessions() as session:
            marker = store.live_marker(session=session)
            self._checked_at = now
            if self._model is not None and marker == self._marker:
                return
            if (
                self._model is not None
                and self._failed is not None
                and self._failed[0] == marker
                and now - self._failed[1] < RETRY_FAILED_SECONDS
            ):
                return
            try:
                model = self._load(session, marker)
            except Exception:
                self._failed = (marker, now)
                raise
        previous = self.version
        self._model, self._marker, self._failed = model, marker, None
        if previous is not None and previous != model.version:
            log.warning("switched the live model from %s to %s", previous, model.version)

    def _load(self, session: Session, marker: int | None) -> "ToxicityModel":
        if marker is None:
            return self._fallback()
        row = session.get(ModelVersion, marker)
        if row is None:  # promoted away between the two queries: the next check finds it
            raise LookupError(f"model version row {marker} is gone")
        return load_stored_model(row)


_configured: "ToxicityModel | None" = None
_live: LiveModel | None = None
_process_lock = threading.Lock()


def _packaged_model() -> "ToxicityModel":
    from classifiers import load_default_model

    return load_default_model()


def live_model() -> "ToxicityModel":
    """The model this process scores with, workers and the API's in-request scoring alike:
    the store's live version (followed within `model_check_seconds`), or the packaged one
    while none is live. A model file named in the settings (MODERATION_MODEL_PATH) wins over
    both: an operator's explicit choice, and how tests give a worker a broken model."""
    global _configured, _live
    from service.config import get_settings
    from service.db import get_session_factory

    settings = get_settings()
    with _process_lock:
        if settings.model_path:
            if _configured is None:
                from classifiers import load_model

                _configured = load_model(settings.model_path)
            return _configured
        if _live is None:
            _live = LiveModel(check_seconds=settings.model_check_seconds, fallback=_packaged_model)
        live = _live
    # Outside the process lock: LiveModel has its own, and a slow switch must not block a
    # caller that only wants the settings' model.
    return live.current(sessions=get_session_factory())


def forget_live_model() -> None:
    """Drop what this process loaded (tests that change the settings or the store)."""
    global _configured, _live
    with _process_lock:
        _configured = None
        _live = None
