"""`moderation site tune`: hold thresholds from a site's own decisions, on real PostgreSQL.

Comments are stored, decided by the default policy on known scores and then decided by a
moderator through the store's own functions (submit, claim, record, apply_action, erase);
every expected figure is worked out below from how the fixture is built, not from a model.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from service.authors import Author, erase_comments
from service.cli import app
from service.comments import (
    NewComment,
    ScoredDecision,
    claim_pending,
    record_decisions,
    submit_comments,
)
from service.db import get_session_factory, utcnow
from service.moderation.accounts import Reviewer, get_moderator_by_name, get_reviewer
from service.moderation.errors import TuningRefused
from service.moderation.review import Action, apply_action
from service.moderation.tuning import (
    MIN_APPROVED_DECISIONS,
    DecisionData,
    KnownComment,
    Verdict,
    load_decision_data,
    tune_hold_thresholds,
    tune_site,
    wilson_interval,
)
from service.policy import (
    ATTRIBUTES,
    DEFAULT_THRESHOLDS,
    LabelThreshold,
    decide,
    default_policy,
)
from service.sites import site_policy
from service.tables import Comment, CommentStatus, Site, SiteChange
from tests.conftest import make_moderator, make_site

runner = CliRunner()
TARGET = 0.02
LOW = 0.01  # every score a comment is not about


@dataclass(frozen=True)
class Planned:
    """One comment of the fixture: its scores and what happens to it after the model."""

    scores: dict[str, float]
    # "approve" / "reject": held by the model, then the moderator's decision; "remove": published
    # then taken down; "publish": published, nobody acts; "unreviewed": held, nobody acts;
    # "undo": held, approved, the approval undone; "erase": approved, then erased by the site;
    # "spam": held, rejected as spam; "unrestore": rejected by the model, restored, undone.
    fate: str


def _scores(**high: float) -> dict[str, float]:
    return {attribute: high.get(attribute, LOW) for attribute in ATTRIBUTES}


def _civil_held(count: int) -> list[Planned]:
    """Civil comments the default policy holds (0.50 up in steps of 0.004), approved by a
    moderator; every other one is held on insult rather than toxicity."""
    return [
        Planned(_scores(**{("toxicity", "insult")[i % 2]: 0.5 + 0.004 * i}), "approve")
        for i in range(count)
    ]


def _fixture() -> list[Planned]:
    return [
        *_civil_held(100),
        # Published civil comments, toxicity 0.000 to 0.299.
        *(Planned(_scores(toxicity=0.001 * i), "publish") for i in range(300)),
        # Toxic comments held (0.60 to 0.99) and rejected; five published and taken down.
        *(Planned(_scores(toxicity=0.6 + 0.01 * i), "reject") for i in range(40)),
        *(Planned(_scores(toxicity=0.45), "remove") for _ in range(5)),
        # Left out: not reviewed, an approval undone, and a civil comment that is erased
        # (each high enough that counting it would move the threshold or the shares).
        *(Planned(_scores(toxicity=0.7), "unreviewed") for _ in range(10)),
        Planned(_scores(toxicity=0.98), "undo"),
        Planned(_scores(toxicity=0.99), "erase"),
    ]


def _store(session: Session, site: Site, reviewer: Reviewer, plan: Sequence[Planned]) -> None:
    """Through the paths the service uses: submitted, claimed and decided by the site's policy
    on the planned scores, then the moderator's action."""
    outcomes = submit_comments(
        session=session,
        items=[
            (
                site.id,
                NewComment(
                    article_id="a", author_name=f"r{n}", author_id=f"r{n}", body=f"Point {n}."
                ),
            )
            for n in range(len(plan))
        ],
    )
    ids = [outcome.id for outcome in outcomes]  # type: ignore[union-attr]
    claim = claim_pending(session=session, batch_size=len(plan), lease_seconds=60)
    assert {c.id for c in claim.comments} == set(ids)
    policy = site_policy(site)
    decisions = [
        ScoredDecision(comment_id, decide(planned.scores, policy), planned.scores)
        for comment_id, planned in zip(ids, plan, strict=True)
    ]
    record_decisions(
        session=session,
        token=claim.token,
        actor="model:test",
        model_version="test",
        decisions=decisions,
    )
    session.commit()
    for n, (comment_id, planned) in enumerate(zip(ids, plan, strict=True)):
        status = session.get(Comment, comment_id).status  # type: ignore[union-attr]
        expected = {"publish": "approved", "remove": "approved", "unrestore": "rejected"}.get(
            planned.fate, "held"
        )
        assert status == expected, (planned, status)
        act = {
            "approve": [Action.APPROVE],
            "reject": [Action.REJECT],
            "remove": [Action.REMOVE],
            "undo": [Action.APPROVE, Action.UNDO],
            "erase": [Action.APPROVE],
            "spam": [Action.REJECT],
            "unrestore": [Action.RESTORE, Action.UNDO],
        }
        for action in act.get(planned.fate, []):
            apply_action(
                session=session,
                reviewer=reviewer,
                comment_id=comment_id,
                action=action,
                reason="spam or advertising" if planned.fate == "spam" else "abuse or harassment",
            )
        if planned.fate == "erase":
            erase_comments(session=session, site=site, author=Author(author_id=f"r{n}"))
    session.commit()


