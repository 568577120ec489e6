"""The learning loop end to end (issue 16 §4): a test newsroom on PostgreSQL, Redis, a real API
and a real worker process. Its moderators keep taking down a local slur the base model lets
through and approving the town's talk of its summer visitors that the base model holds; their
decisions train a candidate, which is shadow-scored on new traffic, compared, promoted (the
live worker switches without a restart) and rolled back. Every command is the one an operator
types. The run's transcript is written to test-artifacts/ with the figures before and after.

Nothing is faked: the models are trained here, from texts in newsroom_texts.py, since a user's
clone has no shared data."""

import csv
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from service.cli import app
from service.db import session_scope
from service.model_registry import store
from service.model_registry.compare import FUNCTIONAL_CASES_FORGIVEN, compare
from service.tables import Comment, CommentStatus, ShadowScore
from tests.conftest import Process, free_port, start_api, start_worker, wait_until
from tests.model_registry.newsroom_texts import (
    GRUMBLE_TEMPLATES,
    PLAIN_TEMPLATES,
    SLUR_TEMPLATES,
    TOPICS,
    base_rows,
    comments,
)

BASE_VERSION = "newsroom-base"
LEARNT_VERSION = "newsroom-learnt"
SITE = "newsroom"
# The promise: within 5 s of a promote or rollback, the worker decides with the new version.
SWITCH_SECONDS = 5.0
# Phase 1's comments use the first topics; the traffic after training uses topics it never saw.
SEEN_TOPICS = 8
KINDS = {"slur": SLUR_TEMPLATES, "visitors": GRUMBLE_TEMPLATES, "plain": PLAIN_TEMPLATES}

runner = CliRunner()


@dataclass
class Transcript:
    path: Path
    lines: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        self.lines.append(text)
        self.path.write_text("\n".join(self.lines) + "\n")

    def run(self, *args: str, expect: int | None = 0) -> str:
        """Run `moderation ARGS` as an operator would, recorded with its output (and its exit
        code, checked unless ``expect`` is None)."""
        result = runner.invoke(app, list(args))
        output = result.stdout + result.stderr
        # The progress bar's redraws are noise in a transcript.
        shown = "\n".join(line for line in output.splitlines() if not line.startswith("train:"))
        exit_note = f"(exit {result.exit_code})\n" if result.exit_code else ""
        self.say(f"$ moderation {' '.join(args)}\n{shown.rstrip()}\n{exit_note}")
        if expect is not None:
            assert result.exit_code == expect, output
        return output


@dataclass
class Newsroom:
    api: str
    site_key: str
    moderator_token: str
    sessions: sessionmaker[Session]
    worker: Process

    def submit(self, bodies: Iterable[str]) -> list[str]:
        ids = []
        headers = {"Authorization": f"Bearer {self.site_key}"}
        with httpx.Client(base_url=self.api, headers=headers, timeout=10) as client:
            for n, body in enumerate(bodies):
                response = client.post(
                    "/v1/comments",
                    json={
                        "article_id": "harbour-story",
                        "author_name": f"reader {n}",
                        "body": body,
                    },
                )
                assert response.status_code == 202, response.text
                ids.append(response.json()["id"])
        return ids

    def wait_decided(self, ids: list[str]) -> dict[str, Comment]:
        def decided() -> bool:
            with self.sessions() as session:
                pending = session.scalar(
                    select(func.count()).where(
                        Comment.id.in_(ids), Comment.status == CommentStatus.PENDING
                    )
                )
            return pending == 0

        wait_until(decided, timeout=120, what="the worker's decisions", process=self.worker)
        with self.sessions() as session:
            rows = session.scalars(select(Comment).where(Comment.id.in_(ids))).all()
            session.expunge_all()
        return {row.id: row for row in rows}

    def moderate(self, kinds: dict[str, str], decided: dict[str, Comment]) -> Counter[str]:
        """What these moderators do, through the moderation API: every slur comment comes down
        (taken down if published, rejected if held) as abuse; every other held one is approved."""
        done: Counter[str] = Counter()
        headers = {"Authorization": f"Bearer {self.moderator_token}"}
        with httpx.Client(base_url=self.api, headers=headers, timeout=10) as client:
            for comment_id, comment in decided.items():
                if kinds[comment_id] == "slur":
                    action = {"approved": "remove", "held": "reject"}.get(comment.status)
                else:
                    action = "approve" if comment.status == "held" else None
                if action is None:
                    continue
                body = {"reason": "abuse or harassment"} if action in ("remove", "reject") else {}
                response = client.post(
                    f"/v1/moderation/comments/{comment_id}/{action}", json=body or None
                )
                assert response.status_code == 200, response.text
                done[action] += 1
        return done


