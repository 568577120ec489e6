"""Prometheus metrics of the API and the workers (per process; scrape each one)."""

from prometheus_client import Counter, Histogram

COMMENTS_SUBMITTED = Counter(
    "moderation_comments_submitted_total", "Comments stored as pending by the API"
)
ENQUEUE_FAILURES = Counter(
    "moderation_enqueue_failures_total",
    "Scoring nudges the broker refused; the beat sweep re-sends those comments",
)
RATE_LIMITED = Counter("moderation_rate_limited_total", "Submissions refused with 429", ["limit"])
DECISIONS = Counter("moderation_decisions_total", "Comments decided by a worker", ["status"])
SCORING_FAILURES = Counter(
    "moderation_scoring_failures_total",
    "Comments held for a human because the classifier failed on them",
)
SHADOW_SCORED = Counter(
    "moderation_shadow_scored_total", "Comments a worker also scored with the shadow version"
)
SHADOW_FAILURES = Counter(
    "moderation_shadow_failures_total",
    "Comments left without shadow scores because the shadow failed on them (decided anyway)",
)
SCORING_BATCH_SECONDS = Histogram(
    "moderation_scoring_batch_seconds",
    "Time to claim, score and record one batch",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