@pytest.fixture
def reviewer(pg_env: dict[str, str], sessions: sessionmaker[Session]) -> Reviewer:
    with sessions() as session:
        username, _ = make_moderator(session, admin=True)
        moderator = get_moderator_by_name(session=session, username=username)
        found = get_reviewer(session=session, moderator_id=moderator.id)
        assert found is not None
        return found


def _site(sessions: sessionmaker[Session], reviewer: Reviewer, plan: Sequence[Planned]) -> str:
    with sessions() as session:
        site, _ = make_site(session, policy=default_policy(0.5, 0.9))
        _store(session, site, reviewer, plan)
        return site.name


def _site_named(session: Session, name: str) -> Site:
    site = session.scalar(select(Site).where(Site.name == name))
    assert site is not None
    return site


def _civil(plan: Sequence[Planned]) -> list[dict[str, float]]:
    return [p.scores for p in plan if p.fate in ("approve", "publish")]


def _not_published(scores: Sequence[dict[str, float]], limits: dict[str, float]) -> int:
    return sum(any(s[a] >= limits[a] for a in limits) for s in scores)


# --- the arithmetic on stored decisions -------------------------------------------------------


def test_tuned_thresholds_hold_at_most_the_target_share_and_no_fewer_than_needed(
    reviewer: Reviewer, sessions: sessionmaker[Session]
) -> None:
    plan = _fixture()
    name = _site(sessions, reviewer, plan)
    civil = _civil(plan)
    allowed = math.floor(TARGET * len(civil))  # 400 civil comments: 8 may be held
    with sessions() as session:
        report = tune_site(session=session, site=_site_named(session, name), max_civil_held=TARGET)
    tuned = {row.attribute: row.tuned for row in report.thresholds}
    assert report.civil == len(civil) == 400 and report.civil_by_moderators == 100
    assert report.civil_held.count == _not_published(civil, tuned) == allowed
    # The lowest such thresholds: toxicity and insult share a threshold (both 0.5 before),
    # which lies above the 9th highest civil score and at most the 8th highest.
    highest = sorted((max(s["toxicity"], s["insult"]) for s in civil), reverse=True)
    assert tuned["toxicity"] == tuned["insult"]
    assert highest[allowed] < tuned["toxicity"] <= highest[allowed - 1]
    step = tuned["toxicity"] - 0.001
    one_step_lower = {**tuned, "toxicity": step, "insult": step}
    assert _not_published(civil, one_step_lower) > allowed
    # One factor for every hold threshold, capped at reject thresholds, which stay.
    factor = report.factor
    assert tuned["toxicity"] == pytest.approx(0.5 * factor, abs=0.001)
    assert tuned["profanity"] == 1.0  # 0.9 x factor is over 1
    for row in report.thresholds:
        assert row.reject_at == DEFAULT_THRESHOLDS[row.attribute].reject_at
        if row.reject_at is not None and row.current * factor >= row.reject_at:
            assert row.tuned == row.reject_at  # severe_toxicity: its hold band is gone
        elif row.reject_at is not None:
            assert row.tuned == pytest.approx(row.current * factor, abs=0.001)
    # The decision workers would make agrees, with the stored policy and the tuned labels.
    with sessions() as session:
        policy = site_policy(_site_named(session, name))
    tuned_policy = replace(
        policy,
        labels={
            a: LabelThreshold(float(v["approve_below"] or 0.0), v["reject_at"])
            for a, v in report.label_thresholds.items()
        },
    )
    held = sum(decide(s, tuned_policy).status != CommentStatus.APPROVED for s in civil)
    assert held <= TARGET * len(civil)