def _traffic(newsroom: Newsroom, first_topic: int, last_topic: int) -> dict[str, str]:
    """One comment of each kind per template and topic; comment id -> kind."""
    kinds: dict[str, str] = {}
    for kind, templates in KINDS.items():
        start, stop = first_topic * len(templates), last_topic * len(templates)
        texts = list(comments(templates))[start:stop]
        for comment_id in newsroom.submit(texts):
            kinds[comment_id] = kind
    return kinds


def _tally(kinds: dict[str, str], decided: dict[str, Comment]) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
    for comment_id, comment in decided.items():
        out[kinds[comment_id]][comment.status] += 1
    return out


def _figures(title: str, tally: dict[str, Counter[str]]) -> str:
    rows = [f"{title}:"]
    for kind, counts in tally.items():
        total = sum(counts.values())
        cells = ", ".join(
            f"{status} {counts[status]}" for status in ("approved", "held", "rejected")
        )
        rows.append(f"  {kind:<9} {total:>3} comments: {cells}")
    return "\n".join(rows)


def _published_share(tally: dict[str, Counter[str]], kind: str) -> float:
    counts = tally[kind]
    return counts["approved"] / sum(counts.values())


def _switch(newsroom: Newsroom, version: str, since: float) -> float:
    """Comments sent one by one until one decided by ``version`` lands; seconds from ``since``
    to the first such decision. Every comment sent SWITCH_SECONDS after ``since`` must carry
    it (the 5 s promise), whatever the queue's own latency."""
    deadline = since + SWITCH_SECONDS + 30
    sent_after_promise: list[str] = []
    while time.monotonic() < deadline:
        sent_at = time.monotonic()
        (comment_id,) = newsroom.submit(["Thanks for the report on the regatta."])
        decided = newsroom.wait_decided([comment_id])[comment_id]
        if sent_at - since > SWITCH_SECONDS:
            sent_after_promise.append(comment_id)
            assert decided.model_version == version, (
                f"a comment sent {sent_at - since:.1f} s after the change was decided by "
                f"{decided.model_version}"
            )
        if decided.model_version == version:
            assert decided.decided_at is not None
            return time.monotonic() - since
        time.sleep(0.2)
    raise AssertionError(f"no decision by {version} within {deadline - since:.0f} s")


@pytest.fixture
def newsroom(
    pg_env: dict[str, str], sessions: sessionmaker[Session], tmp_path: Path
) -> Iterable[tuple[Newsroom, Transcript, Path]]:
    transcript = Transcript(tmp_path / "transcript.txt")
    base = tmp_path / "newsroom-base.csv"
    with base.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        # Abuse in the base data is an insult too, as civil_spans labels it for a real install.
        writer.writerow(["text", "toxicity", "insult"])
        writer.writerows((text, toxic, toxic) for text, toxic in base_rows())
    no_data = tmp_path / "no-shared-data"
    transcript.say("# The newsroom's own base model (CI has no shared data: a small base file)\n")
    transcript.run(
        "train", "--data-dir", str(no_data), "--input", str(base),
        "--out", str(tmp_path / "base.skops"), "--version", BASE_VERSION, "--no-word-vectors",
    )  # fmt: skip
    transcript.run("model", "register", str(tmp_path / "base.skops"))
    # The shipped model knows far more than a model of 200 sentences: the gate says so, and
    # the newsroom forces it, as a site replacing the shipped model with its own would.
    transcript.run(
        "model", "promote", BASE_VERSION, "--force",
        "--reason", "the test newsroom starts from its own base model",
    )  # fmt: skip
    site_out = transcript.run("site", "add", SITE)
    site_key = site_out.split("key: ")[1].split()[0]
    transcript.run("moderator", "add", "editor", "--site", SITE, "--password", "harbour lights 42")
    token = transcript.run("moderator", "token", "editor").split("token: ")[1].split()[0]
    port = free_port()
    api = start_api(pg_env, tmp_path / "api.log", port)
    worker = start_worker(pg_env, tmp_path / "worker.log")
    try:
        room = Newsroom(f"http://127.0.0.1:{port}", site_key, token, sessions, worker)
        yield room, transcript, base
    finally:
        worker.stop()
        api.stop()


