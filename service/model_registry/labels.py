"""Training labels from the store: moderators' decisions on comments and sites' suggested
scores, as :class:`classifiers.data.LabelledComment` rows.

A comment's label is its *latest* moderator decision (an undo takes back the decision it
undid, so the one before counts again):

| decision (reason)            | toxicity | severe | identity | insult | profanity | threat |
|------------------------------|----------|--------|----------|--------|-----------|--------|
| approve, restore             | 0        | 0      | 0        | 0      | lexicon   | 0      |
| reject/take down: hate speech| 1        | -1     | 1        | -1     | lexicon   | -1     |
| ...: abuse or harassment     | 1        | -1     | -1       | 1      | lexicon   | -1     |
| ...: threat                  | 1        | -1     | -1       | -1     | lexicon   | 1      |
| ...: any other (free) text   | 1        | -1     | -1       | -1     | lexicon   | -1     |

Left out: spam or advertising, off topic, misinformation, personal information, and the
WordPress plugin's spam, trash, delete and unapprove ("marked as spam in WordPress by ...",
"moved to the trash ...", "deleted ...", "unapproved ...").

Profanity follows the lexicon (1 when the normalised text holds a word of
``classifiers.lexicon.PROFANE_WORDS``), as it does for every shared source but civil_spans: a
moderator who approves "damn good reporting" says the comment is fine, not that it has no
swear word, and a rejection for harassment says nothing about swearing either.

Rejections for spam, off-topic, misinformation or personal information say the comment was
unwanted, not that it was toxic; as toxicity positives they would teach the model that
advertising is abuse, and as negatives that it is civil, so they are left out altogether.
A free-text reason is a moderator's own words for why a comment had to go: toxic, with
nothing said about which attribute.

Suggested scores (``suggestion_feedback``: Perspective's suggestscore, which Coral sends for
each moderator decision) are labels too: per text, the latest value suggested for each
attribute; attributes never suggested are unknown, profanity the lexicon's when not given.

Erased comments (GDPR) never appear: erasure sets their status to ``erased`` and empties the
text, and both are excluded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, null, select
from sqlalchemy.orm import Session

from classifiers.data import LabelledComment, profanity_target
from classifiers.model import LABELS, UNKNOWN, canonical_label
from service.moderation.review import TRANSITIONS, Action
from service.tables import (
    AuditEvent,
    Comment,
    CommentStatus,
    ShadowScore,
    Site,
    SuggestionFeedback,
)

# Standard reasons (service.moderation.review.REJECT_REASONS) -> attributes they make 1.
TOXIC_REASONS: dict[str, tuple[str, ...]] = {
    "hate speech": ("toxicity", "identity_attack"),
    "abuse or harassment": ("toxicity", "insult"),
    "threat": ("toxicity", "threat"),
}
# Standard reasons that are about something other than toxicity.
OTHER_REASONS = frozenset(
    {"spam or advertising", "off topic", "misinformation", "personal information"}
)
# The WordPress plugin's reasons for a moderator's Spam, Trash, Delete Permanently and
# Unapprove in WordPress's admin, "<what> in WordPress by <login>" (CMod_Moderator_Sync::reason
# in class-cmod-moderator-sync.php), lower-cased. None names a cause: WordPress sites trash
# duplicates, off-topic comments and tests as readily as abuse, and spam is spam, so like
# "off topic" none is a toxicity label. ("approved in WordPress by" is an approve or restore,
# civil by its action.)
WORDPRESS_REMOVALS = (
    "marked as spam in wordpress",
    "moved to the trash in wordpress",
    "deleted in wordpress",
    "unapproved in wordpress",
)
FREE_TEXT = "free text"

# How many rows the streaming queries fetch at a time.
_BATCH = 1000


@dataclass(frozen=True)
class ModeratorDecision:
    """The decision a comment's label comes from."""

    comment_id: str
    site_id: str
    site_name: str
    text: str
    action: Action
    reason: str | None
    decided_at: datetime
    # The scores a shadow version stored for the comment, when asked for (moderator_decisions'
    # shadow_version) and it has some.
    shadow_scores: Mapping[str, float] | None = None


