"""One scoring round: claim a batch, score it, decide, record. No Celery in here."""

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from service.comments import ClaimedComment, ScoredDecision
from service.db import session_scope
from service.metrics import (
    DECISIONS,
    SCORING_BATCH_SECONDS,
    SCORING_FAILURES,
    SHADOW_FAILURES,
    SHADOW_SCORED,
)
from service.model_registry.shadow import record_shadow_scores
from service.moderation.webhooks import announce_decisions
from service.policy import Decision, Reading, decide
from service.queue import clear_nudge_flag, hold_nudge_flag
from service.scoring_rounds import open_round
from service.tables import CommentStatus

log = logging.getLogger(__name__)

# A comment whose scoring failed this many times goes to a human instead of looping forever.
MAX_ATTEMPTS = 5


class Assessed(Protocol):
    """One comment as the scorer saw it (classifiers.Assessment)."""

    @property
    def scores(self) -> dict[str, float]: ...
    @property
    def language(self) -> tuple[str, float]: ...
    @property
    def known_words(self) -> int: ...
    @property
    def words(self) -> int: ...


class Scorer(Protocol):
    version: str
    languages: tuple[str, ...]

    def assess(self, texts: Sequence[str]) -> Sequence[Assessed]: ...


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
    hold_flag: bool = False,
    load_shadow: Callable[[], Scorer | None] | None = None,
) -> RoundResult:
    """Take up to batch_size pending comments and decide them (service.scoring_rounds says
    how a round holds its comments on each store); then, with a shadow model, score them
    with it too (shadow_round).

    The nudge flag is cleared first, so a comment stored after this round's claim sends a
    nudge of its own; or, with hold_flag, kept set, for a worker that will take another round.
    """
    started = time.perf_counter()
    if hold_flag:
        hold_nudge_flag()
    else:
        clear_nudge_flag()
    with open_round(sessions=sessions, batch_size=batch_size, lease_seconds=lease_seconds) as held:
        if not held.comments:
            return RoundResult(claimed=0, decided=0)
        # Loaded once per process, at start-up (workers.tasks); asked again here only after a
        # failed load, and only for a round with comments to decide.
        scorer: Scorer | None = None
        load_error: Exception | None = None
        try:
            scorer = load_scorer()
        except Exception as exc:
            load_error = exc
        actor, version, decisions = _decide_round(held.comments, scorer, load_error)
        decided = held.record(actor, version, decisions)
    announce_round(sessions=sessions, comments=held.comments, decisions=decisions)
    for status, count in Counter(item.decision.status for item in decisions).items():
        DECISIONS.labels(status=status).inc(count)
    SCORING_BATCH_SECONDS.observe(time.perf_counter() - started)
    if load_shadow is not None:
        shadow_round(
            sessions=sessions,
            load_shadow=load_shadow,
            comments=held.comments,
            decisions=decisions,
            live_version=version,
        )
    return RoundResult(claimed=len(held.comments), decided=decided)


def shadow_round(
    *,
    sessions: sessionmaker[Session],
    load_shadow: Callable[[], Scorer | None],
    comments: Sequence[ClaimedComment],
    decisions: Sequence[ScoredDecision],
    live_version: str | None,
) -> int:
    """Score a round's comments with the shadow model and store its scores; how many.

    Called once the round's decisions are committed and announced, so the shadow adds
    nothing to the time a reader waits for this round's decisions and cannot change them;
    it does delay this thread's next round (the cost `python -m bench.shadow` measures). Only
    comments the live model scored are shadow-scored: a comparison needs both sides. Any
    failure here (the file, the model, the store) is logged and counted, never raised: the
    task's retry would only score the shadow again, and the comments are decided already."""
    live_scored = {item.comment_id for item in decisions if item.scores is not None}
    scored = [comment for comment in comments if comment.id in live_scored]
    if not scored:
        return 0
    try:
        shadow = load_shadow()
        # The same version as the live one: a promote of the shadow, seen by the live check
        # before the shadow check; its scores are the decisions' own already.
        if shadow is None or shadow.version == live_version:
            return 0
        assessed = shadow.assess([comment.body for comment in scored])
        if len(assessed) != len(scored):
            raise RuntimeError(f"shadow returned {len(assessed)} results for {len(scored)}")
        with session_scope(sessions) as session:
            stored = record_shadow_scores(
                session=session,
                version=shadow.version,
                scores={c.id: a.scores for c, a in zip(scored, assessed, strict=True)},
            )
        SHADOW_SCORED.inc(stored)
        return stored
    except Exception:
        log.exception(
            "shadow scoring failed for a round of %d comments; their decisions stand",
            len(scored),
        )
        SHADOW_FAILURES.inc(len(scored))
        return 0


def announce_round(
    *,
    sessions: sessionmaker[Session],
    comments: Sequence[ClaimedComment],
    decisions: Sequence[ScoredDecision],
) -> None:
    """Announce a round's decisions to webhooks: only comments of sites that have one, so most
    rounds cost no query here at all."""
    with_webhook = {c.id for c in comments if c.announce}
    announce_decisions(
        sessions=sessions,
        comment_ids=[d.comment_id for d in decisions if d.comment_id in with_webhook],
    )