def test_the_report_counts_what_the_fixture_holds(
    reviewer: Reviewer, sessions: sessionmaker[Session]
) -> None:
    plan = _fixture()
    name = _site(sessions, reviewer, plan)
    now = utcnow()
    with sessions() as session:
        # The whole site's traffic spread over ten days.
        site = _site_named(session, name)
        session.execute(
            update(Comment)
            .where(Comment.site_id == site.id)
            .values(created_at=now - timedelta(days=10))
        )
        session.commit()
        report = tune_site(session=session, site=site, max_civil_held=TARGET, now=now)
    tuned = {row.attribute: row.tuned for row in report.thresholds}
    toxic = [p.scores for p in plan if p.fate in ("reject", "remove")]
    assert report.toxic == len(toxic) == 45
    assert report.undecided == 11  # ten unreviewed, one approval undone
    assert report.caught_now.count == 40  # the held ones; the five taken down were published
    assert report.caught.count == _not_published(toxic, tuned)
    assert report.civil_held_now.count == 100  # every civil comment a moderator approved
    # Held per day: the held share of the scored comments (all but the erased one) times the
    # window's volume (every submitted comment) per day.
    scored = [p.scores for p in plan if p.fate != "erase"]
    held = _not_published(scored, tuned)  # none of them reaches a reject threshold
    assert report.window_days == pytest.approx(10, rel=1e-6)
    assert report.held_per_day.value == pytest.approx(held / len(scored) * len(plan) / 10)
    low, high = report.held_per_day.interval
    assert low <= report.held_per_day.value <= high


def test_since_leaves_out_older_comments(
    reviewer: Reviewer, sessions: sessionmaker[Session]
) -> None:
    plan = _fixture()
    name = _site(sessions, reviewer, plan)
    now = utcnow()
    with sessions() as session:
        site = _site_named(session, name)
        # The toxic comments are old: only the civil ones and the undecided are in the window.
        old = select(Comment.id).where(Comment.site_id == site.id).order_by(Comment.created_at)
        ids = list(session.scalars(old))
        old_ids = [i for i, p in zip(ids, plan, strict=True) if p.fate in ("reject", "remove")]
        session.execute(
            update(Comment)
            .where(Comment.id.in_(old_ids))
            .values(created_at=now - timedelta(days=60))
        )
        session.commit()
        data = load_decision_data(session=session, site=site, since=now - timedelta(days=30))
    assert sum(c.verdict == Verdict.TOXIC for c in data.comments) == 0
    assert sum(c.verdict == Verdict.CIVIL for c in data.comments) == 400
    assert data.submitted == len(plan) - len(old_ids)


def test_decisions_read_as_training_reads_them(
    reviewer: Reviewer, sessions: sessionmaker[Session]
) -> None:
    # service.model_registry.labels: a spam rejection says nothing about toxicity, and an
    # undone restore leaves the model's rejection, which no moderator confirmed.
    plan = [
        Planned(_scores(toxicity=0.7), "reject"),
        Planned(_scores(toxicity=0.7), "spam"),
        Planned(_scores(threat=0.9), "unrestore"),
        Planned(_scores(toxicity=0.6), "approve"),
    ]
    name = _site(sessions, reviewer, plan)
    with sessions() as session:
        data = load_decision_data(session=session, site=_site_named(session, name))
    assert sorted((str(c.verdict), c.by_moderator) for c in data.comments) == [
        ("None", False),
        ("None", False),
        ("civil", True),
        ("toxic", True),
    ]