@dataclass
class LabelSummary:
    """What the labels are, for the model card and the refusal message."""

    site: str | None
    since: datetime | None
    decisions: int = 0
    feedback: int = 0
    # "approve", "restore", a standard reason, "free text"
    by_kind: Counter[str] = field(default_factory=Counter)
    # Decisions left out, by reason (spam, off topic, ...).
    left_out: Counter[str] = field(default_factory=Counter)
    # Per attribute: labels >= 0.5 and < 0.5 (unknown ones not counted).
    positives: Counter[str] = field(default_factory=Counter)
    negatives: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)
    latest_decision_at: datetime | None = None
    latest_feedback_at: datetime | None = None

    @property
    def toxic(self) -> int:
        return self.positives["toxicity"]

    @property
    def civil(self) -> int:
        return self.negatives["toxicity"]

    def count(self, row: LabelledComment) -> None:
        self.sources[row.source] += 1
        for label, value in zip(LABELS, row.targets, strict=True):
            if value == UNKNOWN:
                continue
            (self.positives if value >= 0.5 else self.negatives)[label] += 1

    def as_card(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "since": self.since.isoformat() if self.since else None,
            "decisions": self.decisions,
            "feedback": self.feedback,
            "decisions_up_to": _iso(self.latest_decision_at),
            "feedback_up_to": _iso(self.latest_feedback_at),
            "by_kind": dict(sorted(self.by_kind.items())),
            "left_out": dict(sorted(self.left_out.items())),
            "toxicity": {"toxic": self.toxic, "civil": self.civil},
            "attributes": {
                label: {"positive": self.positives[label], "negative": self.negatives[label]}
                for label in LABELS
            },
            "sources": dict(sorted(self.sources.items())),
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


@dataclass
class SiteLabels:
    rows: list[LabelledComment]
    summary: LabelSummary
    # The comments the decisions' rows came from: what an erasure since may have emptied.
    comment_ids: list[str] = field(default_factory=list)


def decision_source(site_name: str) -> str:
    return f"decisions:{site_name}"


def feedback_source(site_name: str) -> str:
    return f"feedback:{site_name}"


def decision_kind(decision: ModeratorDecision) -> str | None:
    """What the decision says: "approve", "restore", a toxic standard reason, FREE_TEXT, or
    None when it says nothing about toxicity (spam, off topic, ...)."""
    if decision.action in (Action.APPROVE, Action.RESTORE):
        return decision.action.value
    reason = " ".join((decision.reason or "").split()).lower()
    if reason in TOXIC_REASONS:
        return reason
    if reason in OTHER_REASONS or wordpress_removal(reason) is not None:
        return None
    return FREE_TEXT


def wordpress_removal(reason: str) -> str | None:
    """The WordPress plugin's removal a normalised reason is (its user left off), or None."""
    for removal in WORDPRESS_REMOVALS:
        if reason.startswith(f"{removal} by "):
            return removal
    return None


def decision_is_toxic(decision: ModeratorDecision) -> bool | None:
    """The decision as a verdict: True toxic (a toxic kind), False civil (approve, restore),
    None when it says nothing about toxicity. What compare and site tune count, so that they
    read a decision as training does."""
    kind = decision_kind(decision)
    if kind is None:
        return None
    return kind not in (Action.APPROVE.value, Action.RESTORE.value)


def label_of(decision: ModeratorDecision) -> LabelledComment | None:
    """The decision as a training row, or None when it is not a toxicity label."""
    kind = decision_kind(decision)
    if kind is None:
        return None
    if kind in (Action.APPROVE.value, Action.RESTORE.value):
        values = dict.fromkeys(LABELS, 0.0)
    else:
        values = dict.fromkeys(LABELS, float(UNKNOWN))
        for label in TOXIC_REASONS.get(kind, ("toxicity",)):
            values[label] = 1.0
    values["profanity"] = float(profanity_target(decision.text))
    return LabelledComment(
        decision.text, decision_source(decision.site_name), tuple(values[k] for k in LABELS)
    )


# (from, to) of each forward decision; an undo is recognised by reversing the one before it.
_ACTIONS: dict[tuple[str, str], Action] = {
    (str(start), str(end)): action
    for action, (starts, end) in TRANSITIONS.items()
    for start in starts
}


@dataclass(frozen=True)
class _Event:
    actor: str
    from_status: str
    to_status: str
    reason: str | None
    at: datetime


def latest_decision(events: Iterable[_Event]) -> tuple[Action, str | None, datetime] | None:
    """A comment's moderator decision in force after its moderator events (oldest first).

    An undo (service.moderation.review.undo_target) reverses the event just before it, by
    the same moderator, so the decision in force afterwards is the one in force before that
    event; undoing an undo brings the undone decision back the same way. An undo is told from
    a forward action by its reason ("undo" unless the moderator wrote one) or by being no
    forward transition at all (back to held, approved -> rejected). A removal reversed by the
    same moderator with a reason of their own reads as a restore: the comment is civil both
    ways."""
    in_force: list[tuple[Action, str | None, datetime] | None] = []
    previous: _Event | None = None
    for event in events:
        action = _ACTIONS.get((event.from_status, event.to_status))
        reverses = (
            previous is not None
            and previous.actor == event.actor
            and (event.from_status, event.to_status) == (previous.to_status, previous.from_status)
        )
        if reverses and (action is None or event.reason == Action.UNDO.value):
            in_force.append(in_force[-2] if len(in_force) >= 2 else None)
        elif action is not None:
            in_force.append((action, event.reason, event.at))
        else:
            in_force.append(in_force[-1] if in_force else None)
        previous = event
    return in_force[-1] if in_force else None


def moderator_decisions(
    *,
    session: Session,
    site: Site | None = None,
    since: datetime | None = None,
    shadow_version: str | None = None,
) -> Iterator[ModeratorDecision]:
    """Each comment's latest moderator decision, streamed: one query over the moderators'
    audit events, ordered by comment, so a comment's events arrive together. With
    ``shadow_version``, the same query also brings that version's shadow scores of each
    comment (at most one row per comment and version, so no event is repeated)."""
    shadow_scores = ShadowScore.scores if shadow_version is not None else null()
    query = (
        select(
            AuditEvent.comment_id,
            AuditEvent.actor,
            AuditEvent.from_status,
            AuditEvent.to_status,
            AuditEvent.reason,
            AuditEvent.created_at,
            Comment.body,
            Site.id,
            Site.name,
            shadow_scores,
        )
        .join(Comment, Comment.id == AuditEvent.comment_id)
        .join(Site, Site.id == Comment.site_id)
        .where(
            AuditEvent.actor.startswith("moderator:"),
            Comment.status != CommentStatus.ERASED,
            Comment.body != "",
        )
        .order_by(AuditEvent.comment_id, AuditEvent.id)
    )
    if shadow_version is not None:
        query = query.outerjoin(
            ShadowScore,
            and_(
                ShadowScore.comment_id == AuditEvent.comment_id,
                ShadowScore.version == shadow_version,
            ),
        )
    if site is not None:
        query = query.where(Comment.site_id == site.id)
    if since is not None:
        # decided_at moves with every transition, so a comment whose latest decision is
        # after `since` has it after too; the exact test is on the decision below.
        query = query.where(Comment.decided_at >= since)
    rows = session.execute(query.execution_options(yield_per=_BATCH))
    current: str | None = None
    events: list[_Event] = []
    text = site_id = site_name = ""
    shadow: Mapping[str, float] | None = None

    def finish() -> ModeratorDecision | None:
        found = latest_decision(events)
        if current is None or found is None:
            return None
        action, reason, at = found
        if since is not None and at < since:
            return None
        return ModeratorDecision(current, site_id, site_name, text, action, reason, at, shadow)

    for comment_id, actor, from_status, to_status, reason, at, body, in_site, name, scored in rows:
        if comment_id != current:
            decided = finish()
            if decided is not None:
                yield decided
            current, events, text, site_id, site_name = comment_id, [], body, in_site, name
            shadow = scored
        events.append(_Event(actor, from_status, to_status, reason, at))
    decided = finish()
    if decided is not None:
        yield decided


def suggested_labels(
    *, session: Session, site: Site | None = None, since: datetime | None = None
) -> Iterator[tuple[LabelledComment, datetime]]:
    """Suggested scores as rows: per site and text, the latest value of each attribute (one
    query, ordered so that a text's rows arrive together), with when it was last suggested."""
    query = (
        select(
            SuggestionFeedback.site_id,
            Site.name,
            SuggestionFeedback.text,
            SuggestionFeedback.attribute,
            SuggestionFeedback.value,
            SuggestionFeedback.created_at,
        )
        .join(Site, Site.id == SuggestionFeedback.site_id)
        .where(SuggestionFeedback.text != "")
        .order_by(SuggestionFeedback.site_id, SuggestionFeedback.text, SuggestionFeedback.id)
    )
    if site is not None:
        query = query.where(SuggestionFeedback.site_id == site.id)
    if since is not None:
        query = query.where(SuggestionFeedback.created_at >= since)
    key: tuple[str, str] | None = None
    name = ""
    values: dict[str, float] = {}
    latest: datetime | None = None

    def finish() -> tuple[LabelledComment, datetime] | None:
        if key is None or latest is None or not values:
            return None
        text = key[1]
        targets = {label: values.get(label, float(UNKNOWN)) for label in LABELS}
        if "profanity" not in values:
            targets["profanity"] = float(profanity_target(text))
        row = LabelledComment(text, feedback_source(name), tuple(targets[k] for k in LABELS))
        return row, latest

    rows = session.execute(query.execution_options(yield_per=_BATCH))
    for site_id, site_name, text, attribute, value, at in rows:
        if (site_id, text) != key:
            done = finish()
            if done is not None:
                yield done
            key, name, values, latest = (site_id, text), site_name, {}, None
        label = canonical_label(attribute)
        if label in LABELS:  # a label a later model dropped says nothing to this one
            values[label] = min(1.0, max(0.0, float(value)))
            latest = at if latest is None else max(latest, at)
    done = finish()
    if done is not None:
        yield done


def _left_out_reason(reason: str | None) -> str:
    """The reason as the card counts it: WordPress's names its user, the card need not."""
    reason = " ".join((reason or "").split()).lower()
    return wordpress_removal(reason) or reason


def read_labels(
    *,
    session: Session,
    site: Site | None = None,
    since: datetime | None = None,
    feedback: bool = True,
) -> SiteLabels:
    """Every label of the site (every site when None) decided or suggested at or after
    ``since``: moderators' decisions, then suggested scores, with their summary."""
    summary = LabelSummary(site=site.name if site is not None else None, since=since)
    rows: list[LabelledComment] = []
    comment_ids: list[str] = []
    for decision in moderator_decisions(session=session, site=site, since=since):
        row = label_of(decision)
        if row is None:
            summary.left_out[_left_out_reason(decision.reason)] += 1
            continue
        kind = decision_kind(decision)
        assert kind is not None
        summary.by_kind[kind] += 1
        summary.decisions += 1
        summary.latest_decision_at = max(
            filter(None, (summary.latest_decision_at, decision.decided_at))
        )
        summary.count(row)
        rows.append(row)
        comment_ids.append(decision.comment_id)
    if feedback:
        for row, at in suggested_labels(session=session, site=site, since=since):
            summary.feedback += 1
            summary.latest_feedback_at = max(filter(None, (summary.latest_feedback_at, at)))
            summary.count(row)
            rows.append(row)
    return SiteLabels(rows=rows, summary=summary, comment_ids=comment_ids)
