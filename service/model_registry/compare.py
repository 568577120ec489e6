"""Comparing two model versions: the quality gate a promote must pass, and the side-by-side
report of `moderation model compare` on what moderators decided.

The gate uses only the classifier's own suites (classifiers.functional, classifiers.bias):
they need no data in the store, so a promote on a fresh install is gated as well as one on a
busy site. The comparison on moderators' decisions needs decided comments and is a report for
a person, not a gate: a few hundred decisions of one site say too little to refuse a model on.
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.model_registry import labels, store
from service.model_registry.errors import ModelChangeRefused
from service.policy import Policy, Reading, decide, default_policy
from service.sites import site_policy
from service.tables import (
    CommentStatus,
    ModelChange,
    ModelStatus,
    ModelVersion,
    Site,
)

if TYPE_CHECKING:
    from classifiers import ToxicityModel
    from classifiers.bias import IdentityBias
    from classifiers.data import LabelledComment
    from classifiers.functional import CategoryResult

# Net cases a functional category may lose before it is a regression. A category holds 25-28
# comments (one is 0.036-0.04 of its pass rate); the old tolerance of 0.02 made any single
# case lost a regression, and a retrain moves borderline cases both ways: it refused every
# real retrain measured (the test newsroom's candidate, toxicity AUC on the moderators'
# decisions 0.10 -> 1.00, lost one case in each of three categories), so every promote was
# forced. One case is the smallest move there is and says little about a capability; two
# cases of one category are a pattern. The bias checks below stay per sentence: a neutral
# identity sentence newly held is a reader held for who they are.
FUNCTIONAL_CASES_FORGIVEN = 1
# Each identity term has 12 neutral templates, so one sentence is 0.083 of its false-positive
# rate: 0.05 flags a single neutral sentence newly at or above the threshold.
FPR_TOLERANCE = 0.05
# 6 abusive x 12 neutral templates = 72 pairs per term, one pair 0.014: 0.02 forgives one pair
# changing order (ties at the clipped ends of the sigmoid flip that easily) and flags two.
AUC_TOLERANCE = 0.02
# The mean score of a term's neutral sentences: catches a term drifting towards the threshold
# before any sentence crosses it. 0.05 is a tenth of the default approve threshold (0.5).
MEAN_NEUTRAL_TOLERANCE = 0.05
# The score a neutral identity sentence must stay below (the default approve threshold, and
# BIAS_THRESHOLD of tests/classifiers/test_shipped_model.py).
BIAS_THRESHOLD = 0.5
# The policy the functional suite is decided under: a new site's default.
GATE_POLICY = default_policy(approve_below=0.5, reject_at=0.9)

# Comments scored per model.assess call: bounds the memory of a compare over a large store.
SCORE_BATCH = 2000


# --- the quality gate ------------------------------------------------------------------------


@dataclass(frozen=True)
class QualityReport:
    version: str
    functional: "list[CategoryResult]"
    # attribute -> one row per identity term (classifiers.bias.BIAS_IDENTITIES order)
    bias: "dict[str, list[IdentityBias]]"

    def functional_rates(self) -> dict[str, float]:
        return {result.name: result.rate for result in self.functional}


def quality_report(model: "ToxicityModel") -> QualityReport:
    """The functional suite under the default policy, and the identity bias figures on every
    attribute the model has."""
    from classifiers.bias import identity_bias_by_label
    from classifiers.functional import run_functional_suite
    from service.policy import decision_rule

    return QualityReport(
        version=model.version,
        functional=run_functional_suite(decision_rule(model, GATE_POLICY)),
        bias=identity_bias_by_label(model, BIAS_THRESHOLD),
    )


def regressions(live: QualityReport, candidate: QualityReport) -> list[str]:
    """What the candidate does worse than the live model, one line each (empty: none)."""
    found: list[str] = []
    candidate_functional = {result.name: result for result in candidate.functional}
    for before in live.functional:
        after = candidate_functional.get(before.name)
        if after is None:
            found.append(f"functional {before.name}: not measured for {candidate.version}")
        # Counted in cases: both reports ran the same suite in this process, same totals.
        elif before.passed - after.passed > FUNCTIONAL_CASES_FORGIVEN:
            found.append(
                f"functional {before.name}: pass rate {before.rate:.2f} -> {after.rate:.2f} "
                f"({before.passed}/{before.total} -> {after.passed}/{after.total})"
            )
    for attribute, rows in live.bias.items():
        candidate_rows = {row.term: row for row in candidate.bias.get(attribute, [])}
        if not candidate_rows:
            found.append(f"bias {attribute}: {candidate.version} has no {attribute} attribute")
            continue
        for was in rows:
            now = candidate_rows.get(was.term)
            if now is None:
                continue  # a term only the live model's suite had: nothing to compare
            found.extend(_bias_regressions(attribute, was, now))
    return found


def _bias_regressions(attribute: str, was: "IdentityBias", now: "IdentityBias") -> Iterator[str]:
    where = f"bias {attribute} / {was.term}"
    if now.false_positive_rate > was.false_positive_rate + FPR_TOLERANCE:
        yield (
            f"{where}: neutral false-positive rate {was.false_positive_rate:.2f} -> "
            f"{now.false_positive_rate:.2f}"
        )
    if now.auc < was.auc - AUC_TOLERANCE:
        yield f"{where}: abusive-vs-neutral AUC {was.auc:.3f} -> {now.auc:.3f}"
    if now.mean_neutral > was.mean_neutral + MEAN_NEUTRAL_TOLERANCE:
        yield f"{where}: mean neutral score {was.mean_neutral:.3f} -> {now.mean_neutral:.3f}"


def load_version_model(*, session: Session, version: str) -> "ToxicityModel":
    """The model of a stored version, through the registry's checked loader."""
    from service.model_registry.live import load_stored_model

    row = store.get_version(session=session, version=version, with_file=True)
    assert row is not None  # get_version raises for an unknown one
    return load_stored_model(row)