# --- the interval -----------------------------------------------------------------------------


def _synthetic(copies: int) -> DecisionData:
    """The fixture's civil and toxic comments, each `copies` times, as DecisionData."""
    comments = [
        KnownComment(
            p.scores,
            Verdict.CIVIL if p.fate in ("approve", "publish") else Verdict.TOXIC,
            p.fate != "publish",
        )
        for p in _fixture()
        if p.fate in ("approve", "publish", "reject", "remove")
    ] * copies
    return DecisionData(
        comments=comments,
        submitted=len(comments),
        unscored=0,
        window_start=datetime(2026, 11, 1),
        window_end=datetime(2026, 11, 11),
    )


def test_the_interval_contains_the_estimate_and_narrows_with_more_data() -> None:
    policy = default_policy(0.5, 0.9)
    widths = []
    for copies in (1, 4, 16):
        report = tune_hold_thresholds(policy=policy, data=_synthetic(copies), max_civil_held=TARGET)
        for share in (report.civil_held, report.caught, report.held_per_day):
            low, high = share.interval
            assert low <= share.value <= high
        low, high = report.civil_held.interval
        widths.append(high - low)
    assert widths[0] > widths[1] > widths[2]
    # Wilson at the ends: zero successes still leaves room above, all successes below.
    assert wilson_interval(0, 50)[0] == 0.0 < wilson_interval(0, 50)[1]
    assert wilson_interval(50, 50)[0] < 1.0 == wilson_interval(50, 50)[1]


# --- the command ------------------------------------------------------------------------------


def _tune(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["site", "tune", *args])
    return result.exit_code, result.stdout, result.stderr


def test_tune_reports_and_changes_nothing_without_apply(
    reviewer: Reviewer, sessions: sessionmaker[Session]
) -> None:
    name = _site(sessions, reviewer, _fixture())
    with sessions() as session:
        before = dict(_site_named(session, name).label_thresholds)
    code, out, err = _tune(name, "--max-civil-held", "0.02")
    assert code == 0, err
    assert "civil held" in out and "toxic caught" in out and "held per day" in out
    assert "not applied" in out
    with sessions() as session:
        site = _site_named(session, name)
        assert site.label_thresholds == before
        assert not session.scalars(select(SiteChange).where(SiteChange.site_id == site.id)).all()


def test_tune_apply_stores_the_hold_thresholds_and_records_the_change(
    reviewer: Reviewer, sessions: sessionmaker[Session]
) -> None:
    name = _site(sessions, reviewer, _fixture())
    with sessions() as session:
        expected = tune_site(
            session=session, site=_site_named(session, name), max_civil_held=TARGET
        )
    code, out, err = _tune(name, "--max-civil-held", "0.02", "--apply")
    assert code == 0, err
    assert "applied: the site's hold thresholds are the tuned ones" in out
    with sessions() as session:
        site = _site_named(session, name)
        policy = site_policy(site)
        for row in expected.thresholds:
            assert policy.threshold(row.attribute).approve_below == row.tuned
            assert policy.threshold(row.attribute).reject_at == row.reject_at
        assert (site.approve_below, site.reject_at) == (0.5, 0.9)  # the site-wide pair
        (change,) = session.scalars(select(SiteChange).where(SiteChange.site_id == site.id))
        assert change.action == "tune" and change.actor == "cli"
        assert change.changes["label_thresholds"]["to"]["toxicity"]["approve_below"] == (
            policy.threshold("toxicity").approve_below
        )
        assert change.changes["basis"]["max_civil_held"] == TARGET
        assert change.changes["basis"]["civil"] == 400