def _decide_round(
    comments: Sequence[ClaimedComment], scorer: Scorer | None, load_error: Exception | None
) -> tuple[str, str | None, list[ScoredDecision]]:
    """(actor, model version, decisions) for a round's comments; never publishes unscored."""
    fresh = [c for c in comments if c.attempts <= MAX_ATTEMPTS]
    exhausted = [c for c in comments if c.attempts > MAX_ATTEMPTS]
    decisions = [_hold(c, "scoring failed repeatedly; needs a human") for c in exhausted]
    if scorer is None:
        return "model:unavailable", None, decisions + _held_unscored(fresh, load_error)
    actor = f"model:{scorer.version}"
    if not fresh:
        return actor, scorer.version, decisions
    try:
        decisions += _decide_all(fresh, scorer.assess([c.body for c in fresh]), scorer.languages)
    except Exception as exc:
        decisions += _held_unscored(fresh, exc)
    return actor, scorer.version, decisions


def _held_unscored(
    comments: Sequence[ClaimedComment], error: Exception | None
) -> list[ScoredDecision]:
    # A scorer that cannot score holds the batch for a human.
    if not comments:
        return []
    log.error(
        "scoring failed for a batch of %d comments; holding them", len(comments), exc_info=error
    )
    SCORING_FAILURES.inc(len(comments))
    reason = f"the classifier failed ({type(error).__name__}); needs a human"
    return [_hold(c, reason) for c in comments]


def _decide_all(
    comments: Sequence[ClaimedComment],
    assessed: Sequence[Assessed],
    model_languages: Sequence[str],
) -> list[ScoredDecision]:
    if len(assessed) != len(comments):
        raise RuntimeError(f"scorer returned {len(assessed)} results for {len(comments)} comments")
    decisions = []
    for c, a in zip(comments, assessed, strict=True):
        language = a.language[0]
        reading = Reading(language, a.known_words, a.words)
        decision = decide(a.scores, c.policy, reading, model_languages)
        decisions.append(ScoredDecision(c.id, decision, a.scores, language))
    return decisions


def _hold(comment: ClaimedComment, reason: str) -> ScoredDecision:
    return ScoredDecision(
        comment_id=comment.id, decision=Decision(CommentStatus.HELD, reason), scores=None
    )


class RoundPacer:
    """Spaces the first rounds of successive nudges at least `interval` seconds apart."""

    def __init__(
        self,
        interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._last_start = float("-inf")

    def wait_turn(self) -> None:
        delay = self._last_start + self.interval - self._clock()
        if delay > 0:
            self._sleep(delay)
        self._last_start = self._clock()


def drain(
    *,
    sessions: sessionmaker[Session],
    load_scorer: Callable[[], Scorer],
    batch_size: int,
    lease_seconds: float,
    rounds_in_flight: int = 1,
    max_seconds: float = 60.0,
    pacer: RoundPacer | None = None,
    linger_seconds: float = 0.0,
    load_shadow: Callable[[], Scorer | None] | None = None,
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

    With a pacer and linger_seconds, a drain whose last round was short but not empty (a
    steady stream rather than a backlog) goes on taking paced rounds while they find comments,
    for up to linger_seconds, holding the nudge flag so that the API sends no nudge for what
    these rounds take anyway: a steady stream then costs one Celery message per linger, not
    one per round (Celery's own work per message was a third of the worker's time at 500/s).
    It ends as every drain ends, with a round that clears the flag first, so a comment stored
    after that round's claim sends its own nudge.
    """
    if pacer is not None:
        pacer.wait_turn()

    def one_round(hold_flag: bool = False) -> RoundResult:
        return score_round(
            sessions=sessions,
            load_scorer=load_scorer,
            batch_size=batch_size,
            lease_seconds=lease_seconds,
            hold_flag=hold_flag,
            load_shadow=load_shadow,
        )

    def backlog() -> tuple[int, RoundResult]:
        if rounds_in_flight <= 1:
            return _drain_in_turn(one_round, batch_size=batch_size, max_seconds=max_seconds)
        return _drain_in_flight(
            one_round,
            batch_size=batch_size,
            max_seconds=max_seconds,
            rounds_in_flight=rounds_in_flight,
        )

    decided, last = backlog()
    if pacer is None or linger_seconds <= 0 or not 0 < last.claimed < batch_size:
        return decided
    until = time.monotonic() + linger_seconds
    while time.monotonic() < until:
        pacer.wait_turn()
        last = one_round(hold_flag=True)
        decided += last.decided
        if not 0 < last.claimed < batch_size:
            break  # the stream stopped, or became a backlog
    more, _ = backlog()
    return decided + more


def _drain_in_flight(
    one_round: Callable[[], RoundResult],
    *,
    batch_size: int,
    max_seconds: float,
    rounds_in_flight: int,
) -> tuple[int, RoundResult]:
    decided = 0
    last = RoundResult(claimed=0, decided=0)
    deadline = time.monotonic() + max_seconds
    failure: BaseException | None = None
    with ThreadPoolExecutor(rounds_in_flight, thread_name_prefix="scoring-round") as pool:
        in_flight = {pool.submit(one_round)}
        while in_flight:
            finished, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            more = False
            for future in finished:
                try:
                    last = future.result()
                except Exception as exc:
                    failure = failure or exc
                    continue
                decided += last.decided
                more = more or last.claimed >= batch_size
            if more and failure is None and time.monotonic() < deadline:
                while len(in_flight) < rounds_in_flight:
                    in_flight.add(pool.submit(one_round))
    if failure is not None:
        raise failure
    return decided, last


def _drain_in_turn(
    one_round: Callable[[], RoundResult], *, batch_size: int, max_seconds: float
) -> tuple[int, RoundResult]:
    decided = 0
    deadline = time.monotonic() + max_seconds
    while True:
        result = one_round()
        decided += result.decided
        if result.claimed < batch_size or time.monotonic() > deadline:
            return decided, result