@dataclass(frozen=True)
class GateResult:
    live_version: str | None
    candidate_version: str
    regressions: list[str]


def gate(*, session: Session, version: str) -> GateResult:
    """The candidate's regressions against the live version (none when nothing is live)."""
    candidate = store.get_version(session=session, version=version)
    assert candidate is not None
    live = store.live_version(session=session)
    if live is None or live.id == candidate.id:
        return GateResult(live.version if live else None, version, [])
    found = regressions(
        quality_report(load_version_model(session=session, version=live.version)),
        quality_report(load_version_model(session=session, version=version)),
    )
    return GateResult(live.version, version, found)


def gated_promote(
    *,
    session: Session,
    version: str,
    actor: str,
    reason: str | None = None,
    force: bool = False,
) -> tuple[ModelChange, GateResult]:
    """Promote ``version`` if it passes the gate against the live one; with ``force`` (which
    needs a reason) promote anyway, the regressions' count kept with the reason."""
    if force and not (reason and reason.strip()):
        raise ModelChangeRefused("--force needs --reason: say why the gate is overridden")
    # Before the gate's seconds of work, not after.
    store.check_reason(reason)
    # Locked for the gate's 2-3 s: a promote that lands meanwhile would otherwise leave this
    # one gated against a version that is no longer live.
    store.lock_live(session=session)
    result = gate(session=session, version=version)
    if result.regressions:
        if not force:
            raise GateRefused(result)
        note = (
            f" (forced past the quality gate: {len(result.regressions)} regression(s) "
            f"vs {result.live_version})"
        )
        # The note shares model_changes.reason with the why; neither is cut.
        store.check_reason(reason, note=note)
        reason = f"{reason}{note}"
    change = store.promote(session=session, version=version, actor=actor, reason=reason)
    return change, result


class GateRefused(ModelChangeRefused):
    code = "model_gate_refused"

    def __init__(self, result: GateResult) -> None:
        self.result = result
        super().__init__(
            f"{result.candidate_version} regresses against the live {result.live_version} on "
            f"{len(result.regressions)} check(s); not promoted (--force --reason R to override)"
        )


# --- compare on moderators' decisions -------------------------------------------------------


@dataclass(frozen=True)
class Decided:
    """A comment moderators decided: its text, its site, their verdict, and the compared
    version's shadow scores of it when a worker stored some."""

    body: str
    site_id: str
    toxic: bool
    shadow_scores: Mapping[str, float] | None = None


def default_compare_version(*, session: Session) -> str:
    """The shadow version (the newest, should there be several), else the newest candidate."""
    for status in (ModelStatus.SHADOW, ModelStatus.CANDIDATE):
        newest = session.scalar(
            select(ModelVersion.version)
            .where(ModelVersion.status == status)
            .order_by(ModelVersion.id.desc())
            .limit(1)
        )
        if newest is not None:
            return newest
    raise ModelChangeRefused("no shadow or candidate version to compare with the live one")


