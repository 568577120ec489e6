"""Labels from moderators' decisions and `moderation model train --from-decisions`, on
PostgreSQL with the real store functions: comments submitted and decided as the workers do,
moderators deciding through service.moderation.review, erasure through service.authors.

No shared data: the base data is a small file written here, and --data-dir points nowhere."""

import csv
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from classifiers.model import LABELS
from classifiers.persist import load_model
from service.authors import Author, erase_comments
from service.cli import app
from service.comments import NewComment, Submitted, claim_pending, record_decisions, submit_comments
from service.db import get_session_factory, session_scope, utcnow
from service.integrations.perspective.feedback import record_suggestion
from service.model_registry.labels import decision_is_toxic, moderator_decisions, read_labels
from service.model_registry.store import get_version, list_versions
from service.model_registry.training import TrainingRefused, find_site, train_from_decisions
from service.moderation.accounts import Reviewer, get_moderator_by_name, reviewer_for
from service.moderation.review import Action, apply_action
from service.policy import Decision
from service.tables import CommentStatus, Site
from tests.conftest import make_moderator, make_site
from tests.factories import ABUSIVE_TEMPLATES, BENIGN_TEMPLATES, TOPICS

runner = CliRunner()
U = -1.0
WORDPRESS_SYNC = (
    Path(__file__).resolve().parents[2]
    / "integrations/wordpress/comment-moderation/includes/class-cmod-moderator-sync.php"
)


# --- helpers ---------------------------------------------------------------------------------


def _decided(
    session: Session, site: Site, bodies: list[str], status: CommentStatus, author: str = "R"
) -> list[str]:
    """Comments stored as the API stores them and decided as a worker decides them."""
    outcomes = submit_comments(
        session=session,
        items=[
            (site.id, NewComment(article_id="a", author_name=author, author_id=author, body=b))
            for b in bodies
        ],
    )
    ids = [o.id for o in outcomes if isinstance(o, Submitted)]
    claim = claim_pending(session=session, batch_size=len(ids) + 10, lease_seconds=60)
    from service.comments import ScoredDecision

    record_decisions(
        session=session,
        token=claim.token,
        actor="model:test",
        model_version="test",
        decisions=[
            ScoredDecision(c.id, Decision(status, "test decision"), {"toxicity": 0.6})
            for c in claim.comments
        ],
    )
    session.commit()
    return ids


def _reviewer(session: Session, site: Site) -> Reviewer:
    username, _ = make_moderator(session, sites=[site])
    return reviewer_for(
        session=session, moderator=get_moderator_by_name(session=session, username=username)
    )


def _decide(
    session: Session, reviewer: Reviewer, comment_id: str, action: Action, reason: str | None = None
) -> None:
    apply_action(
        session=session, reviewer=reviewer, comment_id=comment_id, action=action, reason=reason
    )
    session.commit()


def _targets(**values: float) -> tuple[float, ...]:
    return tuple(values.get(label, U) for label in LABELS)


CIVIL = _targets(**dict.fromkeys(LABELS, 0.0))


def _by_text(
    session: Session, site: Site | None = None, since: datetime | None = None
) -> dict[str, tuple[str, tuple[float, ...]]]:
    labels = read_labels(session=session, site=site, since=since)
    return {row.text: (row.source, row.targets) for row in labels.rows}


def _base_file(folder: Path) -> Path:
    """A few dozen labelled comments written for the tests: benign and abusive ones."""
    path = folder / "base.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "toxicity", "severe_toxicity", "identity_attack", "insult"])
        for template in BENIGN_TEMPLATES:
            for topic in TOPICS[:5]:
                writer.writerow([template.format(topic=topic), 0, 0, 0, 0])
        for template in ABUSIVE_TEMPLATES:
            for topic in TOPICS[:5]:
                writer.writerow([template.format(topic=topic), 1, 0, 0, 1])
    return path


