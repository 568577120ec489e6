"""Model versions in the store: register, list, promote, roll back, shadow, and the markers
of the live and the shadow version.

Every change of the live or the shadow version is one row in model_changes, written in the
same transaction as the status change, so the log and the statuses never disagree.
"""

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import String, select
from sqlalchemy.orm import Session, undefer

from service.model_registry.errors import ModelChangeRefused, UnknownModelVersion
from service.tables import ModelChange, ModelStatus, ModelVersion

# created_by of a version registered from the package's own model file at migrate time.
SHIPPED = "shipped"
# Statuses a version may be registered with; live is reached only through promote (audited).
REGISTERABLE = (ModelStatus.CANDIDATE, ModelStatus.SHADOW)


def _reason_length() -> int:
    column_type = ModelChange.__table__.c.reason.type
    assert isinstance(column_type, String) and column_type.length is not None
    return column_type.length


# model_changes.reason's length. A longer reason is refused before anything changes, not cut:
# the audit log keeps the operator's words as they gave them.
REASON_LENGTH = _reason_length()


def check_reason(reason: str | None, *, note: str = "") -> None:
    """Refuse a reason that does not fit model_changes.reason whole (with ``note``, which a
    forced promote adds to it)."""
    room = REASON_LENGTH - len(note)
    if reason is not None and len(reason) > room:
        beside = " beside the quality gate's note" if note else ""
        raise ModelChangeRefused(
            f"the reason is {len(reason)} characters and model_changes keeps {room}{beside}: "
            "shorten it (nothing was changed)"
        )


def _card_fields(card: dict[str, Any]) -> dict[str, Any]:
    return {
        "training_data": card.get("training_data") or {},
        "metrics": card.get("metrics") or {},
        "card": card,
    }


def register_version(
    *,
    session: Session,
    path: Path,
    created_by: str,
    status: ModelStatus = ModelStatus.CANDIDATE,
    parent_version: str | None = None,
) -> ModelVersion:
    """Store the skops file at ``path`` and its card (``<stem>.json`` beside it).

    The file is loaded through the skops allow-list first: a file that would not load in a
    worker is refused here, not found out when it is promoted. Registered as shadow, it goes
    through start_shadow (audited; a shadow before it goes back to candidate)."""
    from classifiers.persist import load_model

    if status not in REGISTERABLE:
        raise ModelChangeRefused(
            f"a version is registered as {' or '.join(REGISTERABLE)}; "
            "it becomes live only through `moderation model promote`"
        )
    model = load_model(path)
    if get_version(session=session, version=model.version, missing_ok=True) is not None:
        raise ModelChangeRefused(
            f"version {model.version!r} is registered already; a new model needs a new version"
        )
    data = Path(path).read_bytes()
    row = ModelVersion(
        version=model.version,
        parent_version=parent_version,
        status=ModelStatus.CANDIDATE,
        created_by=created_by,
        file=data,
        sha256=hashlib.sha256(data).hexdigest(),
        **_card_fields(dict(model.card or {"version": model.version})),
    )
    session.add(row)
    session.flush()
    if status == ModelStatus.SHADOW:
        start_shadow(
            session=session, version=row.version, actor=created_by, reason="registered as shadow"
        )
    return row


def register_shipped_model(*, session: Session, path: Path) -> ModelVersion | None:
    """Register the package's model file if its version is not in the store yet.

    It goes live when nothing is live or the live one was shipped too: a store that never
    chose its own model follows the releases, as it did before versions were stored. Once an
    operator has promoted a model of their own, a newly shipped one waits as a candidate.

    Run at every migrate, so it must be cheap when there is nothing to do: the version comes
    from the card, and the file (our own, in the package) is only read, not loaded; workers
    load it through the allow-list like any other version."""
    card_file = path.with_suffix(".json")
    if not path.is_file() or not card_file.is_file():
        return None
    card = json.loads(card_file.read_text())
    version = str(card["version"])
    if get_version(session=session, version=version, missing_ok=True) is not None:
        return None
    live = live_version(session=session)
    goes_live = live is None or live.created_by == SHIPPED
    data = path.read_bytes()
    row = ModelVersion(
        version=version,
        parent_version=live.version if live is not None else None,
        status=ModelStatus.CANDIDATE,
        created_by=SHIPPED,
        file=data,
        sha256=hashlib.sha256(data).hexdigest(),
        **_card_fields(card),
    )
    session.add(row)
    session.flush()
    if goes_live:
        _make_live(
            session=session,
            target=row,
            current=live,
            actor=SHIPPED,
            action="register",
            reason="the model shipped with this release",
        )
    return row


def list_versions(*, session: Session) -> Sequence[ModelVersion]:
    """Every version, oldest first (the file's bytes are not read)."""
    return session.scalars(select(ModelVersion).order_by(ModelVersion.id)).all()


def get_version(
    *, session: Session, version: str, missing_ok: bool = False, with_file: bool = False
) -> ModelVersion | None:
    query = select(ModelVersion).where(ModelVersion.version == version)
    if with_file:
        query = query.options(undefer(ModelVersion.file))
    row = session.scalars(query).one_or_none()
    if row is None and not missing_ok:
        raise UnknownModelVersion(version)
    return row


def live_version(*, session: Session, with_file: bool = False) -> ModelVersion | None:
    query = select(ModelVersion).where(ModelVersion.status == ModelStatus.LIVE)
    if with_file:
        query = query.options(undefer(ModelVersion.file))
    return session.scalars(query).one_or_none()


def live_marker(*, session: Session) -> int | None:
    """The live row's id: what a worker compares with the one it loaded (a promote and a
    rollback both change it), so it never reads a file to learn nothing changed."""
    return session.scalar(select(ModelVersion.id).where(ModelVersion.status == ModelStatus.LIVE))