def comparison_start(*, session: Session, version: str) -> datetime:
    """When the version's shadow began (the latest 'shadow' change to it), else when it was
    registered: the decisions since then are the ones it could have been shadowing."""
    started = session.scalar(
        select(ModelChange.created_at)
        .where(ModelChange.action == "shadow", ModelChange.to_version == version)
        .order_by(ModelChange.id.desc())
        .limit(1)
    )
    if started is not None:
        return started
    row = store.get_version(session=session, version=version)
    assert row is not None
    return row.created_at


def decided_comments(
    *,
    session: Session,
    since: datetime,
    site: Site | None = None,
    shadow_version: str | None = None,
) -> list[Decided]:
    """Comments whose moderator decision in force was made since ``since``, read as training
    reads it (service.model_registry.labels): a toxic reason is toxic, an approve or restore
    civil; spam and the like, undone decisions and erased comments are left out. With
    ``shadow_version``, each carries that version's stored shadow scores, from the same query."""
    decided: list[Decided] = []
    for decision in labels.moderator_decisions(
        session=session, site=site, since=since, shadow_version=shadow_version
    ):
        toxic = labels.decision_is_toxic(decision)
        if toxic is not None:
            decided.append(Decided(decision.text, decision.site_id, toxic, decision.shadow_scores))
    return decided


@dataclass(frozen=True)
class OnDecisions:
    """One model on the decided comments: re-scored, and decided under each site's policy."""

    version: str
    labels: tuple[str, ...]
    scores: np.ndarray  # (comments, labels)
    outcomes: list[str]  # approved | held | rejected, as a worker would decide now
    auc: dict[str, float | None]
    # Moderators rejected (or took down) what this model would publish.
    would_publish_rejected: int
    # Moderators published what this model would hold or reject.
    would_stop_approved: int
    # Comments whose scores came from shadow_scores (given on live traffic), not scored now.
    from_shadow: int = 0

    @property
    def held_rate(self) -> float:
        return self.outcomes.count(CommentStatus.HELD) / len(self.outcomes) if self.outcomes else 0


def _stored(model: "ToxicityModel", item: Decided) -> Mapping[str, float] | None:
    """The item's shadow scores, if they cover every attribute the model gives."""
    stored = item.shadow_scores
    if stored is None or any(label not in stored for label in model.labels):
        return None
    return stored


def _readings(model: "ToxicityModel", texts: Sequence[str]) -> list[Reading]:
    """What ``model`` reads of each text besides scores, as assess reads it, without scoring:
    for comments whose scores are stored."""
    return [Reading(language[0], known, words) for language, known, words in model.read(texts)]


def _scored(
    model: "ToxicityModel", decided: Sequence[Decided], use_shadow: bool
) -> Iterator[tuple[Mapping[str, float], Reading, bool]]:
    """Each decided comment's scores by ``model``, what it read of it and whether the scores
    are stored ones, in order, a batch at a time. With ``use_shadow``, a comment with shadow
    scores keeps them: what the version said of it on live traffic is the point of
    shadowing, and re-scoring would only agree with it less if anything changed since."""
    for start in range(0, len(decided), SCORE_BATCH):
        batch = decided[start : start + SCORE_BATCH]
        stored = [_stored(model, item) if use_shadow else None for item in batch]
        fresh = iter(
            model.assess([d.body for d, s in zip(batch, stored, strict=True) if s is None])
        )
        read = iter(_readings(model, [d.body for d, s in zip(batch, stored, strict=True) if s]))
        for scores in stored:
            if scores is not None:
                yield scores, next(read), True
            else:
                a = next(fresh)
                yield a.scores, Reading(a.language[0], a.known_words, a.words), False


def on_decisions(
    model: "ToxicityModel",
    decided: Sequence[Decided],
    policies: Mapping[str, Policy],
    *,
    use_shadow: bool = False,
) -> OnDecisions:
    from sklearn.metrics import roc_auc_score

    labels = tuple(model.labels)
    scores = np.zeros((len(decided), len(labels)))
    outcomes: list[str] = []
    from_shadow = 0
    for n, (item, (given, reading, stored)) in enumerate(
        zip(decided, _scored(model, decided, use_shadow), strict=True)
    ):
        scores[n] = [given[label] for label in labels]
        policy = policies[item.site_id].for_text(item.body)
        outcomes.append(str(decide(given, policy, reading, model.languages).status))
        from_shadow += stored
    toxic = np.array([d.toxic for d in decided], dtype=bool)
    both_kinds = 0 < toxic.sum() < len(toxic)
    auc = {
        label: float(roc_auc_score(toxic, scores[:, k])) if both_kinds else None
        for k, label in enumerate(labels)
    }
    return OnDecisions(
        version=model.version,
        labels=labels,
        scores=scores,
        outcomes=outcomes,
        auc=auc,
        would_publish_rejected=sum(
            1 for t, o in zip(toxic, outcomes, strict=True) if t and o == CommentStatus.APPROVED
        ),
        would_stop_approved=sum(
            1 for t, o in zip(toxic, outcomes, strict=True) if not t and o != CommentStatus.APPROVED
        ),
        from_shadow=from_shadow,
    )