def _train(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["model", "train", "--from-decisions", *args])
    return result.exit_code, result.stdout, result.stderr


# --- labels ----------------------------------------------------------------------------------


def test_each_decision_maps_onto_the_attributes_and_the_latest_wins(pg_env: dict[str, str]) -> None:
    with session_scope() as session:
        site, _ = make_site(session)
        texts = {
            "hate": "People from the valley are vermin and should be driven out.",
            "abuse": "You are a clueless fool and everyone here laughs at you.",
            "threat": "Say that again and I will find where you live.",
            "free": "The writer is an utter disgrace to this town.",
            "spam": "Cheap watches at example dot com, best prices!",
            "off topic": "Anyone watched the match last night?",
            "misinfo": "The bridge was never actually built, it is all staged.",
            "personal": "Her phone number is 555 0134, call her.",
            "wp spam": "Visit my shop for great deals on tyres.",
            "approve": "A fair summary of the council meeting.",
            "restored": "Those planners are a bunch of clowns, honestly.",
            "undone": "Could the paper cover the ferry timetable too?",
            "undone then approved": "I will be at the protest at the harbour on Sunday.",
            "profane approve": "Damn good reporting on the harbour, thanks.",
        }
        ids = _decided(session, site, list(texts.values()), CommentStatus.HELD)
        held = dict(zip(texts, ids, strict=True))
        shut_up = "Shut your mouth, nobody wants you here, loser."
        (published,) = _decided(session, site, [shut_up], CommentStatus.APPROVED)
        moderator, other = _reviewer(session, site), _reviewer(session, site)
        reasons = {
            "hate": "hate speech",
            "abuse": "abuse or harassment",
            "threat": "threat",
            "free": "insulting the writer personally",
            "spam": "spam or advertising",
            "off topic": "off topic",
            "misinfo": "misinformation",
            "personal": "personal information",
            "wp spam": "marked as spam in WordPress by ann",
        }
        for key, reason in reasons.items():
            _decide(session, moderator, held[key], Action.REJECT, reason)
        _decide(session, moderator, held["approve"], Action.APPROVE)
        _decide(session, moderator, held["profane approve"], Action.APPROVE)
        # Rejected, then another moderator restored it: the restore is the label.
        _decide(session, moderator, held["restored"], Action.REJECT, "abuse or harassment")
        _decide(session, other, held["restored"], Action.RESTORE, "fair comment")
        # Approved and undone: back in the queue, no decision any more.
        _decide(session, moderator, held["undone"], Action.APPROVE)
        _decide(session, moderator, held["undone"], Action.UNDO)
        # A slip undone, then the right call.
        _decide(session, moderator, held["undone then approved"], Action.REJECT, "threat")
        _decide(session, moderator, held["undone then approved"], Action.UNDO)
        _decide(session, moderator, held["undone then approved"], Action.APPROVE)
        # Published by the model, taken down by a moderator.
        _decide(session, moderator, published, Action.REMOVE, "abuse or harassment")

        labels = read_labels(session=session, site=site)
        got = {row.text: row.targets for row in labels.rows}
        assert {row.source for row in labels.rows} == {f"decisions:{site.name}"}

    assert got == {
        texts["hate"]: _targets(toxicity=1, identity_attack=1, profanity=0),
        texts["abuse"]: _targets(toxicity=1, insult=1, profanity=0),
        texts["threat"]: _targets(toxicity=1, threat=1, profanity=0),
        texts["free"]: _targets(toxicity=1, profanity=0),
        texts["approve"]: CIVIL,
        # Profanity is the lexicon's, whatever the moderator decided.
        texts["profane approve"]: (*CIVIL[:4], 1.0, *CIVIL[5:]),
        texts["restored"]: CIVIL,
        texts["undone then approved"]: CIVIL,
        shut_up: _targets(toxicity=1, insult=1, profanity=0),
    }
    summary = labels.summary
    assert summary.decisions == 9 and summary.feedback == 0
    assert dict(summary.left_out) == {
        "spam or advertising": 1,
        "off topic": 1,
        "misinformation": 1,
        "personal information": 1,
        "marked as spam in wordpress": 1,
    }
    assert dict(summary.by_kind) == {
        "hate speech": 1,
        "abuse or harassment": 2,
        "threat": 1,
        "free text": 1,
        "approve": 3,
        "restore": 1,
    }
    assert (summary.toxic, summary.civil) == (5, 4)
    assert summary.positives["identity_attack"] == 1 and summary.negatives["identity_attack"] == 4
    assert summary.latest_decision_at is not None
    assert summary.latest_decision_at <= utcnow()