def test_moderators_decisions_train_a_model_that_is_shadowed_compared_promoted_and_rolled_back(
    newsroom: tuple[Newsroom, Transcript, Path], tmp_path: Path, artifacts: Path
) -> None:
    room, transcript, base = newsroom
    transcript.path = artifacts / "newsroom-transcript.txt"

    # 1. A week of comments under the base model, and what the moderators do with them.
    kinds = _traffic(room, 0, SEEN_TOPICS)
    decided = room.wait_decided(list(kinds))
    assert {c.model_version for c in decided.values()} == {BASE_VERSION}
    before = _tally(kinds, decided)
    transcript.say(_figures(f"Decided by {BASE_VERSION} (seen topics)", before))
    done = room.moderate(kinds, decided)
    decisions = sum(done.values())
    transcript.say(f"moderators' decisions: {decisions} ({dict(done)})\n")
    # The base model really is wrong in both ways, or there would be nothing to learn.
    assert before["slur"]["approved"] >= 10, before
    assert before["visitors"]["held"] >= 10, before

    # 2. A candidate from the decisions, trained on the base file plus them.
    started = time.monotonic()
    transcript.run(
        "model", "train", "--from-decisions", "--site", SITE,
        "--data-dir", str(tmp_path / "no-shared-data"), "--input", str(base),
        "--out", str(tmp_path / "learnt.skops"), "--version", LEARNT_VERSION,
        "--no-word-vectors",
    )  # fmt: skip
    transcript.say(f"(trained in {time.monotonic() - started:.1f} s)\n")

    # 3. Shadow scoring on new traffic, about topics neither model was trained on.
    transcript.run("model", "shadow", LEARNT_VERSION)
    time.sleep(3)  # the worker looks for a shadow every 2 s
    fresh = _traffic(room, SEEN_TOPICS, len(TOPICS))
    fresh_decided = room.wait_decided(list(fresh))
    assert {c.model_version for c in fresh_decided.values()} == {BASE_VERSION}, (
        "the shadow decided something"
    )
    wait_until(
        lambda: _shadowed(room.sessions, list(fresh)) == len(fresh),
        timeout=60,
        what="shadow scores for the new traffic",
        process=room.worker,
    )
    shadow_live = _tally(fresh, fresh_decided)
    transcript.say(_figures(f"Decided by {BASE_VERSION}, new topics, shadowed", shadow_live))
    done = room.moderate(fresh, fresh_decided)
    transcript.say(f"moderators' decisions: {sum(done.values())} ({dict(done)})\n")

    # 4. compare: on the decisions since the shadow began, the candidate is better.
    compared = transcript.run(
        "model", "compare", LEARNT_VERSION, "--site", SITE,
        "--data-dir", str(tmp_path / "no-shared-data"), "--input", str(base),
        "--html", str(artifacts / "newsroom-compare.html"),
    )  # fmt: skip
    # ... and on the validation split of the base data, which both were trained beside.
    assert "on the validation split (" in compared
    with session_scope() as session:
        result = compare(session=session, version=LEARNT_VERSION, site_name=SITE)
    live_auc, learnt_auc = result.live.auc["toxicity"], result.candidate.auc["toxicity"]
    assert live_auc is not None and learnt_auc is not None
    assert learnt_auc > live_auc, (live_auc, learnt_auc)
    # Every comment decided since the shadow began was shadow-scored as it came in: compare
    # reads the candidate's scores from shadow_scores and scores none of them again.
    assert result.candidate.from_shadow == len(result.toxic) > 0
    assert result.candidate.would_publish_rejected < result.live.would_publish_rejected
    assert result.candidate.would_stop_approved < result.live.would_stop_approved
    assert (artifacts / "newsroom-compare.html").read_text().count("<svg") >= 1

    # 5. promote, through the quality gate, unforced: whether this candidate passes is what
    # the transcript shows. A functional category that loses one case is forgiven (a
    # retrain's noise), two are a regression; the bias checks count single sentences. If it
    # refuses, the newsroom, having read compare, forces it with a recorded reason.
    promoted_at = time.monotonic()
    gated = transcript.run("model", "promote", LEARNT_VERSION, expect=None)
    refused = [
        line.removeprefix("regression: ")
        for line in gated.splitlines()
        if line.startswith("regression: ")
    ]
    for line in refused:
        lost = re.search(r"\((\d+)/\d+ -> (\d+)/\d+\)$", line)
        if line.startswith("functional ") and lost is not None:
            assert int(lost[1]) - int(lost[2]) > FUNCTIONAL_CASES_FORGIVEN, line
    with session_scope() as session:
        live = store.live_version(session=session)
        assert live is not None
    if refused:
        assert "not promoted" in gated and live.version == BASE_VERSION
        transcript.say(
            f"(the gate refused {LEARNT_VERSION} unforced on {len(refused)} check(s): "
            f"{sum(r.startswith('functional ') for r in refused)} functional, "
            f"{sum(r.startswith('bias ') for r in refused)} bias)\n"
        )
        why = "compare: toxicity AUC on our decisions up; the gate's moves read and accepted"
        promoted_at = time.monotonic()
        transcript.run("model", "promote", LEARNT_VERSION, "--force", "--reason", why)
        with session_scope() as session:
            change = store.list_changes(session=session)[-1]
            assert (change.action, change.to_version) == ("promote", LEARNT_VERSION)
            assert change.reason is not None and change.reason.startswith(why)
    else:
        assert "quality gate: no regression" in gated and live.version == LEARNT_VERSION
        transcript.say(f"(the gate passed {LEARNT_VERSION} unforced)\n")
    took = _switch(room, LEARNT_VERSION, promoted_at)
    transcript.say(f"(the worker decided with {LEARNT_VERSION} {took:.1f} s after the promote)\n")
    again = _traffic(room, SEEN_TOPICS, len(TOPICS))
    again_decided = room.wait_decided(list(again))
    assert {c.model_version for c in again_decided.values()} == {LEARNT_VERSION}
    after = _tally(again, again_decided)
    transcript.say(_figures(f"Decided by {LEARNT_VERSION}, the same new-topic texts", after))
    assert _published_share(after, "slur") < _published_share(shadow_live, "slur") / 2
    assert 1 - _published_share(after, "visitors") < 1 - _published_share(shadow_live, "visitors")
    assert room.worker.popen.poll() is None, "the worker was restarted"

    # 6. rollback: the base model decides again, also without a restart.
    rolled_at = time.monotonic()
    transcript.run("model", "rollback", "--reason", "checking the way back")
    took = _switch(room, BASE_VERSION, rolled_at)
    transcript.say(f"(the worker decided with {BASE_VERSION} {took:.1f} s after the rollback)")
    transcript.run("model", "list")
    assert room.worker.popen.poll() is None, "the worker was restarted"


def _shadowed(sessions: sessionmaker[Session], ids: list[str]) -> int:
    with sessions() as session:
        return int(
            session.scalar(
                select(func.count()).where(
                    ShadowScore.comment_id.in_(ids), ShadowScore.version == LEARNT_VERSION
                )
            )
            or 0
        )
