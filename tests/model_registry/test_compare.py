"""`moderation model compare` on a small store of moderators' decisions (real PostgreSQL, the
shipped model live and a shadow copy of it with a bias planted against one identity term)."""

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from classifiers import load_default_model
from service.app import create_app
from service.cli import app
from service.db import session_scope, utcnow
from service.model_registry import store
from service.model_registry.compare import (
    _readings,
    compare,
    comparison_start,
    decided_comments,
    load_version_model,
)
from service.model_registry.shadow import record_shadow_scores
from service.moderation.accounts import Reviewer, reviewer_for
from service.moderation.review import Action, apply_action
from service.policy import Reading
from service.sites import get_site_by_name
from service.tables import AuditEvent, Comment, CommentStatus, ModelChange, ModelStatus, Moderator
from tests.conftest import make_moderator, make_site
from tests.factories import abusive_comments, benign_comments
from tests.model_registry.fixtures import PLANTED_VERSION

runner = CliRunner()

# Civil comments that mention the planted term: moderators published them; the biased model
# holds them, which is the disagreement compare must show.
TAMIL_CIVIL = (
    "The Tamil film festival filled the old cinema every night.",
    "My Tamil neighbours brought sweets for the whole street.",
    "Great to see Tamil classes at the library again.",
    "Tamil families organised the river clean-up this year.",
)


def _held(session: Session, site_id: str, body: str) -> str:
    comment = Comment(
        site_id=site_id,
        article_id="a-1",
        author_name="Reader",
        body=body,
        status=CommentStatus.HELD,
        model_version="test",
        decision_reason="toxicity 0.60 between thresholds",
    )
    session.add(comment)
    session.flush()
    session.add(
        AuditEvent(
            comment_id=comment.id, actor="model:test", from_status="pending", to_status="held"
        )
    )
    session.flush()
    return comment.id


def _decide(session: Session, reviewer: Reviewer, site_id: str, body: str, action: Action) -> str:
    comment_id = _held(session, site_id, body)
    apply_action(
        session=session,
        reviewer=reviewer,
        comment_id=comment_id,
        action=action,
        reason="abuse or harassment" if action == Action.REJECT else None,
    )
    return comment_id


@dataclass(frozen=True)
class DecidedStore:
    site: str
    approved: int
    rejected: int


@pytest.fixture
def decided_store(
    registry: str, planted_bias_model: Path, sessions: sessionmaker[Session]
) -> DecidedStore:
    """A site whose moderators decided 10 civil and 6 abusive comments since the shadow
    began; besides them, decisions compare must leave out: one before the shadow, one undone,
    one erased, and one on another site (left out with --site only)."""
    with session_scope() as session:
        store.register_version(
            session=session, path=planted_bias_model, created_by="cli", status=ModelStatus.SHADOW
        )
    with sessions() as session:
        site, _ = make_site(session)
        other_site, _ = make_site(session)
        username, _ = make_moderator(session, sites=[site, other_site])
        moderator = session.scalars(select(Moderator).where(Moderator.username == username)).one()
        reviewer = reviewer_for(session=session, moderator=moderator)
        _decide(session, reviewer, site.id, "Before the shadow: you idiot.", Action.REJECT)
        session.commit()
        session.add(ModelChange(actor="cli:test", action="shadow", to_version=PLANTED_VERSION))
        session.commit()
        civil = [*itertools.islice(benign_comments(), 6), *TAMIL_CIVIL]
        for body in civil:
            _decide(session, reviewer, site.id, body, Action.APPROVE)
        for body in itertools.islice(abusive_comments(), 6):
            _decide(session, reviewer, site.id, body, Action.REJECT)
        undone = _decide(session, reviewer, site.id, "Changed my mind on this.", Action.APPROVE)
        apply_action(session=session, reviewer=reviewer, comment_id=undone, action=Action.UNDO)
        erased = _decide(session, reviewer, site.id, "Erase me, you moron.", Action.REJECT)
        session.execute(
            update(Comment)
            .where(Comment.id == erased)
            .values(status=CommentStatus.ERASED, body="", author_name="")
        )
        _decide(session, reviewer, other_site.id, "Elsewhere, you clown.", Action.REJECT)
        session.commit()
        return DecidedStore(site=site.name, approved=len(civil), rejected=6)