def test_tune_refuses_too_few_approved_decisions(
    reviewer: Reviewer, sessions: sessionmaker[Session]
) -> None:
    few = MIN_APPROVED_DECISIONS - 1
    plan = [*_civil_held(few), *(Planned(_scores(toxicity=0.1), "publish") for _ in range(200))]
    name = _site(sessions, reviewer, plan)
    code, out, err = _tune(name, "--max-civil-held", "0.02", "--apply")
    assert code == 1 and out == ""
    assert err.strip().splitlines() == [
        f"only {few} comments approved by moderators in this window; tuning needs at least "
        f"{MIN_APPROVED_DECISIONS}"
    ]
    with sessions() as session:
        assert session.scalars(select(SiteChange)).all() == []


@pytest.mark.parametrize("target", ["0", "1", "-0.5", "1.5", "nan"])
def test_tune_refuses_a_target_outside_zero_to_one(
    reviewer: Reviewer, sessions: sessionmaker[Session], target: str
) -> None:
    with sessions() as session:
        site, _ = make_site(session)
        name = site.name
    code, out, err = _tune(name, "--max-civil-held", target)
    assert code == 1 and out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith("--max-civil-held is a share between 0 and 1")


def test_the_pure_function_refuses_like_the_command() -> None:
    with pytest.raises(TuningRefused, match="at least 50"):
        tune_hold_thresholds(
            policy=default_policy(0.5, 0.9),
            data=DecisionData([], 0, 0, None, datetime(2026, 11, 1)),
            max_civil_held=TARGET,
        )


def test_tune_reads_the_embedded_store_too(sqlite_env: object) -> None:
    """`make run` keeps its store in SQLite: the same query and figures there."""
    sessions = get_session_factory()
    with sessions() as session:
        username, _ = make_moderator(session, admin=True)
        moderator = get_moderator_by_name(session=session, username=username)
        found = get_reviewer(session=session, moderator_id=moderator.id)
        assert found is not None
    name = _site(sessions, found, _fixture())
    with sessions() as session:
        report = tune_site(session=session, site=_site_named(session, name), max_civil_held=TARGET)
    assert (report.civil, report.civil_by_moderators, report.toxic) == (400, 100, 45)
    assert report.civil_held.count == math.floor(TARGET * 400)


def test_refuses_when_reject_thresholds_alone_stop_too_many_civil_comments() -> None:
    """Civil comments at a reject threshold (restored by a moderator) count against the
    target whatever the hold thresholds: 5 of 65 is over 2%, and no tuning can fix that."""
    civil = [KnownComment(_scores(toxicity=0.6), Verdict.CIVIL, True) for _ in range(60)]
    restored = [KnownComment(_scores(severe_toxicity=0.65), Verdict.CIVIL, True)] * 5
    data = DecisionData(civil + restored, 65, 0, datetime(2026, 11, 1), datetime(2026, 11, 2))
    with pytest.raises(TuningRefused, match=r"^5 of 65 civil comments \(7.7%\) reach a reject"):
        tune_hold_thresholds(policy=default_policy(0.5, 0.9), data=data, max_civil_held=TARGET)


def test_tune_refuses_a_since_it_cannot_read(
    reviewer: Reviewer, sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        site, _ = make_site(session)
        name = site.name
    code, out, err = _tune(name, "--max-civil-held", "0.02", "--since", "last tuesday")
    assert code == 1 and out == ""
    assert err.strip() == (
        "--since 'last tuesday': write a date (2026-11-01), a time (2026-11-01T08:00Z) or 30d"
    )
    # A date that parses but lies before the year 1 once in UTC.
    code, out, err = _tune(name, "--max-civil-held", "0.02", "--since", "0001-01-01T00:00+05:00")
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1
    assert err.startswith("--since '0001-01-01T00:00+05:00': ")
    code, _, err = _tune("no-such-site", "--max-civil-held", "0.02")
    assert code == 1 and err.strip() == "no site named 'no-such-site'"