def _wordpress_reasons() -> dict[str, str]:
    """The WordPress plugin's reasons by WordPress status, for the user "ann", read from its PHP
    (CMod_Moderator_Sync::reason): a reworded plugin fails here, not in the labels."""
    php = WORDPRESS_SYNC.read_text()
    start = php.index("public static function reason(")
    function = php[start : php.index("\n\t}", start)]
    template = re.search(r"sprintf\( '([^']+)'", function)
    assert template is not None
    return {
        to: template.group(1).replace("%s", what, 1).replace("%s", "ann", 1)
        for to, what in re.findall(r"'(\w+)'\s*=>\s*'([^']+)'", function)
    }


def test_wordpress_spam_trash_delete_and_unapprove_are_not_toxicity_labels(
    pg_env: dict[str, str],
) -> None:
    reasons = _wordpress_reasons()
    assert reasons["trash"] == "moved to the trash in WordPress by ann"
    with session_scope() as session:
        site, _ = make_site(session)
        held_texts = {to: f"A held comment WordPress will {to}." for to in ("spam", "trash")}
        published_texts = {
            to: f"A published comment WordPress will {to}."
            for to in ("trash", "delete", "unapproved")
        }
        held = dict(
            zip(
                held_texts,
                _decided(session, site, list(held_texts.values()), CommentStatus.HELD),
                strict=True,
            )
        )
        published = dict(
            zip(
                published_texts,
                _decided(session, site, list(published_texts.values()), CommentStatus.APPROVED),
                strict=True,
            )
        )
        (approved,) = _decided(session, site, ["Approved in WordPress."], CommentStatus.HELD)
        moderator = _reviewer(session, site)
        # What CMod_Moderator_Sync::action_for sends for each WordPress status.
        for to, comment_id in held.items():
            _decide(session, moderator, comment_id, Action.REJECT, reasons[to])
        for to, comment_id in published.items():
            _decide(session, moderator, comment_id, Action.REMOVE, reasons[to])
        _decide(session, moderator, approved, Action.APPROVE, reasons["approved"])
        labels = read_labels(session=session, site=site)
        verdicts = {
            d.text: decision_is_toxic(d) for d in moderator_decisions(session=session, site=site)
        }

    assert {row.text: row.targets for row in labels.rows} == {"Approved in WordPress.": CIVIL}
    assert dict(labels.summary.left_out) == {
        "marked as spam in wordpress": 1,
        "moved to the trash in wordpress": 2,
        "deleted in wordpress": 1,
        "unapproved in wordpress": 1,
    }
    # compare and site tune read them the same way: neither toxic nor civil.
    assert verdicts == {
        **dict.fromkeys([*held_texts.values(), *published_texts.values()]),
        "Approved in WordPress.": False,
    }


def test_erased_comments_never_become_labels(pg_env: dict[str, str]) -> None:
    with session_scope() as session:
        site, _ = make_site(session)
        (kept,) = _decided(session, site, ["Those people are vermin."], CommentStatus.HELD)
        (erased,) = _decided(
            session, site, ["Vermin, the lot of them."], CommentStatus.HELD, author="eve"
        )
        moderator = _reviewer(session, site)
        _decide(session, moderator, kept, Action.REJECT, "hate speech")
        _decide(session, moderator, erased, Action.REJECT, "hate speech")
        assert erase_comments(session=session, site=site, author=Author(author_id="eve")) == 1
        session.commit()
        assert set(_by_text(session, site)) == {"Those people are vermin."}


