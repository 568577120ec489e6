"""Training a candidate from moderators' decisions: `moderation model train --from-decisions`.

The base data (the shared data sets and/or labelled files) and the site's own labels
(service.model_registry.labels) go through the same split rule (classifiers.data.split_of), so
the validation split holds some of the site's decisions and the card's figures include them
as a source of their own. The model is registered as a candidate whose parent is the live
version: it decides nothing until someone promotes it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from classifiers.data import LabelledComment, read_labelled_file, read_shared
from service.db import session_scope
from service.errors import ModerationError, SiteNotFound
from service.model_registry import labels as labels_module
from service.model_registry.labels import LabelSummary, read_labels
from service.model_registry.store import get_version, live_version, register_version
from service.tables import Comment, CommentStatus, ModelStatus, ModelVersion, Site

# A site's labels weigh this many times a row of the base data. Each source's rows are first
# balanced to a total weight equal to its size (classifiers.train.balanced_weights), so with
# 5 a site with 1,000 decisions counts like a 5,000-row data set: about half of civil_spans'
# training split and under a tenth of all the base data (~58k rows + the generated sentences
# at x3). Upweighted, because the decisions are few but are exactly the comments, topics and
# local words this model will serve, and because the model a site runs should agree with its
# moderators; not more, because they are also noisy (one moderator's bad day, a coarse reason
# read as a whole label) and a few hundred rows weighted much higher would let a handful of
# comments move the heads for every site's wording. Measured (shared data, no word vectors,
# 120 decisions of a made-up site; README): weights 1/5/20 took a phrasing the site approved
# from 0.13 to 0.04 to 0.02 toxicity and a slur it rejected to 0.94+/0.99+/0.999+, while the
# shared sources' validation ROC AUC moved by at most 0.001 at 5. The tests' small base file
# learns the slur at 5 and not at 1 (tests/model_registry/test_train_from_decisions.py).
DEFAULT_DECISION_WEIGHT = 5.0
# Fewer toxic or civil labels than this and there is nothing to learn from: about a tenth of
# them land in validation (two comments of a class say nothing), and the rest, upweighted,
# would be mostly noise.
DEFAULT_MIN_LABELS = 20


class TooFewLabels(ModerationError):
    status_code = 409
    code = "too_few_labels"


class TrainingRefused(ModerationError):
    status_code = 409
    code = "training_refused"


@dataclass(frozen=True)
class TrainedCandidate:
    version: str
    path: Path
    parent_version: str | None
    summary: LabelSummary
    base_rows: int
    report: str


def find_site(*, session: Session, site: str) -> Site:
    """A site by name, or by id (what the moderation API's URLs carry)."""
    found = session.scalars(select(Site).where(or_(Site.name == site, Site.id == site))).first()
    if found is None:
        raise SiteNotFound(f"no site named {site!r} (`moderation site list` shows them)")
    return found


def refuse_too_few(summary: LabelSummary, minimum: int) -> None:
    if summary.toxic >= minimum and summary.civil >= minimum:
        return
    where = f"site {summary.site!r}" if summary.site else "the store"
    since = f" since {summary.since.isoformat()}" if summary.since else ""
    raise TooFewLabels(
        f"too few labels to train on: {where} has {summary.toxic} toxic and {summary.civil} "
        f"civil{since}; each needs at least {minimum} (--min-labels)"
    )


def base_rows(
    *, data_dir: Path, inputs: Sequence[Path]
) -> tuple[list[LabelledComment], dict[str, Any]]:
    """The shared data when its folder exists, plus every --input file; and what was read."""
    rows: list[LabelledComment] = []
    used: dict[str, Any] = {"data_dir": None, "inputs": {}}
    if data_dir.is_dir():
        rows.extend(read_shared(data_dir))
        used["data_dir"] = str(data_dir)
    for path in inputs:
        if not path.is_file():
            raise TrainingRefused(f"no input file {path}")
        read = read_labelled_file(path)
        used["inputs"][str(path)] = len(read)
        rows.extend(read)
    return rows, used


def next_version(*, session: Session, today: dt.date | None = None) -> str:
    """news-lr-<date>-decisions-<n>, the first n not registered yet."""
    stem = f"news-lr-{(today or dt.date.today()):%Y.%m.%d}-decisions-"
    taken = set(
        session.scalars(select(ModelVersion.version).where(ModelVersion.version.startswith(stem)))
    )
    build = 1
    while f"{stem}{build}" in taken:
        build += 1
    return f"{stem}{build}"


# Comment ids per query of the erasure check: well under either store's bound parameters.
_ERASED_CHECK_BATCH = 1000


def count_erased(*, session: Session, comment_ids: Sequence[str]) -> int:
    """How many of these comments are erased (or gone) now. The rest are locked FOR KEY
    SHARE on PostgreSQL, as shadow scores lock theirs: an erasure holding one is waited for
    and then seen, or waits until this transaction ends. On SQLite, call it after this
    transaction has written, so that no other writer can commit before it ends."""
    present = 0
    for start in range(0, len(comment_ids), _ERASED_CHECK_BATCH):
        batch = comment_ids[start : start + _ERASED_CHECK_BATCH]
        present += len(
            session.scalars(
                select(Comment.id)
                .where(Comment.id.in_(batch), Comment.status != CommentStatus.ERASED)
                .with_for_update(read=True, key_share=True)
            ).all()
        )
    return len(comment_ids) - present


def _noop(step: str) -> None:
    return None


def train_from_decisions(
    *,
    sessions: sessionmaker[Session],
    actor: str,
    out_dir: Path,
    site: str | None = None,
    since: dt.datetime | None = None,
    data_dir: Path,
    inputs: Sequence[Path] = (),
    out: Path | None = None,
    version: str | None = None,
    decision_weight: float = DEFAULT_DECISION_WEIGHT,
    min_labels: int = DEFAULT_MIN_LABELS,
    word_vectors: bool | None = None,
    progress: Callable[[str], None] = _noop,
) -> TrainedCandidate:
    """Train on the base data plus the site's labels, save the model (``out``, or
    ``<out_dir>/<version>.skops``) and register it as a candidate child of the live version.

    The store is read in one short transaction and written in another: fitting takes minutes
    (with word vectors, a quarter of an hour), and a transaction held open that long would
    make a migration wait on it and keep PostgreSQL from vacuuming the busy comments table."""
    from classifiers.persist import card_path, save_model
    from classifiers.train import split_rows
    from classifiers.training_run import fit_and_describe

    with session_scope(sessions) as session:
        chosen = find_site(session=session, site=site) if site is not None else None
        labels = read_labels(session=session, site=chosen, since=since)
        progress("labels")
        refuse_too_few(labels.summary, min_labels)
        if version is not None and get_version(session=session, version=version, missing_ok=True):
            raise TrainingRefused(f"version {version!r} is registered already; choose another")
        version = version or next_version(session=session)
    base, used = base_rows(data_dir=data_dir, inputs=inputs)
    progress("read")
    splits = split_rows(base + labels.rows)
    progress("split")
    weights = dict.fromkeys(labels.summary.sources, decision_weight)
    try:
        trained = fit_and_describe(
            splits,
            version=version,
            word_vectors=word_vectors,
            source_weights=weights,
            progress=progress,
        )
    except ValueError as exc:  # a label with one class only: say so, in one line
        raise TrainingRefused(f"cannot train: {exc}; add --input rows that have it") from exc
    card = trained.card
    training_data = card["training_data"]
    for source in labels.summary.sources:
        training_data["sources"][source] = (
            f"{source.split(':', 1)[0]} of site {source.split(':', 1)[1]!r} "
            f"(service.model_registry.labels), weighted x{decision_weight:g}"
        )
    if used["data_dir"] is None:
        for name in list(training_data["sources"]):
            if ":" not in name:  # the shared data sets base_card names: not read this time
                del training_data["sources"][name]
    for path, count in used["inputs"].items():
        training_data["sources"][Path(path).stem] = f"labelled file {path} ({count} rows)"
    training_data["base"] = {**used, "rows": len(base)}
    training_data["site_labels"] = {
        **labels.summary.as_card(),
        "weight": decision_weight,
        "min_labels": min_labels,
        "mapping": (labels_module.__doc__ or "").strip(),
        "validation": dict(
            sorted(Counter(r.source for r in splits["validation"] if ":" in r.source).items())
        ),
    }
    path = save_model(trained.model, out or out_dir / f"{version}.skops", card)
    progress("save")
    with session_scope(sessions) as session:
        # The parent is the version live when the candidate is registered: what a promote
        # would replace, and what its figures are compared with.
        live = live_version(session=session)
        parent = live.version if live is not None else None
        register_version(
            session=session,
            path=path,
            created_by=actor,
            status=ModelStatus.CANDIDATE,
            parent_version=parent,
        )
        # Checked after the row is written, in the same transaction (see count_erased): a
        # comment erased while the model was fitted must not live on in a candidate.
        erased = count_erased(session=session, comment_ids=labels.comment_ids)
        if erased:
            session.rollback()
            # Fitted on the erased texts (its vocabulary may hold their words): not kept.
            path.unlink(missing_ok=True)
            card_path(path).unlink(missing_ok=True)
            raise TrainingRefused(
                f"{erased} labelled comments were erased during training; run it again"
            )
    progress("register")
    return TrainedCandidate(
        version=version,
        path=path,
        parent_version=parent,
        summary=labels.summary,
        base_rows=len(base),
        report=trained.report,
    )