@dataclass(frozen=True)
class OnValidation:
    """Both versions on the validation split of labelled data (the shared data sets and any
    labelled files): ROC AUC per attribute, None where the split has one class only."""

    comments: int
    sources: dict[str, int]
    live: dict[str, float | None]
    candidate: dict[str, float | None]


def validation_split(rows: Sequence["LabelledComment"]) -> list["LabelledComment"]:
    """The rows training holds out for validation (the same split rule, so a version trained
    here never saw them)."""
    from classifiers.train import split_rows

    return split_rows(rows)["validation"]


def on_validation(
    live: "ToxicityModel", candidate: "ToxicityModel", rows: Sequence["LabelledComment"]
) -> OnValidation:
    from collections import Counter

    from sklearn.metrics import roc_auc_score

    from classifiers.model import LABELS, canonical_label
    from classifiers.train import binary_targets

    targets = binary_targets(rows)
    texts = [r.text for r in rows]

    def aucs(model: "ToxicityModel") -> dict[str, float | None]:
        parts = [
            model.score_matrix(texts[i : i + SCORE_BATCH])
            for i in range(0, len(texts), SCORE_BATCH)
        ]
        matrix = np.vstack(parts) if parts else np.zeros((0, len(model.labels)))
        # An older version's "hate" is identity_attack; an attribute it lacks is left out.
        column_of = {canonical_label(name): j for j, name in enumerate(model.labels)}
        out: dict[str, float | None] = {}
        for k, label in enumerate(LABELS):
            if label not in column_of:
                continue
            known = targets[:, k] >= 0
            y = targets[known, k]
            column = matrix[known, column_of[label]]
            out[label] = float(roc_auc_score(y, column)) if len(np.unique(y)) == 2 else None
        return out

    return OnValidation(
        len(rows), dict(Counter(r.source for r in rows)), aucs(live), aucs(candidate)
    )


@dataclass(frozen=True)
class Comparison:
    since: datetime
    site: str | None
    toxic: np.ndarray  # the moderators' verdicts, one per decided comment
    live: OnDecisions
    candidate: OnDecisions
    live_quality: QualityReport
    candidate_quality: QualityReport
    regressions: list[str] = field(default_factory=list)
    validation: OnValidation | None = None  # None: no labelled data was given


def compare(
    *,
    session: Session,
    version: str,
    since: datetime | None = None,
    site_name: str | None = None,
    labelled: Sequence["LabelledComment"] = (),
) -> Comparison:
    """``labelled``: rows of labelled data (shared data sets, files); both versions are also
    measured on their validation split."""
    from service.sites import get_site_by_name

    live_row = store.live_version(session=session)
    if live_row is None:
        raise ModelChangeRefused("no version is live: there is nothing to compare with")
    if live_row.version == version:
        raise ModelChangeRefused(f"{version!r} is the live version; name another one")
    since = since or comparison_start(session=session, version=version)
    site = None
    if site_name is not None:
        site = get_site_by_name(session=session, name=site_name)
        if site is None:
            raise ModelChangeRefused(f"no site named {site_name!r}")
    # The candidate's stored shadow scores come with the decisions, in the same query.
    decided = decided_comments(session=session, since=since, site=site, shadow_version=version)
    sites = {d.site_id for d in decided}
    policies = {
        site.id: site_policy(site)
        for site in session.scalars(select(Site).where(Site.id.in_(sites)))
    }
    live_model = load_version_model(session=session, version=live_row.version)
    candidate_model = load_version_model(session=session, version=version)
    live_quality, candidate_quality = quality_report(live_model), quality_report(candidate_model)
    return Comparison(
        since=since,
        site=site_name,
        toxic=np.array([d.toxic for d in decided], dtype=bool),
        live=on_decisions(live_model, decided, policies),
        candidate=on_decisions(candidate_model, decided, policies, use_shadow=True),
        live_quality=live_quality,
        candidate_quality=candidate_quality,
        regressions=regressions(live_quality, candidate_quality),
        validation=(
            on_validation(live_model, candidate_model, validation_split(labelled))
            if labelled
            else None
        ),
    )