def test_suggested_scores_are_labels_latest_value_per_attribute(pg_env: dict[str, str]) -> None:
    with session_scope() as session:
        site, _ = make_site(session)
        text = "What a spineless coward the harbour master is."
        record_suggestion(session=session, site_id=site.id, text=text, labelled=[("toxicity", 1.0)])
        record_suggestion(
            session=session,
            site_id=site.id,
            text=text,
            labelled=[("toxicity", 0.8), ("hate", 0.0)],
        )
        session.commit()
        labels = read_labels(session=session, site=site)
    (row,) = labels.rows
    assert row.source == f"feedback:{site.name}"
    assert row.targets == _targets(toxicity=0.8, identity_attack=0.0, profanity=0.0)
    assert labels.summary.feedback == 1 and labels.summary.toxic == 1


def test_site_and_since_filters(pg_env: dict[str, str]) -> None:
    with session_scope() as session:
        ours, _ = make_site(session)
        theirs, _ = make_site(session)
        early, late, redecided = _decided(
            session,
            ours,
            ["Early and civil.", "Late and civil.", "Rejected early, restored late."],
            CommentStatus.HELD,
        )
        (elsewhere,) = _decided(session, theirs, ["Another site's comment."], CommentStatus.HELD)
        moderator = _reviewer(session, ours)
        admin = reviewer_for(
            session=session,
            moderator=get_moderator_by_name(
                session=session, username=make_moderator(session, admin=True)[0]
            ),
        )
        _decide(session, moderator, early, Action.APPROVE)
        _decide(session, moderator, redecided, Action.REJECT, "abuse or harassment")
        cutoff = utcnow()
        _decide(session, moderator, late, Action.APPROVE)
        _decide(session, moderator, redecided, Action.RESTORE)
        _decide(session, admin, elsewhere, Action.REJECT, "hate speech")

        assert set(_by_text(session, ours)) == {
            "Early and civil.",
            "Late and civil.",
            "Rejected early, restored late.",
        }
        assert set(_by_text(session, theirs)) == {"Another site's comment."}
        assert set(_by_text(session)) == set(_by_text(session, ours)) | {"Another site's comment."}
        since = _by_text(session, ours, since=cutoff)
        assert since == {
            "Late and civil.": (f"decisions:{ours.name}", CIVIL),
            "Rejected early, restored late.": (f"decisions:{ours.name}", CIVIL),
        }
        # The CLI takes a site by name or by id.
        assert find_site(session=session, site=ours.id).id == ours.id
        assert find_site(session=session, site=ours.name).id == ours.id


# --- training --------------------------------------------------------------------------------

SLUR = "grobnik"  # made up: no base row and no generated sentence has it
SLUR_COMMENTS = [
    f"{opening} {topic}, {closing}"
    for opening in (
        f"Only a {SLUR} would write about",
        f"Typical {SLUR} nonsense on",
        f"The {SLUR}s are behind",
        f"Another {SLUR} piece about",
        f"Send the {SLUR}s home, forget",
    )
    for topic in TOPICS
    for closing in ("again.",)
]
CIVIL_COMMENTS = [
    f"{opening} {topic} {closing}"
    for opening in (
        "My neighbours and I talked about",
        "It was good to read about",
        "The photos of",
        "I learnt a lot about",
        "Please keep reporting on",
    )
    for topic in TOPICS
    for closing in ("this week.",)
]


def _moderated_site(session: Session, toxic: int, civil: int) -> Site:
    site, _ = make_site(session, name=f"gazette-{toxic}-{civil}")
    moderator = _reviewer(session, site)
    rejected = _decided(session, site, SLUR_COMMENTS[:toxic], CommentStatus.HELD)
    approved = _decided(session, site, CIVIL_COMMENTS[:civil], CommentStatus.HELD)
    for comment_id in rejected:
        _decide(session, moderator, comment_id, Action.REJECT, "abuse or harassment")
    for comment_id in approved:
        _decide(session, moderator, comment_id, Action.APPROVE)
    return site