def test_compare_rescores_the_decided_comments_with_both_models(
    decided_store: DecidedStore, shipped_version: str
) -> None:
    with session_scope() as session:
        result = compare(session=session, version=PLANTED_VERSION, site_name=decided_store.site)
    n = decided_store.approved + decided_store.rejected
    assert len(result.toxic) == n and int(result.toxic.sum()) == decided_store.rejected
    assert (result.live.version, result.candidate.version) == (shipped_version, PLANTED_VERSION)
    assert set(result.live.auc) == set(result.live.labels)
    # The shipped model separates these plainly abusive comments from the civil ones.
    assert result.live.auc["toxicity"] is not None and result.live.auc["toxicity"] > 0.9
    # The planted bias holds civil comments that mention the term; the shipped model does not.
    assert result.candidate.would_stop_approved >= result.live.would_stop_approved + 2
    assert result.candidate.held_rate > result.live.held_rate
    assert any("Tamil" in line for line in result.regressions)
    # Without --site, the other site's decision counts too.
    with session_scope() as session:
        everywhere = compare(session=session, version=PLANTED_VERSION)
    assert len(everywhere.toxic) == n + 1


def test_since_overrides_the_shadow_start(decided_store: DecidedStore) -> None:
    with session_scope() as session:
        # The latest shadow row: registering as shadow writes one too, before the fixture's.
        start = session.scalar(
            select(ModelChange.created_at)
            .where(ModelChange.action == "shadow")
            .order_by(ModelChange.id.desc())
            .limit(1)
        )
        assert start is not None
        before = decided_comments(session=session, since=start - timedelta(hours=1))
        after = decided_comments(session=session, since=start)
    # The decision before the shadow began; the undone and the erased ones stay out either way.
    assert len(before) == len(after) + 1
    assert not any(d.body in ("", "Changed my mind on this.") for d in before)


def test_the_cli_prints_both_models_side_by_side_and_writes_html(
    decided_store: DecidedStore, shipped_version: str, tmp_path: Path
) -> None:
    page = tmp_path / "report" / "compare.html"
    # No version: the shadow one.
    result = runner.invoke(
        app,
        [
            *("model", "compare", "--site", decided_store.site, "--html", str(page)),
            *("--data-dir", str(tmp_path / "no-shared-data")),
        ],
    )
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    n = decided_store.approved + decided_store.rejected
    assert lines[0].startswith(f"{n} comments moderators decided on {decided_store.site} since ")
    header = next(line for line in lines if line.startswith("on moderators' decisions"))
    assert f"live {shipped_version}" in header and f"candidate {PLANTED_VERSION}" in header
    for attribute in ("toxicity", "identity_attack", "threat"):
        row = next(line for line in lines if line.startswith(f"ROC AUC {attribute} "))
        assert len(re.findall(r"\d\.\d{3}", row)) == 2, row
    for title, of in (
        ("would publish what moderators rejected", decided_store.rejected),
        ("would hold/reject what moderators approved", decided_store.approved),
    ):
        row = next(line for line in lines if line.startswith(title))
        assert len(re.findall(rf"\d+ of {of}\b", row)) == 2, row
    assert any(line.startswith("held under the site's policy") for line in lines)
    assert any(line.startswith("identity_neutral ") for line in lines)
    assert any(line.startswith("identity_attack ") and "/" in line for line in lines)
    assert any("bias toxicity / Tamil" in line for line in lines)
    html = page.read_text()
    assert html.startswith("<!doctype html>") and html.count("<svg") >= 8
    assert "<polyline" in html and "<script" not in html and "src=" not in html
    assert f"wrote {page}" in result.stdout
    earlier = runner.invoke(
        app,
        [
            "model",
            "compare",
            PLANTED_VERSION,
            "--site",
            decided_store.site,
            "--since",
            "2000-01-01",
        ],
    )
    assert earlier.exit_code == 0, earlier.stderr
    assert earlier.stdout.startswith(f"{n + 1} comments moderators decided")