def shadow_version(*, session: Session) -> ModelVersion | None:
    return session.scalars(
        select(ModelVersion).where(ModelVersion.status == ModelStatus.SHADOW)
    ).one_or_none()


def shadow_marker(*, session: Session) -> int | None:
    """The shadow row's id, as live_marker is the live one's: None while there is no shadow."""
    return session.scalar(select(ModelVersion.id).where(ModelVersion.status == ModelStatus.SHADOW))


def list_changes(*, session: Session) -> Sequence[ModelChange]:
    return session.scalars(select(ModelChange).order_by(ModelChange.id)).all()


def _make_live(
    *,
    session: Session,
    target: ModelVersion,
    current: ModelVersion | None,
    actor: str,
    action: str,
    reason: str | None,
) -> ModelChange:
    if current is not None:
        current.status = ModelStatus.RETIRED
        # Flushed on its own: the partial unique index allows one live row at any moment,
        # and the order of two updates in one flush is not ours to choose.
        session.flush()
    target.status = ModelStatus.LIVE
    change = ModelChange(
        actor=actor,
        action=action,
        from_version=current.version if current is not None else None,
        to_version=target.version,
        reason=reason,
    )
    session.add(change)
    session.flush()
    return change


def lock_live(*, session: Session) -> ModelVersion | None:
    """The live row, locked on PostgreSQL so two promotes at once take turns (on SQLite the
    write lock does it; the unique index is the last line either way)."""
    query = select(ModelVersion).where(ModelVersion.status == ModelStatus.LIVE)
    return session.scalars(query.with_for_update()).one_or_none()


def promote(
    *, session: Session, version: str, actor: str, reason: str | None = None
) -> ModelChange:
    """Make ``version`` the live one; the version live until now is retired."""
    check_reason(reason)
    current = lock_live(session=session)
    target = get_version(session=session, version=version)
    assert target is not None
    if current is not None and current.id == target.id:
        raise ModelChangeRefused(f"version {version!r} is live already")
    return _make_live(
        session=session,
        target=target,
        current=current,
        actor=actor,
        action="promote",
        reason=reason,
    )


def rollback(*, session: Session, actor: str, reason: str | None = None) -> ModelChange:
    """Make the version that was live before the current one live again; retire the current.

    "Before" is the version the current one replaced when it last went live by promote or
    register; so rolling back twice after two promotes walks back two steps, and never
    bounces between the last two."""
    check_reason(reason)
    current = lock_live(session=session)
    if current is None:
        raise ModelChangeRefused("no version is live, so there is nothing to roll back")
    arrival = session.scalars(
        select(ModelChange)
        .where(
            ModelChange.to_version == current.version,
            ModelChange.action.in_(("promote", "register")),
        )
        .order_by(ModelChange.id.desc())
        .limit(1)
    ).one_or_none()
    previous = arrival.from_version if arrival is not None else None
    if previous is None:
        raise ModelChangeRefused(
            f"version {current.version!r} was the first live version: there is nothing to "
            "roll back to"
        )
    target = get_version(session=session, version=previous)
    assert target is not None
    return _make_live(
        session=session,
        target=target,
        current=current,
        actor=actor,
        action="rollback",
        reason=reason,
    )


def _lock_shadow(session: Session) -> ModelVersion | None:
    """The shadow row, locked as _lock_live locks the live one, for the same reason."""
    query = select(ModelVersion).where(ModelVersion.status == ModelStatus.SHADOW)
    return session.scalars(query.with_for_update()).one_or_none()


def start_shadow(
    *, session: Session, version: str, actor: str, reason: str | None = None
) -> ModelChange:
    """Score new comments with ``version`` beside the live one, deciding nothing.

    One shadow at a time: a version in shadow until now goes back to candidate, and the
    change names it as from_version. A retired version may be shadowed again; the live one
    may not (its scores are the decisions' own). The row is locked before its status is read,
    so a promote of the same version at the same moment is either seen here (refused) or
    comes after and makes it live, which ends its shadow."""
    check_reason(reason)
    current = _lock_shadow(session)
    target = session.scalars(
        select(ModelVersion).where(ModelVersion.version == version).with_for_update()
    ).one_or_none()
    if target is None:
        raise UnknownModelVersion(version)
    if target.status == ModelStatus.LIVE:
        raise ModelChangeRefused(
            f"version {version!r} is live: a shadow is scored beside the live version, "
            "so it has to be another one"
        )
    if current is not None and current.id == target.id:
        raise ModelChangeRefused(f"version {version!r} is in shadow already")
    if current is not None:
        current.status = ModelStatus.CANDIDATE
        # On its own, before the new shadow: the partial unique index allows one shadow row
        # at any moment (as _make_live does for the live one).
        session.flush()
    target.status = ModelStatus.SHADOW
    change = ModelChange(
        actor=actor,
        action="shadow",
        from_version=current.version if current is not None else None,
        to_version=target.version,
        reason=reason,
    )
    session.add(change)
    session.flush()
    return change


def stop_shadow(*, session: Session, actor: str, reason: str | None = None) -> ModelChange:
    """The version in shadow goes back to candidate; workers stop scoring with it."""
    check_reason(reason)
    current = _lock_shadow(session)
    if current is None:
        raise ModelChangeRefused("no version is in shadow")
    current.status = ModelStatus.CANDIDATE
    # to_version cannot be empty, and "unshadow" has no version it goes to: both name the
    # version that stopped, so every model_changes row says which version it is about.
    change = ModelChange(
        actor=actor,
        action="unshadow",
        from_version=current.version,
        to_version=current.version,
        reason=reason,
    )
    session.add(change)
    session.flush()
    return change
