"""One scoring round: claim a batch, score it, decide, record. No Celery in here."""

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from service.comments import ClaimedComment, ScoredDecision, claim_pending, record_decisions
from service.db import session_scope
from service.metrics import DECISIONS, SCORING_BATCH_SECONDS, SCORING_FAILURES
from service.models import CommentStatus
from service.moderation.webhooks import announce_decisions
from service.policy import Decision, decide
from service.queue import clear_nudge_flag

log = logging.getLogger(__name__)

# A comment whose scoring failed this many times goes to a human instead of looping forever.
MAX_ATTEMPTS = 5


class Scorer(Protocol):
    version: str

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]: ...


@dataclass(frozen=True)
class RoundResult:
    claimed: int
    decided: int


def score_round(
    *,
    sessions: sessionmaker[Session],
    load_scorer: Callable[[], Scorer],
    batch_size: int,
    lease_seconds: float,
) -> RoundResult:
    """Claim up to batch_size pending comments and decide them.

    The claim is committed on its own so other workers skip these comments while this one
    scores them outside any transaction.
    """
    started = time.perf_counter()
    clear_nudge_flag()
    with session_scope(sessions) as session:
        claim = claim_pending(session=session, batch_size=batch_size, lease_seconds=lease_seconds)
    if not claim.comments:
        return RoundResult(claimed=0, decided=0)

    fresh = [c for c in claim.comments if c.attempts <= MAX_ATTEMPTS]
    exhausted = [c for c in claim.comments if c.attempts > MAX_ATTEMPTS]
    decisions = [_hold(c, "scoring failed repeatedly; needs a human") for c in exhausted]
    actor = "model:unavailable"
    version: str | None = None
    try:
        scorer = load_scorer()
        version = scorer.version
        actor = f"model:{version}"
        decisions += _decide_all(fresh, scorer.score([c.body for c in fresh]))
    except Exception as exc:
        # Never publish unscored: a scorer that cannot score holds the batch for a human.
        log.exception("scoring failed for a batch of %d comments; holding them", len(fresh))
        SCORING_FAILURES.inc(len(fresh))
        reason = f"the classifier failed ({type(exc).__name__}); needs a human"
        decisions += [_hold(c, reason) for c in fresh]

    with session_scope(sessions) as session:
        decided = record_decisions(
            session=session,
            token=claim.token,
            actor=actor,
            model_version=version,
            decisions=decisions,
        )
    # Only sites with a webhook: most rounds then cost no query here at all.
    announced = {c.id for c in claim.comments if c.announce}
    to_announce = [d.comment_id for d in decisions if d.comment_id in announced]
    announce_decisions(sessions=sessions, comment_ids=to_announce)
    for item in decisions:
        DECISIONS.labels(status=item.decision.status).inc()
    SCORING_BATCH_SECONDS.observe(time.perf_counter() - started)
    return RoundResult(claimed=len(claim.comments), decided=decided)


def _decide_all(
    comments: Sequence[ClaimedComment], scores: Sequence[dict[str, float]]
) -> list[ScoredDecision]:
    if len(scores) != len(comments):
        raise RuntimeError(f"scorer returned {len(scores)} results for {len(comments)} comments")
    return [
        ScoredDecision(comment_id=c.id, decision=decide(s, c.policy), scores=dict(s))
        for c, s in zip(comments, scores, strict=True)
    ]


def _hold(comment: ClaimedComment, reason: str) -> ScoredDecision:
    return ScoredDecision(
        comment_id=comment.id, decision=Decision(CommentStatus.HELD, reason), scores=None
    )


class RoundPacer:
    """Spaces the first rounds of successive nudges at least `interval` seconds apart."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last_start = float("-inf")

    def wait_turn(self) -> None:
        delay = self._last_start + self.interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._last_start = time.monotonic()


def drain(
    *,
    sessions: sessionmaker[Session],
    load_scorer: Callable[[], Scorer],
    batch_size: int,
    lease_seconds: float,
    rounds_in_flight: int = 1,
    max_seconds: float = 60.0,
    pacer: RoundPacer | None = None,
) -> int:
    """Score rounds until a claim comes back short (nothing more is waiting).

    A round spends most of its time waiting for PostgreSQL (the claim, then the decisions'
    write and commit) and only a fifth scoring. So while there is a backlog, up to
    rounds_in_flight rounds run at once in threads, each with its own session and claim: one
    scores while the others wait on the store, and the model (read-only) is shared. A round
    starts only while the last one finished came back full, so a trickle of comments still
    costs one round per nudge.

    Bounded in time, not rounds, so one task drains a large backlog but still returns to
    Celery regularly (the next nudge or the sweep carries on). An error in any round is
    raised once the rounds in flight have ended, so the task's retry sees it.

    With a pacer the first round waits its turn. The wait comes before the round clears the
    nudge flag, so a comment stored meanwhile sends no nudge and is claimed by this round.
    """
    if pacer is not None:
        pacer.wait_turn()

    def one_round() -> RoundResult:
        return score_round(
            sessions=sessions,
            load_scorer=load_scorer,
            batch_size=batch_size,
            lease_seconds=lease_seconds,
        )

    if rounds_in_flight <= 1:
        return _drain_in_turn(one_round, batch_size=batch_size, max_seconds=max_seconds)
    decided = 0
    deadline = time.monotonic() + max_seconds
    failure: BaseException | None = None
    with ThreadPoolExecutor(rounds_in_flight, thread_name_prefix="scoring-round") as pool:
        in_flight = {pool.submit(one_round)}
        while in_flight:
            finished, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            backlog = False
            for future in finished:
                try:
                    result = future.result()
                except Exception as exc:
                    failure = failure or exc
                    continue
                decided += result.decided
                backlog = backlog or result.claimed >= batch_size
            if backlog and failure is None and time.monotonic() < deadline:
                while len(in_flight) < rounds_in_flight:
                    in_flight.add(pool.submit(one_round))
    if failure is not None:
        raise failure
    return decided


def _drain_in_turn(
    one_round: Callable[[], RoundResult], *, batch_size: int, max_seconds: float
) -> int:
    decided = 0
    deadline = time.monotonic() + max_seconds
    while True:
        result = one_round()
        decided += result.decided
        if result.claimed < batch_size or time.monotonic() > deadline:
            return decided