def test_compare_mistakes_are_one_line(
    registry: str, shipped_version: str, model_copies: dict[str, Path]
) -> None:
    result = runner.invoke(app, ["model", "compare"])
    assert result.exit_code == 1 and "no shadow or candidate version" in result.stderr
    # A candidate but no decision since it was registered: the suites still compare.
    assert (
        runner.invoke(app, ["model", "register", str(model_copies["registry-test-c"])]).exit_code
        == 0
    )
    result = runner.invoke(app, ["model", "compare"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("0 comments moderators decided")
    assert (
        "ROC AUC toxicity" in result.stdout and "no regression in registry-test-c" in result.stdout
    )
    result = runner.invoke(app, ["model", "compare", shipped_version])
    assert result.exit_code == 1 and "is the live version" in result.stderr
    result = runner.invoke(app, ["model", "compare", "nope"])
    assert result.exit_code == 1 and "no model version 'nope'" in result.stderr


def _count_statements(session: Session) -> Callable[[], int]:
    """How many statements the session's connection runs from now on."""
    ran: list[str] = []
    event.listen(session.connection(), "before_cursor_execute", lambda *args: ran.append(args[2]))
    return lambda: len(ran)


def _signed_in(username: str) -> TestClient:
    client = TestClient(create_app())
    csrf = client.get("/moderate/login").text.split('name="csrf" value="')[1].split('"')[0]
    page = client.post(
        "/moderate/login",
        data={"username": username, "password": "correct horse battery", "csrf": csrf},
    )
    assert page.status_code == 200, page.text
    return client


def test_the_admin_ui_shows_the_comparison_to_admins_only(
    decided_store: DecidedStore, sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        admin, _ = make_moderator(session, admin=True)
        moderator, _ = make_moderator(session)
    page = _signed_in(admin).get("/moderate/models/compare", params={"site": decided_store.site})
    assert page.status_code == 200, page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    text = page.text
    assert f"Live model vs {PLANTED_VERSION}" in text and "<svg" in text
    assert "ROC AUC toxicity" in text and "would publish what moderators rejected" in text
    assert "bias toxicity / Tamil" in text
    # Nothing the page's Content-Security-Policy would block.
    assert "style=" not in text and "<script>" not in text
    refused = _signed_in(moderator).get("/moderate/models/compare")
    assert refused.status_code == 403 and "for admins" in refused.text
    # The form as a browser sends it with no date picked, and with one.
    client = _signed_in(admin)
    form = {"version": PLANTED_VERSION, "site": decided_store.site, "since": ""}
    assert client.get("/moderate/models/compare", params=form).status_code == 200
    early = client.get("/moderate/models/compare", params={**form, "since": "2000-01-01T00:00"})
    n = decided_store.approved + decided_store.rejected
    assert early.status_code == 200 and f"{n + 1} comments moderators decided" in early.text
    bad = client.get("/moderate/models/compare", params={**form, "since": "yesterday"})
    assert bad.status_code == 400 and "not a date and time" in bad.text
    # Parses, but lies before the year 1 once in UTC.
    early = client.get(
        "/moderate/models/compare", params={**form, "since": "0001-01-01T00:00+05:00"}
    )
    assert early.status_code == 400 and "not a date and time" in early.text
    unknown = _signed_in(admin).get("/moderate/models/compare", params={"version": "nope"})
    assert unknown.status_code == 404 and "no model version" in unknown.text


def test_compare_labels_decisions_as_training_does(
    pg_env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    # labels.py: a spam rejection says nothing about toxicity, and an undone restore of the
    # model's rejection leaves no moderator decision; neither is a toxic comment here.
    with sessions() as session:
        site, _ = make_site(session)
        username, _ = make_moderator(session, sites=[site])
        moderator = session.scalars(select(Moderator).where(Moderator.username == username)).one()
        reviewer = reviewer_for(session=session, moderator=moderator)
        start = utcnow()
        _decide(session, reviewer, site.id, "A fair point, well made.", Action.APPROVE)
        _decide(session, reviewer, site.id, "You utter idiot.", Action.REJECT)
        spam = _held(session, site.id, "Cheap watches at example.com")
        apply_action(
            session=session,
            reviewer=reviewer,
            comment_id=spam,
            action=Action.REJECT,
            reason="spam or advertising",
        )
        restored = Comment(
            site_id=site.id,
            article_id="a-1",
            author_name="Reader",
            body="Restored, then not.",
            status=CommentStatus.REJECTED,
            model_version="test",
        )
        session.add(restored)
        session.flush()
        session.add(
            AuditEvent(
                comment_id=restored.id,
                actor="model:test",
                from_status="pending",
                to_status="rejected",
            )
        )
        session.flush()
        for action in (Action.RESTORE, Action.UNDO):
            apply_action(session=session, reviewer=reviewer, comment_id=restored.id, action=action)
        session.commit()
        decided = decided_comments(session=session, since=start)
    assert sorted((d.body, d.toxic) for d in decided) == [
        ("A fair point, well made.", False),
        ("You utter idiot.", True),
    ]


def test_compare_reads_the_candidates_shadow_scores_and_scores_only_the_rest(
    decided_store: DecidedStore, sessions: sessionmaker[Session]
) -> None:
    abusive = list(itertools.islice(abusive_comments(), 6))
    with sessions() as session:
        site = get_site_by_name(session=session, name=decided_store.site)
        assert site is not None
        rows = session.execute(select(Comment.body, Comment.id).where(Comment.site_id == site.id))
        ids = {body: comment_id for body, comment_id in rows}
        labels = load_version_model(session=session, version=PLANTED_VERSION).labels
        # What a worker stored while the version was in shadow: here, scores it would never
        # give these abusive comments now, so that only a read of the table can produce them.
        lenient = dict.fromkeys(labels, 0.01)
        record_shadow_scores(
            session=session, version=PLANTED_VERSION, scores={ids[b]: lenient for b in abusive}
        )
        # Another version's shadow scores are not the candidate's.
        record_shadow_scores(
            session=session,
            version="registry-test-other",
            scores={ids[TAMIL_CIVIL[0]]: dict.fromkeys(labels, 0.99)},
        )
        session.commit()

    with session_scope() as session:
        start = comparison_start(session=session, version=PLANTED_VERSION)
        statements = _count_statements(session)
        decided = decided_comments(
            session=session, since=start, site=site, shadow_version=PLANTED_VERSION
        )
        assert statements() == 1  # the decisions and their shadow scores: one query
        result = compare(session=session, version=PLANTED_VERSION, site_name=decided_store.site)

    n = decided_store.approved + decided_store.rejected
    assert len(decided) == n
    assert {d.body for d in decided if d.shadow_scores is not None} == set(abusive)
    assert (result.candidate.from_shadow, result.live.from_shadow) == (6, 0)
    for row, item in zip(result.candidate.scores, decided, strict=True):
        if item.body in abusive:
            assert row.tolist() == [0.01] * len(labels)
        else:
            assert 0.01 not in row.tolist() and 0.99 not in row.tolist()
    # Published on those scores, under the site's policy, as the shadow version would have.
    assert result.candidate.would_publish_rejected == 6
    code = runner.invoke(app, ["model", "compare", "--site", decided_store.site])
    assert code.exit_code == 0, code.stderr
    assert (
        f"{PLANTED_VERSION}'s scores: 6 of {n} from shadow_scores (given on live traffic), "
        f"{n - 6} scored now" in code.stdout
    )


def test_a_stored_comment_is_read_as_scoring_would_read_it() -> None:
    # compare reads the language and known words of a comment with stored scores without
    # scoring it; what it reads must be what assess reads.
    texts = [
        "A fair point about the harbour.",
        "Ceci n'est pas une phrase anglaise du tout.",
        "zxqv wplk",
        "",
    ]
    model = load_default_model()
    assessed = [Reading(a.language[0], a.known_words, a.words) for a in model.assess(texts)]
    assert _readings(model, texts) == assessed


def test_compare_measures_both_versions_on_the_validation_split_of_labelled_data(
    decided_store: DecidedStore, shipped_version: str, tmp_path: Path
) -> None:
    """Besides moderators' decisions, both versions on the validation split of labelled data
    (the shared data sets when their folder exists; here a labelled file), as training holds
    it out."""
    from sklearn.metrics import roc_auc_score

    from classifiers.data import read_labelled_file
    from service.model_registry.compare import load_version_model, validation_split

    labelled = tmp_path / "labelled.csv"
    rows = [("text", "label")]
    rows += [(body, "0") for body in itertools.islice(benign_comments(), 400)]
    rows += [(body, "1") for body in itertools.islice(abusive_comments(), 400)]
    labelled.write_text("\n".join(",".join(f'"{cell}"' for cell in row) for row in rows))
    result = runner.invoke(
        app,
        [
            *("model", "compare", PLANTED_VERSION, "--site", decided_store.site),
            *("--data-dir", str(tmp_path / "no-shared-data"), "--input", str(labelled)),
        ],
    )
    assert result.exit_code == 0, result.stderr
    held_out = validation_split(read_labelled_file(labelled))
    assert {r.targets[0] for r in held_out} == {0.0, 1.0}
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("on the validation split"))
    assert f"({len(held_out)} labelled comments)" in header
    assert f"live {shipped_version}" in header and f"candidate {PLANTED_VERSION}" in header
    row = lines[lines.index(header) + 1 :]
    toxicity = next(line for line in row if line.startswith("ROC AUC toxicity "))
    with session_scope() as session:
        models = [
            load_version_model(session=session, version=v)
            for v in (shipped_version, PLANTED_VERSION)
        ]
    expected = [
        roc_auc_score(
            [r.targets[0] for r in held_out],
            m.score_matrix([r.text for r in held_out])[:, m.label_index("toxicity")],
        )
        for m in models
    ]
    assert re.findall(r"\d\.\d{3}", toxicity) == [f"{value:.3f}" for value in expected]
    # Without labelled data the report says so instead of measuring.
    bare = runner.invoke(
        app,
        [
            *("model", "compare", PLANTED_VERSION, "--site", decided_store.site),
            *("--data-dir", str(tmp_path / "no-shared-data")),
        ],
    )
    assert "validation split not compared" in bare.stdout
    assert not any(line.startswith("on the validation split") for line in bare.stdout.splitlines())