def test_too_few_labels_is_refused_in_one_line(registry: str, tmp_path: Path) -> None:
    with session_scope() as session:
        site = _moderated_site(session, toxic=5, civil=30)
        name = site.name
    code, _, err = _train(
        "--site", name, "--input", str(_base_file(tmp_path)),
        "--data-dir", str(tmp_path / "no-shared-data"), "--no-word-vectors",
    )  # fmt: skip
    assert code == 1
    assert err.strip().splitlines()[-1] == (
        f"too few labels to train on: site {name!r} has 5 toxic and 30 civil; "
        "each needs at least 20 (--min-labels)"
    )
    listed = runner.invoke(app, ["model", "list", "--json"]).stdout.splitlines()
    assert len(listed) == 1  # only the shipped model


def test_a_candidate_learns_the_sites_decisions(
    registry: str, shipped_version: str, tmp_path: Path
) -> None:
    decided_from = utcnow().replace(microsecond=0)
    with session_scope() as session:
        site = _moderated_site(session, toxic=40, civil=40)
        name = site.name
    base, nowhere = _base_file(tmp_path), tmp_path / "no-shared-data"
    started = datetime.now(UTC)
    code, out, err = _train(
        "--site", name, "--input", str(base), "--data-dir", str(nowhere),
        "--no-word-vectors", "--version", "gazette-decisions-1",
        "--out", str(tmp_path / "candidate.skops"),
    )  # fmt: skip
    assert code == 0, err
    assert "registered gazette-decisions-1 as candidate" in out
    assert "labels: 40 toxic, 40 civil (80 decisions, 0 suggested scores)" in out

    listed = [
        json.loads(line)
        for line in runner.invoke(app, ["model", "list", "--json"]).stdout.splitlines()
    ]
    row = next(v for v in listed if v["version"] == "gazette-decisions-1")
    assert row["status"] == "candidate" and row["parent_version"] == shipped_version
    assert row["created_by"].startswith("cli")
    assert "toxicity" in row["roc_auc"]

    candidate = load_model(tmp_path / "candidate.skops")
    card = candidate.card["training_data"]
    source = f"decisions:{name}"
    labels = card["site_labels"]
    assert labels["site"] == name and labels["decisions"] == 80 and labels["weight"] == 5.0
    assert labels["toxicity"] == {"toxic": 40, "civil": 40}
    assert labels["by_kind"] == {"abuse or harassment": 40, "approve": 40}
    assert decided_from <= datetime.fromisoformat(labels["decisions_up_to"]) <= started
    assert labels["validation"][source] >= 1  # the held-out split has some decisions
    assert card["split"]["rows"]["validation"][source] == labels["validation"][source]
    assert set(card["sources"]) == {"base", source}
    assert {m["source"] for m in candidate.card["metrics"]} >= {source}
    with session_scope() as session:
        stored = get_version(session=session, version="gazette-decisions-1")
        assert stored is not None and stored.training_data == card

    # The same recipe on the base data alone (`moderation train`) never saw the word.
    code_base = runner.invoke(
        app,
        ["train", "--input", str(base), "--data-dir", str(nowhere), "--no-word-vectors",
         "--version", "base-only", "--out", str(tmp_path / "base.skops")],
    )  # fmt: skip
    assert code_base.exit_code == 0, code_base.stderr
    base_model = load_model(tmp_path / "base.skops")
    # Sentences none of the comments had, each with the word and with a neutral one in its
    # place: the lift is what the word itself adds to toxicity.
    templates = [
        "Honestly, a {} wrote this article.",
        "Of course the {}s run the ferry company now.",
        "I saw a {} at the market on Saturday.",
    ]
    with_slur = [t.format(SLUR) for t in templates]
    neutral = [t.format("neighbour") for t in templates]
    lift_before = base_model.score_matrix(with_slur)[:, 0] - base_model.score_matrix(neutral)[:, 0]
    after = candidate.score_matrix(with_slur)[:, 0]
    lift_after = after - candidate.score_matrix(neutral)[:, 0]
    assert (lift_after > lift_before + 0.2).all(), (lift_before, lift_after)
    assert (after >= 0.5).all(), after
    # ... without turning the site's civil wording toxic.
    civil = ["It was good to read about the new library this week."]
    assert candidate.score_matrix(civil)[0, 0] < 0.5


def test_without_base_data_it_trains_on_the_labels_alone_or_says_why_not(
    registry: str, tmp_path: Path
) -> None:
    with session_scope() as session:
        site = _moderated_site(session, toxic=30, civil=30)
        name = site.name
    nowhere = str(tmp_path / "no-shared-data")
    # None of these comments has a swear word, and neither has a generated sentence: the
    # profanity head has nothing to learn from, which is said in one line.
    code, _, err = _train("--site", name, "--data-dir", nowhere, "--no-word-vectors")
    assert code == 1
    assert err.strip().splitlines()[-1] == (
        "cannot train: label 'profanity' needs positive and negative examples; "
        "add --input rows that have it"
    )
    with session_scope() as session:
        site = find_site(session=session, site=name)
        swearing = _decided(
            session, site, [f"What a shit show, {t} again." for t in TOPICS], CommentStatus.HELD
        )
        moderator = _reviewer(session, site)
        for comment_id in swearing:
            _decide(session, moderator, comment_id, Action.APPROVE)
    code, out, err = _train("--site", name, "--data-dir", nowhere, "--no-word-vectors")
    assert code == 0, err
    assert "no base data: trained on the labels and the generated sentences only" in out
    with session_scope() as session:
        (candidate,) = [v for v in list_versions(session=session) if v.status == "candidate"]
        assert candidate.version.startswith("news-lr-") and "-decisions-" in candidate.version
        assert candidate.training_data["base"]["rows"] == 0
        assert candidate.training_data["site_labels"]["toxicity"] == {"toxic": 30, "civil": 38}


@pytest.mark.parametrize("store", ["registry", "sqlite_env"])
def test_a_comment_erased_while_fitting_refuses_the_candidate(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    request.getfixturevalue(store)
    with session_scope() as session:
        site = _moderated_site(session, toxic=30, civil=30)
        name = site.name
        moderator = _reviewer(session, site)
        erin = _decided(session, site, CIVIL_COMMENTS[30:32], CommentStatus.HELD, author="Erin")
        for comment_id in erin:
            _decide(session, moderator, comment_id, Action.APPROVE)
    erased: list[int] = []

    def erase_while_fitting(step: str) -> None:
        # After the labels were read and before the model is registered.
        if step == "split":
            with session_scope() as session:
                site = find_site(session=session, site=name)
                erased.append(
                    erase_comments(session=session, site=site, author=Author(author_id="Erin"))
                )

    out = tmp_path / "candidate.skops"
    with pytest.raises(TrainingRefused) as refused:
        train_from_decisions(
            sessions=get_session_factory(),
            actor="cli:test",
            out_dir=tmp_path,
            site=name,
            data_dir=tmp_path / "no-shared-data",
            inputs=[_base_file(tmp_path)],
            out=out,
            version="gazette-erased-1",
            word_vectors=False,
            progress=erase_while_fitting,
        )
    assert erased == [2]
    assert str(refused.value) == "2 labelled comments were erased during training; run it again"
    with session_scope() as session:
        assert get_version(session=session, version="gazette-erased-1", missing_ok=True) is None
    # Fitted on the erased texts: not kept either.
    assert not out.exists() and not out.with_suffix(".json").exists()
